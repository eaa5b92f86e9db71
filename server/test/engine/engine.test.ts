import { strict as assert } from 'node:assert';
import { DEFAULTS, Engine, EngineError, ManualClock } from '../../src/engine';
import { counts, expectEngineError, getNow, isoAt, makeHarness, payloads, putNow, startGet, startJoin, startPut, START, WORKER, peekNow } from './harness';

// The basics: ids, delivery order, delays, peek, purge, declare/list/stats and queue creation.
// Leases, retries, blocking and sessions have their own files (engine.*.test.ts).

describe('Engine basics', () => {
  describe('task ids', () => {
    it('are the idPrefix and a base-36 counter, so tests can predict them', () => {
      const { engine } = makeHarness({ idPrefix: 'run7' });
      const ids = putNow(
        engine,
        'jobs',
        Array.from({ length: 37 }, (_, i) => i),
      );
      assert.deepEqual(ids.slice(0, 3), ['run7-0', 'run7-1', 'run7-2']);
      assert.equal(ids[36], 'run7-10');
    });

    it('keep counting across queues: an id names one task in the whole engine', () => {
      const { engine } = makeHarness();
      assert.deepEqual(putNow(engine, 'a', ['x']), ['t-0']);
      assert.deepEqual(putNow(engine, 'b', ['y']), ['t-1']);
    });

    it('get a random hex prefix by default so ids from different runs do not collide', () => {
      const engine = new Engine({ clock: new ManualClock(START) });
      const [id] = putNow(engine, 'jobs', ['x']);
      assert.match(id!, /^[0-9a-f]{6}-0$/);
    });
  });

  describe('delivery order', () => {
    it('is FIFO within one priority', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['a', 'b']);
      putNow(engine, 'jobs', ['c']);
      assert.deepEqual(payloads(getNow(engine, 'jobs', { max: 10 })), ['a', 'b', 'c']);
    });

    it('is higher priority first, FIFO within a priority, negative priorities last', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', [
        { payload: 'low-1' },
        { payload: 'high-1', priority: 5 },
        { payload: 'negative', priority: -1 },
        { payload: 'low-2', priority: 0 },
        { payload: 'high-2', priority: 5 },
        { payload: 'top', priority: 9 },
      ]);
      const order = [];
      for (let task = getNow(engine, 'jobs'); task.length > 0; task = getNow(engine, 'jobs')) order.push(task[0]!.payload);
      assert.deepEqual(order, ['top', 'high-1', 'high-2', 'low-1', 'low-2', 'negative']);
    });

    it('applies to one batch get too', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', [{ payload: 'a' }, { payload: 'b', priority: 1 }, { payload: 'c' }]);
      assert.deepEqual(payloads(getNow(engine, 'jobs', { max: 3 })), ['b', 'a', 'c']);
    });

    it('delivers the wire form of a task', () => {
      const { engine, tick } = makeHarness();
      tick(2);
      const [id] = putNow(engine, 'jobs', [{ payload: { n: 1 }, priority: 3, replyTo: 'results' }]);
      tick(1);
      const [task] = getNow(engine, 'jobs');
      assert.deepEqual(task, {
        id,
        queue: 'jobs',
        payload: { n: 1 },
        attempt: 1,
        priority: 3,
        enqueuedAt: isoAt(2),
        leaseUntil: isoAt(3 + DEFAULTS.ttr),
        replyTo: 'results',
      });
    });
  });

  describe('delay', () => {
    it('holds a task back for that many seconds, then it is ready', () => {
      const { engine, tick, tickTo } = makeHarness();
      putNow(engine, 'jobs', [{ payload: 'later', delay: 5 }]);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 1, leased: 0 });
      assert.equal(engine.nextDeadline(), START + 5000);
      assert.deepEqual(getNow(engine, 'jobs'), []);
      tick(4.999);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 1, leased: 0 });
      tickTo(5);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 1, delayed: 0, leased: 0 });
      assert.deepEqual(payloads(getNow(engine, 'jobs')), ['later']);
    });

    it('takes fractions of a second', () => {
      const { engine, tick } = makeHarness();
      putNow(engine, 'jobs', [{ payload: 'x', delay: 0.25 }]);
      assert.equal(engine.nextDeadline(), START + 250);
      tick(0.25);
      assert.equal(counts(engine, 'jobs').ready, 1);
    });

    it('treats delay 0 as no delay', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', [{ payload: 'x', delay: 0 }]);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 1, delayed: 0, leased: 0 });
      assert.equal(engine.nextDeadline(), undefined);
    });

    it('lets tasks that come due together keep their put order and priorities', () => {
      const { engine, tick } = makeHarness();
      putNow(engine, 'jobs', ['now']);
      putNow(engine, 'jobs', [
        { payload: 'd1', delay: 1 },
        { payload: 'd2', delay: 1 },
        { payload: 'urgent', delay: 1, priority: 2 },
        { payload: 'd3', delay: 1 },
      ]);
      tick(1);
      assert.deepEqual(payloads(getNow(engine, 'jobs', { max: 10 })), ['urgent', 'now', 'd1', 'd2', 'd3']);
    });

    it('releases tasks with different delays in due order, one advance() at a time', () => {
      const { engine, tickTo } = makeHarness();
      putNow(engine, 'jobs', [
        { payload: 'three', delay: 3 },
        { payload: 'one', delay: 1 },
        { payload: 'two', delay: 2 },
      ]);
      tickTo(1);
      assert.deepEqual(payloads(getNow(engine, 'jobs', { max: 10 })), ['one']);
      assert.equal(engine.nextDeadline(), START + 2000);
      tickTo(3);
      assert.deepEqual(payloads(getNow(engine, 'jobs', { max: 10, session: 'w2' })), ['two', 'three']);
    });
  });

  describe('peek', () => {
    it('shows the next ready tasks in delivery order, up to max', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', [{ payload: 'a' }, { payload: 'b', priority: 1 }, { payload: 'c' }, { payload: 'd', delay: 1 }]);
      assert.deepEqual(payloads(peekNow(engine, 'jobs', 10)), ['b', 'a', 'c']);
      assert.deepEqual(payloads(peekNow(engine, 'jobs', 2)), ['b', 'a']);
      assert.deepEqual(engine.peek('jobs', 0), []);
    });

    it('leases, removes, counts and announces nothing', () => {
      const { engine, events } = makeHarness();
      const ids = putNow(engine, 'jobs', ['a', 'b']);
      const statsBefore = engine.queueStats('jobs');
      const eventsBefore = events.length;
      const peeked = engine.peek('jobs', 10);
      assert.deepEqual(
        peeked.map((t) => t.id),
        ids,
      );
      assert.ok(peeked.every((t) => t.attempt === 1 && t.leaseUntil === undefined));
      assert.deepEqual(engine.queueStats('jobs'), statsBefore);
      assert.equal(events.length, eventsBefore);
      assert.equal(engine.leasedBy(WORKER), 0);
      assert.deepEqual(
        getNow(engine, 'jobs', { max: 10 }).map((t) => t.id),
        ids,
      );
    });

    it('does not show leased tasks', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['a', 'b']);
      getNow(engine, 'jobs');
      assert.deepEqual(payloads(peekNow(engine, 'jobs', 10)), ['b']);
    });
  });

  describe('purge', () => {
    it('removes ready and delayed tasks, counts them, and leaves leased ones with their holder', () => {
      const { engine, events, tick } = makeHarness();
      const [leasedId] = putNow(engine, 'jobs', ['leased']);
      getNow(engine, 'jobs');
      putNow(engine, 'jobs', ['r1', 'r2', { payload: 'd1', delay: 5 }]);
      assert.equal(engine.purge('jobs', WORKER), 3);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 1 });
      assert.deepEqual(events.at(-1), { kind: 'purge', queue: 'jobs', count: 3, session: WORKER, at: START });
      // The purged delayed task must not come back when its delay ends.
      tick(10);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 1 });
      assert.equal(engine.ack(WORKER, [{ id: leasedId! }]), 1);
    });

    it('of an empty queue removes 0', () => {
      const { engine } = makeHarness();
      assert.equal(engine.purge('jobs'), 0);
    });

    it('counts a task held back by a nack once, though its old lease timer is still pending', () => {
      const { engine, tick } = makeHarness();
      const [id] = putNow(engine, 'jobs', ['x']);
      getNow(engine, 'jobs');
      engine.nack(WORKER, [{ id: id!, delay: 30 }]);
      assert.equal(engine.purge('jobs'), 1);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 0 });
      tick(120);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 0 });
    });

    it('of 300,000 ready tasks, plain and keyed by rate: all of them (gathered in a loop, not spread as arguments, which overflows the stack)', () => {
      const { engine } = makeHarness();
      engine.declareQueue('keyed', { keyRate: { max: 1, period: 1 } });
      const many = 300_000;
      for (const queue of ['plain', 'keyed']) {
        for (let i = 0; i < many; i += 10_000) {
          putNow(
            engine,
            queue,
            Array.from({ length: 10_000 }, (_, j) => ({ payload: i + j, rateKey: `host-${j % 3}` })),
          );
        }
        assert.equal(engine.purge(queue), many, queue);
        assert.deepEqual(counts(engine, queue), { ready: 0, delayed: 0, leased: 0 });
      }
    });

    it('does not touch other queues', () => {
      const { engine } = makeHarness();
      putNow(engine, 'a', ['x', { payload: 'y', delay: 1 }]);
      putNow(engine, 'b', ['z', { payload: 'w', delay: 1 }]);
      assert.equal(engine.purge('a'), 2);
      assert.deepEqual(counts(engine, 'b'), { ready: 1, delayed: 1, leased: 0 });
    });
  });

  describe('declareQueue, listQueues and queueStats', () => {
    it('creates a queue once, with defaults and the options given', () => {
      const { engine } = makeHarness();
      assert.deepEqual(engine.declareQueue('jobs', { maxsize: 10, ttr: 30 }), { queue: 'jobs', created: true });
      assert.deepEqual(engine.declareQueue('jobs'), { queue: 'jobs', created: false });
      assert.deepEqual(engine.queueStats('jobs'), {
        queue: 'jobs',
        ready: 0,
        leased: 0,
        delayed: 0,
        dead: 0,
        maxsize: 10,
        bytes: 0,
        maxBytes: 0,
        waitingGetters: 0,
        waitingPutters: 0,
        ttr: 30,
        maxAttempts: DEFAULTS.maxAttempts,
        deadLetter: 'jobs.dead',
        paused: false,
        totals: { put: 0, acked: 0, nacked: 0, expired: 0, released: 0, deadLettered: 0 },
      });
    });

    it('changes only the options given when the queue exists; deadLetter null is an option, not a gap', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxsize: 10, ttr: 30, maxAttempts: 3 });
      engine.declareQueue('jobs', { ttr: 5, deadLetter: null });
      const { maxsize, ttr, maxAttempts, deadLetter } = engine.queueStats('jobs');
      assert.deepEqual({ maxsize, ttr, maxAttempts, deadLetter }, { maxsize: 10, ttr: 5, maxAttempts: 3, deadLetter: null });
    });

    it('uses the engine defaults the host passes', () => {
      const { engine } = makeHarness({ defaults: { ttr: 7, maxAttempts: 2 } });
      const { ttr, maxAttempts } = engine.queueStats('jobs');
      assert.deepEqual({ ttr, maxAttempts }, { ttr: 7, maxAttempts: 2 });
    });

    it('reports counts, waiters and totals as they change', () => {
      const { engine, tick } = makeHarness();
      engine.declareQueue('jobs', { maxsize: 4, maxAttempts: 1 });
      const [a, b] = putNow(engine, 'jobs', ['a', 'b', 'c', { payload: 'd', delay: 10 }]);
      getNow(engine, 'jobs', { max: 3, ttr: 5 });
      startPut(engine, 'jobs', ['blocked']);
      startGet(engine, 'other');
      engine.ack(WORKER, [{ id: a! }]);
      engine.nack(WORKER, [{ id: b! }]);
      tick(5);
      const stats = engine.queueStats('jobs');
      assert.deepEqual(
        { ready: stats.ready, leased: stats.leased, delayed: stats.delayed, dead: stats.dead, waitingPutters: stats.waitingPutters },
        // 'blocked' got in after the ack; b (nacked) and c (expired) used their one attempt.
        { ready: 1, leased: 0, delayed: 1, dead: 2, waitingPutters: 0 },
      );
      assert.deepEqual(stats.totals, { put: 5, acked: 1, nacked: 1, expired: 1, released: 0, deadLettered: 2 });
      assert.equal(engine.queueStats('other').waitingGetters, 1);
    });

    it('counts waiting getters and putters, and forgets them when they leave', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxsize: 1 });
      putNow(engine, 'jobs', ['full']);
      const put = startPut(engine, 'jobs', ['p']);
      startPut(engine, 'jobs', ['q'], { timeout: 1 });
      assert.equal(engine.queueStats('jobs').waitingPutters, 2);
      put.waiter!.cancel();
      assert.equal(engine.queueStats('jobs').waitingPutters, 1);

      const get = startGet(engine, 'empty');
      startGet(engine, 'empty', { timeout: 5 });
      assert.equal(engine.queueStats('empty').waitingGetters, 2);
      get.waiter!.cancel();
      assert.equal(engine.queueStats('empty').waitingGetters, 1);
    });

    it('lists every queue, including ones created by use and dead-letter queues', () => {
      const { engine } = makeHarness();
      engine.declareQueue('declared', { maxAttempts: 1 });
      putNow(engine, 'used', ['x']);
      const [id] = putNow(engine, 'declared', ['y']);
      getNow(engine, 'declared');
      engine.nack(WORKER, [{ id: id! }]);
      const listed = engine.listQueues();
      assert.deepEqual(listed.map((q) => q.queue).sort(), ['declared', 'declared.dead', 'used']);
      assert.deepEqual(listed.find((q) => q.queue === 'declared')?.dead, 1);
      assert.deepEqual(listed.find((q) => q.queue === 'used')?.ready, 1);
    });

    it('listQueues is empty on a new engine', () => {
      assert.deepEqual(makeHarness().engine.listQueues(), []);
    });
  });

  describe('queue creation', () => {
    it('creates queues on first use by default', () => {
      const { engine } = makeHarness();
      assert.equal(engine.hasQueue('jobs'), false);
      assert.deepEqual(getNow(engine, 'jobs'), []);
      assert.equal(engine.hasQueue('jobs'), true);
    });

    it('also creates a replyTo queue named at put time, so results have somewhere to go', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', [{ payload: 'x', replyTo: 'results' }]);
      assert.equal(engine.hasQueue('results'), true);
    });

    describe('with autoCreate false', () => {
      const strict = () => {
        const harness = makeHarness({ autoCreate: false });
        harness.engine.declareQueue('known');
        return harness;
      };

      it('answers queue_not_found to put through done, without creating the queue', () => {
        const { engine } = strict();
        const put = startPut(engine, 'missing', ['x']);
        assert.equal(put.waiter, undefined);
        assert.ok(put.outcome instanceof EngineError);
        assert.equal(put.outcome.reason, 'queue_not_found');
        assert.deepEqual(put.outcome.details, { queue: 'missing' });
        assert.equal(engine.hasQueue('missing'), false);
      });

      it('throws queue_not_found from get, queueStats, join, peek and purge', () => {
        const { engine } = strict();
        expectEngineError(() => startGet(engine, 'missing'), 'queue_not_found');
        expectEngineError(() => engine.queueStats('missing'), 'queue_not_found');
        expectEngineError(() => startJoin(engine, 'missing'), 'queue_not_found');
        expectEngineError(() => engine.peek('missing', 1), 'queue_not_found');
        expectEngineError(() => engine.purge('missing'), 'queue_not_found');
        assert.equal(engine.hasQueue('missing'), false);
      });

      it('refuses a whole put whose replyTo names an unknown queue', () => {
        const { engine } = strict();
        const put = startPut(engine, 'known', ['fine', { payload: 'x', replyTo: 'nowhere' }]);
        assert.ok(put.outcome instanceof EngineError);
        assert.equal(put.outcome.reason, 'queue_not_found');
        assert.equal(put.outcome.details.queue, 'nowhere');
        assert.equal(engine.queueStats('known').ready, 0);
        assert.equal(engine.queueStats('known').totals.put, 0);
      });

      it('works as usual on declared queues', () => {
        const { engine } = strict();
        engine.declareQueue('replies');
        putNow(engine, 'known', [{ payload: 'x', replyTo: 'replies' }]);
        assert.deepEqual(payloads(getNow(engine, 'known')), ['x']);
      });
    });
  });
});
