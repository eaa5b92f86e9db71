import { strict as assert } from 'node:assert';
import { counts, expectEngineError, getNow, makeHarness, payloads, putNow, startGet, startJoin, START, WORKER } from './harness';

// queue/get: non-blocking, blocking, timeouts, cancellation, batches and autoAck.

describe('Engine get', () => {
  describe('without waiting', () => {
    it('delivers ready tasks synchronously and returns no waiter', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['a']);
      const get = startGet(engine, 'jobs');
      assert.equal(get.waiter, undefined);
      assert.deepEqual(payloads(get.tasks!), ['a']);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 1 });
    });

    it('with timeout 0 on an empty queue delivers [] at once and leaves no waiter behind', () => {
      const { engine } = makeHarness();
      const get = startGet(engine, 'jobs', { timeout: 0 });
      assert.equal(get.waiter, undefined);
      assert.deepEqual(get.tasks, []);
      assert.equal(engine.queueStats('jobs').waitingGetters, 0);
      putNow(engine, 'jobs', ['a']);
      assert.equal(get.deliveries.length, 1);
      assert.equal(counts(engine, 'jobs').ready, 1);
    });

    it('with timeout 0 does not see delayed tasks', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', [{ payload: 'a', delay: 1 }]);
      assert.deepEqual(getNow(engine, 'jobs'), []);
    });
  });

  describe('blocking', () => {
    it('without timeout waits as long as it takes and gets the next task put', () => {
      const { engine, tick } = makeHarness();
      const get = startGet(engine, 'jobs');
      assert.ok(get.waiter);
      assert.equal(engine.nextDeadline(), undefined, 'no timeout means no timer');
      tick(86_400);
      assert.equal(get.deliveries.length, 0);
      assert.equal(engine.queueStats('jobs').waitingGetters, 1);
      putNow(engine, 'jobs', ['a']);
      assert.deepEqual(payloads(get.tasks!), ['a']);
      assert.equal(engine.queueStats('jobs').waitingGetters, 0);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 1 });
    });

    it('gets a delayed task when its delay ends', () => {
      const { engine, tickTo } = makeHarness();
      putNow(engine, 'jobs', [{ payload: 'later', delay: 3 }]);
      const get = startGet(engine, 'jobs', { timeout: 10 });
      tickTo(2.999);
      assert.equal(get.deliveries.length, 0);
      tickTo(3);
      assert.deepEqual(payloads(get.tasks!), ['later']);
    });

    it('with a timeout delivers [] exactly when it passes, once, and takes nothing afterwards', () => {
      const { engine, tickTo } = makeHarness();
      const get = startGet(engine, 'jobs', { timeout: 5 });
      assert.equal(engine.nextDeadline(), START + 5000);
      tickTo(4.999);
      assert.equal(get.deliveries.length, 0);
      tickTo(5);
      assert.deepEqual(get.tasks, []);
      assert.equal(engine.queueStats('jobs').waitingGetters, 0);
      putNow(engine, 'jobs', ['a']);
      assert.equal(get.deliveries.length, 1);
      assert.equal(counts(engine, 'jobs').ready, 1);
      get.waiter!.cancel(); // harmless after the timeout
    });

    it('is served before its timeout and then does not time out', () => {
      const { engine, tick } = makeHarness();
      const get = startGet(engine, 'jobs', { timeout: 5 });
      tick(1);
      putNow(engine, 'jobs', ['a']);
      tick(10);
      assert.equal(get.deliveries.length, 1);
      assert.deepEqual(payloads(get.tasks!), ['a']);
    });

    it('gets a task that came due before its timeout even when advance() runs late', () => {
      // The host's timer can fire late; the outcome must be the one an on-time advance() gives.
      const { engine, tick } = makeHarness();
      putNow(engine, 'jobs', [{ payload: 'due-at-1s', delay: 1 }]);
      const get = startGet(engine, 'jobs', { timeout: 2 });
      tick(3);
      assert.deepEqual(payloads(get.tasks!), ['due-at-1s']);
    });

    it('gets a task whose lease expired before its timeout even when advance() runs late', () => {
      const { engine, tick } = makeHarness();
      putNow(engine, 'jobs', ['x']);
      getNow(engine, 'jobs', { ttr: 1, session: 'crashed' });
      const get = startGet(engine, 'jobs', { timeout: 2 });
      tick(3);
      assert.equal(get.tasks?.[0]?.attempt, 2);
    });

    it('cancelled, is never called and takes nothing', () => {
      const { engine, tick } = makeHarness();
      const get = startGet(engine, 'jobs', { timeout: 5 });
      get.waiter!.cancel();
      get.waiter!.cancel(); // twice is harmless
      assert.equal(engine.queueStats('jobs').waitingGetters, 0);
      putNow(engine, 'jobs', ['a']);
      tick(10);
      assert.equal(get.deliveries.length, 0);
      assert.equal(counts(engine, 'jobs').ready, 1);
    });

    it('serves waiting getters in arrival order, skipping cancelled ones', () => {
      const { engine } = makeHarness();
      const first = startGet(engine, 'jobs', { session: 'first' });
      const cancelled = startGet(engine, 'jobs', { session: 'cancelled' });
      const second = startGet(engine, 'jobs', { session: 'second' });
      cancelled.waiter!.cancel();
      putNow(engine, 'jobs', ['a']);
      assert.deepEqual(payloads(first.tasks!), ['a']);
      assert.equal(second.deliveries.length, 0);
      putNow(engine, 'jobs', ['b']);
      assert.deepEqual(payloads(second.tasks!), ['b']);
      assert.equal(cancelled.deliveries.length, 0);
    });

    it('does not keep cancelled and timed-out getters of an idle queue forever, nor lose the order of live ones', () => {
      // A worker polling an idle queue with a timeout leaves one withdrawn waiter per poll;
      // they must not pile up (each holds its session's deliver callback).
      const { engine, tick } = makeHarness();
      const first = startGet(engine, 'idle', { session: 'first' });
      for (let poll = 0; poll < 1000; poll++) {
        startGet(engine, 'idle', { timeout: 1 });
        startGet(engine, 'idle').waiter!.cancel();
        tick(1);
      }
      const second = startGet(engine, 'idle', { session: 'second' });
      for (let poll = 0; poll < 100; poll++) startGet(engine, 'idle').waiter!.cancel();
      assert.equal(engine.queueStats('idle').waitingGetters, 2);
      const retained = (engine as unknown as { queues: Map<string, { getters: { length: number } }> }).queues.get('idle')!.getters.length;
      assert.ok(retained < 100, `${retained} withdrawn getters retained`);
      putNow(engine, 'idle', ['a', 'b']);
      assert.deepEqual(payloads(first.tasks!), ['a']);
      assert.deepEqual(payloads(second.tasks!), ['b']);
    });
  });

  describe('max', () => {
    it('returns what is ready, up to max, without waiting for more', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['a', 'b']);
      const get = startGet(engine, 'jobs', { max: 10, timeout: 30 });
      assert.equal(get.waiter, undefined);
      assert.deepEqual(payloads(get.tasks!), ['a', 'b']);
    });

    it('takes at most max', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['a', 'b', 'c']);
      assert.deepEqual(payloads(getNow(engine, 'jobs', { max: 2 })), ['a', 'b']);
      assert.equal(counts(engine, 'jobs').ready, 1);
    });

    it('a waiting max=10 getter is answered by the first task that arrives', () => {
      const { engine } = makeHarness();
      const get = startGet(engine, 'jobs', { max: 10 });
      putNow(engine, 'jobs', ['a']);
      assert.deepEqual(payloads(get.tasks!), ['a']);
    });

    it('a batch put serves a waiting max=10 getter with 10 tasks at once', () => {
      const { engine } = makeHarness();
      const get = startGet(engine, 'jobs', { max: 10 });
      const ids = putNow(
        engine,
        'jobs',
        Array.from({ length: 15 }, (_, i) => i),
      );
      assert.equal(get.deliveries.length, 1);
      assert.deepEqual(
        get.tasks!.map((t) => t.id),
        ids.slice(0, 10),
      );
      assert.deepEqual(counts(engine, 'jobs'), { ready: 5, delayed: 0, leased: 10 });
    });

    it('a batch put is shared among waiting getters in order, each up to its max', () => {
      const { engine } = makeHarness();
      const first = startGet(engine, 'jobs', { max: 2, session: 'first' });
      const second = startGet(engine, 'jobs', { max: 2, session: 'second' });
      const third = startGet(engine, 'jobs', { max: 2, session: 'third' });
      putNow(engine, 'jobs', ['a', 'b', 'c']);
      assert.deepEqual(payloads(first.tasks!), ['a', 'b']);
      assert.deepEqual(payloads(second.tasks!), ['c']);
      assert.equal(third.deliveries.length, 0);
      assert.equal(engine.leasedBy('first'), 2);
    });

    it('delayed tasks that come due together reach a waiting batch getter together', () => {
      const { engine, tick } = makeHarness();
      putNow(
        engine,
        'jobs',
        [1, 2, 3].map((n) => ({ payload: n, delay: 2 })),
      );
      const get = startGet(engine, 'jobs', { max: 10 });
      tick(2);
      assert.deepEqual(payloads(get.tasks!), [1, 2, 3]);
    });
  });

  describe('autoAck', () => {
    it('removes the tasks on delivery: no lease, counted as acked, nothing to ack', () => {
      const { engine } = makeHarness();
      const [id] = putNow(engine, 'results', ['r1', 'r2']);
      const tasks = getNow(engine, 'results', { max: 5, autoAck: true });
      assert.deepEqual(payloads(tasks), ['r1', 'r2']);
      assert.ok(tasks.every((t) => t.leaseUntil === undefined && t.attempt === 1));
      assert.deepEqual(counts(engine, 'results'), { ready: 0, delayed: 0, leased: 0 });
      assert.equal(engine.queueStats('results').totals.acked, 2);
      assert.equal(engine.leasedBy(WORKER), 0);
      assert.equal(engine.nextDeadline(), undefined, 'no lease timer');
      expectEngineError(() => engine.ack(WORKER, [{ id: id! }]), 'lease_unknown');
    });

    it('works for a waiting getter and lets join finish', () => {
      const { engine } = makeHarness();
      const get = startGet(engine, 'results', { autoAck: true });
      putNow(engine, 'results', ['r']);
      assert.deepEqual(payloads(get.tasks!), ['r']);
      assert.equal(startJoin(engine, 'results', { timeout: 0 }).result, true);
    });
  });
});
