import { strict as assert } from 'node:assert';
import type { TaskwireClient } from '../../src';
import { cleanupCli, makeHome, startServe, type Serve } from '../cli/cliHarness';
import { startRedis, type RunningRedis } from '../helpers/redis';

// Three managers (child processes) on one Redis, producers and workers spread over them, and
// one manager SIGKILLed mid-load: every answered put is delivered, no acked task comes back,
// and the dead manager's leases come back through the others.

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('Three managers on one Redis, one SIGKILLed mid-load', function () {
  this.timeout(90_000);
  let redis: RunningRedis;
  before(async () => (redis = await startRedis({ appendonly: true, appendfsync: 'always' })));
  after(async () => redis?.stop());
  afterEach(cleanupCli);

  it('delivers every answered put, never brings back an acked task, and returns the dead manager’s leases', async () => {
    const home = makeHome();
    const managers: Serve[] = [];
    for (let i = 0; i < 3; i++) managers.push(await startServe(['--store', redis.url, '--heartbeat-ttl', '1'], { home }));
    const queue = `load-${process.pid}`;
    const perProducer = 150;
    const answered = new Set<string>();
    const acked = new Set<string>();
    const deliveries: { id: string; attempt: number; at: number }[] = [];
    const comebacks: string[] = [];
    let stopWorkers = false;

    const produce = async (client: TaskwireClient, name: string) => {
      for (let i = 0; i < perProducer; i++) {
        try {
          answered.add(await client.queue(queue).put({ from: name, i }));
        } catch {
          return; // its manager died: what was not answered is not counted
        }
      }
    };
    const work = async (client: TaskwireClient) => {
      const jobs = client.queue(queue);
      while (!stopWorkers) {
        let tasks;
        try {
          tasks = await jobs.getMany(5, { timeout: 0.5, ttr: 60 });
        } catch {
          return; // its manager died
        }
        for (const task of tasks) {
          deliveries.push({ id: task.id, attempt: task.attempt, at: Date.now() });
          if (acked.has(task.id)) comebacks.push(task.id);
          try {
            await task.ack();
            acked.add(task.id);
          } catch {
            return;
          }
        }
      }
    };

    const clients = await Promise.all(managers.flatMap((m) => [m.client({ name: 'producer' }), m.client({ name: 'worker' })]));
    const producers = [0, 1, 2].map((i) => produce(clients[2 * i]!, `p${i}`));
    const workers = [0, 1, 2].map((i) => work(clients[2 * i + 1]!));
    // Mid-load: the third manager dies with its producer's and its worker's requests in flight.
    while (acked.size < 100) await sleep(20);
    const killedAt = Date.now();
    managers[2]!.child.kill('SIGKILL');
    await Promise.all(producers);
    const deadline = Date.now() + 30_000;
    // Delivered, not acked: an ack the dead manager applied in Redis but could not answer leaves
    // its task gone (rightly) and its worker unaware.
    const delivered = () => new Set(deliveries.map((d) => d.id));
    while ([...answered].some((id) => !delivered().has(id)) && Date.now() < deadline) await sleep(100);
    stopWorkers = true;
    await Promise.all(workers);

    const seen = delivered();
    const missing = [...answered].filter((id) => !seen.has(id));
    assert.deepEqual(missing, [], `${missing.length} answered puts were never delivered`);
    assert.deepEqual(comebacks, [], 'an acked task came back');
    assert.ok(answered.size >= 2 * perProducer, `the producers on the surviving managers were not all answered: ${answered.size}`);
    // Tasks the dead manager's worker held come back with attempt 2, through the survivors, within the bound.
    const returned = deliveries.filter((d) => d.attempt > 1);
    for (const d of returned) assert.ok(d.at - killedAt < 10_000, `a lease came back ${d.at - killedAt} ms after the kill`);
  });
});
