// TLS with the wrong certificate, and peers that do not speak TLS on the TLS port: the client
// refuses untrusted certificates with a clear error; the server drops non-TLS and silent peers
// promptly and keeps serving its TLS clients.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { connect, ConnectError, type TaskwireClient } from '../../src';
import { requireOpenssl } from '../helpers/certificates';
import { eventually } from '../helpers/harness';
import { queueName, TEST_KEY, useFixture } from '../server/fixture';
import { HostileConnection, recordingLogger } from './util';

interface Pem {
  cert: Buffer;
  key: Buffer;
}

function makeCert(dir: string, name: string, subject: string, altNames: string): Pem {
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`), '-days', '1', '-subj', subject, '-addext', `subjectAltName=${altNames}`],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(made.status, 0, `openssl failed: ${made.stderr}`);
  return { cert: readFileSync(join(dir, `${name}.pem`)), key: readFileSync(join(dir, `${name}.key`)) };
}

describe('hardening: TLS', function () {
  this.timeout(60_000);
  const fx = useFixture();
  let dir: string;
  let good: Pem;
  let impostor: Pem;
  const clients: TaskwireClient[] = [];

  before(() => {
    requireOpenssl();
    dir = mkdtempSync(join(tmpdir(), 'taskwire-tls-hardening-'));
    good = makeCert(dir, 'good', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1');
    impostor = makeCert(dir, 'impostor', '/CN=impostor.example', 'DNS:impostor.example');
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function tlsClient(port: number, ca: Buffer, name: string): Promise<TaskwireClient> {
    const client = await connect({ host: '127.0.0.1', port, authkey: TEST_KEY, reconnect: false, tls: { ca }, name, connectTimeout: 5000 });
    clients.push(client);
    return client;
  }

  /** A TLS client holding a lease, and its after-the-attack check. */
  async function tlsBystander(port: number) {
    const client = await tlsClient(port, good.cert, 'tls-bystander');
    const queue = client.queue(queueName('tls-held'));
    await queue.put('held');
    const held = await queue.get({ timeout: 1, ttr: 600 });
    return async () => {
      const q = client.queue(queueName('tls-alive'));
      await q.put({ alive: true });
      const task = await q.get({ timeout: 1 });
      assert.deepEqual(task.payload, { alive: true });
      await task.ack();
      await held.touch(600);
      assert.equal((await queue.stats()).leased, 1, 'the TLS bystander still holds its lease');
      await held.ack();
    };
  }

  it('a client refuses a certificate it does not trust, or one for another name, with a clear ConnectError', async () => {
    const { port } = await fx.server({ tls: good });
    const check = await tlsBystander(port);
    const untrusted = await connect({ host: '127.0.0.1', port, authkey: TEST_KEY, reconnect: false, tls: { ca: impostor.cert }, connectTimeout: 5000 }).then(
      () => assert.fail('connected'),
      (error: Error) => error,
    );
    assert.ok(untrusted instanceof ConnectError, `${untrusted.name}: ${untrusted.message}`);
    assert.match(untrusted.message, /^cannot connect to the manager at 127\.0\.0\.1:\d+: its TLS certificate is not trusted \(self[- ]signed certificate\)/);

    // A server presenting a certificate for another name, trusted or not, is refused too.
    const other = await fx.server({ tls: impostor });
    const mismatch = await connect({ host: '127.0.0.1', port: other.port, authkey: TEST_KEY, reconnect: false, tls: { ca: impostor.cert }, connectTimeout: 5000 }).then(
      () => assert.fail('connected'),
      (error: Error) => error,
    );
    assert.ok(mismatch instanceof ConnectError, `${mismatch.name}: ${mismatch.message}`);
    assert.match(mismatch.message, /its TLS certificate is not for 127\.0\.0\.1 \(.*IP: 127\.0\.0\.1 is not in the cert's list/);
    await check();
  });

  it('drops plain-TCP peers on the TLS port at once, silent ones at the handshake deadline, and keeps serving TLS clients', async () => {
    const log = recordingLogger();
    const { server, port } = await fx.server({ tls: good, log, limits: { handshakeTimeout: 0.5 } });
    const check = await tlsBystander(port);
    const started = Date.now();
    // Fifty plain clients speaking the protocol in clear, and garbage.
    const talkers = await Promise.all(Array.from({ length: 50 }, () => HostileConnection.open(port)));
    talkers.forEach((conn, i) => {
      fx.track(conn);
      if (i % 2 === 0) conn.send('session/hello', { protocolVersions: ['2026-11'], nonce: Buffer.alloc(32, 2).toString('base64'), client: { name: 'plain' } });
      else conn.write(Buffer.from('Content-Length: 2\r\n\r\n{}'));
    });
    for (const conn of talkers) await conn.waitForClose(3000);
    const talkersGone = Date.now() - started;
    assert.ok(talkersGone < 2000, `plain clients dropped after ${talkersGone} ms`);
    assert.ok(
      talkers.every((conn) => conn.messages.length === 0),
      'no JSON-RPC goes out before TLS',
    );

    // Silent ones: no ClientHello at all, or a TLS handshake and then nothing.
    const silent = fx.track(await HostileConnection.open(port));
    const quietTls = tlsConnect({ host: '127.0.0.1', port, ca: good.cert, servername: 'localhost' });
    fx.track({ close: () => quietTls.destroy() });
    await new Promise<void>((resolve, reject) => quietTls.once('secureConnect', resolve).once('error', reject));
    const quietClosed = new Promise<void>((resolve) => quietTls.once('close', () => resolve()));
    quietTls.on('error', () => {});
    const silentStart = Date.now();
    await silent.waitForClose(5000);
    await quietClosed;
    const silentGone = Date.now() - silentStart;
    assert.ok(silentGone >= 300 && silentGone < 3000, `silent peers dropped after ${silentGone} ms`);

    await check();
    const stats = server.stats();
    assert.ok(stats.connections.tlsFailures >= 51, `tlsFailures ${stats.connections.tlsFailures}`);
    assert.equal(log.entries.filter((e) => e.level === 'error').length, 0);
    await eventually(() => server.connectionCount === 1, 5000, 'only the bystander left');
  });
});
