import { strict as assert } from 'node:assert';
import type { ReceivedTask, TaskwireClient } from '../../src';
import { startServer, type RunningServer } from '../helpers/harness';
import { sleep, within } from './util';

let counter = 0;
const fresh = (prefix = 'c') => `${prefix}-${process.pid}-${++counter}`;

describe('client: consume() and work()', function () {
  let running: RunningServer;
  let client: TaskwireClient;
  let observer: TaskwireClient;

  before(async () => {
    running = await startServer();
  });

  after(async () => {
    await running.stop();
  });

  beforeEach(async () => {
    client = await running.client({ name: 'consumer' });
    observer = await running.client({ name: 'observer', role: 'monitor' });
  });

  afterEach(() => {
    client.close();
    observer.close();
  });

  describe('consume()', () => {
    it('acks each task once the loop body is done with it', async () => {
      const q = client.queue<number>(fresh());
      await q.putMany([1, 2, 3].map((payload) => ({ payload })));
      const seen: number[] = [];
      await within(
        (async () => {
          for await (const task of q.consume({ idleTimeout: 0.3 })) {
            // While the body runs the task is leased, and every earlier one is acked.
            const stats = await observer.queue(q.name).stats();
            assert.equal(stats.leased, 1);
            assert.equal(stats.totals.acked, seen.length);
            assert.equal(task.attempt, 1);
            seen.push(task.payload);
          }
        })(),
        10_000,
        'the consume loop',
      );
      assert.deepEqual(seen, [1, 2, 3]);
      const stats = await observer.queue(q.name).stats();
      assert.equal(stats.totals.acked, 3);
      assert.equal(stats.leased, 0);
      assert.equal(stats.ready, 0);
      assert.equal(stats.totals.nacked, 0);
    });

    it('does not ack a task again that the body settled itself', async () => {
      const q = client.queue<number>(fresh());
      const results = fresh('results');
      await q.putMany([{ payload: 1, replyTo: results }, { payload: 2 }]);
      let count = 0;
      for await (const task of q.consume({ idleTimeout: 0.3 })) {
        count++;
        if (task.payload === 1) await task.ack('explicit');
        else await task.nack({ error: 'explicit nack', delay: 60 });
      }
      assert.equal(count, 2);
      const stats = await observer.queue(q.name).stats();
      assert.equal(stats.totals.acked, 1);
      assert.equal(stats.totals.nacked, 1);
      assert.equal(stats.delayed, 1);
      const reply = await observer.queue(results).get({ timeout: 5, autoAck: true });
      assert.deepEqual((reply.payload as { result: unknown }).result, 'explicit');
    });

    it('prefetch takes several tasks per request', async () => {
      const q = client.queue<number>(fresh());
      await q.putMany([1, 2, 3, 4].map((payload) => ({ payload })));
      const seen: number[] = [];
      for await (const task of q.consume({ prefetch: 4, idleTimeout: 0.3 })) {
        if (seen.length === 0) assert.equal((await observer.queue(q.name).stats()).leased, 4);
        seen.push(task.payload);
      }
      assert.deepEqual(seen, [1, 2, 3, 4]);
      assert.equal((await observer.queue(q.name).stats()).totals.acked, 4);
    });

    it('a throw inside the loop nacks the task in hand; it comes back with attempt 2 and lastError', async () => {
      const q = client.queue(fresh());
      const id = await q.put('poison');
      await assert.rejects(
        (async () => {
          for await (const task of q.consume({ idleTimeout: 5 })) {
            assert.equal(task.id, id);
            throw new Error('handler blew up');
          }
        })(),
        /handler blew up/,
      );
      const stats = await observer.queue(q.name).stats();
      assert.equal(stats.leased, 0);
      assert.equal(stats.totals.nacked, 1);
      assert.equal(stats.totals.acked, 0);
      const again = await observer.queue(q.name).get({ timeout: 5 });
      assert.equal(again.id, id);
      assert.equal(again.attempt, 2);
      assert.equal(typeof again.lastError, 'string');
      assert.ok(again.lastError!.length > 0);
      await again.ack();
    });

    it('break nacks the task in hand and leaves the rest untouched', async () => {
      const q = client.queue<string>(fresh());
      const [first] = await q.putMany([{ payload: 'a' }, { payload: 'b' }]);
      for await (const task of q.consume({ idleTimeout: 5 })) {
        assert.equal(task.payload, 'a');
        break;
      }
      // The task in hand is retried with the manager's back-off (1 s for a first attempt),
      // so a loop body that always throws cannot spin on it.
      const stats = await observer.queue(q.name).stats();
      assert.equal(stats.leased, 0);
      assert.equal(stats.ready, 1);
      assert.equal(stats.delayed, 1);
      assert.equal(stats.totals.acked, 0);
      assert.equal(stats.totals.nacked, 1);
      const b = await observer.queue<string>(q.name).get({ timeout: 5, autoAck: true });
      assert.equal(b.payload, 'b');
      assert.equal(b.attempt, 1);
      const a = await observer.queue<string>(q.name).get({ timeout: 5, autoAck: true });
      assert.equal(a.id, first, 'the task in hand was lost');
      assert.equal(a.attempt, 2);
      assert.equal(a.lastError, 'the consumer stopped before acknowledging the task');
    });

    it('idleTimeout ends the iteration when nothing comes', async () => {
      const q = client.queue(fresh());
      const started = Date.now();
      let count = 0;
      await within(
        (async () => {
          for await (const _task of q.consume({ idleTimeout: 0.2 })) count++;
        })(),
        5000,
        'the idle consume loop',
      );
      assert.equal(count, 0);
      assert.ok(Date.now() - started >= 150);
      assert.equal((await observer.queue(q.name).stats()).waitingGetters, 0);
    });

    it('an AbortSignal ends a waiting loop', async () => {
      const q = client.queue(fresh());
      const controller = new AbortController();
      const loop = (async () => {
        let count = 0;
        for await (const _task of q.consume({ signal: controller.signal })) count++;
        return count;
      })();
      await sleep(100);
      controller.abort();
      assert.equal(await within(loop, 5000, 'the aborted consume loop'), 0);
      assert.equal((await observer.queue(q.name).stats()).waitingGetters, 0);
    });
  });

  describe('one exchange per task (task/ack with next, spec §5.9.1)', () => {
    /** Frames the manager received while `run` ran (the closing manager/stats request included). */
    async function framesReceivedDuring(run: () => Promise<unknown>): Promise<number> {
      const before = (await observer.managerStats()).frames.received;
      await run();
      return (await observer.managerStats()).frames.received - before;
    }

    it('ackAndGetNext acks the task and leases the next one in the same exchange; [] when none is ready', async () => {
      const q = client.queue<string>(fresh());
      const results = fresh('results');
      const ids = await q.putMany(['a', 'b'].map((payload) => ({ payload, replyTo: results })));
      const first = await q.get({ timeout: 5 });
      const frames = await framesReceivedDuring(async () => {
        const [second] = await first.ackAndGetNext('a done', { timeout: 5 });
        assert.equal(first.settled, true);
        assert.deepEqual([second?.id, second?.payload, second?.attempt], [ids[1], 'b', 1]);
        assert.deepEqual(await second!.ackAndGetNext('b done', { timeout: 0 }), []);
      });
      assert.equal(frames, 3, 'two acks with next and the closing stats request');
      const stats = await observer.queue(q.name).stats();
      assert.deepEqual([stats.ready, stats.leased, stats.totals.acked], [0, 0, 2]);
      const replies = await observer.queue<{ taskId: string; result: string }>(results).getMany(10, { timeout: 5, autoAck: true });
      assert.deepEqual(replies.map((r) => r.payload.result).sort(), ['a done', 'b done']);
    });

    it('work() costs one request per task, plus the first get', async () => {
      const q = client.queue<number>(fresh());
      const n = 20;
      await q.putMany(Array.from({ length: n }, (_, payload) => ({ payload })));
      const frames = await framesReceivedDuring(() =>
        within(
          q.work((task) => task.payload, { idleTimeout: 0.3 }),
          10_000,
          'work()',
        ),
      );
      assert.equal(frames, n + 2, `${n} tasks: one get, ${n} acks that take the next, and the closing stats request`);
      assert.equal((await observer.queue(q.name).stats()).totals.acked, n);
    });

    it('consume() acks each task with the get of the next one', async () => {
      const q = client.queue<number>(fresh());
      await q.putMany([1, 2, 3].map((payload) => ({ payload })));
      const seen: number[] = [];
      const frames = await framesReceivedDuring(async () => {
        for await (const task of q.consume({ idleTimeout: 0.3 })) seen.push(task.payload);
      });
      assert.deepEqual(seen, [1, 2, 3]);
      assert.equal(frames, 5, 'one get, three acks that take the next, the closing stats request');
    });

    it('against a manager that does not announce ackNext, acks then gets: the same tasks, two requests each', async () => {
      const q = client.queue<number>(fresh());
      // The same client and manager, with the capability hidden: what an older manager announces.
      const capabilities = { ...client.capabilities, ackNext: false };
      Object.defineProperty(client, 'capabilities', { get: () => capabilities });
      await q.putMany([1, 2, 3].map((payload) => ({ payload })));
      const seen: number[] = [];
      const frames = await framesReceivedDuring(() =>
        within(
          q.work((task) => seen.push(task.payload), { idleTimeout: 0.3 }),
          10_000,
          'work()',
        ),
      );
      assert.deepEqual(seen, [1, 2, 3]);
      assert.equal(frames, 1 + 3 * 2 + 1, 'one get, an ack and a get per task, the closing stats request');
      assert.equal((await observer.queue(q.name).stats()).totals.acked, 3);
    });

    it('an abort while an ackAndGetNext waits ends the wait; the ack stands', async () => {
      const q = client.queue(fresh());
      await q.put('only');
      const task = await q.get({ timeout: 5 });
      const controller = new AbortController();
      const waiting = task.ackAndGetNext(undefined, { signal: controller.signal });
      await sleep(100);
      controller.abort();
      assert.deepEqual(await within(waiting, 5000, 'the aborted ackAndGetNext'), []);
      assert.equal(task.settled, true);
      const stats = await observer.queue(q.name).stats();
      assert.deepEqual([stats.waitingGetters, stats.leased, stats.totals.acked], [0, 0, 1]);
    });
  });

  describe('work()', () => {
    it('routes the handler result to replyTo and resolves with the count', async () => {
      const q = client.queue<number>(fresh());
      const results = fresh('results');
      const ids = await q.putMany([1, 2, 3].map((payload) => ({ payload, replyTo: results })));
      const handled = await within(
        q.work((task) => task.payload * 10, { idleTimeout: 0.3 }),
        10_000,
        'work()',
      );
      assert.equal(handled, 3);
      const replies = await observer.queue<{ taskId: string; result: number }>(results).getMany(10, { timeout: 5, autoAck: true });
      assert.deepEqual(
        replies.map((r) => r.payload).sort((a, b) => a.result - b.result),
        [
          { taskId: ids[0], result: 10 },
          { taskId: ids[1], result: 20 },
          { taskId: ids[2], result: 30 },
        ],
      );
      assert.equal((await observer.queue(q.name).stats()).totals.acked, 3);
    });

    it('an async handler works the same', async () => {
      const q = client.queue<string>(fresh());
      const results = fresh('results');
      const id = await q.put('hi', { replyTo: results });
      const handled = await q.work(
        async (task) => {
          await sleep(10);
          return task.payload.toUpperCase();
        },
        { idleTimeout: 0.2 },
      );
      assert.equal(handled, 1);
      const reply = await observer.queue(results).get({ timeout: 5, autoAck: true });
      assert.deepEqual(reply.payload, { taskId: id, result: 'HI' });
    });

    it('a throwing handler nacks with the error message and calls onError', async () => {
      const q = client.queue(fresh());
      const id = await q.put('bad');
      const errors: [unknown, ReceivedTask][] = [];
      const handled = await within(
        q.work(
          () => {
            throw new Error('kaboom');
          },
          { idleTimeout: 0.2, onError: (error, task) => errors.push([error, task]) },
        ),
        10_000,
        'work()',
      );
      assert.equal(handled, 1);
      assert.equal(errors.length, 1);
      assert.equal((errors[0]![0] as Error).message, 'kaboom');
      assert.equal(errors[0]![1].id, id);
      const stats = await observer.queue(q.name).stats();
      assert.equal(stats.totals.nacked, 1);
      assert.equal(stats.leased, 0);
      // Redelivered after the manager's back-off, with the handler's message.
      const again = await observer.queue(q.name).get({ timeout: 10 });
      assert.equal(again.id, id);
      assert.equal(again.attempt, 2);
      assert.equal(again.lastError, 'kaboom');
      await again.ack();
    });

    it('concurrency > 1 runs handlers in parallel', async () => {
      const q = client.queue<number>(fresh());
      await q.putMany([1, 2, 3, 4].map((payload) => ({ payload })));
      let inFlight = 0;
      let maxInFlight = 0;
      let release!: () => void;
      const allIn = new Promise<void>((resolve) => (release = resolve));
      const handled = await within(
        q.work(
          async () => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            if (inFlight === 4) release();
            // Each handler waits until all four are running at once (or gives up after 3 s).
            await Promise.race([allIn, sleep(3000)]);
            inFlight--;
          },
          { concurrency: 4, idleTimeout: 0.3 },
        ),
        15_000,
        'work()',
      );
      assert.equal(handled, 4);
      assert.equal(maxInFlight, 4);
      assert.equal((await observer.queue(q.name).stats()).totals.acked, 4);
    });

    it('concurrency 1 runs one handler at a time', async () => {
      const q = client.queue<number>(fresh());
      await q.putMany([1, 2, 3].map((payload) => ({ payload })));
      let inFlight = 0;
      let maxInFlight = 0;
      const order: number[] = [];
      const handled = await q.work(
        async (task) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await sleep(20);
          order.push(task.payload);
          inFlight--;
        },
        { idleTimeout: 0.2 },
      );
      assert.equal(handled, 3);
      assert.equal(maxInFlight, 1);
      assert.deepEqual(order, [1, 2, 3]);
    });

    it('an AbortSignal stops work() with the count so far', async () => {
      const q = client.queue<number>(fresh());
      await q.put(1);
      const controller = new AbortController();
      const working = q.work(() => undefined, { signal: controller.signal, concurrency: 2 });
      await sleep(200);
      controller.abort();
      assert.equal(await within(working, 5000, 'work()'), 1);
    });
  });
});
