import { strict as assert } from 'node:assert';
import type { EngineState, JournalRecord } from '../../src/engine/journal';
import type { EngineDefaults } from '../../src/engine/types';
import { counts, getNow, makeHarness, payloads, putNow, START, WORKER } from './harness';

// exportState and restore: what a store keeps and gives back after a restart.

/** A harness whose journal the test reads (and which the replay check leaves alone). */
function restoredHarness(state: EngineState, defaults: Partial<EngineDefaults> = {}) {
  const records: JournalRecord[] = [];
  const harness = makeHarness({ defaults, journal: { append: (record) => records.push(record) } });
  const summary = harness.engine.restore(state);
  return { ...harness, records, summary };
}

describe('Engine exportState and restore', () => {
  it('exports queues with their options and tasks in delivery order, then delayed by due time, then leased', () => {
    const { engine } = makeHarness();
    engine.declareQueue('jobs', { maxsize: 10, ttr: 5 });
    putNow(engine, 'jobs', [{ payload: 'low' }, { payload: 'high', priority: 2 }, { payload: 'later', delay: 30 }, { payload: 'sooner', delay: 10 }, { payload: 'held' }]);
    getNow(engine, 'jobs', { max: 1 }); // leases "high"
    const state = engine.exportState();
    assert.deepEqual(state.queues, [{ name: 'jobs', options: { maxsize: 10, maxBytes: 0, ttr: 5, maxAttempts: 5, deadLetter: 'jobs.dead' } }]);
    assert.deepEqual(
      state.tasks.map((t) => [JSON.parse(t.payload), t.readyAt === undefined ? '' : (t.readyAt - START) / 1000, t.leased ?? false]),
      [
        ['low', '', false],
        ['held', '', false],
        ['sooner', 10, false],
        ['later', 30, false],
        ['high', '', true],
      ],
    );
  });

  it('restores every task as it was; leased ones come back ready with attempt + 1, after the ready ones', () => {
    const a = makeHarness();
    a.engine.declareQueue('jobs', { ttr: 5, maxAttempts: 3, deadLetter: 'graveyard' });
    putNow(a.engine, 'jobs', [{ payload: 'p0', priority: 1, replyTo: 'results', ttr: 9, maxAttempts: 4 }, { payload: 'p1' }, { payload: 'p2' }, { payload: 'delayed', delay: 20 }]);
    const [first] = getNow(a.engine, 'jobs'); // p0, leased
    a.engine.nack(WORKER, [{ id: first!.id, error: 'flaky', delay: 0 }]); // back, attempt 2, lastError
    const [p0again] = getNow(a.engine, 'jobs'); // p0 again (priority 1), leased with attempt 2
    const [p1] = getNow(a.engine, 'jobs');
    a.engine.nack(WORKER, [{ id: p1!.id, error: 'broken', retry: false }]); // dead: graveyard
    const before = a.engine.exportState();

    const b = restoredHarness(before);
    assert.deepEqual(b.records, [], 'restore journals nothing: the store snapshots the restored state');
    assert.deepEqual(b.summary, { queues: 3, tasks: 4, leasesReturned: 1 });
    const after = b.engine.exportState();
    assert.deepEqual(after.queues, before.queues);
    // p0 was leased: now ready, attempt 3, at the tail of its priority level (its level is alone).
    const expected = before.tasks.map((t) => {
      if (t.id !== p0again!.id) return t;
      const back = { ...t, attempt: 3, crashes: 1 };
      delete back.leased;
      return back;
    });
    const byId = (state: EngineState) => new Map(state.tasks.map((t) => [t.id, t]));
    assert.deepEqual(byId(after), byId({ queues: [], tasks: expected }));
    assert.deepEqual(payloads(getNow(b.engine, 'jobs', { max: 10 })), ['p0', 'p2']);
    assert.deepEqual(counts(b.engine, 'jobs'), { ready: 0, delayed: 1, leased: 2 });
    const [dead] = getNow(b.engine, 'graveyard');
    assert.deepEqual([dead!.payload, dead!.deadLetteredFrom, dead!.lastError, dead!.attempt], ['p1', 'jobs', 'broken', 1]);
  });

  it("keeps a delayed task's due time, and makes it ready then", () => {
    const a = makeHarness();
    putNow(a.engine, 'jobs', [{ payload: 'later', delay: 30 }]);
    const b = restoredHarness(a.engine.exportState());
    b.tick(29);
    assert.deepEqual(counts(b.engine, 'jobs'), { ready: 0, delayed: 1, leased: 0 });
    b.tick(1);
    assert.deepEqual(payloads(getNow(b.engine, 'jobs')), ['later']);
  });

  it("a crash never uses up a task's last attempt: leased on its last attempt, it comes back with attempt + 1", () => {
    const a = makeHarness();
    a.engine.declareQueue('jobs', { maxAttempts: 1 });
    putNow(a.engine, 'jobs', ['once']);
    getNow(a.engine, 'jobs');
    const b = restoredHarness(a.engine.exportState());
    assert.deepEqual(counts(b.engine, 'jobs.dead'), { ready: 0, delayed: 0, leased: 0 });
    const [back] = getNow(b.engine, 'jobs');
    assert.deepEqual([back!.payload, back!.attempt], ['once', 2]);
    // Its next real failure is past its attempts: dead-lettered then, as any task would be.
    b.engine.nack(WORKER, [{ id: back!.id, error: 'failed' }]);
    const [dead] = getNow(b.engine, 'jobs.dead');
    assert.deepEqual([dead!.payload, dead!.attempt, dead!.lastError], ['once', 2, 'failed']);
  });

  it('a task leased through maxCrashes crashes is dead-lettered as a possible poison task; tasks leased at a single crash are not', () => {
    let state: EngineState;
    {
      const a = makeHarness();
      a.engine.declareQueue('jobs', { maxAttempts: 1 });
      putNow(a.engine, 'suspect', ['poison']);
      putNow(a.engine, 'jobs', ['innocent-0', 'innocent-1', 'innocent-2', 'innocent-3', 'innocent-4']);
      state = a.engine.exportState();
    }
    // Five crashes: the poison task is leased at each (until it is dead-lettered), and each
    // innocent task at one of them (a returned task goes to the back of its queue).
    const deadAfter: number[] = [];
    for (let crash = 1; crash <= 5; crash++) {
      const b = restoredHarness(state);
      if (counts(b.engine, 'suspect.dead').ready > 0) deadAfter.push(crash - 1);
      getNow(b.engine, 'suspect');
      assert.deepEqual(payloads(getNow(b.engine, 'jobs')), [`innocent-${crash - 1}`]);
      state = b.engine.exportState();
    }
    const last = restoredHarness(state);
    assert.equal(deadAfter[0], 3, 'the poison task is dead-lettered at the restart after its third crash');
    const [dead] = getNow(last.engine, 'suspect.dead');
    assert.deepEqual([dead!.payload, dead!.attempt, dead!.lastError], ['poison', 3, 'leased when the manager crashed, 3 times: dead-lettered as a possible poison task']);
    // Every innocent task is back, on its last attempt's successor, none dead-lettered.
    const alive = getNow(last.engine, 'jobs', { max: 10 });
    assert.deepEqual(
      alive.map((task) => [task.payload, task.attempt]),
      [0, 1, 2, 3, 4].map((n) => [`innocent-${n}`, 2]),
    );
    assert.deepEqual(counts(last.engine, 'jobs.dead'), { ready: 0, delayed: 0, leased: 0 });
  });

  it('maxCrashes 0: a crash never dead-letters', () => {
    let state: EngineState;
    {
      const a = makeHarness({ defaults: { maxCrashes: 0 } });
      putNow(a.engine, 'jobs', ['poison']);
      state = a.engine.exportState();
    }
    for (let crash = 0; crash < 10; crash++) {
      const b = restoredHarness(state, { maxCrashes: 0 });
      getNow(b.engine, 'jobs');
      state = b.engine.exportState();
    }
    const last = restoredHarness(state, { maxCrashes: 0 });
    const [task] = getNow(last.engine, 'jobs');
    assert.deepEqual([task!.payload, task!.attempt], ['poison', 11]);
  });

  it("a manager's shutdown releases leases without dead-lettering; a worker's disconnect on the last attempt dead-letters", () => {
    const { engine } = makeHarness();
    engine.declareQueue('jobs', { maxAttempts: 1 });
    putNow(engine, 'jobs', ['a', 'b']);
    getNow(engine, 'jobs', { max: 1, session: 'stopping' });
    getNow(engine, 'jobs', { max: 1, session: 'leaving' });
    engine.releaseSession('stopping', 'manager shut down', true);
    engine.releaseSession('leaving', 'client disconnected');
    const [back] = getNow(engine, 'jobs');
    assert.deepEqual([back!.payload, back!.attempt], ['a', 2]);
    const [dead] = getNow(engine, 'jobs.dead');
    assert.deepEqual([dead!.payload, dead!.attempt], ['b', 1]);
  });

  it('never hands out a restored id again', () => {
    const a = makeHarness();
    const ids = putNow(
      a.engine,
      'jobs',
      Array.from({ length: 40 }, (_, i) => i),
    );
    const b = restoredHarness(a.engine.exportState());
    const [next] = putNow(b.engine, 'jobs', ['new']);
    assert.equal(ids.at(-1), 't-13');
    assert.equal(next, 't-14');
  });
});
