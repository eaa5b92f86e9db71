import { strict as assert } from 'node:assert';
import type { EngineEvent } from '../../src/engine';
import { eventsOf, getNow, makeHarness, putNow, rawAcks, startGet, startPut, START, WORKER } from './harness';

// What the engine reports: events (observations for subscribers) and onWake/nextDeadline (for the host's timer).

describe('Engine events', () => {
  it('put: one per task, with payload, attempt 1 and the putting session', () => {
    const { engine, events, tick } = makeHarness();
    tick(1);
    const ids = putNow(engine, 'jobs', [{ payload: { a: 1 } }, { payload: 'b', delay: 5 }], 'producer');
    assert.deepEqual(events, [
      { kind: 'put', queue: 'jobs', taskId: ids[0], attempt: 1, payload: { a: 1 }, session: 'producer', at: START + 1000 },
      { kind: 'put', queue: 'jobs', taskId: ids[1], attempt: 1, payload: 'b', session: 'producer', at: START + 1000 },
    ]);
  });

  it('put of a blocked put: when it goes in, not when it starts waiting', () => {
    const { engine, events, tick } = makeHarness();
    engine.declareQueue('jobs', { maxsize: 1 });
    const [id] = putNow(engine, 'jobs', ['a']);
    getNow(engine, 'jobs');
    startPut(engine, 'jobs', ['b'], { session: 'producer' });
    assert.equal(eventsOf(events, 'put').length, 1);
    tick(2);
    engine.ack(WORKER, [{ id: id! }]);
    const puts = eventsOf(events, 'put');
    assert.equal(puts.length, 2);
    assert.deepEqual([puts[1]!.payload, puts[1]!.session, puts[1]!.at], ['b', 'producer', START + 2000]);
  });

  it('get: one per delivered task, for leases and autoAck alike', () => {
    const { engine, events } = makeHarness();
    const [a, b] = putNow(engine, 'jobs', ['a', 'b']);
    getNow(engine, 'jobs');
    getNow(engine, 'jobs', { autoAck: true, session: 'reader' });
    assert.deepEqual(eventsOf(events, 'get'), [
      { kind: 'get', queue: 'jobs', taskId: a, attempt: 1, payload: 'a', session: WORKER, at: START, since: START },
      { kind: 'get', queue: 'jobs', taskId: b, attempt: 1, payload: 'b', session: 'reader', at: START, since: START },
    ]);
  });

  it('get for a waiting getter, when it is served', () => {
    const { engine, events, tick } = makeHarness();
    startGet(engine, 'jobs', { session: 'waiter' });
    tick(3);
    const [id] = putNow(engine, 'jobs', ['a']);
    assert.deepEqual(eventsOf(events, 'get'), [{ kind: 'get', queue: 'jobs', taskId: id, attempt: 1, payload: 'a', session: 'waiter', at: START + 3000, since: START + 3000 }]);
  });

  it('since (for the metrics): a get carries when the task became ready, an ack when its lease began', () => {
    const { engine, events, tick } = makeHarness();
    const [plain] = putNow(engine, 'jobs', ['a']);
    const [later] = putNow(engine, 'jobs', [{ payload: 'b', delay: 5 }]);
    tick(2);
    getNow(engine, 'jobs', { ttr: 1 });
    tick(1); // the lease ends at START + 3 s: back, ready again then
    tick(1);
    getNow(engine, 'jobs');
    tick(4); // b came due at START + 5 s
    getNow(engine, 'jobs');
    tick(1);
    engine.ack(WORKER, rawAcks([{ id: later! }]));
    const since = (kind: string) => eventsOf(events, kind as 'get').map((e) => [e.taskId, e.at - START, e.since! - START]);
    assert.deepEqual(since('get'), [
      [plain, 2000, 0],
      [plain, 4000, 3000],
      [later, 8000, 5000],
    ]);
    assert.deepEqual(since('ack'), [[later, 9000, 8000]]);
  });

  it('ack carries the result; the routed result is a put on the reply queue by the acking session', () => {
    const { engine, events } = makeHarness();
    const [id] = putNow(engine, 'jobs', [{ payload: 'x', replyTo: 'results' }], 'producer');
    getNow(engine, 'jobs');
    engine.ack(WORKER, rawAcks([{ id: id!, result: { sum: 3 } }]));
    const [ack] = eventsOf(events, 'ack');
    assert.deepEqual(ack, { kind: 'ack', queue: 'jobs', taskId: id, attempt: 1, result: { sum: 3 }, session: WORKER, at: START, since: START });
    const routed = eventsOf(events, 'put').filter((e) => e.queue === 'results');
    assert.equal(routed.length, 1);
    assert.deepEqual([routed[0]!.payload, routed[0]!.session], [{ taskId: id, result: { sum: 3 } }, WORKER]);
  });

  it('follows one task through its life in order', () => {
    const { engine, events, tick } = makeHarness();
    engine.declareQueue('jobs', { maxAttempts: 3, ttr: 1 });
    const [id] = putNow(engine, 'jobs', ['x']);
    getNow(engine, 'jobs');
    engine.nack(WORKER, [{ id: id!, error: 'e1', delay: 0 }]);
    getNow(engine, 'jobs');
    tick(1);
    getNow(engine, 'jobs');
    engine.nack(WORKER, [{ id: id!, error: 'e3' }]);
    const trail = events.filter((e) => e.taskId === id).map((e) => `${e.kind}#${e.attempt}${e.error ? `:${e.error}` : ''}`);
    assert.deepEqual(trail, ['put#1', 'get#1', 'nack#1:e1', 'get#2', 'expired#2:lease expired', 'get#3', 'nack#3:e3', 'dead#3:e3']);
  });

  it('purge carries the count', () => {
    const { engine, events } = makeHarness();
    putNow(engine, 'jobs', ['a', 'b']);
    engine.purge('jobs', 'admin');
    assert.deepEqual(eventsOf(events, 'purge'), [{ kind: 'purge', queue: 'jobs', count: 2, session: 'admin', at: START }]);
  });

  it('reach every listener until it stops listening', () => {
    const { engine } = makeHarness();
    const first: EngineEvent[] = [];
    const second: EngineEvent[] = [];
    const stopFirst = engine.onEvent((e) => first.push(e));
    engine.onEvent((e) => second.push(e));
    putNow(engine, 'jobs', ['a']);
    stopFirst();
    stopFirst(); // twice is harmless
    putNow(engine, 'jobs', ['b']);
    assert.equal(first.length, 1);
    assert.equal(second.length, 2);
  });

  it('are not emitted for peek, stats or a failed operation', () => {
    const { engine, events } = makeHarness();
    engine.declareQueue('jobs', { maxsize: 1 });
    putNow(engine, 'jobs', ['a']);
    const before = events.length;
    engine.peek('jobs', 5);
    engine.queueStats('jobs');
    engine.listQueues();
    startPut(engine, 'jobs', ['b'], { timeout: 0 });
    assert.throws(() => engine.ack(WORKER, [{ id: 'nope' }]));
    assert.equal(events.length, before);
  });
});

describe('Engine deadlines (onWake and nextDeadline)', () => {
  it('wakes the host when the earliest deadline moves earlier, and only then', () => {
    const { engine, wakes } = makeHarness();
    putNow(engine, 'jobs', [{ payload: 'a', delay: 10 }]);
    assert.deepEqual(wakes, [START + 10_000]);
    putNow(engine, 'jobs', [{ payload: 'b', delay: 20 }]);
    assert.deepEqual(wakes, [START + 10_000], 'a later deadline needs no wake-up');
    putNow(engine, 'jobs', [{ payload: 'c', delay: 5 }]);
    assert.deepEqual(wakes, [START + 10_000, START + 5_000]);
    assert.equal(engine.nextDeadline(), START + 5_000);
  });

  it('wakes for lease ends, get timeouts, put timeouts and join timeouts', () => {
    const { engine, wakes } = makeHarness();
    putNow(engine, 'jobs', ['a']);
    getNow(engine, 'jobs', { ttr: 40 });
    startGet(engine, 'empty', { timeout: 30 });
    engine.declareQueue('full', { maxsize: 1 });
    putNow(engine, 'full', ['x']);
    startPut(engine, 'full', ['y'], { timeout: 20 });
    engine.join('jobs', 10, undefined, () => undefined);
    assert.deepEqual(
      wakes,
      [40, 30, 20, 10].map((s) => START + s * 1000),
    );
  });

  it('wakes for a retry back-off and a touched lease that end first', () => {
    const { engine, wakes, tick } = makeHarness();
    const [id] = putNow(engine, 'jobs', ['a']);
    getNow(engine, 'jobs', { ttr: 60 });
    tick(1);
    engine.touch(WORKER, [id!], 5);
    assert.deepEqual(wakes, [START + 60_000, START + 6_000]);
    engine.nack(WORKER, [{ id: id! }]);
    assert.deepEqual(wakes.at(-1), START + 2_000, 'back-off 1 s from the nack at 1 s');
  });

  it('wakes again for the first deadline after everything pending was processed', () => {
    const { engine, wakes, tick } = makeHarness();
    putNow(engine, 'jobs', [{ payload: 'a', delay: 1 }]);
    tick(1);
    assert.equal(engine.nextDeadline(), undefined);
    putNow(engine, 'jobs', [{ payload: 'b', delay: 100 }]);
    assert.deepEqual(wakes, [START + 1000, START + 101_000]);
  });

  it('has no deadline on a fresh engine or for waiters without timeout', () => {
    const { engine, wakes } = makeHarness();
    startGet(engine, 'jobs');
    engine.join('jobs', undefined, undefined, () => undefined);
    assert.equal(engine.nextDeadline(), undefined);
    assert.deepEqual(wakes, []);
  });

  it('lets a host that only follows nextDeadline process everything in time order', () => {
    const { engine, clock, events } = makeHarness();
    engine.declareQueue('jobs', { maxAttempts: 2 });
    putNow(engine, 'jobs', [
      { payload: 'late', delay: 30 },
      { payload: 'soon', delay: 10 },
    ]);
    getNow(engine, 'jobs'); // nothing ready yet
    let steps = 0;
    for (let at = engine.nextDeadline(); at !== undefined && steps < 100; at = engine.nextDeadline(), steps++) {
      clock.set(at);
      engine.advance();
      // A worker takes whatever is ready and lets the lease (ttr 60) run out.
      getNow(engine, 'jobs', { max: 10 });
    }
    const deaths = eventsOf(events, 'dead').map((e) => [e.payload, e.at - START]);
    assert.deepEqual(deaths, [
      ['soon', 130_000],
      ['late', 150_000],
    ]);
    assert.equal(engine.nextDeadline(), undefined);
  });
});
