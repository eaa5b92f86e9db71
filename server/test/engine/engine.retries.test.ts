import { strict as assert } from 'node:assert';
import { DEFAULTS, type Engine } from '../../src/engine';
import { counts, eventsOf, getNow, makeHarness, payloads, putNow, startGet, START, WORKER } from './harness';

// nack, retry back-off, maxAttempts and dead-letter queues.

/** Leases the next task of `queue` and nacks it at once with `delay`; returns the attempt it was delivered with. */
function failOnce(engine: Engine, queue: string, nack: { error?: string; delay?: number; retry?: boolean } = {}): number {
  const [task] = getNow(engine, queue);
  assert.ok(task, `no task ready in ${queue}`);
  engine.nack(WORKER, [{ id: task.id, ...nack }]);
  return task.attempt;
}

describe('Engine retries', () => {
  describe('nack', () => {
    it('with a delay holds the task back that long, then redelivers it with attempt + 1 and lastError', () => {
      const { engine, events, tickTo } = makeHarness();
      const [id] = putNow(engine, 'jobs', ['x']);
      getNow(engine, 'jobs');
      tickTo(2);
      assert.equal(engine.nack(WORKER, [{ id: id!, error: 'db down', delay: 7 }]), 1);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 1, leased: 0 });
      assert.equal(engine.queueStats('jobs').totals.nacked, 1);
      assert.deepEqual(eventsOf(events, 'nack'), [{ kind: 'nack', queue: 'jobs', taskId: id, attempt: 1, error: 'db down', session: WORKER, at: START + 2000 }]);
      tickTo(8.999);
      assert.equal(counts(engine, 'jobs').delayed, 1);
      tickTo(9);
      const [task] = getNow(engine, 'jobs');
      assert.equal(task!.id, id);
      assert.equal(task!.attempt, 2);
      assert.equal(task!.lastError, 'db down');
    });

    it('with delay 0 puts the task back at once', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['x']);
      failOnce(engine, 'jobs', { delay: 0 });
      assert.deepEqual(counts(engine, 'jobs'), { ready: 1, delayed: 0, leased: 0 });
      assert.equal(getNow(engine, 'jobs')[0]!.attempt, 2);
    });

    it('goes to the back of its priority level, behind tasks that waited', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['first', 'second']);
      failOnce(engine, 'jobs', { delay: 0 });
      assert.deepEqual(payloads(getNow(engine, 'jobs', { max: 2 })), ['second', 'first']);
    });

    it('hands the retried task to a waiting getter', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['x']);
      const [task] = getNow(engine, 'jobs');
      const waiting = startGet(engine, 'jobs', { session: 'other' });
      engine.nack(WORKER, [{ id: task!.id, delay: 0 }]);
      assert.equal(waiting.tasks?.[0]?.attempt, 2);
    });

    it('keeps the latest error', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['x']);
      failOnce(engine, 'jobs', { error: 'first', delay: 0 });
      failOnce(engine, 'jobs', { error: 'second', delay: 0 });
      assert.equal(getNow(engine, 'jobs')[0]!.lastError, 'second');
    });
  });

  describe('back-off (nack without delay)', () => {
    /** Fails the task repeatedly; returns how many seconds after each nack it became ready again. */
    function retryGaps(engine: Engine, tick: (seconds: number) => void, failures: number): number[] {
      const gaps: number[] = [];
      for (let i = 0; i < failures; i++) {
        failOnce(engine, 'jobs');
        // Step in 0.5 s so an exact gap is seen exactly (all back-offs here are whole seconds).
        let waited = 0;
        while (counts(engine, 'jobs').ready === 0) {
          tick(0.5);
          waited += 0.5;
          assert.ok(waited <= 1000, 'task never came back');
        }
        gaps.push(waited);
      }
      return gaps;
    }

    it('is base * 2^(attempt - 1) seconds with the default base 1 s', () => {
      const { engine, tick } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 0 });
      putNow(engine, 'jobs', ['x']);
      assert.deepEqual(retryGaps(engine, tick, 5), [1, 2, 4, 8, 16]);
    });

    it('is capped, with the base and cap the host configures', () => {
      const { engine, tick } = makeHarness({ defaults: { retryBackoffBase: 2, retryBackoffCap: 5 } });
      engine.declareQueue('jobs', { maxAttempts: 0 });
      putNow(engine, 'jobs', ['x']);
      assert.deepEqual(retryGaps(engine, tick, 4), [2, 4, 5, 5]);
    });

    it('reaches the default 300 s cap', () => {
      const { engine, tickTo } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 0 });
      putNow(engine, 'jobs', ['x']);
      // Attempt 10 would be 512 s without the cap.
      for (let attempt = 1; attempt < 10; attempt++) failOnce(engine, 'jobs', { delay: 0 });
      failOnce(engine, 'jobs');
      assert.equal(DEFAULTS.retryBackoffCap, 300);
      tickTo(299.999);
      assert.equal(counts(engine, 'jobs').ready, 0);
      tickTo(300);
      assert.equal(getNow(engine, 'jobs')[0]!.attempt, 11);
    });

    it('gives exact retry times from the nack, not from the delivery', () => {
      const { engine, tickTo } = makeHarness();
      putNow(engine, 'jobs', ['x']);
      const [task] = getNow(engine, 'jobs');
      tickTo(10);
      engine.nack(WORKER, [{ id: task!.id }]);
      assert.equal(engine.nextDeadline(), START + 11_000);
      tickTo(10.999);
      assert.equal(counts(engine, 'jobs').ready, 0);
      tickTo(11);
      assert.equal(counts(engine, 'jobs').ready, 1);
    });
  });

  describe('maxAttempts and dead letters', () => {
    it('after maxAttempts failures moves the task to <queue>.dead with deadLetteredFrom, and says so', () => {
      const { engine, events, tick } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 3 });
      const [id] = putNow(engine, 'jobs', [{ payload: { n: 1 }, priority: 2 }]);
      assert.equal(failOnce(engine, 'jobs', { error: 'one', delay: 0 }), 1);
      assert.equal(failOnce(engine, 'jobs', { error: 'two', delay: 0 }), 2);
      tick(1);
      assert.equal(failOnce(engine, 'jobs', { error: 'three', delay: 60 }), 3);

      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 0 }, 'the delay of a final nack does not apply');
      const stats = engine.queueStats('jobs');
      assert.equal(stats.dead, 1);
      assert.equal(stats.totals.deadLettered, 1);
      assert.equal(stats.totals.nacked, 3);
      assert.deepEqual(eventsOf(events, 'dead'), [{ kind: 'dead', queue: 'jobs', taskId: id, attempt: 3, payload: { n: 1 }, error: 'three', session: WORKER, at: START + 1000 }]);

      const [dead] = getNow(engine, 'jobs.dead');
      assert.equal(dead!.id, id);
      assert.equal(dead!.queue, 'jobs.dead');
      assert.equal(dead!.deadLetteredFrom, 'jobs');
      assert.equal(dead!.lastError, 'three');
      assert.deepEqual(dead!.payload, { n: 1 });
      assert.equal(dead!.priority, 2);
    });

    it('with retry: false sends the task to the dead-letter queue at once, attempts left or not', () => {
      const { engine, events } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 5 });
      const [id] = putNow(engine, 'jobs', ['broken link']);
      assert.equal(failOnce(engine, 'jobs', { error: 'HTTP 404', retry: false }), 1);
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 0 });
      const stats = engine.queueStats('jobs');
      assert.deepEqual([stats.dead, stats.totals.nacked, stats.totals.deadLettered], [1, 1, 1]);
      assert.deepEqual(
        eventsOf(events, 'dead').map((e) => [e.taskId, e.error]),
        [[id, 'HTTP 404']],
      );
      const [dead] = getNow(engine, 'jobs.dead');
      assert.deepEqual([dead!.id, dead!.attempt, dead!.lastError, dead!.deadLetteredFrom], [id, 1, 'HTTP 404', 'jobs']);
    });

    it('with retry: true (the default) retries as usual', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['x']);
      assert.equal(failOnce(engine, 'jobs', { retry: true, delay: 0 }), 1);
      assert.equal(getNow(engine, 'jobs')[0]!.attempt, 2);
    });

    it('creates the dead-letter queue unlimited and without a dead-letter queue of its own', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 1 });
      putNow(engine, 'jobs', ['x']);
      failOnce(engine, 'jobs');
      const dlq = engine.queueStats('jobs.dead');
      assert.deepEqual({ maxAttempts: dlq.maxAttempts, deadLetter: dlq.deadLetter, ready: dlq.ready, put: dlq.totals.put }, { maxAttempts: 0, deadLetter: null, ready: 1, put: 1 });
    });

    it('defaults to 5 attempts', () => {
      const { engine } = makeHarness();
      putNow(engine, 'jobs', ['x']);
      for (let attempt = 1; attempt <= 4; attempt++) assert.equal(failOnce(engine, 'jobs', { delay: 0 }), attempt);
      assert.equal(engine.queueStats('jobs').dead, 0);
      assert.equal(failOnce(engine, 'jobs', { delay: 0 }), 5);
      assert.equal(engine.queueStats('jobs').dead, 1);
      assert.equal(DEFAULTS.maxAttempts, 5);
    });

    it('counts expired leases as attempts: expired, then dead', () => {
      const { engine, events, tick } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 2, ttr: 1 });
      const [id] = putNow(engine, 'jobs', ['x']);
      getNow(engine, 'jobs');
      tick(1);
      getNow(engine, 'jobs');
      tick(1);
      assert.deepEqual(
        events.filter((e) => e.kind === 'expired' || e.kind === 'dead').map((e) => [e.kind, e.attempt]),
        [
          ['expired', 1],
          ['expired', 2],
          ['dead', 2],
        ],
      );
      const stats = engine.queueStats('jobs');
      assert.deepEqual({ expired: stats.totals.expired, deadLettered: stats.totals.deadLettered, dead: stats.dead }, { expired: 2, deadLettered: 1, dead: 1 });
      assert.equal(eventsOf(events, 'dead')[0]!.taskId, id);
    });

    it('can be set per task, overriding the queue', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 5 });
      putNow(engine, 'jobs', [{ payload: 'fragile', maxAttempts: 1 }]);
      failOnce(engine, 'jobs', { delay: 0 });
      assert.equal(engine.queueStats('jobs').dead, 1);
    });

    it('0 on the task means unlimited even when the queue has a limit', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 1 });
      putNow(engine, 'jobs', [{ payload: 'stubborn', maxAttempts: 0 }]);
      for (let attempt = 1; attempt <= 10; attempt++) assert.equal(failOnce(engine, 'jobs', { delay: 0 }), attempt);
      assert.equal(engine.queueStats('jobs').dead, 0);
      assert.equal(counts(engine, 'jobs').ready, 1);
    });

    it('0 on the queue means unlimited', () => {
      const { engine } = makeHarness({ defaults: { maxAttempts: 0 } });
      putNow(engine, 'jobs', ['x']);
      for (let attempt = 1; attempt <= 20; attempt++) failOnce(engine, 'jobs', { delay: 0 });
      assert.equal(getNow(engine, 'jobs')[0]!.attempt, 21);
      assert.equal(engine.queueStats('jobs').totals.deadLettered, 0);
    });

    it('deadLetter null drops the task, still announcing and counting it', () => {
      const { engine, events } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 1, deadLetter: null });
      const [id] = putNow(engine, 'jobs', ['x']);
      failOnce(engine, 'jobs');
      assert.deepEqual(counts(engine, 'jobs'), { ready: 0, delayed: 0, leased: 0 });
      assert.equal(engine.hasQueue('jobs.dead'), false);
      const stats = engine.queueStats('jobs');
      assert.deepEqual({ dead: stats.dead, deadLettered: stats.totals.deadLettered }, { dead: 0, deadLettered: 1 });
      assert.equal(eventsOf(events, 'dead')[0]!.taskId, id);
    });

    it('goes to the dead-letter queue the queue names, which its stats count', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 1, deadLetter: 'graveyard' });
      putNow(engine, 'jobs', ['x', 'y']);
      failOnce(engine, 'jobs');
      failOnce(engine, 'jobs');
      assert.equal(engine.hasQueue('jobs.dead'), false);
      assert.equal(engine.queueStats('graveyard').ready, 2);
      assert.equal(engine.queueStats('jobs').dead, 2);
    });

    it('counts leased dead tasks as dead too (dead = what the dead-letter queue holds)', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 1 });
      putNow(engine, 'jobs', ['x']);
      failOnce(engine, 'jobs');
      getNow(engine, 'jobs.dead', { session: 'inspector' });
      assert.equal(engine.queueStats('jobs').dead, 1);
    });

    it('hands a dead task to a getter waiting on the dead-letter queue', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxAttempts: 1 });
      putNow(engine, 'jobs', ['x']);
      const deadWatcher = startGet(engine, 'jobs.dead', { session: 'watcher' });
      failOnce(engine, 'jobs', { error: 'boom' });
      assert.equal(deadWatcher.tasks?.[0]?.deadLetteredFrom, 'jobs');
      assert.equal(deadWatcher.tasks?.[0]?.lastError, 'boom');
    });

    it('keeps a dead task whose per-task maxAttempts is used up when its dead-letter lease fails', () => {
      // The per-task limit was for the original queue; the dead-letter queue keeps what it holds
      // (maxAttempts 0), so an inspector that nacks or loses a lease must not destroy it.
      const { engine, tick } = makeHarness();
      putNow(engine, 'jobs', [{ payload: 'fragile', maxAttempts: 1 }]);
      failOnce(engine, 'jobs');
      assert.equal(counts(engine, 'jobs.dead').ready, 1);
      failOnce(engine, 'jobs.dead', { delay: 0 });
      assert.equal(counts(engine, 'jobs.dead').ready, 1);
      getNow(engine, 'jobs.dead', { ttr: 1 });
      tick(1);
      assert.equal(counts(engine, 'jobs.dead').ready, 1);
      assert.equal(engine.queueStats('jobs.dead').totals.deadLettered, 0);
    });
  });
});
