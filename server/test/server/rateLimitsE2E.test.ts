import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueEmptyError, type TaskwireClient } from '../../src/client';
import { cleanupCli, startServe, type Serve } from '../cli/cliHarness';
import { startRedis, type RunningRedis } from '../helpers/redis';

// Rate limits end to end (spec §7.22) on each store: a memory manager, a data dir (with a
// restart), and three managers on one Redis. Real managers (child processes), real sockets,
// real clocks: the test counts what its workers receive per sliding second, per key and in all.

const KEYS = 20;
const TASKS = 100;
const WORKERS = 8;
const KEY_RATE = { max: 5, period: 1 };
const QUEUE_RATE = { max: 40, period: 1 };
/**
 * Workers see a delivery later than it was granted, by a jitter that may bunch two of them: a
 * window of the period less this is held to the limit (burst 1: at most max in any period).
 */
const JITTER_MS = 150;

interface Delivery {
  key: string;
  id: string;
  at: number;
}

type Payload = { key: string; n: number };

/** The most deliveries in any window [t, t + width) starting at a delivery. */
function busiestWindow(times: number[], width: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end]! < sorted[start]! + width) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

/** Workers that take and ack until `total` tasks came, each on its own connection (spread over the managers). */
async function work(clients: TaskwireClient[], queue: string, total: number, onTask: (task: Payload, id: string) => Promise<void> | void): Promise<void> {
  let received = 0;
  const deadline = Date.now() + 60_000;
  await Promise.all(
    clients.map(async (client) => {
      while (received < total && Date.now() < deadline) {
        let task;
        try {
          task = await client.queue<Payload>(queue).get({ timeout: 1 });
        } catch (error) {
          if (error instanceof QueueEmptyError) continue;
          throw error;
        }
        received++;
        await onTask(task.payload, task.id);
        await task.ack();
      }
    }),
  );
}

async function connectWorkers(managers: Serve[]): Promise<TaskwireClient[]> {
  return Promise.all(Array.from({ length: WORKERS }, (_, i) => managers[i % managers.length]!.client({ name: `worker-${i}`, role: 'worker' })));
}

/** 100 tasks over 20 keys at 5/s per key and 40/s in all, to 8 workers: within the limits, none lost. */
async function ratesHold(managers: Serve[], queue: string): Promise<void> {
  const producer = await managers[0]!.client({ name: 'producer', role: 'producer' });
  await producer.queue(queue).declare({ rate: QUEUE_RATE, keyRate: KEY_RATE });
  const specs = Array.from({ length: TASKS }, (_, n) => ({ payload: { key: `host-${n % KEYS}`, n }, rateKey: `host-${n % KEYS}` }));
  const ids = await producer.queue(queue).putMany(specs);
  const workers = await connectWorkers(managers);
  const deliveries: Delivery[] = [];
  const started = Date.now();
  await work(workers, queue, TASKS, (task, id) => {
    deliveries.push({ key: task.key, id, at: Date.now() });
  });
  const took = Date.now() - started;
  assert.deepEqual(deliveries.map((d) => d.id).sort(), [...ids].sort(), 'every task delivered once, none lost');
  const global = busiestWindow(
    deliveries.map((d) => d.at),
    1000 - JITTER_MS,
  );
  assert.ok(global <= QUEUE_RATE.max, `${global} deliveries within one second, the queue's rate is ${QUEUE_RATE.max}/s`);
  for (let k = 0; k < KEYS; k++) {
    const key = `host-${k}`;
    const times = deliveries.filter((d) => d.key === key).map((d) => d.at);
    const most = busiestWindow(times, 1000 - JITTER_MS);
    assert.ok(most <= KEY_RATE.max, `${most} deliveries of ${key} within one second, its rate is ${KEY_RATE.max}/s`);
  }
  // The limits did hold the workers back: 100 tasks at 40/s take 99 intervals of 25 ms at least.
  assert.ok(took >= 99 * 25 - JITTER_MS, `100 tasks took ${took} ms, faster than 40/s allows`);
  const stats = await producer.queue(queue).stats();
  assert.deepEqual([stats.ready, stats.leased, stats.throttled, stats.rate, stats.keyRate], [0, 0, 0, QUEUE_RATE, KEY_RATE]);
}

/** With keyConcurrency 2, never more than 2 tasks of one key leased at once. */
async function concurrencyHolds(managers: Serve[], queue: string): Promise<void> {
  const producer = await managers[0]!.client({ name: 'producer', role: 'producer' });
  await producer.queue(queue).declare({ keyConcurrency: 2 });
  const total = 40;
  await producer.queue(queue).putMany(Array.from({ length: total }, (_, n) => ({ payload: { key: `host-${n % 4}`, n }, rateKey: `host-${n % 4}` })));
  const workers = await connectWorkers(managers);
  const inFlight = new Map<string, number>();
  const most = new Map<string, number>();
  let done = 0;
  await work(workers, queue, total, async (task) => {
    const now = (inFlight.get(task.key) ?? 0) + 1;
    inFlight.set(task.key, now);
    most.set(task.key, Math.max(most.get(task.key) ?? 0, now));
    await new Promise((resolve) => setTimeout(resolve, 40));
    // Counted out before the ack is sent: the lease ends after that, so this count is never above the manager's.
    inFlight.set(task.key, inFlight.get(task.key)! - 1);
    done++;
  });
  assert.equal(done, total);
  for (const [key, count] of most) assert.ok(count <= 2, `${count} tasks of ${key} were held at once; keyConcurrency is 2`);
  assert.ok(
    [...most.values()].some((count) => count === 2),
    'eight workers on four keys: some key had its two places filled',
  );
}

describe('rate limits end to end', function () {
  this.timeout(120_000);
  afterEach(cleanupCli);

  describe('in memory', () => {
    it('100 tasks over 20 keys at 5/s per key and 40/s in all reach 8 workers within the limits, none lost', async () => {
      await ratesHold([await startServe()], 'crawl');
    });
    it('with keyConcurrency 2, never more than 2 tasks of one key are leased at once', async () => {
      await concurrencyHolds([await startServe()], 'fetch');
    });
  });

  describe('on a data dir', () => {
    it('the limits hold, and the limits and rate keys survive a restart', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'taskwire-rate-'));
      const first = await startServe(['--data-dir', dataDir]);
      await ratesHold([first], 'crawl');
      const client = await first.client({ name: 'producer', role: 'producer' });
      await client.queue('capped').declare({ keyConcurrency: 1, keyRate: { max: 100, period: 1, burst: 10 } });
      await client.queue('capped').putMany([
        { payload: 'a1', rateKey: 'a' },
        { payload: 'a2', rateKey: 'a' },
        { payload: 'b1', rateKey: 'b' },
      ]);
      await first.stop();
      const second = await startServe(['--data-dir', dataDir]);
      const after = await second.client({ name: 'worker', role: 'worker' });
      const stats = await after.queue('capped').stats();
      assert.deepEqual([stats.keyConcurrency, stats.keyRate, stats.ready], [1, { max: 100, period: 1, burst: 10 }, 3]);
      const tasks = await after.queue('capped').getMany(3, { timeout: 1 });
      assert.deepEqual(
        tasks.map((task) => task.payload),
        ['a1', 'b1'],
        'a holds its one place after the restart: its rate key survived',
      );
    });
    it('with keyConcurrency 2, never more than 2 tasks of one key are leased at once', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'taskwire-rate-'));
      await concurrencyHolds([await startServe(['--data-dir', dataDir])], 'fetch');
    });
  });

  describe('three managers on one Redis', () => {
    let redis: RunningRedis;
    before(async () => (redis = await startRedis()));
    after(async () => redis?.stop());

    it('100 tasks over 20 keys at 5/s per key and 40/s in all reach 8 workers through 3 managers within the limits, none lost', async () => {
      const managers = await Promise.all([0, 1, 2].map(() => startServe(['--store', redis.url])));
      await ratesHold(managers, `crawl-${process.pid}`);
    });
    it('with keyConcurrency 2, never more than 2 tasks of one key are leased at once across 3 managers', async () => {
      const managers = await Promise.all([0, 1, 2].map(() => startServe(['--store', redis.url])));
      await concurrencyHolds(managers, `fetch-${process.pid}`);
    });
  });
});
