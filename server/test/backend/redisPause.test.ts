import { strict as assert } from 'node:assert';
import type { Event } from '../../src';
import { cleanupCli, lines, startServe } from '../cli/cliHarness';
import { startRedis, type RunningRedis } from '../helpers/redis';

// A pause on Redis holds for every manager of the store (spec §7.19): two real managers
// (`taskwire serve --store`) on one redis-server, a pause through one and gets through the other.

describe('Redis store: a paused queue across managers', function () {
  this.timeout(60_000);
  let redis: RunningRedis;
  before(async () => (redis = await startRedis()));
  after(async () => redis?.stop());
  afterEach(cleanupCli);

  it("a worker's ack with next on a queue paused through another manager takes nothing until the resume, then the next task", async () => {
    const a = await startServe(['--store', redis.url]);
    const b = await startServe(['--store', redis.url], { home: a.home });
    const worker = await a.client({ name: 'worker-on-a' });
    const operator = await b.client({ name: 'operator-on-b' });
    const queue = `paused-ack-next-${process.pid}`;
    await operator.queue(queue).putMany([{ payload: 'first' }, { payload: 'second' }, { payload: 'third' }]);
    const first = await worker.queue(queue).get({ timeout: 5 });
    // Unpaused, the ack's own script takes the next task.
    const [second] = await first.ackAndGetNext('done', { timeout: 5 });
    assert.equal(second?.payload, 'second');
    assert.equal((await b.run(['pause', queue])).code, 0);
    let next: unknown = 'not yet';
    const acked = second!.ackAndGetNext('done', { timeout: 30 }).then(([task]) => (next = task?.payload));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(next, 'not yet', 'an ack with next took a task from a paused queue');
    assert.equal((await operator.queue(queue).stats()).totals.acked, 2, 'the ack itself applied at once');
    assert.equal((await b.run(['resume', queue])).code, 0);
    await acked;
    assert.equal(next, 'third');
  });

  it('a pause through manager A stops deliveries through manager B; a resume through B wakes a get blocked on A', async () => {
    const a = await startServe(['--store', redis.url]);
    const b = await startServe(['--store', redis.url], { home: a.home });
    const onA = await a.client({ name: 'worker-on-a' });
    const onB = await b.client({ name: 'worker-on-b' });
    const queue = `paused-across-${process.pid}`;
    const seenOnB: Event[] = [];
    await onB.subscribe({ queues: [queue], kinds: ['paused', 'resumed'] }, (event) => seenOnB.push(event));

    const paused = await a.run(['pause', queue]);
    assert.equal(paused.code, 0, paused.stderr);
    await onA.queue(queue).putMany([{ payload: 'first' }, { payload: 'second' }]);
    // B sees the queue paused and delivers nothing, now or after waiting.
    assert.equal((await onB.queue(queue).stats()).paused, true);
    assert.deepEqual(await onB.queue(queue).getMany(1, { timeout: 0 }), []);
    assert.deepEqual(await onB.queue(queue).getMany(1, { timeout: 0.5 }), []);
    const stats = await b.run(['stats']);
    const row = lines(stats.stdout).find((line) => line.startsWith(queue))!;
    assert.match(row, / yes /, stats.stdout);

    // A get blocked on A: B's resume publishes the wake-up that serves it.
    let delivered: unknown;
    const blocked = onA
      .queue(queue)
      .getMany(1, { timeout: 30 })
      .then((tasks) => (delivered = tasks[0]?.payload));
    while ((await onA.queue(queue).stats()).waitingGetters !== 1) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(delivered, undefined, 'a get on A took a task from a queue paused through A');
    const resumed = await b.run(['resume', queue]);
    assert.equal(resumed.code, 0, resumed.stderr);
    await blocked;
    assert.equal(delivered, 'first');
    assert.equal((await onB.queue(queue).get({ timeout: 5 })).payload, 'second');

    // B's subscriber saw A's pause and its own resume, each naming the session that asked.
    while (seenOnB.length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(
      seenOnB.map((event) => [event.kind, event.queue, event.client?.name]),
      [
        ['paused', queue, 'taskwire-cli'],
        ['resumed', queue, 'taskwire-cli'],
      ],
    );
    assert.notEqual(seenOnB[0]!.manager, seenOnB[1]!.manager, 'the pause came through A, the resume through B');
  });

  it('the pause is kept in Redis: a manager started after it finds the queue paused', async () => {
    const a = await startServe(['--store', redis.url]);
    const queue = `paused-before-${process.pid}`;
    assert.equal((await a.run(['pause', queue])).code, 0);
    assert.equal((await a.run(['put', queue, 'x'])).code, 0);
    assert.equal((await a.stop('SIGTERM')).code, 0);
    const b = await startServe(['--store', redis.url], { home: a.home });
    assert.equal((await b.run(['get', queue, '--no-wait'])).code, 5);
    const client = await b.client();
    const stats = await client.queue(queue).stats();
    assert.deepEqual([stats.ready, stats.paused], [1, true]);
  });
});
