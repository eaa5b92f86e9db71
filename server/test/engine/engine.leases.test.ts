import { strict as assert } from 'node:assert';
import { DEFAULTS } from '../../src/engine';
import { counts, eventsOf, expectEngineError, getNow, isoAt, makeHarness, OTHER_WORKER, payloads, putNow, rawAcks, startGet, START, WORKER } from './harness';

// Leases: expiry, touch, the ttr that applies, ack (with results routed to replyTo) and lease_unknown.

describe('Engine leases', () => {
  describe('expiry', () => {
    it('puts the task back at once with attempt + 1, emits expired and counts it', () => {
      const { engine, events, tickTo } = makeHarness();
      const [id] = putNow(engine, 'jobs', ['x']);
      const [task] = getNow(engine, 'jobs');
      assert.equal(task!.leaseUntil, isoAt(DEFAULTS.ttr));
      assert.equal(engine.nextDeadline(), START + DEFAULTS.ttr * 1000);
      tickTo(DEFAULTS.ttr - 0.001);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 1 });
      tickTo(DEFAULTS.ttr);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 1, delayed: 0, leased: 0 });
      assert.equal(engine.leasedBy(WORKER), 0);
      assert.equal(engine.queueStats('jobs').totals.expired, 1);
      assert.deepEqual(eventsOf(events, 'expired'), [{ kind: 'expired', queue: 'jobs', taskId: id, attempt: 1, error: 'lease expired', session: WORKER, at: START + DEFAULTS.ttr * 1000 }]);
      const [again] = getNow(engine, 'jobs', { session: OTHER_WORKER });
      assert.equal(again!.id, id);
      assert.equal(again!.attempt, 2);
    });

    it('sweeps the timers of acked leases, so they stay bounded, while live deadlines still fire on time', () => {
      const { engine, tickTo } = makeHarness();
      // Deadlines that must survive every sweep: a lease never acked, a delayed task, a get that times out.
      const [kept] = putNow(engine, 'keep', ['held']);
      getNow(engine, 'keep');
      putNow(engine, 'later', [{ payload: 'delayed', delay: 20 }]);
      const waiting = startGet(engine, 'empty', { timeout: 25 });
      // 50,000 leases acked at once: each leaves a dead lease timer behind.
      for (let i = 0; i < 500; i++) {
        putNow(
          engine,
          'jobs',
          Array.from({ length: 100 }, (_, n) => n),
        );
        const tasks = getNow(engine, 'jobs', { max: 100 });
        engine.ack(
          WORKER,
          tasks.map((t) => ({ id: t.id })),
        );
      }
      assert.ok(engine.timerCount < 10_000, `${engine.timerCount} timers held for 3 live deadlines`);
      tickTo(20);
      assert.deepEqual(counts(engine, 'later'), { ready: 1, delayed: 0, leased: 0 });
      tickTo(25);
      assert.deepEqual(waiting.tasks, []);
      tickTo(DEFAULTS.ttr);
      assert.deepEqual(counts(engine, 'keep'), { ready: 1, delayed: 0, leased: 0 });
      assert.equal(getNow(engine, 'keep', { session: OTHER_WORKER })[0]!.id, kept);
    });

    it('hands an expired task straight to a waiting getter', () => {
      const { engine, tick } = makeHarness();
      putNow(engine, 'jobs', ['x']);
      getNow(engine, 'jobs', { ttr: 5 });
      const waiting = startGet(engine, 'jobs', { session: OTHER_WORKER });
      tick(5);
      assert.equal(waiting.tasks?.[0]?.attempt, 2);
      assert.equal(engine.leasedBy(OTHER_WORKER), 1);
    });

    it('expired lease cannot be acked, nacked or touched any more', () => {
      const { engine, tick } = makeHarness();
      const [id] = putNow(engine, 'jobs', ['x']);
      getNow(engine, 'jobs', { ttr: 5 });
      tick(5);
      expectEngineError(() => engine.ack(WORKER, [{ id: id! }]), 'lease_unknown');
      expectEngineError(() => engine.nack(WORKER, [{ id: id! }]), 'lease_unknown');
      expectEngineError(() => engine.touch(WORKER, [id!]), 'lease_unknown');
    });

    it('of an acked task does nothing when its old timer comes due', () => {
      const { engine, events, tick } = makeHarness();
      const [id] = putNow(engine, 'jobs', ['x']);
      getNow(engine, 'jobs', { ttr: 5 });
      engine.ack(WORKER, [{ id: id! }]);
      tick(5);
      assert.deepEqual(eventsOf(events, 'expired'), []);
      assert.equal(engine.queueStats('jobs').totals.expired, 0);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 0 });
    });
  });

  describe('ttr', () => {
    it('comes from the get, else the task, else the queue, else the engine default', () => {
      const { engine } = makeHarness({ defaults: { ttr: 40 } });
      engine.declareQueue('declared', { ttr: 30 });
      putNow(engine, 'plain', ['x']);
      putNow(engine, 'declared', ['x', { payload: 'task-ttr', ttr: 20 }, { payload: 'get-ttr', ttr: 20 }]);
      assert.equal(getNow(engine, 'plain')[0]!.leaseUntil, isoAt(40));
      assert.equal(getNow(engine, 'declared')[0]!.leaseUntil, isoAt(30));
      assert.equal(getNow(engine, 'declared')[0]!.leaseUntil, isoAt(20));
      assert.equal(getNow(engine, 'declared', { ttr: 10 })[0]!.leaseUntil, isoAt(10));
    });

    it('is what the lease actually lasts', () => {
      const { engine, tickTo } = makeHarness();
      putNow(engine, 'jobs', [{ payload: 'x', ttr: 2 }]);
      getNow(engine, 'jobs');
      tickTo(1.999);
      assert.equal(counts(engine, 'jobs').leased, 1);
      tickTo(2);
      assert.equal(counts(engine, 'jobs').ready, 1);
    });

    it('of a redelivery is chosen again by the new get', () => {
      const { engine, tick } = makeHarness();
      putNow(engine, 'jobs', [{ payload: 'x', ttr: 20 }]);
      getNow(engine, 'jobs', { ttr: 1 });
      tick(1);
      assert.equal(getNow(engine, 'jobs')[0]!.leaseUntil, isoAt(21));
    });
  });

  describe('touch', () => {
    it('without ttr extends the lease by its own ttr, counted from now', () => {
      const { engine, tickTo } = makeHarness();
      const [id] = putNow(engine, 'jobs', ['x']);
      getNow(engine, 'jobs', { ttr: 10 });
      tickTo(8);
      assert.equal(engine.touch(WORKER, [id!]), START + 18_000);
      tickTo(17.999);
      assert.equal(counts(engine, 'jobs').leased, 1, 'the original deadline (10 s) no longer applies');
      tickTo(18);
      assert.equal(counts(engine, 'jobs').ready, 1);
    });

    it('with ttr sets a new lease length, which later touches keep', () => {
      const { engine, tickTo } = makeHarness();
      const [id] = putNow(engine, 'jobs', ['x']);
      getNow(engine, 'jobs', { ttr: 10 });
      tickTo(5);
      assert.equal(engine.touch(WORKER, [id!], 100), START + 105_000);
      tickTo(50);
      assert.equal(engine.touch(WORKER, [id!]), START + 150_000);
      tickTo(149.999);
      assert.equal(counts(engine, 'jobs').leased, 1);
      tickTo(150);
      assert.equal(counts(engine, 'jobs').ready, 1);
    });

    it('can shorten a lease', () => {
      const { engine, tickTo } = makeHarness();
      const [id] = putNow(engine, 'jobs', ['x']);
      getNow(engine, 'jobs', { ttr: 60 });
      engine.touch(WORKER, [id!], 1);
      tickTo(1);
      assert.equal(counts(engine, 'jobs').ready, 1);
    });

    it('returns the earliest new lease end of several', () => {
      const { engine, tickTo } = makeHarness();
      const [a, b] = putNow(engine, 'jobs', [
        { payload: 'a', ttr: 30 },
        { payload: 'b', ttr: 10 },
      ]);
      getNow(engine, 'jobs', { max: 2 });
      tickTo(5);
      assert.equal(engine.touch(WORKER, [a!, b!]), START + 15_000);
    });

    it('is all or nothing: one bad id and no lease is extended', () => {
      const { engine, tickTo } = makeHarness();
      const [good] = putNow(engine, 'jobs', ['x']);
      getNow(engine, 'jobs', { ttr: 10 });
      tickTo(5);
      const error = expectEngineError(() => engine.touch(WORKER, [good!, 'no-such-task'], 100), 'lease_unknown');
      assert.deepEqual(error.details.ids, ['no-such-task']);
      tickTo(10);
      assert.equal(counts(engine, 'jobs').ready, 1, 'the lease still ended at 10 s');
    });

    it("refuses another session's lease", () => {
      const { engine } = makeHarness();
      const [id] = putNow(engine, 'jobs', ['x']);
      getNow(engine, 'jobs');
      const error = expectEngineError(() => engine.touch(OTHER_WORKER, [id!]), 'lease_unknown');
      assert.deepEqual(error.details.ids, [id]);
    });
  });

  describe('ack', () => {
    it('completes the task: gone, counted, announced with its result', () => {
      const { engine, events, tick } = makeHarness();
      const [id] = putNow(engine, 'jobs', ['x']);
      getNow(engine, 'jobs');
      tick(1);
      assert.equal(engine.ack(WORKER, rawAcks([{ id: id!, result: { ok: true } }])), 1);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 0 });
      assert.equal(engine.leasedBy(WORKER), 0);
      assert.equal(engine.queueStats('jobs').totals.acked, 1);
      assert.deepEqual(eventsOf(events, 'ack'), [{ kind: 'ack', queue: 'jobs', taskId: id, attempt: 1, result: { ok: true }, session: WORKER, at: START + 1000, since: START }]);
    });

    it('takes a batch and answers how many', () => {
      const { engine } = makeHarness();
      const ids = putNow(engine, 'jobs', ['a', 'b', 'c']);
      getNow(engine, 'jobs', { max: 3 });
      assert.equal(
        engine.ack(
          WORKER,
          ids.map((id) => ({ id })),
        ),
        3,
      );
      assert.equal(engine.queueStats('jobs').totals.acked, 3);
    });

    it('puts {taskId, result} on the replyTo queue', () => {
      const { engine } = makeHarness();
      const [id] = putNow(engine, 'jobs', [{ payload: 'x', replyTo: 'results' }]);
      getNow(engine, 'jobs');
      engine.ack(WORKER, rawAcks([{ id: id!, result: [1, 2, 3] }]));
      const [reply] = getNow(engine, 'results', { autoAck: true });
      assert.deepEqual(reply!.payload, { taskId: id, result: [1, 2, 3] });
      assert.equal(reply!.queue, 'results');
    });

    it('routes a null result too: null is a result, only a missing one is not', () => {
      const { engine } = makeHarness();
      const [id] = putNow(engine, 'jobs', [{ payload: 'x', replyTo: 'results' }]);
      getNow(engine, 'jobs');
      engine.ack(WORKER, rawAcks([{ id: id!, result: null }]));
      assert.deepEqual(payloads(getNow(engine, 'results')), [{ taskId: id, result: null }]);
    });

    it('hands the result to a getter waiting on the replyTo queue', () => {
      const { engine } = makeHarness();
      const [id] = putNow(engine, 'jobs', [{ payload: 'x', replyTo: 'results' }]);
      const waitingForResult = startGet(engine, 'results', { session: 'producer', autoAck: true });
      getNow(engine, 'jobs');
      engine.ack(WORKER, rawAcks([{ id: id!, result: 'done' }]));
      assert.deepEqual(payloads(waitingForResult.tasks!), [{ taskId: id, result: 'done' }]);
    });

    it('hands the results of one ack list to a waiting getter in one delivery, each reply queue its own', () => {
      const { engine } = makeHarness();
      const ids = putNow(engine, 'jobs', [{ payload: 'a', replyTo: 'results' }, { payload: 'b', replyTo: 'other' }, { payload: 'c', replyTo: 'results' }, { payload: 'd' }]);
      const results = startGet(engine, 'results', { session: 'producer', autoAck: true, max: 10 });
      const other = startGet(engine, 'other', { session: 'producer', autoAck: true, max: 10 });
      getNow(engine, 'jobs', { max: 4 });
      engine.ack(WORKER, rawAcks(ids.map((id) => ({ id, result: `${id} done` }))));
      assert.deepEqual(payloads(results.tasks!), [
        { taskId: ids[0], result: `${ids[0]} done` },
        { taskId: ids[2], result: `${ids[2]} done` },
      ]);
      assert.deepEqual(payloads(other.tasks!), [{ taskId: ids[1], result: `${ids[1]} done` }]);
    });

    it('delivers results even past the reply queue maxsize: a result is never dropped', () => {
      const { engine } = makeHarness();
      engine.declareQueue('results', { maxsize: 1 });
      putNow(engine, 'results', ['already-full']);
      const ids = putNow(engine, 'jobs', [
        { payload: 'a', replyTo: 'results' },
        { payload: 'b', replyTo: 'results' },
      ]);
      getNow(engine, 'jobs', { max: 2 });
      engine.ack(WORKER, rawAcks(ids.map((id) => ({ id, result: id }))));
      assert.equal(engine.queueStats('results').ready, 3);
    });

    it('without a result sends nothing to replyTo', () => {
      const { engine } = makeHarness();
      const [id] = putNow(engine, 'jobs', [{ payload: 'x', replyTo: 'results' }]);
      getNow(engine, 'jobs');
      engine.ack(WORKER, [{ id: id! }]);
      assert.equal(engine.queueStats('results').ready, 0);
      assert.equal(engine.queueStats('results').totals.put, 0);
    });

    it('with a result but no replyTo sends the result nowhere but the ack event', () => {
      const { engine, events } = makeHarness();
      const [id] = putNow(engine, 'jobs', ['x']);
      getNow(engine, 'jobs');
      engine.ack(WORKER, rawAcks([{ id: id!, result: 42 }]));
      assert.deepEqual(eventsOf(events, 'put').length, 1);
      assert.equal(eventsOf(events, 'ack')[0]!.result, 42);
    });
  });

  describe('lease_unknown', () => {
    function leasedTask() {
      const harness = makeHarness();
      const [id] = putNow(harness.engine, 'jobs', ['x']);
      getNow(harness.engine, 'jobs');
      return { ...harness, id: id! };
    }

    it('for a task that was never leased, or never existed', () => {
      const { engine } = makeHarness();
      const [ready] = putNow(engine, 'jobs', ['x']);
      const error = expectEngineError(() => engine.ack(WORKER, [{ id: ready! }, { id: 'no-such-task' }]), 'lease_unknown');
      assert.deepEqual(error.details.ids, [ready, 'no-such-task']);
      assert.equal(counts(engine, 'jobs').ready, 1);
    });

    it("for another session's lease", () => {
      const { engine, id } = leasedTask();
      expectEngineError(() => engine.ack(OTHER_WORKER, [{ id }]), 'lease_unknown');
      expectEngineError(() => engine.nack(OTHER_WORKER, [{ id }]), 'lease_unknown');
      assert.equal(engine.leasedBy(WORKER), 1);
    });

    it('for a task already acked', () => {
      const { engine, id } = leasedTask();
      engine.ack(WORKER, [{ id }]);
      expectEngineError(() => engine.ack(WORKER, [{ id }]), 'lease_unknown');
      assert.equal(engine.queueStats('jobs').totals.acked, 1);
    });

    it('for a task nacked back to the queue', () => {
      const { engine, id } = leasedTask();
      engine.nack(WORKER, [{ id, delay: 0 }]);
      expectEngineError(() => engine.ack(WORKER, [{ id }]), 'lease_unknown');
    });

    it('for the same id twice in one batch, naming it once', () => {
      const { engine, id } = leasedTask();
      const error = expectEngineError(() => engine.ack(WORKER, [{ id }, { id }]), 'lease_unknown');
      assert.deepEqual(error.details.ids, [id]);
      expectEngineError(() => engine.nack(WORKER, [{ id }, { id }]), 'lease_unknown');
      expectEngineError(() => engine.touch(WORKER, [id, id]), 'lease_unknown');
      assert.equal(engine.leasedBy(WORKER), 1, 'nothing was applied');
    });

    it('applies nothing of a partly bad ack batch', () => {
      const { engine, events } = makeHarness();
      const [a, b] = putNow(engine, 'jobs', [{ payload: 'a', replyTo: 'results' }, 'b']);
      getNow(engine, 'jobs', { max: 2 });
      const eventsBefore = events.length;
      const error = expectEngineError(() => engine.ack(WORKER, rawAcks([{ id: a!, result: 'r' }, { id: 'bogus' }, { id: b! }])), 'lease_unknown');
      assert.deepEqual(error.details.ids, ['bogus']);
      assert.equal(events.length, eventsBefore, 'no ack events');
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 2 });
      assert.equal(engine.queueStats('jobs').totals.acked, 0);
      assert.equal(engine.queueStats('results').ready, 0, 'no result routed');
      assert.equal(engine.ack(WORKER, [{ id: a! }, { id: b! }]), 2);
    });

    it('applies nothing of a partly bad nack batch', () => {
      const { engine } = makeHarness();
      const [a] = putNow(engine, 'jobs', ['a']);
      getNow(engine, 'jobs');
      expectEngineError(() => engine.nack(WORKER, [{ id: a!, error: 'boom' }, { id: 'bogus' }]), 'lease_unknown');
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 1 });
      assert.equal(engine.queueStats('jobs').totals.nacked, 0);
    });

    it('names at most five ids in the message but all of them in details', () => {
      const { engine } = makeHarness();
      const bad = Array.from({ length: 7 }, (_, i) => `bad-${i}`);
      const error = expectEngineError(
        () =>
          engine.ack(
            WORKER,
            bad.map((id) => ({ id })),
          ),
        'lease_unknown',
      );
      assert.deepEqual(error.details.ids, bad);
      assert.match(error.message, /bad-4, \.\.\.$/);
    });
  });
});
