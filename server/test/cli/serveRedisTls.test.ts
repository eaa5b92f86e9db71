import { strict as assert } from 'node:assert';
import { makeCertificates, removeCertificates } from '../helpers/certificates';
import { startRedis, type RunningRedis } from '../helpers/redis';
import { cleanupCli, lines, makeHome, runCli, startServe } from './cliHarness';
import type { TestCertificates } from '../../src/conformance/testCertificates';

// `taskwire serve --store rediss://...`: a redis-server this file starts serving TLS only, with a
// certificate signed by a CA made for the run; the manager trusts it through --store-ca (or
// $TASKWIRE_STORE_CA), and says what to do when it does not.

describe('cli e2e: taskwire serve --store rediss:// (Redis over TLS)', function () {
  this.timeout(60_000);
  let certificates: TestCertificates;
  let redis: RunningRedis;
  before(async () => {
    certificates = makeCertificates();
    redis = await startRedis({ tls: certificates });
  });
  after(async () => {
    await redis?.stop();
    removeCertificates();
  });
  afterEach(cleanupCli);

  it('--store-ca trusts the CA of Redis: a task put through one manager is got through another ($TASKWIRE_STORE_CA)', async () => {
    assert.match(redis.url, /^rediss:\/\/127\.0\.0\.1:\d+$/);
    const home = makeHome();
    const a = await startServe(['--store', redis.url, '--store-ca', certificates.caFile], { home });
    const b = await startServe(['--store', redis.url], { home, env: { TASKWIRE_STORE_CA: certificates.caFile } });
    assert.match(a.stderr, new RegExp(`Store: rediss://127\\.0\\.0\\.1:${redis.port} \\(Redis, shared by every manager on it`));
    const put = await a.run(['put', 'over-tls', 'hello through TLS']);
    assert.equal(put.code, 0, put.stderr);
    const got = await b.run(['get', 'over-tls', '--timeout', '5']);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /hello through TLS/);
  });

  it('a certificate that is not trusted: exit 3 and one line saying so and what to give', async () => {
    const untrusted = await runCli(['serve', '--port', '0', '--store', redis.url]);
    assert.equal(untrusted.code, 3, untrusted.stderr);
    assert.deepEqual(lines(untrusted.stderr), [
      `taskwire: error: store unavailable: cannot reach ${redis.url}: its TLS certificate is not trusted (SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain); give the CA that signed it with --store-ca FILE (or $TASKWIRE_STORE_CA)`,
    ]);

    const otherCa = makeCertificates().caFile;
    const wrongCa = await runCli(['serve', '--port', '0', '--store', redis.url, '--store-ca', otherCa]);
    assert.equal(wrongCa.code, 3, wrongCa.stderr);
    assert.deepEqual(lines(wrongCa.stderr), [
      `taskwire: error: store unavailable: cannot reach ${redis.url}: its TLS certificate is not trusted (SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain); check that ${otherCa} (--store-ca) is the CA that signed it and that the certificate names the host of the URL`,
    ]);
  });

  it('--store-ca without a rediss:// store, or a file that cannot be read: exit 2 and why', async () => {
    const plain = `redis://127.0.0.1:${redis.port}`;
    for (const args of [
      ['--store-ca', certificates.caFile],
      ['--store', plain, '--store-ca', certificates.caFile],
    ]) {
      const result = await runCli(['serve', '--port', '0', ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.deepEqual(lines(result.stderr), ['taskwire: error: --store-ca is for a Redis reached over TLS: give a rediss:// --store']);
    }
    const missing = await runCli(['serve', '--port', '0', '--store', redis.url, '--store-ca', '/nonexistent/ca.pem']);
    assert.equal(missing.code, 2, missing.stderr);
    assert.deepEqual(lines(missing.stderr), ["taskwire: error: cannot read /nonexistent/ca.pem: ENOENT: no such file or directory, open '/nonexistent/ca.pem'"]);
  });
});
