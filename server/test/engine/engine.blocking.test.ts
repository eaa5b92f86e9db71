import { strict as assert } from 'node:assert';
import { EngineError } from '../../src/engine';
import { completedIds, counts, getNow, makeHarness, payloads, putNow, startGet, startJoin, startPut, START, WORKER, peekNow } from './harness';

// Bounded queues (blocking put) and join.

/** A queue 'jobs' with maxsize 2, already full with two leased tasks; returns their ids. */
function fullQueue(options: { maxAttempts?: number; deadLetter?: string | null } = {}) {
  const harness = makeHarness();
  harness.engine.declareQueue('jobs', { maxsize: 2, ...options });
  const [first, second] = putNow(harness.engine, 'jobs', ['a', 'b']);
  getNow(harness.engine, 'jobs', { max: 2 });
  return { ...harness, first: first!, second: second! };
}

function assertQueueFull(outcome: string[] | EngineError | undefined, queue = 'jobs', maxsize = 2): void {
  assert.ok(outcome instanceof EngineError, `expected queue_full, got ${JSON.stringify(outcome)}`);
  assert.equal(outcome.reason, 'queue_full');
  assert.deepEqual(outcome.details, { queue, maxsize, limit: 'maxsize', max: maxsize });
}

describe('Engine bounded queues', () => {
  describe('put', () => {
    it('goes in at once while there is room; maxsize counts ready, delayed and leased', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxsize: 3 });
      putNow(engine, 'jobs', ['ready', { payload: 'delayed', delay: 5 }]);
      getNow(engine, 'jobs');
      putNow(engine, 'jobs', ['third']);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 1, delayed: 1, leased: 1 });
      assertQueueFull(startPut(engine, 'jobs', ['fourth'], { timeout: 0 }).outcome, 'jobs', 3);
    });

    it('blocks when full and goes in when an ack makes room', () => {
      const { engine, first } = fullQueue();
      const put = startPut(engine, 'jobs', ['c']);
      assert.ok(put.waiter);
      assert.equal(put.outcome, undefined);
      assert.equal(engine.queueStats('jobs').waitingPutters, 1);
      engine.ack(WORKER, [{ id: first }]);
      assert.equal(completedIds(put).length, 1);
      assert.deepEqual(payloads(peekNow(engine, 'jobs', 5)), ['c']);
      assert.equal(engine.queueStats('jobs').waitingPutters, 0);
    });

    it('serves a waiting getter with the tasks of a put that was blocked', () => {
      const { engine, first } = fullQueue();
      startPut(engine, 'jobs', ['c']);
      const get = startGet(engine, 'jobs', { session: 'other' });
      engine.ack(WORKER, [{ id: first }]);
      assert.deepEqual(payloads(get.tasks!), ['c']);
    });

    it('is all or nothing: waits until there is room for every task', () => {
      const { engine, first, second } = fullQueue();
      const put = startPut(engine, 'jobs', ['c', 'd']);
      engine.ack(WORKER, [{ id: first }]);
      assert.equal(put.outcome, undefined, 'room for one is not enough');
      assert.equal(counts(engine, 'jobs').ready, 0);
      engine.ack(WORKER, [{ id: second }]);
      assert.equal(completedIds(put).length, 2);
    });

    it('is served in FIFO order: a small put does not overtake a large one', () => {
      const { engine, first, second } = fullQueue();
      const large = startPut(engine, 'jobs', ['L1', 'L2']);
      const small = startPut(engine, 'jobs', ['S']);
      engine.ack(WORKER, [{ id: first }]);
      assert.equal(large.outcome, undefined);
      assert.equal(small.outcome, undefined, 'the small put waits behind the large one');
      engine.ack(WORKER, [{ id: second }]);
      assert.ok(Array.isArray(large.outcome));
      assert.equal(small.outcome, undefined, 'L1 and L2 filled the queue again');
      assert.deepEqual(payloads(peekNow(engine, 'jobs', 5)), ['L1', 'L2']);
    });

    it('lets no new put overtake waiting putters, even one that would fit', () => {
      const { engine, first } = fullQueue();
      engine.declareQueue('jobs', { maxsize: 3 });
      startPut(engine, 'jobs', ['L1', 'L2']);
      // Room for one now, but a putter is waiting.
      assertQueueFull(startPut(engine, 'jobs', ['S'], { timeout: 0 }).outcome, 'jobs', 3);
      const waits = startPut(engine, 'jobs', ['S']);
      assert.equal(waits.outcome, undefined);
      engine.ack(WORKER, [{ id: first }]);
      assert.deepEqual(payloads(peekNow(engine, 'jobs', 5)), ['L1', 'L2']);
      assert.equal(waits.outcome, undefined);
    });

    it('times out with queue_full, enqueues nothing, and lets the next putter in', () => {
      const { engine, tickTo, first } = fullQueue();
      engine.declareQueue('jobs', { maxsize: 3 });
      const large = startPut(engine, 'jobs', ['L1', 'L2'], { timeout: 5 });
      const small = startPut(engine, 'jobs', ['S']);
      tickTo(4.999);
      assert.equal(large.outcome, undefined);
      tickTo(5);
      assertQueueFull(large.outcome, 'jobs', 3);
      assert.ok(Array.isArray(small.outcome), 'the small put fits once the large one gave up');
      assert.deepEqual(payloads(peekNow(engine, 'jobs', 5)), ['S']);
      assert.equal(engine.queueStats('jobs').totals.put, 3);
      engine.ack(WORKER, [{ id: first }]);
      assert.equal(large.outcomes.length, 1);
    });

    it('with timeout 0 answers queue_full at once', () => {
      const { engine } = fullQueue();
      const put = startPut(engine, 'jobs', ['c'], { timeout: 0 });
      assert.equal(put.waiter, undefined);
      assertQueueFull(put.outcome);
      assert.equal(engine.queueStats('jobs').waitingPutters, 0);
    });

    it('with more tasks than maxsize answers queue_full at once, even without a timeout', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxsize: 2 });
      const put = startPut(engine, 'jobs', ['a', 'b', 'c']);
      assert.equal(put.waiter, undefined);
      assertQueueFull(put.outcome);
      assert.equal(counts(engine, 'jobs').ready, 0);
    });

    it('cancelled, is never called, enqueues nothing and lets the next putter in', () => {
      const { engine, first } = fullQueue();
      const cancelled = startPut(engine, 'jobs', ['X']);
      const next = startPut(engine, 'jobs', ['Y']);
      cancelled.waiter!.cancel();
      engine.ack(WORKER, [{ id: first }]);
      assert.equal(cancelled.outcomes.length, 0);
      assert.ok(Array.isArray(next.outcome));
      assert.deepEqual(payloads(peekNow(engine, 'jobs', 5)), ['Y']);
    });

    it('unblocks when declareQueue raises maxsize, and all of them when it makes the queue unbounded', () => {
      const { engine } = fullQueue();
      const one = startPut(engine, 'jobs', ['c']);
      const two = startPut(engine, 'jobs', ['d', 'e']);
      engine.declareQueue('jobs', { maxsize: 3 });
      assert.ok(Array.isArray(one.outcome));
      assert.equal(two.outcome, undefined);
      engine.declareQueue('jobs', { maxsize: 0 });
      assert.ok(Array.isArray(two.outcome));
    });

    it('does not keep withdrawn putters of a full queue forever, nor lose the order of live ones', () => {
      const { engine, first, second } = fullQueue();
      const large = startPut(engine, 'jobs', ['L1', 'L2']);
      for (let i = 0; i < 1000; i++) startPut(engine, 'jobs', ['gave-up']).waiter!.cancel();
      const small = startPut(engine, 'jobs', ['S']);
      const retained = (engine as unknown as { queues: Map<string, { putters: { length: number } }> }).queues.get('jobs')!.putters.length;
      assert.ok(retained < 100, `${retained} withdrawn putters retained`);
      engine.ack(WORKER, [{ id: first }, { id: second }]);
      assert.equal(completedIds(large).length, 2);
      assert.equal(small.outcome, undefined);
      engine.purge('jobs');
      assert.equal(completedIds(small).length, 1);
    });

    describe('unblocks when room appears through', () => {
      it('purge', () => {
        const { engine } = makeHarness();
        engine.declareQueue('jobs', { maxsize: 1 });
        putNow(engine, 'jobs', ['a']);
        const put = startPut(engine, 'jobs', ['b']);
        engine.purge('jobs');
        assert.ok(Array.isArray(put.outcome));
      });

      it('an autoAck get', () => {
        const { engine } = makeHarness();
        engine.declareQueue('jobs', { maxsize: 1 });
        putNow(engine, 'jobs', ['a']);
        const put = startPut(engine, 'jobs', ['b']);
        getNow(engine, 'jobs', { autoAck: true });
        assert.ok(Array.isArray(put.outcome));
      });

      it('a nack that dead-letters', () => {
        const { engine, first } = fullQueue({ maxAttempts: 1 });
        const put = startPut(engine, 'jobs', ['c']);
        engine.nack(WORKER, [{ id: first }]);
        assert.ok(Array.isArray(put.outcome));
      });

      it('a nack that drops (deadLetter null)', () => {
        const { engine, first } = fullQueue({ maxAttempts: 1, deadLetter: null });
        const put = startPut(engine, 'jobs', ['c']);
        engine.nack(WORKER, [{ id: first }]);
        assert.ok(Array.isArray(put.outcome));
      });

      it('a lease expiry that dead-letters', () => {
        const { engine, tick } = fullQueue({ maxAttempts: 1 });
        const put = startPut(engine, 'jobs', ['c']);
        tick(60);
        assert.ok(Array.isArray(put.outcome));
      });

      it('a session release that dead-letters', () => {
        const { engine } = fullQueue({ maxAttempts: 1 });
        const put = startPut(engine, 'jobs', ['c'], { session: 'producer' });
        engine.releaseSession(WORKER);
        assert.ok(Array.isArray(put.outcome));
        assert.equal(engine.queueStats('jobs').dead, 2);
      });

      it('a lease expiry that dead-letters before the put times out, even when advance() runs late', () => {
        const { engine, tick } = fullQueue({ maxAttempts: 1 });
        const put = startPut(engine, 'jobs', ['c'], { timeout: 90 });
        tick(120);
        assert.ok(Array.isArray(put.outcome), 'room appeared at 60 s, before the 90 s timeout');
      });
    });

    describe('stays blocked by', () => {
      it('a get, a nack that retries, or an expiry that retries: the task still counts', () => {
        const { engine, tick, first } = fullQueue();
        const put = startPut(engine, 'jobs', ['c']);
        engine.nack(WORKER, [{ id: first, delay: 0 }]);
        getNow(engine, 'jobs');
        tick(60);
        assert.equal(put.outcome, undefined);
        assert.deepEqual(counts(engine, 'jobs'), { ready: 2, delayed: 0, leased: 0 });
      });
    });
  });

  describe('join', () => {
    it('on an idle queue answers true at once', () => {
      const { engine } = makeHarness();
      const join = startJoin(engine, 'jobs');
      assert.equal(join.waiter, undefined);
      assert.equal(join.result, true);
    });

    it('waits until nothing is ready, delayed or leased, and ack is what finishes it', () => {
      const { engine, tick } = makeHarness();
      const [a, b] = putNow(engine, 'jobs', ['a', 'b', { payload: 'c', delay: 5 }]);
      const join = startJoin(engine, 'jobs');
      assert.ok(join.waiter);
      getNow(engine, 'jobs', { max: 2 });
      engine.ack(WORKER, [{ id: a! }]);
      engine.ack(WORKER, [{ id: b! }]);
      assert.equal(join.result, undefined, 'the delayed task is still pending');
      tick(5);
      const [c] = getNow(engine, 'jobs');
      assert.equal(join.result, undefined, 'leased is not done');
      engine.ack(WORKER, [{ id: c!.id }]);
      assert.equal(join.result, true);
    });

    it('resolves every joiner of the queue', () => {
      const { engine } = makeHarness();
      const [id] = putNow(engine, 'jobs', ['a']);
      const joins = [startJoin(engine, 'jobs'), startJoin(engine, 'jobs', { timeout: 10 })];
      getNow(engine, 'jobs');
      engine.ack(WORKER, [{ id: id! }]);
      assert.deepEqual(
        joins.map((j) => j.result),
        [true, true],
      );
    });

    it('resolves when purge, autoAck or dead-lettering empties the queue', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 1 });
      putNow(engine, 'jobs', ['a']);
      const afterPurge = startJoin(engine, 'jobs');
      engine.purge('jobs');
      assert.equal(afterPurge.result, true);

      putNow(engine, 'jobs', ['b']);
      const afterAutoAck = startJoin(engine, 'jobs');
      getNow(engine, 'jobs', { autoAck: true });
      assert.equal(afterAutoAck.result, true);

      const [id] = putNow(engine, 'jobs', ['c']);
      getNow(engine, 'jobs');
      const afterDeath = startJoin(engine, 'jobs');
      engine.nack(WORKER, [{ id: id! }]);
      assert.equal(afterDeath.result, true);
    });

    it('resolves when a session release dead-letters the last task', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 1 });
      putNow(engine, 'jobs', ['a']);
      getNow(engine, 'jobs');
      const join = startJoin(engine, 'jobs', { session: 'producer' });
      engine.releaseSession(WORKER);
      assert.equal(join.result, true);
    });

    it('is not finished by a nack that retries', () => {
      const { engine } = makeHarness();
      const [id] = putNow(engine, 'jobs', ['a']);
      getNow(engine, 'jobs');
      const join = startJoin(engine, 'jobs');
      engine.nack(WORKER, [{ id: id! }]);
      assert.equal(join.result, undefined);
    });

    it('answers false when its timeout passes', () => {
      const { engine, tickTo } = makeHarness();
      putNow(engine, 'jobs', ['a']);
      const join = startJoin(engine, 'jobs', { timeout: 3 });
      assert.equal(engine.nextDeadline(), START + 3000);
      tickTo(2.999);
      assert.equal(join.result, undefined);
      tickTo(3);
      assert.equal(join.result, false);
    });

    it('answers true if the queue emptied before its timeout, even when advance() runs late', () => {
      const { engine, tick } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 1, ttr: 1 });
      putNow(engine, 'jobs', ['a']);
      getNow(engine, 'jobs');
      const join = startJoin(engine, 'jobs', { timeout: 3 });
      tick(5);
      assert.equal(join.result, true, 'the lease ended (and the task died) at 1 s');
    });

    it('with timeout 0 answers at once whether the queue is idle', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['a']);
      const busy = startJoin(engine, 'jobs', { timeout: 0 });
      assert.equal(busy.waiter, undefined);
      assert.equal(busy.result, false);
    });

    it('cancelled, is never called', () => {
      const { engine, tick } = makeHarness();
      const [id] = putNow(engine, 'jobs', ['a']);
      const join = startJoin(engine, 'jobs', { timeout: 5 });
      join.waiter!.cancel();
      getNow(engine, 'jobs');
      engine.ack(WORKER, [{ id: id! }]);
      tick(10);
      assert.deepEqual(join.results, []);
    });

    it('ignores other queues', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['a']);
      const [other] = putNow(engine, 'other', ['b']);
      const join = startJoin(engine, 'jobs');
      getNow(engine, 'other');
      engine.ack(WORKER, [{ id: other! }]);
      assert.equal(join.result, undefined);
    });
  });
});
