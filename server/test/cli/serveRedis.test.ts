import { strict as assert } from 'node:assert';
import type { Event } from '../../src/client';
import { eventually } from '../helpers/harness';
import { startRedis, type RunningRedis } from '../helpers/redis';
import { cleanupCli, jsonLines, lines, makeHome, runCli, startServe } from './cliHarness';

// `taskwire serve --store redis://...`: managers that share their queues through a Redis this
// file starts, and the errors a user sees when the store is misgiven or out of reach.

describe('cli e2e: taskwire serve --store (Redis)', function () {
  this.timeout(30_000);
  let redis: RunningRedis;
  before(async () => (redis = await startRedis()));
  after(async () => redis?.stop());
  afterEach(cleanupCli);

  it('two managers on one Redis serve the same queues: a put through one is got through the other', async () => {
    const home = makeHome();
    const a = await startServe(['--store', redis.url], { home });
    // The environment form, on the second.
    const b = await startServe([], { home, env: { TASKWIRE_STORE: redis.url } });
    assert.match(a.stderr, new RegExp(`Store: redis://127\\.0\\.0\\.1:${redis.port} \\(Redis, shared by every manager on it; this one is manager \\w+\\)`));
    assert.match(b.stderr, /Store: redis:\/\//);
    const waiting = b.background(['get', 'cli-redis', '--timeout', '20', '--create']);
    const put = await a.run(['put', 'cli-redis', 'hello from a']);
    assert.equal(put.code, 0, put.stderr);
    const got = await waiting.exited;
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /hello from a/);
    const stats = await a.run(['stats', 'cli-redis', '--json']);
    assert.equal((JSON.parse(stats.stdout) as { ready: number }).ready, 0);
  });

  it('--json: the ready line names the store (its URL without the password) and the manager id', async () => {
    const serve = await startServe(['--json', '--store', redis.url]);
    const ready = jsonLines<Record<string, unknown>>(serve.stdout).find((e) => e['message'] === 'ready');
    assert.deepEqual([ready?.['store'], ready?.['storeUrl'], typeof ready?.['managerId']], ['redis', redis.url, 'string']);
  });

  it('a manager on the memory store never loads ioredis (it is imported only with --store)', async () => {
    const memory = await startServe([], { env: { NODE_DEBUG: 'module' } });
    assert.match(memory.stderr, /localQueues/, 'NODE_DEBUG=module lists no module: the check below would prove nothing');
    assert.doesNotMatch(memory.stderr, /ioredis|redisQueues/);
    const redisBacked = await startServe(['--store', redis.url], { env: { NODE_DEBUG: 'module' } });
    assert.match(redisBacked.stderr, /ioredis/);
  });

  it('a Redis that cannot be reached: exit 3 and one line, with the password hidden', async () => {
    const gone = await startRedis();
    await gone.stop();
    const result = await runCli(['serve', '--port', '0', '--store', `redis://admin:hunter2@127.0.0.1:${gone.port}/0`]);
    assert.equal(result.code, 3, result.stderr);
    assert.deepEqual(lines(result.stderr), [`taskwire: error: store unavailable: cannot reach redis://admin:***@127.0.0.1:${gone.port}/0 (ECONNREFUSED)`]);
    assert.doesNotMatch(result.stderr + result.stdout, /hunter2/);
  });

  it('a Redis with a password: the right one serves, a wrong one is exit 3 with what Redis said, and neither is ever shown', async () => {
    const guarded = await startRedis({ requirepass: 's3cret-pw' });
    try {
      const serve = await startServe(['--store', `redis://:s3cret-pw@127.0.0.1:${guarded.port}`]);
      assert.match(serve.stderr, new RegExp(`Store: redis://:\\*\\*\\*@127\\.0\\.0\\.1:${guarded.port} `));
      const put = await serve.run(['put', 'guarded', 'x']);
      assert.equal(put.code, 0, put.stderr);
      const wrong = await runCli(['serve', '--port', '0', '--store', `redis://:not-it@127.0.0.1:${guarded.port}`]);
      assert.equal(wrong.code, 3, wrong.stderr);
      assert.match(wrong.stderr, new RegExp(`^taskwire: error: store unavailable: cannot reach redis://:\\*\\*\\*@127\\.0\\.0\\.1:${guarded.port} \\(WRONGPASS`));
      const all = serve.stderr + serve.stdout + wrong.stderr + wrong.stdout;
      assert.doesNotMatch(all, /s3cret-pw|not-it/);
    } finally {
      await guarded.stop();
    }
  });

  it('a released task is still at the head of its priority level after the managers and Redis restart (spec §7.3)', async () => {
    const durable = await startRedis({ appendonly: true, appendfsync: 'always' });
    try {
      const a = await startServe(['--store', durable.url]);
      const queue = `released-head-${process.pid}`;
      const jobs = (await a.client()).queue<string>(queue);
      await jobs.putMany(['a', 'b', 'c', 'd'].map((payload) => ({ payload })));
      await jobs.put('urgent', { priority: 1 });
      // One worker stops (client stopped); another still holds a task when its manager stops (manager shut down).
      const stopping = await a.client({ name: 'stopping-worker' });
      assert.deepEqual(
        (await stopping.queue<string>(queue).getMany(2, { timeout: 1 })).map((t) => t.payload),
        ['urgent', 'a'],
      );
      const holding = await a.client({ name: 'holding-worker' });
      assert.deepEqual(
        (await holding.queue<string>(queue).getMany(1, { timeout: 1 })).map((t) => t.payload),
        ['b'],
      );
      stopping.close();
      await eventually(async () => (await jobs.stats()).leased === 1, 10_000, 'the stopped worker’s leases released');
      assert.equal((await a.stop()).code, 0, a.stderr);
      await durable.restart();

      const b = await startServe(['--store', durable.url]);
      const order: [string, number][] = [];
      for (const task of await (await b.client()).queue<string>(queue).getMany(10, { timeout: 0, autoAck: true })) order.push([task.payload, task.attempt]);
      // Each release puts its tasks first in their level; the last one released comes first.
      assert.deepEqual(order, [
        ['urgent', 2],
        ['b', 2],
        ['a', 2],
        ['c', 1],
        ['d', 1],
      ]);
    } finally {
      await durable.stop();
    }
  });

  it('a worker that stops while Redis is slow to answer: its released event still names it (the socket closes before the release is done)', async () => {
    const a = await startServe(['--store', redis.url]);
    const queue = `stopped-slow-${process.pid}`;
    const watcher = await a.client({ name: 'watcher' });
    const released: Event[] = [];
    await watcher.subscribe({ queues: [queue], kinds: ['released'] }, (event) => released.push(event));
    const worker = await a.client({ name: 'stopping-worker' });
    await worker.queue<string>(queue).put('held');
    const [task] = await worker.queue<string>(queue).getMany(1, { timeout: 1 });
    const sessionId = worker.sessionId;
    // Redis holds the release script for a while: the connection's close comes first, and its
    // own release (nothing left to give back) settles before the script's.
    redis.pauseWrites(500);
    worker.close();
    await eventually(() => released.length === 1, 10_000, 'the released event');
    assert.deepEqual([released[0]!.taskId, released[0]!.error, released[0]!.client?.sessionId, released[0]!.client?.name], [task!.id, 'client stopped', sessionId, 'stopping-worker']);
  });

  it('a manager that stops while Redis is slow to answer: the released events of its workers still name them, on another manager', async () => {
    const a = await startServe(['--store', redis.url]);
    const b = await startServe(['--store', redis.url]);
    const queue = `shut-down-slow-${process.pid}`;
    const watcher = await b.client({ name: 'watcher' });
    const released: Event[] = [];
    await watcher.subscribe({ queues: [queue], kinds: ['released'] }, (event) => released.push(event));
    const worker = await a.client({ name: 'worker-on-a' });
    await worker.queue<string>(queue).put('held');
    const [task] = await worker.queue<string>(queue).getMany(1, { timeout: 1 });
    const [sessionId, managerId] = [worker.sessionId, worker.managerId];
    // Redis holds the release script a while: the worker's connection closes before it answers.
    redis.pauseWrites(500);
    assert.equal((await a.stop()).code, 0, a.stderr);
    await eventually(() => released.length === 1, 10_000, 'the released event');
    assert.deepEqual(
      [released[0]!.taskId, released[0]!.error, released[0]!.client?.sessionId, released[0]!.client?.name, released[0]!.manager],
      [task!.id, 'manager shut down', sessionId, 'worker-on-a', managerId],
    );
  });

  it('--store with --data-dir or --fsync, --heartbeat-ttl without --store, or a URL that is not Redis: exit 2 and why', async () => {
    const cases: [string[], RegExp][] = [
      [['--store', redis.url, '--data-dir', makeHome()], /--store and --data-dir are two different stores: give one/],
      [['--store', redis.url, '--fsync', 'always'], /--fsync is for --data-dir: with --store, Redis's own persistence settings apply/],
      [['--heartbeat-ttl', '1'], /--heartbeat-ttl is for managers that share a --store/],
      [['--store', 'http://user:pw@example.com'], /invalid store URL "http:\/\/user:\*\*\*@example\.com": expected redis:\/\//],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['serve', '--port', '0', ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /:pw@/);
    }
  });
});
