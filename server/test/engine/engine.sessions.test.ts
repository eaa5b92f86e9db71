import { isDeepStrictEqual } from 'node:util';
import { strict as assert } from 'node:assert';
import { counts, eventsOf, getNow, makeHarness, OTHER_WORKER, payloads, putNow, startGet, startJoin, startPut, START, WORKER, peekNow } from './harness';

// Sessions that end (releaseSession) and deliveries that fail (deliver returns false):
// a task is only ever handed to a live session.

describe('Engine sessions', () => {
  describe('releaseSession', () => {
    it('puts every task the session holds back at once with attempt + 1', () => {
      const { engine, events, tick } = makeHarness();
      const ids = putNow(engine, 'jobs', ['a', 'b']);
      putNow(engine, 'other', ['c']);
      getNow(engine, 'jobs', { max: 2 });
      getNow(engine, 'other');
      tick(1);
      assert.equal(engine.leasedBy(WORKER), 3);
      assert.equal(engine.releaseSession(WORKER, 'connection reset'), 3);
      assert.equal(engine.leasedBy(WORKER), 0);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 2, delayed: 0, leased: 0 });
      assert.deepEqual(counts(engine, 'other'), { ready: 1, delayed: 0, leased: 0 });
      const again = getNow(engine, 'jobs', { max: 2, session: OTHER_WORKER });
      assert.deepEqual(
        again.map((t) => [t.id, t.attempt]),
        ids.map((id) => [id, 2]),
      );
      const released = eventsOf(events, 'released');
      assert.equal(released.length, 3);
      assert.ok(released.some((e) => isDeepStrictEqual(e, { kind: 'released', queue: 'jobs', taskId: ids[0], attempt: 1, error: 'connection reset', session: WORKER, at: START + 1000 })));
      assert.deepEqual(eventsOf(events, 'expired'), []);
    });

    it("says 'client disconnected' when no reason is given", () => {
      const { engine, events } = makeHarness();
      putNow(engine, 'jobs', ['a']);
      getNow(engine, 'jobs');
      engine.releaseSession(WORKER);
      assert.equal(eventsOf(events, 'released')[0]!.error, 'client disconnected');
    });

    it('puts released tasks back at the head of their priority level, in the order they were taken (spec §7.3)', () => {
      const { engine } = makeHarness();
      const ids = putNow(engine, 'jobs', ['a', 'b', 'c', 'd', 'e']);
      getNow(engine, 'jobs', { max: 2 });
      engine.releaseSession(WORKER, 'client stopped');
      assert.deepEqual(
        getNow(engine, 'jobs', { max: 5, session: OTHER_WORKER }).map((t) => [t.id, t.attempt]),
        [
          [ids[0], 2],
          [ids[1], 2],
          [ids[2], 1],
          [ids[3], 1],
          [ids[4], 1],
        ],
      );
      const totals = engine.queueStats('jobs').totals;
      assert.deepEqual([totals.expired, totals.released], [2, 2]);
    });

    it('journals a release at the head, so a data dir replays it there (the harness replays every journal after each test)', () => {
      const { engine } = makeHarness();
      const ids = putNow(engine, 'jobs', ['a', 'b', 'c']);
      const [urgent] = putNow(engine, 'jobs', [{ payload: 'urgent', priority: 1 }]);
      getNow(engine, 'jobs', { max: 3 });
      engine.releaseSession(WORKER, 'client stopped');
      // Left ready: the replay of the journal must give this very order (checkJournalReplay).
      assert.deepEqual(
        engine.exportState().tasks.map((t) => [t.id, t.attempt]),
        [
          [urgent, 2],
          [ids[0], 2],
          [ids[1], 2],
          [ids[2], 1],
        ],
      );
    });

    it('puts an expired task back at the tail, behind the tasks that waited', () => {
      const { engine, events, tick } = makeHarness();
      const ids = putNow(engine, 'jobs', ['a', 'b']);
      getNow(engine, 'jobs', { ttr: 1 });
      tick(1);
      assert.equal(eventsOf(events, 'expired')[0]!.error, 'lease expired');
      assert.deepEqual(
        getNow(engine, 'jobs', { max: 2, session: OTHER_WORKER }).map((t) => t.id),
        [ids[1], ids[0]],
      );
      const totals = engine.queueStats('jobs').totals;
      assert.deepEqual([totals.expired, totals.released], [1, 0]);
    });

    it('leaves other sessions and their leases alone', () => {
      const { engine } = makeHarness();
      const [, theirs] = putNow(engine, 'jobs', ['mine', 'theirs']);
      getNow(engine, 'jobs');
      getNow(engine, 'jobs', { session: OTHER_WORKER });
      engine.releaseSession(WORKER);
      assert.equal(engine.leasedBy(OTHER_WORKER), 1);
      assert.equal(engine.ack(OTHER_WORKER, [{ id: theirs! }]), 1);
    });

    it('hands the released tasks to another session waiting for them', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['a']);
      getNow(engine, 'jobs');
      const waiting = startGet(engine, 'jobs', { session: OTHER_WORKER });
      engine.releaseSession(WORKER);
      assert.equal(waiting.tasks?.[0]?.attempt, 2);
      assert.equal(engine.leasedBy(OTHER_WORKER), 1);
    });

    it('dead-letters tasks on their last attempt', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 1 });
      putNow(engine, 'jobs', ['a']);
      getNow(engine, 'jobs');
      engine.releaseSession(WORKER);
      assert.equal(engine.queueStats('jobs').dead, 1);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 0 });
    });

    it('withdraws its waiting gets, puts and joins without calling them', () => {
      const { engine, tick } = makeHarness();
      engine.declareQueue('full', { maxsize: 1 });
      putNow(engine, 'full', ['x']);
      putNow(engine, 'busy', ['y']);
      const get = startGet(engine, 'empty', { timeout: 5 });
      const put = startPut(engine, 'full', ['blocked'], { timeout: 5, session: WORKER });
      const join = startJoin(engine, 'busy', { timeout: 5, session: WORKER });
      assert.equal(engine.releaseSession(WORKER), 0, 'it held no leases');

      assert.equal(engine.queueStats('empty').waitingGetters, 0);
      assert.equal(engine.queueStats('full').waitingPutters, 0);
      putNow(engine, 'empty', ['for someone else']);
      engine.purge('full');
      engine.purge('busy');
      tick(10);
      assert.deepEqual(get.deliveries, []);
      assert.deepEqual(put.outcomes, []);
      assert.deepEqual(join.results, []);
      assert.equal(counts(engine, 'empty').ready, 1, 'the withdrawn getter took nothing');
      assert.equal(counts(engine, 'full').ready, 0, 'the withdrawn put enqueued nothing');
    });

    it('lets the next putter in when its waiting put is withdrawn', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxsize: 2 });
      putNow(engine, 'jobs', ['x']);
      startPut(engine, 'jobs', ['big-1', 'big-2'], { session: WORKER });
      const small = startPut(engine, 'jobs', ['small'], { session: OTHER_WORKER });
      assert.equal(small.outcome, undefined);
      engine.releaseSession(WORKER);
      assert.ok(Array.isArray(small.outcome));
    });

    it('of an unknown session, or twice, does nothing', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['a']);
      getNow(engine, 'jobs');
      assert.equal(engine.releaseSession('nobody'), 0);
      assert.equal(engine.releaseSession(WORKER), 1);
      assert.equal(engine.releaseSession(WORKER), 0);
      assert.equal(getNow(engine, 'jobs')[0]!.attempt, 2);
    });

    it('does not let the released lease expire again later', () => {
      const { engine, events, tick } = makeHarness();
      putNow(engine, 'jobs', ['a']);
      getNow(engine, 'jobs', { ttr: 5 });
      engine.releaseSession(WORKER);
      tick(5);
      assert.equal(eventsOf(events, 'released').length, 1);
      assert.equal(eventsOf(events, 'expired').length, 0);
      assert.equal(getNow(engine, 'jobs')[0]!.attempt, 2);
    });
  });

  describe('a delivery that fails (deliver returns false)', () => {
    it('puts the tasks back at the head, unleased, with attempt unchanged', () => {
      const { engine, events } = makeHarness();
      const ids = putNow(engine, 'jobs', ['a', 'b', 'c']);
      const dead = startGet(engine, 'jobs', { max: 2, alive: false, session: 'gone' });
      assert.equal(dead.deliveries.length, 1);
      assert.equal(engine.leasedBy('gone'), 0);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 3, delayed: 0, leased: 0 });
      assert.deepEqual(eventsOf(events, 'get'), [], 'nothing was handed out');
      const tasks = getNow(engine, 'jobs', { max: 3 });
      assert.deepEqual(
        tasks.map((t) => [t.id, t.attempt]),
        ids.map((id) => [id, 1]),
      );
    });

    it('keeps priority order when the tasks go back', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', [{ payload: 'low' }, { payload: 'high', priority: 1 }, { payload: 'low-2' }]);
      startGet(engine, 'jobs', { max: 2, alive: false });
      assert.deepEqual(payloads(peekNow(engine, 'jobs', 5)), ['high', 'low', 'low-2']);
    });

    it('hands the tasks to the next waiting getter with attempt unchanged', () => {
      const { engine } = makeHarness();
      const dead = startGet(engine, 'jobs', { max: 5, alive: false, session: 'gone' });
      const alive = startGet(engine, 'jobs', { max: 5, session: OTHER_WORKER });
      const ids = putNow(engine, 'jobs', ['a', 'b']);
      assert.equal(dead.deliveries.length, 1, 'the dead getter was tried once');
      assert.deepEqual(
        alive.tasks!.map((t) => [t.id, t.attempt]),
        ids.map((id) => [id, 1]),
      );
      assert.equal(engine.leasedBy(OTHER_WORKER), 2);
      assert.equal(engine.leasedBy('gone'), 0);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 2 });
    });

    it('skips several dead getters in a row', () => {
      const { engine } = makeHarness();
      startGet(engine, 'jobs', { alive: false, session: 'gone-1' });
      startGet(engine, 'jobs', { alive: false, session: 'gone-2' });
      const alive = startGet(engine, 'jobs', { session: OTHER_WORKER });
      putNow(engine, 'jobs', ['a']);
      assert.equal(alive.tasks?.[0]?.payload, 'a');
      assert.equal(engine.queueStats('jobs').waitingGetters, 0);
    });

    it('leaves the tasks ready when no one else is waiting, with no lease left to expire', () => {
      const { engine, events, tick } = makeHarness();
      startGet(engine, 'jobs', { alive: false, ttr: 5 });
      putNow(engine, 'jobs', ['a']);
      assert.equal(counts(engine, 'jobs').ready, 1);
      assert.equal(engine.queueStats('jobs').waitingGetters, 0);
      tick(5);
      assert.deepEqual(eventsOf(events, 'expired'), []);
      assert.equal(getNow(engine, 'jobs')[0]!.attempt, 1);
    });

    it('with autoAck removes nothing and counts nothing as acked', () => {
      const { engine } = makeHarness();
      putNow(engine, 'results', ['r']);
      startGet(engine, 'results', { autoAck: true, alive: false });
      assert.equal(counts(engine, 'results').ready, 1);
      assert.equal(engine.queueStats('results').totals.acked, 0);
    });

    it('does not finish a join', () => {
      const { engine } = makeHarness();
      putNow(engine, 'results', ['r']);
      const join = startJoin(engine, 'results');
      startGet(engine, 'results', { autoAck: true, alive: false });
      assert.equal(join.result, undefined);
    });
  });
});
