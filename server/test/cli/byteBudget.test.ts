import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { parseByteSize } from '../../src/cli/byteSize';
import { cleanupCli, makeHome, runCli, startServe } from './cliHarness';

// `taskwire serve --max-queued-bytes` and `--queue NAME:maxBytes=SIZE`, end to end: the flags,
// what put and stats show, and maxBytes surviving a restart on a data dir.

describe('cli e2e: byte bounds', function () {
  this.timeout(60_000);
  afterEach(cleanupCli);

  it('reads sizes as operators write them', () => {
    assert.equal(parseByteSize('1048576'), 1048576);
    assert.equal(parseByteSize('512MiB'), 512 * 1024 ** 2);
    assert.equal(parseByteSize('2GiB'), 2 * 1024 ** 3);
    assert.equal(parseByteSize('1.5 gib'), 1.5 * 1024 ** 3);
    assert.equal(parseByteSize('64M'), 64 * 1024 ** 2);
    assert.equal(parseByteSize('500MB'), 500 * 1000 ** 2);
    assert.equal(parseByteSize('10KiB'), 10240);
    assert.equal(parseByteSize('none'), 0);
    assert.equal(parseByteSize('0'), 0);
    for (const bad of ['', 'lots', '-1', '12XB', '1e3', 'MiB', '99999999999TiB']) assert.equal(parseByteSize(bad), undefined, bad);
  });

  it('bounds a queue and the manager, shows it in the banner and in stats, and keeps maxBytes across a restart on a data dir', async () => {
    const home = makeHome();
    const dataDir = join(makeHome(), 'data');
    const first = await startServe(['--data-dir', dataDir, '--max-queued-bytes', '10KiB', '--queue', 'capped:maxBytes=600'], { home });
    await first.waitFor('the whole banner', () => first.stderr.includes('Stop:'));
    assert.match(first.stderr, /\nMemory: queued payloads up to 10\.0 KiB \(--max-queued-bytes\)\n/);
    const payload = 'x'.repeat(498); // 500 bytes of JSON
    assert.equal((await first.run(['put', 'capped', payload])).code, 0);
    const full = await first.run(['put', 'capped', payload, '--timeout', '0']);
    assert.equal(full.code, 6, full.stderr);
    assert.match(full.stderr, /queue full: "capped" has no room for 1 task of 500 bytes \(maxBytes 600, 500 held\)/);
    const tooBig = await first.run(['put', 'other', 'y'.repeat(11 * 1024)]);
    assert.equal(tooBig.code, 6, tooBig.stderr);
    assert.match(tooBig.stderr, /queue full: the manager can never hold 1 task of 11266 bytes \(maxQueuedBytes 10240\)/);
    const stats = await first.run(['stats']);
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, /, queued 500 B of 10\.0 KiB\n/);
    const row = stats.stdout
      .split('\n')
      .find((line) => line.startsWith('capped '))!
      .split(/\s+/);
    assert.deepEqual(row.slice(5, 8), ['-', '500B', '600B']);
    assert.equal((await first.stop('SIGTERM')).code, 0);

    // Restarted without --queue: the queue's maxBytes comes back from the data dir.
    const second = await startServe(['--data-dir', dataDir, '--max-queued-bytes', 'none'], { home });
    await second.waitFor('the whole banner', () => second.stderr.includes('Stop:'));
    assert.match(second.stderr, /\nMemory: queued payloads unlimited \(--max-queued-bytes\)\n/);
    const json = await second.run(['stats', 'capped', '--json']);
    const capped = JSON.parse(json.stdout) as { bytes: number; maxBytes: number; ready: number };
    assert.deepEqual([capped.ready, capped.bytes, capped.maxBytes], [1, 500, 600]);
    const refused = await second.run(['put', 'capped', payload, '--timeout', '0']);
    assert.equal(refused.code, 6, 'maxBytes still applies after the restart');
  });

  it('refuses sizes it cannot read, with the reason, exit code 2', async () => {
    const flag = await runCli(['serve', '--port', '0', '--max-queued-bytes', '12XB']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /invalid max-queued-bytes "12XB": expected bytes, or with a unit: 512MiB, 2GiB/);
    const queue = await runCli(['serve', '--port', '0', '--queue', 'a:maxBytes=lots']);
    assert.equal(queue.code, 2);
    assert.match(queue.stderr, /invalid maxBytes "lots" in --queue a:maxBytes=lots/);
    const help = await runCli(['serve', '--help']);
    for (const text of ['--max-queued-bytes <size>', 'maxBytes=SIZE', 'Memory:']) assert.ok(help.stdout.includes(text), `--help lacks ${text}`);
  });
});
