import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, ConnectError, TaskwireError, type TaskwireClient } from '../../src';
import { startServer, TEST_KEY, type RunningServer } from '../helpers/harness';
import { rejection, TempDirs } from './util';

describe('client: TLS', function () {
  const temp = new TempDirs();
  let cert: Buffer;
  let key: Buffer;
  let running: RunningServer | undefined;
  const clients: TaskwireClient[] = [];

  before(async function () {
    const probe = spawnSync('openssl', ['version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      // eslint-disable-next-line no-console
      console.warn('    skipping the TLS tests: `openssl` is not installed, so no test certificate can be made');
      this.skip();
    }
    const dir = temp.make('taskwire-tls-');
    const made = spawnSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(made.status, 0, `openssl failed: ${made.stderr}`);
    cert = readFileSync(join(dir, 'cert.pem'));
    key = readFileSync(join(dir, 'key.pem'));
    running = await startServer({ tls: { cert, key } });
  });

  after(async () => {
    for (const client of clients.splice(0)) client.close();
    await running?.stop();
    temp.cleanup();
  });

  it('connects with tls: { ca } and does a round trip', async () => {
    // An IP address is no SNI server name (RFC 6066): Node warns (DEP0123) when a client sends one.
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const client = await connect({ host: '127.0.0.1', port: running!.port, authkey: TEST_KEY, reconnect: false, tls: { ca: cert } });
    clients.push(client);
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    assert.deepEqual(
      warnings.filter((w) => /ServerName to an IP address/.test(w.message)).map((w) => w.message),
      [],
    );
    const q = client.queue('tls-queue');
    const results = 'tls-results';
    const id = await q.put({ over: 'tls' }, { replyTo: results });
    const task = await q.get({ timeout: 5 });
    assert.deepEqual(task.payload, { over: 'tls' });
    await task.ack('secure');
    const reply = await client.queue(results).get({ timeout: 5, autoAck: true });
    assert.deepEqual(reply.payload, { taskId: id, result: 'secure' });
  });

  it('tls: true (system CAs) rejects the self-signed certificate with ConnectError', async () => {
    const error = await rejection(connect({ host: '127.0.0.1', port: running!.port, authkey: TEST_KEY, reconnect: false, tls: true }), 10_000);
    assert.ok(error instanceof ConnectError, `got ${error.name}: ${error.message}`);
    assert.match(error.message, /certificate/i);
  });

  it('the wrong key over TLS still fails authentication', async () => {
    const error = await rejection(connect({ host: '127.0.0.1', port: running!.port, authkey: 'nope', reconnect: false, tls: { ca: cert } }), 10_000);
    assert.equal(error.name, 'AuthenticationFailedError');
  });

  it('a plain-TCP client on the TLS port fails with an error instead of hanging', async () => {
    const error = await rejection(connect({ host: '127.0.0.1', port: running!.port, authkey: TEST_KEY, reconnect: false }), 8000);
    assert.ok(error instanceof TaskwireError, `got ${error.name}: ${error.message}`);
  });
});
