import { strict as assert } from 'node:assert';
import type { JournalRecord } from '../../src/engine/journal';
import { encodeRecord, Replay, scanRecords } from '../../src/store';
import { counts, eventsOf, expectEngineError, getNow, makeHarness, payloads, putNow, startGet, startJoin, WORKER } from './harness';

// Paused queues in the engine (spec §7.19), on a fake clock. Every harness also checks that
// its journal replays to the engine's state, pause records included.

describe('Engine: paused queues', () => {
  it('a paused queue takes puts and delivers nothing; resume serves the waiting gets in the order they came', () => {
    const { engine, events, tick } = makeHarness();
    const stats = engine.pauseQueue('jobs', 'operator');
    assert.deepEqual([stats.queue, stats.paused], ['jobs', true]);
    putNow(engine, 'jobs', ['a', 'b', 'c']);
    assert.deepEqual(getNow(engine, 'jobs'), []);
    const first = startGet(engine, 'jobs', { max: 2, timeout: 60 });
    const second = startGet(engine, 'jobs', { session: 'worker-b', timeout: 60 });
    tick(30);
    assert.equal(first.tasks, undefined);
    assert.deepEqual(counts(engine, 'jobs'), { ready: 3, delayed: 0, leased: 0 });
    assert.equal(engine.queueStats('jobs').waitingGetters, 2);
    engine.resumeQueue('jobs', 'operator');
    assert.deepEqual(payloads(first.tasks!), ['a', 'b']);
    assert.deepEqual(payloads(second.tasks!), ['c']);
    assert.deepEqual(
      events.filter((e) => e.kind === 'paused' || e.kind === 'resumed').map((e) => [e.kind, e.queue, e.session]),
      [
        ['paused', 'jobs', 'operator'],
        ['resumed', 'jobs', 'operator'],
      ],
    );
  });

  it('a get waiting on a paused queue times out with []', () => {
    const { engine, tick } = makeHarness();
    putNow(engine, 'jobs', ['a']);
    engine.pauseQueue('jobs');
    const get = startGet(engine, 'jobs', { timeout: 5 });
    tick(5);
    assert.deepEqual(get.tasks, []);
    assert.equal(engine.queueStats('jobs').waitingGetters, 0);
  });

  it('delayed tasks come due while paused (ready, not delivered); retries and expiries return to the paused queue and wait', () => {
    const { engine, tick } = makeHarness();
    putNow(engine, 'jobs', [{ payload: 'later', delay: 10 }, 'held', 'expires']);
    const [held] = getNow(engine, 'jobs', { max: 2, ttr: 20 });
    engine.pauseQueue('jobs');
    const waiting = startGet(engine, 'jobs', { timeout: 100, session: 'worker-b' });
    tick(10);
    assert.deepEqual(counts(engine, 'jobs'), { ready: 1, delayed: 0, leased: 2 });
    engine.nack(WORKER, [{ id: held!.id, delay: 0 }]);
    tick(10); // "expires" lease ends
    assert.deepEqual(counts(engine, 'jobs'), { ready: 3, delayed: 0, leased: 0 });
    assert.equal(waiting.tasks, undefined);
    engine.resumeQueue('jobs');
    assert.deepEqual(payloads(waiting.tasks!), ['later']);
    assert.deepEqual(
      getNow(engine, 'jobs', { max: 5 }).map((t) => [t.payload, t.attempt]),
      [
        ['held', 2],
        ['expires', 2],
      ],
    );
  });

  it('leases taken before the pause run on: touch, ack (with its result routed) and nack work', () => {
    const { engine } = makeHarness();
    putNow(engine, 'jobs', [{ payload: 'a', replyTo: 'results' }, 'b']);
    const [a, b] = getNow(engine, 'jobs', { max: 2 });
    engine.pauseQueue('jobs');
    engine.touch(WORKER, [a!.id, b!.id], 120);
    assert.equal(engine.ack(WORKER, [{ id: a!.id, result: '"done"' as never }]), 1);
    assert.equal(engine.nack(WORKER, [{ id: b!.id, retry: false }]), 1);
    // Only the paused queue is paused: its results and dead letters are delivered.
    assert.equal(getNow(engine, 'results').length, 1);
    assert.deepEqual(payloads(getNow(engine, 'jobs.dead')), ['b']);
  });

  it('pausing a paused queue, or resuming one that is not paused, is no change: no event, no record', () => {
    const records: JournalRecord[] = [];
    const { engine, events } = makeHarness({ journal: { append: (record) => records.push(record) } });
    engine.resumeQueue('jobs');
    engine.pauseQueue('jobs');
    engine.pauseQueue('jobs');
    engine.resumeQueue('jobs');
    engine.resumeQueue('jobs');
    assert.deepEqual(
      records.filter((r) => r.op === 'pause'),
      [
        { op: 'pause', queue: 'jobs', paused: true },
        { op: 'pause', queue: 'jobs', paused: false },
      ],
    );
    assert.equal(eventsOf(events, 'paused').length + eventsOf(events, 'resumed').length, 2);
  });

  it('without creation on first use, pausing an unknown queue is queue_not_found', () => {
    const { engine } = makeHarness({ autoCreate: false });
    expectEngineError(() => engine.pauseQueue('nosuch'), 'queue_not_found');
    expectEngineError(() => engine.resumeQueue('nosuch'), 'queue_not_found');
    engine.declareQueue('jobs');
    assert.equal(engine.pauseQueue('jobs').paused, true);
  });

  it('join waits while a paused queue holds ready tasks, and completes once resumed and drained', () => {
    const { engine } = makeHarness();
    putNow(engine, 'jobs', ['a']);
    engine.pauseQueue('jobs');
    const join = startJoin(engine, 'jobs', { timeout: 60 });
    assert.equal(join.results.length, 0);
    engine.resumeQueue('jobs');
    const [task] = getNow(engine, 'jobs');
    engine.ack(WORKER, [{ id: task!.id }]);
    assert.deepEqual(join.results, [true]);
  });

  it('a pause is in exportState and comes back with restore; a resume too', () => {
    const a = makeHarness();
    putNow(a.engine, 'jobs', ['a']);
    a.engine.pauseQueue('jobs');
    const state = a.engine.exportState();
    assert.deepEqual(state.queues[0]?.paused, true);
    // Its own journal: restore writes none (the store snapshots the restored state).
    const b = makeHarness({ journal: { append: () => undefined } });
    b.engine.restore(state);
    assert.equal(b.engine.queueStats('jobs').paused, true);
    assert.deepEqual(getNow(b.engine, 'jobs'), []);
    b.engine.resumeQueue('jobs');
    assert.equal(b.engine.exportState().queues[0]?.paused, undefined);
  });

  it('the journal: pause records replay to the pause; a journal without any (written before pauses) reads as nothing paused', () => {
    const replay = (records: JournalRecord[]) => {
      const r = new Replay();
      for (const record of scanRecords(Buffer.concat(records.map(encodeRecord)), 'journal').records) r.apply(record);
      return r.state().queues.map((q) => [q.name, q.paused ?? false]);
    };
    const options = { maxsize: 0, maxBytes: 0, ttr: 60, maxAttempts: 5, deadLetter: null };
    const queue = (name: string): JournalRecord => ({ op: 'queue', queue: name, options });
    assert.deepEqual(replay([queue('old')]), [['old', false]]);
    assert.deepEqual(replay([queue('a'), queue('b'), { op: 'pause', queue: 'a', paused: true }, { op: 'pause', queue: 'b', paused: true }, { op: 'pause', queue: 'b', paused: false }]), [
      ['a', true],
      ['b', false],
    ]);
  });
});
