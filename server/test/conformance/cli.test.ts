import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cleanupCli, makeHome, runCli, startServe } from '../cli/cliHarness';
import { REFERENCE_SERVER_CMD } from './kit';

describe('taskwire conformance (CLI)', function () {
  this.timeout(120_000);
  afterEach(cleanupCli);

  it('explains itself in --help, placeholders included', async () => {
    const result = await runCli(['conformance', '--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /--server-cmd/);
    assert.match(result.stdout, /\{NAME\?TEXT\}/);
    const client = await runCli(['conformance', 'client', '--help']);
    assert.match(client.stdout, /TASKWIRE_CONFORMANCE_OP/);
  });

  it('refuses bad arguments with one line and the usage exit code', async () => {
    const unknown = await runCli(['conformance', '--case', 'no.such-case', '--list']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.trim(), 'taskwire: error: unknown case id "no.such-case" (see --list)');
    const level = await runCli(['conformance', '--level', 'often']);
    assert.equal(level.code, 2);
    const template = await runCli(['conformance', '--server-cmd', 'serve {prot}']);
    assert.equal(template.code, 2);
    assert.match(template.stderr, /unknown placeholder \{prot\}/);
  });

  it('reports an unreachable server and a missing key file with their exit codes', async () => {
    const unreachable = await runCli(['conformance', '--port', '1', '--authkey', 'k']);
    assert.equal(unreachable.code, 3);
    assert.match(unreachable.stderr, /^taskwire: error: cannot connect to 127\.0\.0\.1:1/);
    const missing = await runCli(['conformance', '--authkey-file', join(makeHome(), 'nope')]);
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /authkey file .* does not exist/);
  });

  it('finds its case files when installed from the package, outside a checkout', () => {
    // The package's own layout (package.json "files"), with no spec/ folder above it.
    const server = resolve(__dirname, '..', '..', '..');
    const installed = join(mkdtempSync(join(tmpdir(), 'taskwire-pkg-')), 'taskwire');
    try {
      for (const entry of ['bin', 'dist/src', 'conformance', 'protocol.json', 'package.json']) cpSync(join(server, entry), join(installed, entry), { recursive: true });
      const listed = spawnSync(process.execPath, [join(installed, 'bin', 'taskwire.js'), 'conformance', '--list'], {
        encoding: 'utf8',
        env: { ...process.env, NODE_PATH: join(server, '..', 'node_modules') },
      });
      assert.equal(listed.status, 0, listed.stderr);
      assert.match(listed.stdout, /handshake\./);
    } finally {
      rmSync(join(installed, '..'), { recursive: true, force: true });
    }
  });

  it('gives `client` its own selection options, after the subcommand name', async () => {
    const one = await runCli(['conformance', 'client', '--cmd', 'unused-driver', '--list', '--case', 'client.put']);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout.trim().split('\n').length, 1, one.stdout);
    assert.match(one.stdout, /^client\.put  MUST/);
    const should = await runCli(['conformance', 'client', '--cmd', 'unused-driver', '--list', '--level', 'should']);
    assert.doesNotMatch(should.stdout, /  MAY  /);
    assert.match(should.stdout, /  SHOULD  /);
  });

  it('lists cases by level', async () => {
    const must = await runCli(['conformance', '--list', '--level', 'must']);
    const all = await runCli(['conformance', '--list']);
    assert.ok(must.stdout.split('\n').length < all.stdout.split('\n').length);
    assert.doesNotMatch(must.stdout, /  (SHOULD|MAY)  /);
  });

  it('runs against a running server, skipping option cases with the reason, and writes JSON and JUnit', async () => {
    const serve = await startServe();
    const home = makeHome();
    const json = join(home, 'out.json');
    const junit = join(home, 'out.xml');
    const result = await serve.run(['conformance', '--authkey-file', serve.authkeyFile, '--case', 'session.*', '--case', 'queue.get-batch-limit', '--json', json, '--junit', junit]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^SKIP MUST .*queue\.get-batch-limit/m);
    assert.match(result.stdout, /needs the server started with maxBatch=2: run with --server-cmd/);
    const totals = /^(\d+) passed, 0 failed, (\d+) skipped$/m.exec(result.stdout);
    assert.ok(totals, result.stdout);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { totals: { skipped: number }; cases: { id: string; verdict: string }[] };
    assert.equal(report.totals.skipped, Number(totals[2]));
    assert.ok(report.cases.some((c) => c.id === 'session.ping' && c.verdict === 'pass'));
    assert.ok(existsSync(junit));
    assert.match(readFileSync(junit, 'utf8'), /<testcase classname="cases\.session" name="session\.ping /);
    assert.match(readFileSync(junit, 'utf8'), /<skipped message="needs the server started with maxBatch=2/);
  });

  it("--reference starts this package's own server with the options a case needs", async () => {
    const result = await runCli(['conformance', '--reference', '--case', 'queue.get-batch-limit', '--case', 'session.ping']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^PASS MUST .*queue\.get-batch-limit/m);
    assert.match(result.stdout, /^2 passed, 0 failed, 0 skipped$/m);
    const both = await runCli(['conformance', '--reference', '--server-cmd', 'my-server {port}']);
    assert.equal(both.code, 2);
    assert.equal(both.stderr.trim(), 'taskwire: error: --reference and --server-cmd both say how to start the server: give one');
  });

  it('exits 1 and shows expected and actual when a case fails', async () => {
    const result = await runCli(['conformance', '--server-cmd', REFERENCE_SERVER_CMD.replace('--authkey-file {authkeyFile}', '--authkey wrong-key'), '--case', 'session.ping']);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^FAIL MUST .*session\.ping/m);
    assert.match(result.stdout, /expected:\n/);
    assert.match(result.stdout, /^0 passed, 1 failed, 0 skipped$/m);
    assert.match(result.stderr, /1 conformance case failed/);
  });
});
