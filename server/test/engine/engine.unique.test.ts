import { strict as assert } from 'node:assert';
import { Engine, EngineError, ManualClock } from '../../src/engine';
import type { JournalRecord } from '../../src/engine/journal';
import type { TaskSpec } from '../../src/protocol/generated';
import { jsonTextOf } from '../../src/protocol/jsonText';
import { encodeRecord, Replay, scanRecords } from '../../src/store';
import { counts, getNow, makeHarness, startPut, START, WORKER, type Harness } from './harness';

// Unique tasks (spec §7.21) on a manual clock: the scopes, the ttl, retries and restarts. The
// harness also replays each engine's journal after every test and compares it with the engine.

interface PutAnswer {
  ids: string[];
  duplicates?: boolean[];
}

function putUnique(engine: Engine, queue: string, specs: TaskSpec[], timeout = 0): PutAnswer {
  let answer: PutAnswer | EngineError | undefined;
  const waiter = engine.put({ queue, tasks: specs.map((spec) => ({ ...spec, payload: jsonTextOf(spec.payload) })), timeout }, (outcome, duplicates) => {
    answer = outcome instanceof EngineError ? outcome : { ids: outcome, duplicates };
  });
  assert.equal(waiter, undefined, 'the put waits');
  if (answer === undefined || answer instanceof EngineError) assert.fail(`put failed: ${answer?.message ?? 'no answer'}`);
  return answer;
}

const keyed = (key: string, extra: Partial<NonNullable<TaskSpec['unique']>> = {}, payload: unknown = key): TaskSpec => ({ payload, unique: { key, ...extra } });

describe('Engine unique tasks', () => {
  let h: Harness;
  beforeEach(() => (h = makeHarness()));

  it("a duplicate answers the holder's id and adds nothing; a put event only for tasks added", () => {
    const [id] = putUnique(h.engine, 'jobs', [keyed('k')]).ids;
    const dup = putUnique(h.engine, 'jobs', [keyed('k', {}, 'other'), keyed('j'), keyed('j')]);
    assert.deepEqual(dup.duplicates, [true, false, true]);
    assert.deepEqual([dup.ids[0], dup.ids[2]], [id, dup.ids[1]]);
    assert.equal(h.events.filter((e) => e.kind === 'put').length, 2);
    assert.deepEqual(counts(h.engine, 'jobs'), { ready: 2, delayed: 0, leased: 0 });
  });

  it('scope queued: held while ready or delayed, free once leased, taken back on a retry if free', () => {
    const [delayed] = putUnique(h.engine, 'jobs', [{ ...keyed('k'), delay: 10 }]).ids;
    assert.deepEqual(putUnique(h.engine, 'jobs', [keyed('k')]).duplicates, [true], 'a delayed task holds its key');
    h.tick(10);
    const [task] = getNow(h.engine, 'jobs');
    assert.equal(task?.id, delayed);
    // Leased: the key is free; a lease that expires brings the task back holding it again.
    const [fresh] = putUnique(h.engine, 'jobs', [keyed('k')]).ids;
    getNow(h.engine, 'jobs'); // leases the fresh one too
    h.tick(60); // both leases (ttr 60) expire: both back; the first back takes the key
    const holder = putUnique(h.engine, 'jobs', [keyed('k')]);
    assert.deepEqual(holder.duplicates, [true]);
    assert.ok([delayed, fresh].includes(holder.ids[0]!));
  });

  it('scope active: held through leases and retries until the task ends', () => {
    const [id] = putUnique(h.engine, 'jobs', [keyed('k', { scope: 'active' })]).ids;
    const [task] = getNow(h.engine, 'jobs');
    assert.deepEqual(putUnique(h.engine, 'jobs', [keyed('k')]).ids, [id]);
    h.engine.nack(WORKER, [{ id: task!.id, delay: 5 }]); // delayed for its retry: still held
    assert.deepEqual(putUnique(h.engine, 'jobs', [keyed('k')]).ids, [id]);
    h.tick(5);
    const [again] = getNow(h.engine, 'jobs');
    h.engine.ack(WORKER, [{ id: again!.id }]);
    assert.deepEqual(putUnique(h.engine, 'jobs', [keyed('k')]).duplicates, [false]);
  });

  it('ttl: the hold ends ttl seconds after the put, to the millisecond, and a retry after it does not take the key back', () => {
    const [id] = putUnique(h.engine, 'jobs', [keyed('k', { ttl: 2, scope: 'active' })]).ids;
    h.clock.set(START + 1999);
    assert.deepEqual(putUnique(h.engine, 'jobs', [keyed('k')]).ids, [id]);
    const [task] = getNow(h.engine, 'jobs');
    h.clock.set(START + 2000);
    h.engine.nack(WORKER, [{ id: task!.id, delay: 0 }]);
    const later = putUnique(h.engine, 'jobs', [keyed('k', { ttl: 1 })]);
    assert.deepEqual(later.duplicates, [false]);
    h.tick(1);
    assert.deepEqual(putUnique(h.engine, 'jobs', [keyed('k')]).duplicates, [false], 'the expired retried task took its key back');
  });

  it('a waiting put needs room only for the tasks it adds, and takes its key when admitted', () => {
    h.engine.declareQueue('jobs', { maxsize: 1 });
    putUnique(h.engine, 'jobs', [{ payload: 'filler' }]);
    const waiting = startPut(h.engine, 'jobs', [keyed('k')], { timeout: 30 });
    assert.ok(waiting.waiter, 'a put of a free key waits for room');
    // A put of the same key would also have to wait; meanwhile room appears and the first put goes in.
    const [filler] = getNow(h.engine, 'jobs');
    h.engine.ack(WORKER, [{ id: filler!.id }]);
    const outcome = waiting.outcome;
    assert.ok(Array.isArray(outcome));
    assert.deepEqual(putUnique(h.engine, 'jobs', [keyed('k')]).ids, outcome, 'the admitted put holds the key');
  });

  it('a dead-lettered task frees its key and holds none in the dead-letter queue; the journal says so', () => {
    const [id] = putUnique(h.engine, 'jobs', [keyed('k', { scope: 'active' })]).ids;
    getNow(h.engine, 'jobs');
    h.engine.nack(WORKER, [{ id: id!, retry: false }]);
    assert.deepEqual(putUnique(h.engine, 'jobs', [keyed('k')]).duplicates, [false]);
    const dead = h.engine.exportState().tasks.find((t) => t.id === id);
    assert.equal(dead?.queue, 'jobs.dead');
    assert.equal(dead?.unique, undefined);
  });

  it('a task whose key is its only extra keeps it when a failed attempt, a rate key or a ttl joins it', () => {
    // The record keeps a key held alone as a string and makes its extras object at the first
    // other extra (taskRecord.ts): the key, the error and the rate key must all survive that.
    const [id] = putUnique(h.engine, 'jobs', [keyed('k')]).ids;
    const [first] = getNow(h.engine, 'jobs');
    h.engine.nack(WORKER, [{ id: first!.id, error: 'flaky', delay: 0 }]);
    assert.deepEqual(putUnique(h.engine, 'jobs', [keyed('k')]).ids, [id], 'back from its retry, it holds its key again');
    const [second] = getNow(h.engine, 'jobs');
    assert.deepEqual([second!.id, second!.attempt, second!.lastError], [id, 2, 'flaky']);
    h.engine.ack(WORKER, [{ id: id! }]);
    assert.deepEqual(putUnique(h.engine, 'jobs', [keyed('k')]).duplicates, [false], 'acked: the key is free');

    const [limited] = putUnique(h.engine, 'jobs', [{ ...keyed('r'), rateKey: 'host' }]).ids;
    const [timed] = putUnique(h.engine, 'jobs', [keyed('t', { ttl: 5 })]).ids;
    assert.deepEqual(putUnique(h.engine, 'jobs', [keyed('r'), keyed('t')]).ids, [limited, timed]);
    const image = h.engine.exportState().tasks.find((t) => t.id === limited);
    assert.deepEqual([image?.rateKey, image?.unique], ['host', { key: 'r', scope: 'queued' }]);
    h.tick(5);
    assert.deepEqual(putUnique(h.engine, 'jobs', [keyed('t')]).duplicates, [false], 'the ttl ended the hold');
  });

  it('survives a restart: the journal replays the keys, and leased tasks come back holding theirs', () => {
    const records: JournalRecord[] = [];
    const a = makeHarness({ journal: { append: (record) => records.push(record) } });
    putUnique(a.engine, 'jobs', [keyed('ready'), keyed('leased', { scope: 'active' }), { ...keyed('later', { ttl: 100 }), delay: 50 }]);
    getNow(a.engine, 'jobs', { max: 1 }); // leases "ready": its key is free in scope queued
    getNow(a.engine, 'jobs', { max: 1 }); // leases "leased": held (scope active)
    const replay = new Replay();
    for (const record of scanRecords(Buffer.concat(records.map((r) => encodeRecord(r))), 'journal').records) replay.apply(record);
    const b = new Engine({ clock: new ManualClock(START + 10_000), idPrefix: 't' });
    b.restore(replay.state());
    const put = (key: string) => putUnique(b, 'jobs', [keyed(key)]).duplicates![0];
    // Both leases came back after the crash: each holds its key again.
    assert.deepEqual([put('ready'), put('leased'), put('later'), put('new')], [true, true, true, false]);
    const c = new Engine({ clock: new ManualClock(START + 100_000), idPrefix: 't' });
    c.restore(replay.state());
    assert.equal(putUnique(c, 'jobs', [keyed('later')]).duplicates![0], false, 'the ttl counts from the put, across the restart');
  });
});
