// Byte bounds over real TCP: the manager-wide maxQueuedBytes and a queue's maxBytes. Puts
// beyond them wait or fail with 1002 like puts on a queue at its maxsize, and the manager keeps
// serving the other clients meanwhile.
import { strict as assert } from 'node:assert';
import { call, expectError, expectResult, expectServes, queueName, sleep, useFixture, type RawConnection } from './fixture';

const KiB = 1024;

/** A string payload of exactly `bytes` bytes of JSON (its quotes included). */
function sized(bytes: number): string {
  return 'p'.repeat(bytes - 2);
}

/** Empties a queue through `raw` (get with autoAck), freeing its bytes. */
async function drain(raw: RawConnection, queue: string): Promise<number> {
  const { tasks } = await call(raw, 'queue/get', { queue, max: 1000, timeout: 0, autoAck: true });
  return tasks.length;
}

describe('server: byte bounds', function () {
  this.timeout(30_000);
  const fx = useFixture();

  describe('the manager-wide maxQueuedBytes', () => {
    it('refuses puts beyond it with 1002 naming maxQueuedBytes (timeout 0 at once, a timeout when it passes), while another client is served', async () => {
      const budget = 100 * KiB;
      const { port } = await fx.server({ limits: { maxQueuedBytes: budget } });
      const producer = await fx.connect(port, 'producer');
      const other = await fx.connect(port, 'other');
      const full = queueName('full');
      const small = queueName('small');
      const { ids } = await call(other, 'queue/put', { queue: small, tasks: [{ payload: 'fits' }] });
      for (let i = 0; i < 9; i++) await call(producer, 'queue/put', { queue: full, tasks: [{ payload: sized(10 * KiB) }] });
      const held = 9 * 10 * KiB + 6;
      const stats = await call(producer, 'queue/stats', { queue: full });
      assert.deepEqual([stats.bytes, stats.maxBytes], [9 * 10 * KiB, 0]);
      const manager = await call(other, 'manager/stats');
      assert.deepEqual([manager.queuedBytes, manager.maxQueuedBytes], [held, budget]);

      expectError(
        await producer.request('queue/put', { queue: full, tasks: [{ payload: sized(20 * KiB) }], timeout: 0 }),
        1002,
        `queue full: the manager has no room for 1 task of ${20 * KiB} bytes in "${full}" (maxQueuedBytes ${budget}, ${held} held)`,
        { reason: 'queue_full', queue: full, maxsize: 0, limit: 'maxQueuedBytes', max: budget },
      );
      const started = Date.now();
      const timedOut = producer.request('queue/put', { queue: full, tasks: [{ payload: sized(20 * KiB) }], timeout: 0.5 });
      // While that put waits, the other client is served: ping, stats, a get and an ack.
      assert.match((await call(other, 'session/ping')).time, /^\d{4}-/);
      assert.equal((await call(other, 'queue/stats', { queue: full })).waitingPutters, 1);
      const { tasks } = await call(other, 'queue/get', { queue: small, timeout: 0 });
      assert.deepEqual(
        tasks.map((t: { id: string }) => t.id),
        ids,
      );
      await call(other, 'task/ack', { acks: [{ id: ids[0] }] });
      expectError(await timedOut, 1002, /^queue full: the manager has no room for 1 task of 20480 bytes/, { limit: 'maxQueuedBytes', max: budget });
      assert.ok(Date.now() - started >= 400, 'the put waited for its timeout');
      assert.equal((await call(producer, 'queue/stats', { queue: full })).ready, 9, 'nothing was added');
      // Once bytes are freed, puts go in again.
      assert.equal(await drain(other, full), 9);
      await expectServes(other);
      await expectServes(producer);
    });

    it('holds a blocking put until another client frees bytes on another queue, then lets it in; the waiting client keeps being served', async () => {
      const budget = 100 * KiB;
      const { port } = await fx.server({ limits: { maxQueuedBytes: budget } });
      const producer = await fx.connect(port, 'producer');
      const worker = await fx.connect(port, 'worker');
      const work = queueName('work');
      const later = queueName('later');
      await call(worker, 'queue/put', { queue: work, tasks: Array.from({ length: 8 }, () => ({ payload: sized(10 * KiB) })) });
      let answered = false;
      const blocked = producer.request('queue/put', { queue: later, tasks: [{ payload: sized(30 * KiB) }, { payload: sized(10 * KiB) }] }, 20_000).then((m) => {
        answered = true;
        return m;
      });
      await sleep(200);
      assert.equal(answered, false, 'the put waits: 80 KiB held + 40 KiB > 100 KiB');
      assert.equal((await call(worker, 'queue/stats', { queue: later })).waitingPutters, 1);
      // A put of the other client that would fit does not overtake the waiting one...
      expectError(await worker.request('queue/put', { queue: queueName('x'), tasks: [{ payload: 'small' }], timeout: 0 }), 1002, /maxQueuedBytes/, {
        limit: 'maxQueuedBytes',
      });
      // ...but the waiting client itself is served, on the same connection: ping, stats.
      assert.match((await call(producer, 'session/ping')).time, /^\d{4}-/);
      assert.equal((await call(producer, 'manager/stats')).queuedBytes, 80 * KiB);
      // The worker takes two tasks and acks them: 20 KiB freed, room for the 40 KiB put.
      const { tasks } = await call(worker, 'queue/get', { queue: work, max: 2, timeout: 0 });
      await sleep(100);
      assert.equal(answered, false, 'leased tasks still count');
      await call(worker, 'task/ack', { acks: tasks.map((t: { id: string }) => ({ id: t.id })) });
      const result = expectResult('queue/put', await blocked);
      assert.equal(result.ids.length, 2);
      assert.equal((await call(worker, 'manager/stats')).queuedBytes, 100 * KiB);
      assert.equal(await drain(worker, work), 6);
      await expectServes(worker);
      await expectServes(producer);
    });

    it('refuses at once, whatever the timeout, a put that could never fit the budget', async () => {
      const { port } = await fx.server({ limits: { maxQueuedBytes: 50 * KiB } });
      const producer = await fx.connect(port, 'producer');
      const queue = queueName('huge');
      expectError(
        await producer.request('queue/put', { queue, tasks: [{ payload: sized(30 * KiB) }, { payload: sized(30 * KiB) }] }),
        1002,
        `queue full: the manager can never hold 2 tasks of ${60 * KiB} bytes (maxQueuedBytes ${50 * KiB})`,
        { reason: 'queue_full', queue, limit: 'maxQueuedBytes', max: 50 * KiB },
      );
      await expectServes(producer);
    });

    it('stops reading a connection whose waiting puts hold more than maxBlockedBytes, serves everyone else, and reads on once they are answered', async () => {
      const { port } = await fx.server({ limits: { maxQueuedBytes: 100 * KiB, maxBlockedBytes: 64 * KiB } });
      const pusher = await fx.connect(port, 'pusher');
      const worker = await fx.connect(port, 'worker');
      const queue = queueName('pushed');
      await call(pusher, 'queue/put', { queue, tasks: [{ payload: sized(90 * KiB) }] });
      // Ten puts of 40 KiB pipelined, then a ping: the manager stops reading after the second
      // waiting put (80 KiB > 64 KiB), so neither the rest nor the ping is read.
      const putIds = Array.from({ length: 10 }, () => pusher.send('queue/put', { queue, tasks: [{ payload: sized(40 * KiB) }] }));
      const pingId = pusher.send('session/ping', {});
      await sleep(300);
      assert.equal(pusher.messages.filter((m) => m.id === pingId).length, 0, 'the ping was not read');
      const waiting = (await call(worker, 'queue/stats', { queue })).waitingPutters;
      assert.ok(waiting >= 2 && waiting <= 3, `${waiting} puts read and waiting`);
      // Everyone else is served meanwhile (their puts wait for the budget too: it is full).
      assert.match((await call(worker, 'session/ping')).time, /^\d{4}-/);
      assert.equal((await call(worker, 'manager/stats')).queuedBytes, 90 * KiB);
      // The worker consumes; each put goes in as room appears, and the rest are read in turn.
      let consumed = 0;
      while (consumed < 11) {
        const { tasks } = await call(worker, 'queue/get', { queue, max: 10, timeout: 5 }, 10_000);
        consumed += tasks.length;
        if (tasks.length > 0) await call(worker, 'task/ack', { acks: tasks.map((t: { id: string }) => ({ id: t.id })) });
      }
      for (const id of putIds) expectResult('queue/put', await pusher.waitFor((m) => m.id === id, 10_000));
      expectResult('session/ping', await pusher.waitFor((m) => m.id === pingId, 10_000));
      await expectServes(pusher);
    });
  });

  describe("a queue's maxBytes", () => {
    it('is declared and reported, bounds that queue only, and refuses puts beyond it with 1002 naming maxBytes', async () => {
      const { port } = await fx.server();
      const producer = await fx.connect(port, 'producer');
      const other = await fx.connect(port, 'other');
      const queue = queueName('bounded');
      expectResult('queue/declare', await producer.request('queue/declare', { queue, maxBytes: 1000 }));
      await call(producer, 'queue/put', { queue, tasks: [{ payload: sized(600) }] });
      const stats = await call(producer, 'queue/stats', { queue });
      assert.deepEqual([stats.bytes, stats.maxBytes], [600, 1000]);
      expectError(
        await producer.request('queue/put', { queue, tasks: [{ payload: sized(300) }, { payload: sized(200) }], timeout: 0 }),
        1002,
        `queue full: "${queue}" has no room for 2 tasks of 500 bytes (maxBytes 1000, 600 held)`,
        { reason: 'queue_full', queue, maxsize: 0, limit: 'maxBytes', max: 1000 },
      );
      expectError(await producer.request('queue/put', { queue, tasks: [{ payload: sized(1001) }] }), 1002, `queue full: "${queue}" can never take 1 task of 1001 bytes (maxBytes 1000)`, {
        limit: 'maxBytes',
        max: 1000,
      });
      // Another queue, and another client, are not bounded by it.
      await call(other, 'queue/put', { queue: queueName('free'), tasks: [{ payload: sized(5000) }], timeout: 0 });
      // A blocking put goes in once the queue has room again.
      const blocked = producer.request('queue/put', { queue, tasks: [{ payload: sized(500) }] }, 10_000);
      await sleep(100);
      assert.equal((await call(other, 'queue/stats', { queue })).waitingPutters, 1);
      assert.equal(await drain(other, queue), 1);
      assert.equal(expectResult('queue/put', await blocked).ids.length, 1);
      assert.equal((await call(other, 'queue/stats', { queue })).bytes, 500);
      // A negative or fractional maxBytes is invalid params.
      expectError(await producer.request('queue/declare', { queue, maxBytes: -1 }), -32602, /maxBytes/, { field: '/maxBytes' });
      expectError(await producer.request('queue/declare', { queue, maxBytes: 1.5 }), -32602, /maxBytes/, { field: '/maxBytes' });
      await expectServes(producer);
      await expectServes(other);
    });

    it('comes from taskwire serve -q NAME:maxBytes=... through the server options', async () => {
      const queue = queueName('declared');
      const { port } = await fx.server({ queues: [{ name: queue, maxBytes: 2048 }] });
      const raw = await fx.connect(port, 'declared');
      assert.equal((await call(raw, 'queue/stats', { queue })).maxBytes, 2048);
    });
  });
});
