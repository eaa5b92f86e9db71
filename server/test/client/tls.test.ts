// The TypeScript client and the CLI over TLS, against a manager serving a certificate signed
// by a CA made at test time: trusted through `tls: { ca }` / --tls-ca, or through the trust
// store Node reads by default (NODE_EXTRA_CA_CERTS, in a child process: Node reads it once, at
// start); and refused, with an error that says what to do, for a wrong CA, a wrong name, and
// a client speaking the other transport.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect, ConnectError, ConnectionClosedError, type TaskwireClient } from '../../src';
import type { TestCertificates } from '../../src/conformance/testCertificates';
import { makeCertificates, removeCertificates } from '../helpers/certificates';
import { startServer, TEST_KEY, type RunningServer } from '../helpers/harness';
import { cleanEnv, cleanupCli, runCli } from '../cli/cliHarness';
import { rejection, TempDirs } from './util';

/** dist/test/client → the package's compiled library, as `require('taskwire')` would load it. */
const LIBRARY = resolve(__dirname, '..', '..', 'src');

/** Runs a script in a fresh Node process with `env` added; resolves with its exit code and output. */
function runNode(script: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['-e', script], { env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

describe('client: TLS', function () {
  this.timeout(60_000);
  let certs: TestCertificates;
  let otherCa: TestCertificates;
  let running: RunningServer | undefined;
  let plain: RunningServer | undefined;
  const clients: TaskwireClient[] = [];
  const untrusted = (port: number, detail: string) =>
    `cannot connect to the manager at 127.0.0.1:${port}: its TLS certificate is not trusted (${detail}); give the CA that signed it (tls: { ca }, --tls-ca) or add that CA to the system's trust store`;

  before(async () => {
    certs = makeCertificates();
    otherCa = makeCertificates();
    running = await startServer({ tls: { cert: certs.cert, key: certs.key } });
    plain = await startServer();
  });

  afterEach(cleanupCli);

  after(async () => {
    for (const client of clients.splice(0)) client.close();
    await running?.stop();
    await plain?.stop();
    removeCertificates();
  });

  async function tlsClient(options: Parameters<typeof connect>[0]): Promise<TaskwireClient> {
    const client = await connect({ host: '127.0.0.1', port: running!.port, authkey: TEST_KEY, reconnect: false, connectTimeout: 10_000, ...options });
    clients.push(client);
    return client;
  }

  it('connects with tls: { ca } (the CA that signed the certificate) and does a round trip', async () => {
    // An IP address is no SNI server name (RFC 6066): Node warns (DEP0123) when a client sends one.
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const client = await tlsClient({ tls: { ca: certs.ca } });
    await new Promise((resolveTick) => setImmediate(resolveTick));
    process.off('warning', onWarning);
    assert.deepEqual(
      warnings.filter((w) => /ServerName to an IP address/.test(w.message)).map((w) => w.message),
      [],
    );
    const q = client.queue('tls-queue');
    const results = 'tls-results';
    const big = 'x'.repeat(300_000); // several TLS records each way
    const id = await q.put({ over: 'tls', big }, { replyTo: results });
    const task = await q.get({ timeout: 5 });
    assert.deepEqual(task.payload, { over: 'tls', big });
    await task.ack('secure');
    const reply = await client.queue(results).get({ timeout: 5, autoAck: true });
    assert.deepEqual(reply.payload, { taskId: id, result: 'secure' });
  });

  it('connects by host name (localhost, sent as SNI) with tls: { ca }', async () => {
    const client = await tlsClient({ host: 'localhost', tls: { ca: certs.ca } });
    assert.match(await client.ping(), /^\d{4}-\d\d-\d\dT/);
  });

  it('tls: true trusts the system store: the CA added with NODE_EXTRA_CA_CERTS is enough', async () => {
    const script = `
      const { connect } = require(${JSON.stringify(LIBRARY)});
      (async () => {
        const client = await connect({ host: '127.0.0.1', port: ${running!.port}, authkey: ${JSON.stringify(TEST_KEY.toString())}, reconnect: false, tls: true });
        const q = client.queue('tls-system-store');
        await q.put('through the system store');
        const task = await q.get({ timeout: 5, autoAck: true });
        console.log(JSON.stringify(task.payload));
        client.close();
      })().catch((error) => { console.error(error.name + ': ' + error.message); process.exit(1); });`;
    const trusted = await runNode(script, { NODE_EXTRA_CA_CERTS: certs.caFile });
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.equal(trusted.stdout.trim(), '"through the system store"');
    // The same program without the CA in the store is refused: the store is what trusted it.
    const bare = await runNode(script, {});
    assert.equal(bare.code, 1);
    assert.equal(bare.stderr.trim(), `ConnectError: ${untrusted(running!.port, 'unable to verify the first certificate')}`);
  });

  it('the CLI connects with --tls-ca, and with --tls through NODE_EXTRA_CA_CERTS', async () => {
    const common = ['--port', String(running!.port), '--authkey', TEST_KEY.toString()];
    const withCa = await runCli(['put', 'tls-cli', 'by-ca', ...common, '--tls-ca', certs.caFile]);
    assert.equal(withCa.code, 0, withCa.stderr);
    const bySystem = await runCli(['get', 'tls-cli', '--payload', ...common, '--tls'], { env: cleanEnv({ NODE_EXTRA_CA_CERTS: certs.caFile }) });
    assert.equal(bySystem.code, 0, bySystem.stderr);
    assert.equal(bySystem.stdout.trim(), '"by-ca"');
    const refused = await runCli(['ping', ...common, '--tls']);
    assert.equal(refused.code, 3);
    assert.equal(refused.stderr.trim(), `taskwire: error: ${untrusted(running!.port, 'unable to verify the first certificate')}`);
  });

  it('tls: true without the CA in the store, or tls: { ca } with another CA: ConnectError saying what to do', async () => {
    const system = await rejection(connect({ host: '127.0.0.1', port: running!.port, authkey: TEST_KEY, reconnect: false, tls: true }), 10_000);
    assert.ok(system instanceof ConnectError, `got ${system.name}: ${system.message}`);
    assert.equal(system.message, untrusted(running!.port, 'unable to verify the first certificate'));
    const wrongCa = await rejection(connect({ host: '127.0.0.1', port: running!.port, authkey: TEST_KEY, reconnect: false, tls: { ca: otherCa.ca } }), 10_000);
    assert.ok(wrongCa instanceof ConnectError, `got ${wrongCa.name}: ${wrongCa.message}`);
    assert.equal(wrongCa.message, untrusted(running!.port, 'unable to verify the first certificate'));
  });

  it('a certificate for other names: ConnectError naming the name checked and the names it lists', async () => {
    const error = await rejection(connect({ host: '127.0.0.1', port: running!.port, authkey: TEST_KEY, reconnect: false, tls: { ca: certs.ca, servername: 'manager.example.com' } }), 10_000);
    assert.ok(error instanceof ConnectError, `got ${error.name}: ${error.message}`);
    assert.equal(
      error.message,
      `cannot connect to the manager at 127.0.0.1:${running!.port}: its TLS certificate is not for manager.example.com ` +
        "(Hostname/IP does not match certificate's altnames: Host: manager.example.com. is not in the cert's altnames: IP Address:127.0.0.1, DNS:localhost); " +
        'connect by a name or address the certificate lists',
    );
  });

  it('the self-signed examples of the README and of `taskwire serve --help` work as printed', async () => {
    const readme = readFileSync(resolve(__dirname, '..', '..', '..', '..', 'README.md'), 'utf8');
    const tlsSection = readme.slice(readme.indexOf('## TLS'));
    const fromReadme = /```sh\n([\s\S]*?)\nnpx taskwire serve/.exec(tlsSection)?.[1];
    assert.ok(fromReadme, 'the README has a TLS section with the openssl commands before `npx taskwire serve`');
    const help = (await runCli(['serve', '--help'])).stdout;
    const fromHelp = /^TLS:.*\n.*\n((?: {2}(?:openssl|printf| {2}-).*\n)+)/m.exec(help)?.[1];
    assert.ok(fromHelp, `serve --help has the openssl commands:\n${help}`);
    const temp = new TempDirs();
    try {
      for (const [where, commands] of [
        ['README', fromReadme],
        ['serve --help', fromHelp],
      ] as const) {
        const dir = temp.make('taskwire-tls-docs-');
        const made = spawnSync('bash', ['-e', '-c', commands], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
        assert.equal(made.status, 0, `${where}: ${made.stderr}`);
        const server = await startServer({ tls: { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) } });
        try {
          for (const host of ['127.0.0.1', 'localhost']) {
            const client = await connect({ host, port: server.port, authkey: TEST_KEY, reconnect: false, tls: { ca: readFileSync(join(dir, 'ca.pem')) } });
            assert.match(await client.ping(), /^\d{4}-/, `${where}: ${host}`);
            client.close();
          }
        } finally {
          await server.stop();
        }
      }
    } finally {
      temp.cleanup();
    }
  });

  it('the wrong key over TLS still fails authentication', async () => {
    const error = await rejection(connect({ host: '127.0.0.1', port: running!.port, authkey: 'nope', reconnect: false, tls: { ca: certs.ca } }), 10_000);
    assert.equal(error.name, 'AuthenticationFailedError');
  });

  it('a plain-TCP client on the TLS port fails at once, suggesting TLS', async () => {
    const error = await rejection(connect({ host: '127.0.0.1', port: running!.port, authkey: TEST_KEY, reconnect: false }), 8000);
    assert.ok(error instanceof ConnectionClosedError, `got ${error.name}: ${error.message}`);
    assert.equal(error.message, 'the manager closed the connection during the handshake without answering (if it serves TLS there, connect with TLS: tls: { ca } or tls: true; --tls-ca or --tls)');
  });

  it('a TLS client on a plain port fails at once, saying the manager does not serve TLS there', async () => {
    const error = await rejection(connect({ host: '127.0.0.1', port: plain!.port, authkey: TEST_KEY, reconnect: false, tls: { ca: certs.ca } }), 8000);
    assert.ok(error instanceof ConnectError, `got ${error.name}: ${error.message}`);
    assert.equal(
      error.message,
      `cannot connect to the manager at 127.0.0.1:${plain!.port}: the TLS handshake failed (wrong version number): the manager does not serve TLS on this port; connect without TLS`,
    );
  });
});
