import { strict as assert } from 'node:assert';
import { EngineError, type EngineEvent, type RawTask, type RawTaskSpec } from '../../src/engine';
import type { MaybePromise, QueueBackend } from '../../src/engine/queueBackend';
import { ScheduleInvalid } from '../../src/engine/schedules';
import type { Task, TaskSpec } from '../../src/protocol/generated';
import { jsonTextOf, type JsonText } from '../../src/protocol/jsonText';

// The behaviour every QueueBackend owes the server (the contract in src/engine/queueBackend.ts),
// written once against the interface alone and run for each implementation: real time, short
// leases and delays, no fake clock (a backend on a remote store has none to fake).
//
// Payloads and results cross the interface as JSON text (RawTaskSpec, RawAck, RawTask); the
// helpers below let most tests speak in values (put serializes, get parses), and one test checks
// that the texts themselves come back character for character.

export interface OpenedBackend {
  backend: QueueBackend;
  close(): Promise<void>;
}

/** What a test may ask of the backend it opens, beyond the defaults. */
export interface BackendOptions {
  /** The manager's byte budget (maxQueuedBytes). */
  maxQueuedBytes?: number;
}

/** A result now or later, as one promise; a synchronous throw becomes a rejection. */
function call<T>(operation: () => MaybePromise<T>): Promise<T> {
  return new Promise<T>((resolve) => resolve(operation()));
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function put(backend: QueueBackend, queue: string, specs: TaskSpec[], options: { timeout?: number; session?: string } = {}): Promise<string[]> {
  return putTexts(
    backend,
    queue,
    specs.map((spec) => ({ ...spec, payload: jsonTextOf(spec.payload) })),
    options,
  );
}

function putTexts(backend: QueueBackend, queue: string, tasks: RawTaskSpec[], options: { timeout?: number; session?: string } = {}): Promise<string[]> {
  return new Promise((resolve, reject) => {
    backend.put({ queue, tasks, timeout: options.timeout ?? 0, session: options.session }, (outcome) => (outcome instanceof EngineError ? reject(outcome) : resolve(outcome)));
  });
}

/** A put whose outcome keeps the duplicates (spec §7.21). */
function putUnique(backend: QueueBackend, queue: string, specs: TaskSpec[], options: { timeout?: number } = {}): Promise<{ ids: string[]; duplicates?: boolean[] }> {
  return new Promise((resolve, reject) => {
    const tasks = specs.map((spec) => ({ ...spec, payload: jsonTextOf(spec.payload) }));
    backend.put({ queue, tasks, timeout: options.timeout ?? 0 }, (outcome, duplicates) => (outcome instanceof EngineError ? reject(outcome) : resolve({ ids: outcome, duplicates })));
  });
}

interface GetOptions {
  max?: number;
  timeout?: number;
  ttr?: number;
  autoAck?: boolean;
}

function get(backend: QueueBackend, session: string, queue: string, options: GetOptions = {}): Promise<Task[]> {
  return getTexts(backend, session, queue, options).then((tasks) => tasks.map((task) => ({ ...task, payload: JSON.parse(task.payload) as unknown })));
}

function getTexts(backend: QueueBackend, session: string, queue: string, options: GetOptions = {}): Promise<RawTask[]> {
  return new Promise((resolve) => {
    backend.get({ queue, session, max: options.max ?? 1, timeout: options.timeout ?? 0, ttr: options.ttr, autoAck: options.autoAck ?? false }, (tasks) => {
      resolve(tasks);
      return true;
    });
  });
}

async function refusal(promise: Promise<unknown>, reason: string): Promise<EngineError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof EngineError, `expected an EngineError, got ${String(error)}`);
    assert.equal(error.reason, reason);
    return error;
  }
  assert.fail(`expected ${reason}, but it succeeded`);
}

let unique = 0;
/** A queue name of its own per test, so tests never see each other's tasks. */
function queueName(what: string): string {
  return `contract-${what}-${process.pid}-${unique++}`;
}

/** Runs the contract's suite against the backends `open` makes (one per test). */
export function describeQueueBackend(name: string, open: (options?: BackendOptions) => Promise<OpenedBackend>): void {
  describe(`QueueBackend contract: ${name}`, function () {
    this.timeout(20_000);
    let opened: OpenedBackend;
    let backend: QueueBackend;
    beforeEach(async () => {
      opened = await open();
      backend = opened.backend;
    });
    afterEach(async () => opened.close());

    it('delivers higher priority first, then in the order tasks became ready; a task carries its fields', async () => {
      const queue = queueName('order');
      const ids = await put(backend, queue, [{ payload: 'a' }, { payload: 'b', priority: 2 }, { payload: 'c' }], { session: 'producer' });
      assert.equal(new Set(ids).size, 3);
      const tasks = await get(backend, 'worker', queue, { max: 10 });
      assert.deepEqual(
        tasks.map((t) => t.payload),
        ['b', 'a', 'c'],
      );
      const [first] = tasks;
      assert.deepEqual([first!.id, first!.queue, first!.attempt, first!.priority], [ids[1], queue, 1, 2]);
      assert.ok(!Number.isNaN(Date.parse(first!.enqueuedAt)) && first!.leaseUntil !== undefined);
    });

    it('a waiting get is served by a later put; one that times out gets []; a withdrawn one is never called', async () => {
      const queue = queueName('wait');
      assert.deepEqual(await get(backend, 'w1', queue, { timeout: 0 }), []);
      const started = Date.now();
      assert.deepEqual(await get(backend, 'w1', queue, { timeout: 0.2 }), []);
      assert.ok(Date.now() - started >= 150, 'the get did not wait for its timeout');

      let withdrawnCalled = false;
      const withdrawn = backend.get({ queue, session: 'w2', max: 1, timeout: 5, autoAck: false }, () => ((withdrawnCalled = true), true));
      assert.ok(withdrawn, 'a get on an empty queue waits');
      withdrawn.cancel();
      const waiting = get(backend, 'w3', queue, { timeout: 5 });
      await put(backend, queue, [{ payload: 'x' }]);
      const [task] = await waiting;
      assert.equal(task?.payload, 'x');
      assert.equal(withdrawnCalled, false);
    });

    it('ensureQueue creates a queue that does not exist yet (queues created on first use) and leaves an existing one as it is', async () => {
      const queue = queueName('ensure');
      await call(() => backend.ensureQueue(queue));
      assert.ok(
        (await call(() => backend.listQueues())).some((q) => q.queue === queue),
        'ensureQueue did not create the queue',
      );
      await put(backend, queue, [{ payload: 'kept' }]);
      await call(() => backend.ensureQueue(queue));
      assert.equal((await call(() => backend.queueStats(queue))).ready, 1);
    });

    it('ack removes the task and routes its result to replyTo; acking a task not held is lease_unknown and changes nothing', async () => {
      const queue = queueName('ack');
      const results = queueName('results');
      const [id] = await put(backend, queue, [{ payload: 'job', replyTo: results }]);
      const [task] = await get(backend, 'w', queue);
      await refusal(
        call(() => backend.ack('someone-else', [{ id: task!.id }])),
        'lease_unknown',
      );
      await refusal(
        call(() => backend.ack('w', [{ id: task!.id }, { id: 'no-such-task' }])),
        'lease_unknown',
      );
      assert.equal((await call(() => backend.queueStats(queue))).leased, 1, 'a refused ack changed something');
      assert.equal(await call(() => backend.ack('w', [{ id: task!.id, result: jsonTextOf('done') }])), 1);
      const stats = await call(() => backend.queueStats(queue));
      assert.deepEqual([stats.ready, stats.leased, stats.delayed], [0, 0, 0]);
      const [result] = await get(backend, 'r', results, { autoAck: true });
      assert.deepEqual(result?.payload, { taskId: id, result: 'done' });
    });

    it('nack with a delay brings the task back with attempt + 1 after it; retry: false dead-letters it with the error', async () => {
      const queue = queueName('nack');
      await put(backend, queue, [{ payload: 'flaky' }, { payload: 'broken' }]);
      const [flaky, broken] = await get(backend, 'w', queue, { max: 2 });
      await call(() => backend.nack('w', [{ id: flaky!.id, error: 'try later', delay: 0.2 }]));
      await call(() => backend.nack('w', [{ id: broken!.id, error: 'bad input', retry: false }]));
      assert.equal((await call(() => backend.queueStats(queue))).delayed, 1);
      assert.deepEqual(await get(backend, 'w', queue), []);
      const [again] = await get(backend, 'w', queue, { timeout: 5 });
      assert.deepEqual([again?.payload, again?.attempt, again?.lastError], ['flaky', 2, 'try later']);
      const [dead] = await get(backend, 'w', `${queue}.dead`, { autoAck: true });
      assert.deepEqual([dead?.payload, dead?.lastError, dead?.deadLetteredFrom], ['broken', 'bad input', queue]);
    });

    it('a lease that expires gives the task back with attempt + 1; touch keeps a lease alive past its ttr', async () => {
      const queue = queueName('lease');
      await put(backend, queue, [{ payload: 'slow' }, { payload: 'kept' }]);
      const [slow, kept] = await get(backend, 'w', queue, { max: 2, ttr: 0.3 });
      await sleep(150);
      await call(() => backend.touch('w', [kept!.id], 2));
      const [back] = await get(backend, 'other', queue, { timeout: 5 });
      assert.deepEqual([back?.id, back?.attempt], [slow!.id, 2]);
      assert.equal(await call(() => backend.ack('w', [{ id: kept!.id }])), 1, 'the touched lease ended early');
    });

    it('heldTasks lists the tasks a session holds with their queue and lease end, and forgets each as its lease ends', async () => {
      const queue = queueName('held');
      await put(backend, queue, [{ payload: 'a' }, { payload: 'b' }]);
      const tasks = await get(backend, 'holder', queue, { max: 2, ttr: 30 });
      const byId = <T extends { id: string }>(list: T[]): T[] => [...list].sort((x, y) => x.id.localeCompare(y.id));
      const held = byId(backend.heldTasks('holder'));
      assert.deepEqual(
        held.map((t) => [t.id, t.queue]),
        byId(tasks).map((t) => [t.id, queue]),
      );
      for (const task of held) {
        const delivered = tasks.find((t) => t.id === task.id)!;
        assert.ok(Math.abs(task.leaseUntil - Date.parse(delivered.leaseUntil!)) < 1000, `lease end ${task.leaseUntil} vs ${delivered.leaseUntil}`);
      }
      assert.deepEqual(backend.heldTasks('nobody'), []);
      await call(() => backend.ack('holder', [{ id: tasks[0]!.id }]));
      assert.deepEqual(
        backend.heldTasks('holder').map((t) => t.id),
        [tasks[1]!.id],
      );
      await call(() => backend.releaseSession('holder', 'client disconnected'));
      assert.deepEqual(backend.heldTasks('holder'), []);
    });

    it("releaseSession gives a session's tasks back at once with attempt + 1 and withdraws its waiting requests", async () => {
      const queue = queueName('release');
      await put(backend, queue, [{ payload: 'held' }, { payload: 'waiting' }]);
      await get(backend, 'leaving', queue);
      let calledBack = false;
      backend.get({ queue: queueName('other'), session: 'leaving', max: 1, timeout: 5, autoAck: false }, () => ((calledBack = true), true));
      assert.equal(backend.leasedBy('leaving'), 1);
      assert.equal(await call(() => backend.releaseSession('leaving', 'client disconnected')), 1);
      assert.equal(backend.leasedBy('leaving'), 0);
      // At the head of its priority level, before the task that waited (spec §7.3).
      const [task] = await get(backend, 'next', queue);
      assert.deepEqual([task?.payload, task?.attempt], ['held', 2]);
      assert.equal(calledBack, false);
      const totals = (await call(() => backend.queueStats(queue))).totals;
      assert.deepEqual([totals.expired, totals.released], [1, 1]);
    });

    it('a full queue (maxsize) refuses a put that will not wait, and lets a waiting put in when a task leaves', async () => {
      const queue = queueName('full');
      await call(() => backend.declareQueue(queue, { maxsize: 1 }));
      await put(backend, queue, [{ payload: 'first' }]);
      const full = await refusal(put(backend, queue, [{ payload: 'second' }], { timeout: 0 }), 'queue_full');
      assert.equal(full.details.limit, 'maxsize');
      await refusal(put(backend, queue, [{ payload: 'a' }, { payload: 'b' }], { timeout: 5 }), 'queue_full'); // can never fit
      const waiting = put(backend, queue, [{ payload: 'second' }], { timeout: 5 });
      const [task] = await get(backend, 'w', queue);
      await call(() => backend.ack('w', [{ id: task!.id }]));
      assert.equal((await waiting).length, 1);
      assert.equal((await call(() => backend.queueStats(queue))).ready, 1);
    });

    it('a delayed task is neither seen nor taken before its time; peek takes nothing; purge leaves leased tasks', async () => {
      const queue = queueName('delay');
      await put(backend, queue, [{ payload: 'later', delay: 0.3 }, { payload: 'now' }, { payload: 'held' }]);
      assert.deepEqual(
        (await call(() => backend.peek(queue, 10))).map((t) => JSON.parse(t.payload)),
        ['now', 'held'],
      );
      const [now] = await get(backend, 'w', queue);
      assert.equal(now?.payload, 'now');
      assert.equal((await call(() => backend.queueStats(queue))).delayed, 1);
      await sleep(400);
      assert.deepEqual(
        (await call(() => backend.peek(queue, 10))).map((t) => JSON.parse(t.payload)),
        ['held', 'later'],
      );
      assert.equal(await call(() => backend.purge(queue, 'admin')), 2);
      const stats = await call(() => backend.queueStats(queue));
      assert.deepEqual([stats.ready, stats.delayed, stats.leased], [0, 0, 1]);
    });

    it('join calls back true once the queue is idle, false when its timeout passes first', async () => {
      const queue = queueName('join');
      await put(backend, queue, [{ payload: 'x' }]);
      const timedOut = await new Promise<boolean>((done) => backend.join(queue, 0.1, 'j', done));
      assert.equal(timedOut, false);
      const joined = new Promise<boolean>((done) => backend.join(queue, 5, 'j', done));
      const [task] = await get(backend, 'w', queue);
      await call(() => backend.ack('w', [{ id: task!.id }]));
      assert.equal(await joined, true);
    });

    it('a delivery the session cannot take (deliver returns false) is taken back as if never handed out', async () => {
      const queue = queueName('gone');
      await put(backend, queue, [{ payload: 'x' }]);
      await new Promise<void>((done) => {
        backend.get({ queue, session: 'gone', max: 1, timeout: 0, autoAck: false }, () => {
          done();
          return false;
        });
      });
      const [task] = await get(backend, 'w', queue);
      assert.deepEqual([task?.payload, task?.attempt], ['x', 1]);
    });

    it('keeps payloads and results as the texts they came as: get, peek, the routed result and the events hand back the very characters', async () => {
      const queue = queueName('opaque');
      const results = queueName('opaque-results');
      // Each of these changes if parsed and serialized again: a number past 2^53, 1.0, an
      // exponent, an escape, duplicate keys, a key order, an escaped solidus.
      const payloads = ['{"b":1,"a":[1.0,1e400,12345678901234567890123,-0]}', '"\\u00e9\\/\\ud83d\\ude00"', '{"k":1,"k":2}', '123456789012345678901234567890', '"plain"'];
      const heldBefore = backend.queuedBytes;
      const events: EngineEvent[] = [];
      const stop = backend.onEvent((event) => event.queue === queue && events.push(event));
      const ids = await putTexts(
        backend,
        queue,
        payloads.map((payload) => ({ payload: payload as JsonText, replyTo: results })),
      );
      assert.deepEqual(
        (await call(() => backend.peek(queue, 10))).map((t) => t.payload),
        payloads,
      );
      const tasks = await getTexts(backend, 'w', queue, { max: 10 });
      assert.deepEqual(
        tasks.map((t) => t.payload),
        payloads,
      );
      const result = '{"n":1.50,"big":98765432109876543210}' as JsonText;
      await call(() => backend.ack('w', [{ id: tasks[0]!.id, result }]));
      stop();
      const [routed] = await getTexts(backend, 'r', results, { autoAck: true });
      assert.equal(routed?.payload, `{"taskId":${JSON.stringify(ids[0])},"result":${result}}`);
      assert.deepEqual(
        events.filter((e) => e.kind === 'put').map((e) => e.payload),
        payloads,
      );
      assert.deepEqual(
        events.filter((e) => e.kind === 'get').map((e) => e.payload),
        payloads,
      );
      assert.deepEqual(
        events.filter((e) => e.kind === 'ack').map((e) => e.result),
        [result],
      );
      // What stays held (the four leased tasks) counts as its texts' UTF-8 bytes.
      const held = payloads.slice(1).reduce((sum, payload) => sum + Buffer.byteLength(payload), 0);
      assert.equal(backend.queuedBytes - heldBefore, held);
    });

    it("unique: a put whose key is held answers the holder's id as a duplicate, per task and within one batch", async () => {
      const queue = queueName('unique');
      const first = await putUnique(backend, queue, [{ payload: 'a', unique: { key: 'k1' } }, { payload: 'plain' }]);
      assert.deepEqual(first.duplicates, [false, false]);
      const again = await putUnique(backend, queue, [
        { payload: 'a2', unique: { key: 'k1' } },
        { payload: 'b', unique: { key: 'k2' } },
        { payload: 'b2', unique: { key: 'k2' } },
      ]);
      assert.deepEqual(again.duplicates, [true, false, true]);
      assert.equal(again.ids[0], first.ids[0]);
      assert.equal(again.ids[2], again.ids[1]);
      // A put without keys has no duplicates to report.
      assert.equal((await putUnique(backend, queue, [{ payload: 'c' }])).duplicates, undefined);
      const stats = await call(() => backend.queueStats(queue));
      assert.equal(stats.ready, 4, 'a duplicate added a task');
      assert.equal(stats.totals.put, 4);
      // Keys are per queue.
      assert.deepEqual((await putUnique(backend, queueName('unique-other'), [{ payload: 'a', unique: { key: 'k1' } }])).duplicates, [false]);
    });

    it('unique: duplicates need no room; a full queue still takes a put of held keys only', async () => {
      const queue = queueName('unique-full');
      await call(() => backend.declareQueue(queue, { maxsize: 1 }));
      const [held] = (await putUnique(backend, queue, [{ payload: 'a', unique: { key: 'k' } }])).ids;
      const dup = await putUnique(backend, queue, [{ payload: 'again', unique: { key: 'k' } }]);
      assert.deepEqual(dup, { ids: [held], duplicates: [true] });
      await refusal(putUnique(backend, queue, [{ payload: 'new', unique: { key: 'other' } }]), 'queue_full');
    });

    it("unique: duplicates need no room in the manager's byte budget (maxQueuedBytes) either", async () => {
      const budgeted = await open({ maxQueuedBytes: 10 });
      try {
        const queue = queueName('unique-budget');
        // Payloads of 8 bytes each ("aaaaaa" with its quotes): one fits the budget of 10, two do not.
        const [held] = (await putUnique(budgeted.backend, queue, [{ payload: 'aaaaaa', unique: { key: 'k' } }])).ids;
        const dup = await putUnique(budgeted.backend, queue, [{ payload: 'bbbbbb', unique: { key: 'k' } }]);
        assert.deepEqual(dup, { ids: [held], duplicates: [true] });
        const both = await putUnique(budgeted.backend, queue, [
          { payload: 'cccccc', unique: { key: 'k' } },
          { payload: 'dddddd', unique: { key: 'k' } },
        ]);
        assert.deepEqual(both, { ids: [held, held], duplicates: [true, true] });
        const full = await refusal(putUnique(budgeted.backend, queue, [{ payload: 'eeeeee', unique: { key: 'other' } }]), 'queue_full');
        assert.match(full.message, /maxQueuedBytes 10/);
        assert.equal((await budgeted.backend.queueStats(queue)).ready, 1);
      } finally {
        await budgeted.close();
      }
    });

    it('unique: scope queued frees the key when the task is leased and takes it back on a retry if still free', async () => {
      const queue = queueName('unique-queued');
      const [id] = (await putUnique(backend, queue, [{ payload: 'a', unique: { key: 'k' } }])).ids;
      const [task] = await get(backend, 'w', queue);
      assert.equal(task?.id, id);
      const second = await putUnique(backend, queue, [{ payload: 'b', unique: { key: 'k' } }]);
      assert.deepEqual(second.duplicates, [false], 'a leased task held its key in scope queued');
      // The first comes back; the key is the second's now, and stays so.
      await call(() => backend.nack('w', [{ id: id!, delay: 0 }]));
      assert.deepEqual((await putUnique(backend, queue, [{ payload: 'c', unique: { key: 'k' } }])).ids, second.ids);
      // Both leased and acked: the key is free.
      const both = await get(backend, 'w', queue, { max: 2 });
      assert.equal(both.length, 2);
      await call(() =>
        backend.ack(
          'w',
          both.map((t) => ({ id: t.id })),
        ),
      );
      assert.deepEqual((await putUnique(backend, queue, [{ payload: 'd', unique: { key: 'k' } }])).duplicates, [false]);
    });

    it('unique: a retried task holds its key again when no other task took it', async () => {
      const queue = queueName('unique-retry');
      const [id] = (await putUnique(backend, queue, [{ payload: 'a', unique: { key: 'k' } }])).ids;
      const [task] = await get(backend, 'w', queue);
      await call(() => backend.nack('w', [{ id: task!.id, delay: 0 }]));
      assert.deepEqual(await putUnique(backend, queue, [{ payload: 'b', unique: { key: 'k' } }]), { ids: [id], duplicates: [true] });
      // A lease given back (the session ended) counts as a retry too.
      await get(backend, 'w', queue);
      await call(() => backend.releaseSession('w', 'client disconnected'));
      assert.deepEqual(await putUnique(backend, queue, [{ payload: 'c', unique: { key: 'k' } }]), { ids: [id], duplicates: [true] });
    });

    it('unique: scope active holds the key while leased, until the task is acked, dead-lettered or purged', async () => {
      const queue = queueName('unique-active');
      const active = (key: string, payload = 'x'): TaskSpec => ({ payload, unique: { key, scope: 'active' } });
      const [id] = (await putUnique(backend, queue, [active('k')])).ids;
      const [task] = await get(backend, 'w', queue);
      assert.deepEqual(await putUnique(backend, queue, [active('k', 'again')]), { ids: [id], duplicates: [true] });
      // A put of scope queued is a duplicate too: the holder's scope decides.
      assert.deepEqual((await putUnique(backend, queue, [{ payload: 'q', unique: { key: 'k' } }])).duplicates, [true]);
      await call(() => backend.ack('w', [{ id: task!.id }]));
      const [next] = (await putUnique(backend, queue, [active('k')])).ids;
      assert.notEqual(next, id);
      // Dead-lettered: the key is free, and the dead task holds none in the dead-letter queue.
      const [leased] = await get(backend, 'w', queue);
      await call(() => backend.nack('w', [{ id: leased!.id, retry: false }]));
      assert.deepEqual((await putUnique(backend, queue, [active('k')])).duplicates, [false]);
      assert.equal((await call(() => backend.queueStats(queue))).dead, 1);
      // Purged: free.
      assert.equal(await call(() => backend.purge(queue)), 1);
      assert.deepEqual((await putUnique(backend, queue, [active('k')])).duplicates, [false]);
      // Taken with autoAck: gone, so free.
      await get(backend, 'w', queue, { autoAck: true });
      assert.deepEqual((await putUnique(backend, queue, [active('k')])).duplicates, [false]);
    });

    it('unique: a delivery the session could not take gives the tasks back holding their keys', async () => {
      const queue = queueName('unique-undo');
      const { ids } = await putUnique(backend, queue, [
        { payload: 'a', unique: { key: 'k' } },
        { payload: 'b', unique: { key: 'j', scope: 'active' } },
      ]);
      for (const autoAck of [true, false]) {
        await new Promise<void>((done) => {
          backend.get({ queue, session: 'gone', max: 2, timeout: 0, autoAck }, () => {
            done();
            return false;
          });
        });
        // A backend on a remote store takes them back after the delivery failed: wait for it.
        for (let i = 0; i < 50 && (await call(() => backend.queueStats(queue))).ready < 2; i++) await sleep(20);
        const again = await putUnique(backend, queue, [
          { payload: 'c', unique: { key: 'k' } },
          { payload: 'd', unique: { key: 'j' } },
        ]);
        assert.deepEqual(again, { ids, duplicates: [true, true] }, `autoAck ${autoAck}`);
      }
    });

    it("unique: a ttl ends the hold that long after the put, whatever the task's state", async () => {
      const queue = queueName('unique-ttl');
      const [id] = (await putUnique(backend, queue, [{ payload: 'a', unique: { key: 'k', ttl: 0.3 } }])).ids;
      assert.deepEqual(await putUnique(backend, queue, [{ payload: 'b', unique: { key: 'k' } }]), { ids: [id], duplicates: [true] });
      await sleep(400);
      const later = await putUnique(backend, queue, [{ payload: 'c', unique: { key: 'k' } }]);
      assert.deepEqual(later.duplicates, [false]);
      assert.notEqual(later.ids[0], id);
      assert.equal((await call(() => backend.queueStats(queue))).ready, 2);
    });

    it('lists queues with their stats, reports put, get, ack and nack as events, and answers once durable', async () => {
      const queue = queueName('stats');
      const events: EngineEvent[] = [];
      const stop = backend.onEvent((event) => event.queue === queue && events.push(event));
      await put(backend, queue, [{ payload: 'a' }, { payload: 'b' }], { session: 'p' });
      const [a, b] = await get(backend, 'w', queue, { max: 2 });
      await call(() => backend.ack('w', [{ id: a!.id }]));
      await call(() => backend.nack('w', [{ id: b!.id, retry: false }]));
      stop();
      assert.deepEqual(
        events.map((e) => e.kind),
        ['put', 'put', 'get', 'get', 'ack', 'nack', 'dead'],
      );
      const listed = (await call(() => backend.listQueues())).find((q) => q.queue === queue);
      assert.deepEqual([listed?.totals.put, listed?.totals.acked, listed?.totals.nacked, listed?.dead], [2, 1, 1, 1]);
      await new Promise<void>((done, fail) => backend.whenDurable((failure) => (failure ? fail(failure) : done())));
    });

    it('a paused queue accepts puts and delivers nothing (a get that may not wait gets [], a waiting one waits); resume serves the waiting get', async () => {
      const queue = queueName('pause');
      const events: EngineEvent[] = [];
      const stop = backend.onEvent((event) => event.queue === queue && events.push(event));
      const paused = await call(() => backend.pauseQueue(queue, 'operator'));
      assert.deepEqual([paused.queue, paused.paused, paused.ready], [queue, true, 0], 'pausing an unknown queue creates it, paused');
      // Pausing a paused queue changes nothing: no second event.
      assert.equal((await call(() => backend.pauseQueue(queue, 'operator'))).paused, true);
      await put(backend, queue, [{ payload: 'a' }, { payload: 'b', delay: 0.2 }]);
      assert.deepEqual(await get(backend, 'w1', queue, { timeout: 0 }), []);
      assert.deepEqual(await get(backend, 'w1', queue, { timeout: 0.3 }), [], 'a get with a timeout answers [] while paused');
      // The delayed task came due meanwhile: ready, not delivered; peek still shows both.
      const stats = await call(() => backend.queueStats(queue));
      assert.deepEqual([stats.ready, stats.delayed, stats.leased, stats.paused], [2, 0, 0, true]);
      assert.deepEqual(
        (await call(() => backend.peek(queue, 10))).map((t) => JSON.parse(t.payload) as unknown),
        ['a', 'b'],
      );
      let served = false;
      const waiting = get(backend, 'w2', queue, { timeout: 10, max: 2 }).then((tasks) => ((served = true), tasks));
      await sleep(300);
      assert.equal(served, false, 'a waiting get took a task from a paused queue');
      const resumed = await call(() => backend.resumeQueue(queue, 'operator'));
      assert.equal(resumed.paused, false);
      assert.deepEqual(
        (await waiting).map((t) => t.payload),
        ['a', 'b'],
      );
      stop();
      assert.deepEqual(
        events.filter((e) => e.kind === 'paused' || e.kind === 'resumed').map((e) => [e.kind, e.session]),
        [
          ['paused', 'operator'],
          ['resumed', 'operator'],
        ],
      );
      assert.equal((await call(() => backend.listQueues())).find((q) => q.queue === queue)?.paused, false);
    });

    it('leases already out run on while paused: ack, nack and touch work; a nacked task waits for resume', async () => {
      const queue = queueName('pause-leases');
      await put(backend, queue, [{ payload: 'a' }, { payload: 'b' }]);
      const [a, b] = await get(backend, 'w', queue, { max: 2 });
      await call(() => backend.pauseQueue(queue));
      await call(() => backend.touch('w', [a!.id, b!.id], 30));
      assert.equal(await call(() => backend.ack('w', [{ id: a!.id }])), 1);
      assert.equal(await call(() => backend.nack('w', [{ id: b!.id, delay: 0 }])), 1);
      assert.deepEqual(await get(backend, 'w', queue, { timeout: 0 }), []);
      const stats = await call(() => backend.queueStats(queue));
      assert.deepEqual([stats.ready, stats.leased, stats.totals.acked, stats.paused], [1, 0, 1, true]);
      await call(() => backend.resumeQueue(queue));
      const [again] = await get(backend, 'w', queue, { timeout: 5 });
      assert.deepEqual([again?.id, again?.attempt], [b!.id, 2]);
    });

    it('schedules: set creates then replaces (keeping the last run), list shows the next run by name, delete says whether there was one', async () => {
      const queue = queueName('schedules');
      const name = `${queue}-nightly`;
      const task = { payload: jsonTextOf({ url: 'https://example.com/' }), priority: 3 };
      const before = Date.now();
      const first = await call(() => backend.setSchedule({ name, queue, task, cron: '30 2 * * *', timezone: 'Europe/Berlin' }));
      assert.equal(first.created, true);
      assert.ok(first.schedule.nextRunAt > before, 'the next run is ahead');
      assert.equal(new Date(first.schedule.nextRunAt).getUTCMinutes(), 30);
      const other = await call(() => backend.setSchedule({ name: `${queue}-a`, queue, task, every: 3600 }));
      assert.ok(Math.abs(other.schedule.nextRunAt - (Date.now() + 3600_000)) < 5000, 'an interval first ticks one interval after it is set');
      const replaced = await call(() => backend.setSchedule({ name, queue, task, every: 60 }));
      assert.equal(replaced.created, false);
      assert.equal(replaced.schedule.every, 60);
      assert.equal(replaced.schedule.cron, undefined);
      const listed = await call(() => backend.listSchedules(queue));
      assert.deepEqual(
        listed.map((s) => [s.name, s.queue, s.every, s.task.payload, s.task.priority]),
        [
          [`${queue}-a`, queue, 3600, task.payload, 3],
          [name, queue, 60, task.payload, 3],
        ],
      );
      assert.ok((await call(() => backend.listSchedules())).some((s) => s.name === name));
      assert.deepEqual(await call(() => backend.listSchedules(`${queue}-none`)), []);
      assert.equal(await call(() => backend.deleteSchedule(name)), true);
      assert.equal(await call(() => backend.deleteSchedule(name)), false);
      assert.equal(await call(() => backend.deleteSchedule(`${queue}-a`)), true);
      assert.deepEqual(await call(() => backend.listSchedules(queue)), []);
    });

    it('schedules: each set and each delete is an event naming the schedule, its queue and the session; a delete of no schedule is none', async () => {
      const queue = queueName('schedule-events');
      const name = `${queue}-hourly`;
      const task = { payload: jsonTextOf('x') };
      const seen: EngineEvent[] = [];
      const stop = backend.onEvent((event) => {
        if (event.schedule === name) seen.push(event);
      });
      try {
        await call(() => backend.setSchedule({ name, queue, task, every: 3600 }, 'admin'));
        await call(() => backend.setSchedule({ name, queue: `${queue}-moved`, task, every: 60 }, 'admin'));
        assert.equal(await call(() => backend.deleteSchedule(name, 'other')), true);
        assert.equal(await call(() => backend.deleteSchedule(name, 'other')), false);
        assert.deepEqual(
          seen.map((e) => [e.kind, e.queue, e.session, e.taskId]),
          [
            ['schedule-set', queue, 'admin', undefined],
            ['schedule-set', `${queue}-moved`, 'admin', undefined],
            ['schedule-deleted', `${queue}-moved`, 'other', undefined],
          ],
        );
        for (const event of seen) assert.ok(Math.abs(event.at - Date.now()) < 5000, `${event.kind} at ${event.at}`);
      } finally {
        stop();
      }
    });

    it('schedules: a bad definition is refused with the member at fault', async () => {
      const queue = queueName('badschedule');
      const task = { payload: jsonTextOf('x') };
      const cases: [Parameters<QueueBackend['setSchedule']>[0], string, RegExp][] = [
        [{ name: 's', queue, task, cron: '61 * * * *' }, '/cron', /not a valid cron expression: Invalid value for minute: 61/],
        [{ name: 's', queue, task, cron: '* * * *' }, '/cron', /not a valid cron expression/],
        [{ name: 's', queue, task, cron: '* * * * *', timezone: 'Mars/Olympus' }, '/timezone', /"Mars\/Olympus" is not an IANA time zone/],
        [{ name: 's', queue, task }, '', /needs "cron" or "every"/],
        [{ name: 's', queue, task, every: 5, cron: '* * * * *' }, '/every', /not both/],
        [{ name: 's', queue, task, every: 0.5 }, '/every', /at least 1 second/],
      ];
      for (const [definition, field, message] of cases) {
        await assert.rejects(
          call(() => backend.setSchedule(definition)),
          (error: unknown) => error instanceof ScheduleInvalid && error.field === field && message.test(error.message),
        );
      }
      assert.deepEqual(await call(() => backend.listSchedules(queue)), []);
    });

    it('schedules: an interval puts its task once per tick, with a scheduled event naming the schedule; deleted, it stops', async () => {
      const queue = queueName('ticks');
      const name = `${queue}-every`;
      const events: EngineEvent[] = [];
      const stop = backend.onEvent((event) => event.queue === queue && events.push(event));
      const payload = '{"n":1.0}' as JsonText;
      const set = await call(() => backend.setSchedule({ name, queue, task: { payload }, every: 1, startAt: Date.now() + 300 }));
      await sleep(set.schedule.nextRunAt - Date.now() + 1600);
      const scheduled = events.filter((e) => e.kind === 'scheduled');
      assert.ok(scheduled.length >= 2 && scheduled.length <= 3, `expected 2 or 3 ticks in 1.6 s after the first, got ${scheduled.length}`);
      for (const event of scheduled) assert.equal(event.schedule, name);
      const tasks = await getTexts(backend, 'w', queue, { max: 10, autoAck: true });
      assert.deepEqual(
        tasks.map((t) => t.payload),
        scheduled.map(() => payload),
      );
      assert.deepEqual(
        tasks.map((t) => t.id),
        scheduled.map((e) => e.taskId),
      );
      const [listed] = await call(() => backend.listSchedules(queue));
      assert.equal(listed?.lastRun?.taskId, scheduled.at(-1)!.taskId);
      assert.ok(listed!.nextRunAt > Date.now() - 50);
      assert.equal(await call(() => backend.deleteSchedule(name)), true);
      const count = events.filter((e) => e.kind === 'scheduled').length;
      await sleep(1300);
      stop();
      assert.equal(events.filter((e) => e.kind === 'scheduled').length, count, 'a deleted schedule ticked');
    });

    it('schedules: a tick on a full queue is skipped with a scheduled event saying why, never waits', async () => {
      const queue = queueName('fullticks');
      await call(() => backend.declareQueue(queue, { maxsize: 1 }));
      await put(backend, queue, [{ payload: 'filler' }]);
      const events: EngineEvent[] = [];
      const stop = backend.onEvent((event) => event.queue === queue && event.kind === 'scheduled' && events.push(event));
      const name = `${queue}-s`;
      await call(() => backend.setSchedule({ name, queue, task: { payload: jsonTextOf('x') }, every: 1, startAt: Date.now() + 100 }));
      for (let waited = 0; events.length === 0 && waited < 5000; waited += 50) await sleep(50);
      stop();
      await call(() => backend.deleteSchedule(name));
      assert.equal(events[0]?.taskId, undefined);
      assert.match(events[0]?.error ?? '', /^queue full/);
      assert.equal((await call(() => backend.queueStats(queue))).ready, 1);
    });

    it('schedules: a task with a uniqueness key is not queued again while the last run still holds it; the tick is skipped as a duplicate', async () => {
      const queue = queueName('uniqueticks');
      const events: EngineEvent[] = [];
      const stop = backend.onEvent((event) => event.queue === queue && event.kind === 'scheduled' && events.push(event));
      const name = `${queue}-s`;
      const task = { payload: jsonTextOf('index'), unique: { key: 'index' } };
      await call(() => backend.setSchedule({ name, queue, task, every: 1, startAt: Date.now() + 100 }));
      for (let waited = 0; events.length < 2 && waited < 6000; waited += 50) await sleep(50);
      stop();
      await call(() => backend.deleteSchedule(name));
      assert.ok(events[0]?.taskId !== undefined, `the first tick puts its task: ${JSON.stringify(events[0])}`);
      assert.equal(events[1]?.taskId, undefined);
      assert.equal(events[1]?.error, `duplicate: task ${events[0]!.taskId} holds the task's uniqueness key`);
      assert.equal((await call(() => backend.queueStats(queue))).ready, 1, 'one task, not two');
    });

    it('rate limits (spec §7.22): a key over its rate never holds up another; keys take turns; a throttled get wakes when budget returns', async () => {
      const queue = queueName('rate');
      await call(() => backend.declareQueue(queue, { keyRate: { max: 1, period: 0.5 } }));
      const keyed = (key: string, payload: string): TaskSpec => ({ payload, rateKey: key });
      await put(backend, queue, [keyed('a', 'a1'), keyed('a', 'a2'), keyed('a', 'a3'), keyed('b', 'b1'), keyed('c', 'c1')]);
      const first = await get(backend, 'w', queue, { max: 10 });
      assert.deepEqual(
        first.map((t) => t.payload),
        ['a1', 'b1', 'c1'],
      );
      const stats = await call(() => backend.queueStats(queue));
      assert.deepEqual([stats.keyRate, stats.throttled, stats.ready], [{ max: 1, period: 0.5 }, 2, 2]);
      const started = Date.now();
      const next = await get(backend, 'w', queue, { timeout: 5 });
      const waited = Date.now() - started;
      assert.deepEqual(
        next.map((t) => t.payload),
        ['a2'],
      );
      assert.ok(waited >= 300 && waited < 2_000, `the get waited ${waited} ms for a's budget (500 ms after its first take)`);
    });

    it('keyConcurrency caps the leased tasks of a key; an ack frees a place for a waiting get', async () => {
      const queue = queueName('cap');
      await call(() => backend.declareQueue(queue, { keyConcurrency: 1 }));
      await put(backend, queue, [
        { payload: 'k1', rateKey: 'k' },
        { payload: 'k2', rateKey: 'k' },
      ]);
      const [held] = await get(backend, 'w', queue, { max: 2 });
      assert.equal(held?.payload, 'k1');
      const waiting = get(backend, 'w2', queue, { timeout: 5 });
      await sleep(100);
      await call(() => backend.ack('w', [{ id: held!.id }]));
      assert.deepEqual(
        (await waiting).map((t) => t.payload),
        ['k2'],
      );
      await call(() => backend.declareQueue(queue, { keyConcurrency: 0 }));
      assert.equal((await call(() => backend.queueStats(queue))).keyConcurrency, undefined);
    });

    it('a delivery the session could not take gives its tasks back with their rate keys (autoAck or not): keyConcurrency still counts them', async () => {
      const queue = queueName('cap-undo');
      await call(() => backend.declareQueue(queue, { keyConcurrency: 1 }));
      await put(backend, queue, [{ payload: 'k1', rateKey: 'k' }]);
      for (const autoAck of [true, false]) {
        await new Promise<void>((done) => {
          backend.get({ queue, session: 'gone', max: 1, timeout: 0, autoAck }, () => {
            done();
            return false;
          });
        });
        for (let i = 0; i < 50 && (await call(() => backend.queueStats(queue))).ready < 1; i++) await sleep(20);
      }
      await put(backend, queue, [{ payload: 'k2', rateKey: 'k' }]);
      // Both of key k: one at a time, whatever happened to the first on its way back.
      assert.deepEqual(
        (await get(backend, 'w', queue, { max: 2 })).map((t) => t.payload),
        ['k1'],
      );
    });
  });
}
