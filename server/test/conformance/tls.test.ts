// The conformance kit over TLS: the reference server passes the tls.* cases (and the others
// inside TLS); servers that get TLS wrong fail exactly the cases that check it, with reasons a
// reader can act on; and the CLI's --tls, --tls-ca, --tls-cert/--tls-key do what they say.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerCases, loadUnrelatedCa } from '../../src/conformance/cases';
import type { CaseResult } from '../../src/conformance/results';
import { runServerCases, type ServerRunOptions } from '../../src/conformance/serverRunner';
import type { TestCertificates } from '../../src/conformance/testCertificates';
import { cleanEnv, cleanupCli, runCli } from '../cli/cliHarness';
import { makeCertificates, removeCertificates } from '../helpers/certificates';
import { startServer, TEST_KEY, type RunningServer } from '../helpers/harness';
import { brokenServerCmd, REFERENCE_SERVER_CMD, runAgainst } from './kit';

const isTlsCase = (id: string) => id.startsWith('tls.');

function verdicts(results: CaseResult[]): Record<string, string> {
  return Object.fromEntries(results.map((r) => [r.id, r.verdict === 'fail' ? `fail: ${r.reason}` : r.verdict]));
}

describe('conformance kit over TLS', function () {
  this.timeout(300_000);
  let certs: TestCertificates;
  let tls: NonNullable<ServerRunOptions['tls']>;
  let running: RunningServer | undefined;
  const tlsCaseIds = () =>
    loadServerCases()
      .filter((c) => c.server?.tls)
      .map((c) => c.id);

  before(() => {
    certs = makeCertificates();
    tls = { trust: { ca: certs.ca }, serverFiles: { certFile: certs.certFile, keyFile: certs.keyFile }, unrelatedCa: loadUnrelatedCa() };
  });
  afterEach(async () => {
    await cleanupCli();
    await running?.stop();
    running = undefined;
  });
  after(removeCertificates);

  it('the reference server passes the TLS cases, and the handshake and framing cases inside TLS', async () => {
    const results = await runAgainst(REFERENCE_SERVER_CMD, (id) => isTlsCase(id) || id.startsWith('handshake.') || id.startsWith('framing.'), tls);
    assert.ok(tlsCaseIds().length >= 6);
    assert.deepEqual(
      results.filter((r) => r.verdict !== 'pass').map((r) => `${r.id}: ${r.reason}`),
      [],
    );
  });

  it('a server that does not serve TLS fails every TLS case, saying the TLS handshake failed', async () => {
    const plainServer = REFERENCE_SERVER_CMD.replace(' {tlsCert?--tls-cert $} {tlsKey?--tls-key $}', '');
    assert.notEqual(plainServer, REFERENCE_SERVER_CMD);
    const results = verdicts(await runAgainst(plainServer, isTlsCase, tls));
    assert.match(results['tls.handshake']!, /^fail: step 1: cannot connect to 127\.0\.0\.1:\d+: the TLS handshake failed: wrong version number \(does the server speak TLS\?\)$/);
    assert.match(results['tls.plain-client-closed']!, /^fail: step 3: expected the server to close connection p within 5 s$/);
    assert.match(results['tls.unrelated-ca-refused']!, /^fail: step 1: connection w failed, but not on the certificate$/);
    assert.ok(
      Object.values(results).every((v) => v.startsWith('fail')),
      JSON.stringify(results, null, 2),
    );
  });

  it('a TLS server that hangs plain clients fails tls.plain-client-closed, and only that', async () => {
    const results = verdicts(await runAgainst(brokenServerCmd('hold-plain'), isTlsCase, tls));
    assert.deepEqual(
      Object.entries(results).filter(([, v]) => v !== 'pass'),
      [['tls.plain-client-closed', 'fail: step 3: expected the server to close connection p within 5 s']],
    );
  });

  it('a certificate that also names another host fails tls.wrong-name-refused', async () => {
    const anyName = makeCertificates(['IP:127.0.0.1', 'DNS:localhost', 'DNS:not-the-manager.invalid']);
    const result = await runCli([
      'conformance',
      '--reference',
      '--tls-cert',
      anyName.certFile,
      '--tls-key',
      anyName.keyFile,
      '--tls-ca',
      anyName.caFile,
      '--case',
      'tls.wrong-name-refused',
      '--case',
      'tls.handshake',
    ]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /^PASS MUST .*tls\.handshake/m);
    assert.match(result.stdout, /^FAIL SHOULD .*tls\.wrong-name-refused/m);
    assert.match(result.stdout, /step 1: connection n: the server's certificate was accepted/);
    assert.match(result.stdout, /^1 passed, 1 failed, 0 skipped$/m);
  });

  it('`taskwire conformance --reference --tls` makes its own certificate and runs over TLS', async () => {
    const result = await runCli(['conformance', '--reference', '--tls', '--case', 'tls.*', '--case', 'session.ping'], { timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^Taskwire conformance: 7 server cases against server started by: .* over TLS \(run [0-9a-f]+\)$/m);
    assert.match(result.stdout, /^7 passed, 0 failed, 0 skipped$/m);
  });

  it('--reference --tls without openssl fails at once, saying what to install or give', async () => {
    const emptyPath = mkdtempSync(join(tmpdir(), 'taskwire-no-openssl-'));
    try {
      const result = await runCli(['conformance', '--reference', '--tls', '--case', 'tls.handshake'], { env: cleanEnv({ PATH: emptyPath }) });
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr.trim(),
        'taskwire: error: --tls: cannot make a test certificate: openssl cannot be run (spawnSync openssl ENOENT); install it (Debian: apt-get install openssl) or give a certificate and key (--tls-cert/--tls-key)',
      );
    } finally {
      rmSync(emptyPath, { recursive: true, force: true });
    }
  });

  it('against a running TLS server: --tls-ca runs the TLS cases; the system CAs refuse it with exit 3 and a hint', async () => {
    running = await startServer({ tls: { cert: certs.cert, key: certs.key } });
    const common = ['conformance', '--port', String(running.port), '--authkey', TEST_KEY.toString()];
    const withCa = await runCli([...common, '--tls-ca', certs.caFile, '--case', 'tls.*']);
    assert.equal(withCa.code, 0, withCa.stdout + withCa.stderr);
    assert.match(withCa.stdout, /^SKIP SHOULD .*tls\.silent-plain-client-closed/m);
    assert.match(withCa.stdout, /^5 passed, 0 failed, 1 skipped$/m);
    const system = await runCli([...common, '--tls', '--case', 'tls.handshake']);
    assert.equal(system.code, 3);
    assert.equal(
      system.stderr.trim(),
      `taskwire: error: cannot connect to 127.0.0.1:${running.port}: the server's certificate is not trusted: unable to verify the first certificate (give the CA that signed its certificate with --tls-ca)`,
    );
  });

  it('refuses TLS options that do not fit together, with the usage exit code', async () => {
    const keyless = await runCli(['conformance', '--reference', '--tls-cert', certs.certFile]);
    assert.equal(keyless.code, 2);
    assert.equal(keyless.stderr.trim(), 'taskwire: error: --tls-cert and --tls-key go together: give both, or neither to let the kit make a certificate');
    const running = await runCli(['conformance', '--authkey', 'k', '--tls-cert', certs.certFile, '--tls-key', certs.keyFile, '--port', '1']);
    assert.equal(running.code, 2);
    assert.match(running.stderr, /--tls-cert and --tls-key are for a server the kit starts/);
    const noPlaceholder = await runCli(['conformance', '--tls', '--server-cmd', 'my-server --port {port} --key {authkeyFile}']);
    assert.equal(noPlaceholder.code, 2);
    assert.equal(noPlaceholder.stderr.trim(), 'taskwire: error: --tls: --server-cmd has no {tlsCert?...} {tlsKey?...} placeholder to give the server its certificate and key');
    const unknownExclude = await runCli(['conformance', '--exclude', 'no.such-case', '--list']);
    assert.equal(unknownExclude.code, 2);
    const listed = await runCli(['conformance', '--list', '--exclude', 'tls.*']);
    assert.equal(listed.code, 0);
    assert.doesNotMatch(listed.stdout, /^tls\./m);
    assert.match(listed.stdout, /^handshake\./m);
  });

  it('a plain run against a server that answers in TLS records says so, and reports no bogus framing violation', async () => {
    // A TLS alert record whose last byte is 0x0a: a line feed to an NDJSON decoder.
    const alerting: Server = createServer((socket) => socket.end(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a])));
    await new Promise<void>((resolveListen) => alerting.listen(0, '127.0.0.1', resolveListen));
    try {
      const port = (alerting.address() as { port: number }).port;
      const cases = loadServerCases().filter((c) => c.id === 'session.ping');
      const [result] = await runServerCases(cases, { host: '127.0.0.1', port, authkey: TEST_KEY });
      assert.equal(result!.verdict, 'fail');
      assert.match(result!.reason!, /the server answered in TLS on a plain connection \(is it a TLS server\? run the kit with --tls or --tls-ca\)/);
      assert.doesNotMatch(result!.reason!, /not JSON|protocol violation/);
    } finally {
      alerting.close();
    }
  });
});
