import { strict as assert } from 'node:assert';
import type { QueueStats, TaskwireClient } from '../../src';
import { cleanupCli, lines, startServe, type Serve } from './cliHarness';

// The CLI of rate limits (spec §7.22): serve -q NAME:rate=...,keyRate=...,keyConcurrency=N,
// taskwire declare, taskwire put --rate-key, and what taskwire stats prints.

async function stats(serve: Serve, queue: string): Promise<QueueStats> {
  const result = await serve.run(['stats', queue, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as QueueStats;
}

describe('cli e2e: rate limits', function () {
  this.timeout(30_000);
  let serve: Serve;
  let client: TaskwireClient;
  afterEach(cleanupCli);

  it('serve -q declares the limits; stats shows them and the tasks waiting for budget', async () => {
    serve = await startServe(['-q', 'crawl:rate=10/s,keyRate=1/5s,keyConcurrency=2,ttr=30']);
    const declared = await stats(serve, 'crawl');
    assert.deepEqual([declared.rate, declared.keyRate, declared.keyConcurrency, declared.ttr], [{ max: 10, period: 1 }, { max: 1, period: 5 }, 2, 30]);
    const put = await serve.run(['put', 'crawl', '--rate-key', 'example.com', 'a', 'b', 'c']);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(lines(put.stdout).length, 3);
    client = await serve.client({ name: 'worker', role: 'worker' });
    const task = await client.queue('crawl').get({ timeout: 5 });
    assert.equal(task.payload, 'a');
    const table = await serve.run(['stats']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^crawl: rate 10\/s, keyRate 1\/5s, keyConcurrency 2; 2 ready waiting for budget$/m);
  });

  it('taskwire declare sets and removes limits with the rest of the queue options', async () => {
    serve = await startServe();
    const created = await serve.run(['declare', 'crawl', '--rate', '10/s', '--key-rate', '1/s', '--key-concurrency', '2', '--maxsize', '100', '--ttr', '30', '--dead-letter', 'none']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'created crawl: rate 10/s, keyRate 1/s, keyConcurrency 2\n');
    const after = await stats(serve, 'crawl');
    assert.deepEqual([after.maxsize, after.ttr, after.deadLetter], [100, 30, null]);
    const removed = await serve.run(['declare', 'crawl', '--rate', 'none', '--key-rate', 'none', '--key-concurrency', '0']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, 'updated crawl\n');
    const plain = await stats(serve, 'crawl');
    assert.equal(plain.rate, undefined);
    assert.equal(plain.throttled, undefined);
  });

  it('a bad rate is a usage error saying how to write one, before connecting', async () => {
    serve = await startServe();
    const bad = await serve.run(['declare', 'crawl', '--rate', '10 per second']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid rate in --rate: "10 per second" is not a rate: write MAX\/PERIOD, e.g. 10\/s, 2\/5s, 100\/m/);
    const badServe = await serve.run(['serve', '--port', '0', '-q', 'crawl:keyRate=fast']);
    assert.equal(badServe.code, 2);
    assert.match(badServe.stderr, /invalid keyRate in --queue crawl:keyRate=fast: "fast" is not a rate/);
  });
});
