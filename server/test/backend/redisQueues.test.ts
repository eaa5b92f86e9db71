import { strict as assert } from 'node:assert';
import { EngineError, type RawTask } from '../../src/engine';
import { jsonTextOf, type JsonText } from '../../src/protocol/jsonText';
import { RedisQueues } from '../../src/redis/redisQueues';
import { eventually } from '../helpers/harness';
import { startRedis, type RunningRedis } from '../helpers/redis';
import { describeQueueBackend } from './queueBackendContract';

// The Redis store held to the QueueBackend contract: the same suite as the in-process queues,
// against a real redis-server this file starts.

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('RedisQueues on a redis-server this file starts', function () {
  let redis: RunningRedis;
  before(async function () {
    this.timeout(20_000);
    redis = await startRedis();
  });
  after(async () => redis?.stop());

  describeQueueBackend('RedisQueues on one redis-server', async (options) => {
    const backend = await RedisQueues.connect({ url: redis.url, ...options });
    return { backend, close: () => backend.close() };
  });

  describe('RedisQueues: a put withdrawn while its script runs', function () {
    this.timeout(20_000);
    it('gets no answer, and its tasks are taken back as if never put', async () => {
      const backend = await RedisQueues.connect({ url: redis.url });
      try {
        const queue = `withdrawn-put-${process.pid}`;
        let answered = false;
        let waiter: { cancel(): void } | undefined;
        // The put event is reported when the script has answered and before the put's answer: a
        // cancel there is a cancel that arrived while the script ran.
        const stop = backend.onEvent((event) => {
          if (event.kind === 'put' && event.queue === queue) waiter?.cancel();
        });
        waiter = backend.put({ queue, tasks: [{ payload: jsonTextOf('a') }, { payload: jsonTextOf('b') }], session: 'producer' }, () => (answered = true));
        await eventually(async () => (await backend.queueStats(queue)).totals.put === 0 && (await backend.queueStats(queue)).ready === 0, 5000, 'the put to be taken back');
        await sleep(200);
        stop();
        assert.equal(answered, false, 'a withdrawn put was answered');
        assert.deepEqual((await backend.peek(queue, 10)).length, 0);
      } finally {
        await backend.close();
      }
    });
  });

  describe('RedisQueues: connecting', function () {
    this.timeout(20_000);
    it('fails at once with store unavailable when Redis cannot be reached', async () => {
      const stopped = await startRedis();
      await stopped.stop();
      await assert.rejects(RedisQueues.connect({ url: `redis://user:secret@127.0.0.1:${stopped.port}` }), {
        name: 'EngineError',
        reason: 'store_unavailable',
        message: `store unavailable: cannot reach redis://user:***@127.0.0.1:${stopped.port} (ECONNREFUSED)`,
      });
    });
  });

  /** Two managers on one Redis: two RedisQueues, each with its own connections. */
  describe('RedisQueues: two managers on one Redis', function () {
    this.timeout(20_000);
    let a: RedisQueues;
    let b: RedisQueues;
    let unique = 0;
    const queueName = (what: string) => `two-${what}-${process.pid}-${unique++}`;
    beforeEach(async () => {
      // No maintenance tick during the test: every wake-up below comes from pub/sub, not a poll.
      a = await RedisQueues.connect({ url: redis.url, tickInterval: 3_600_000 });
      b = await RedisQueues.connect({ url: redis.url, tickInterval: 3_600_000 });
    });
    afterEach(async () => {
      await a.close();
      await b.close();
    });

    const put = (backend: RedisQueues, queue: string, payloads: unknown[], options: { timeout?: number; replyTo?: string } = {}) =>
      new Promise<string[]>((resolve, reject) =>
        backend.put({ queue, tasks: payloads.map((p) => ({ payload: jsonTextOf(p), replyTo: options.replyTo })), timeout: options.timeout ?? 0, session: 'producer' }, (outcome) =>
          outcome instanceof EngineError ? reject(outcome) : resolve(outcome),
        ),
      );
    const get = (backend: RedisQueues, session: string, queue: string, options: { timeout?: number; max?: number; autoAck?: boolean } = {}) =>
      new Promise<RawTask[]>((resolve) =>
        backend.get({ queue, session, max: options.max ?? 1, timeout: options.timeout ?? 0, autoAck: options.autoAck ?? false }, (tasks) => {
          resolve(tasks);
          return true;
        }),
      );

    it('a --queue of a manager that starts creates the queue, or leaves the options it has in the store and warns', async () => {
      const queue = queueName('flags');
      const warnings: string[] = [];
      const log = { info() {}, debug() {}, error() {}, warn: (message: string, fields?: Record<string, unknown>) => warnings.push(`${message} ${JSON.stringify(fields)}`) };
      const first = await RedisQueues.connect({ url: redis.url, queues: [{ name: queue, maxsize: 5 }], log });
      const second = await RedisQueues.connect({ url: redis.url, queues: [{ name: queue, maxsize: 9, ttr: 30 }], log });
      try {
        assert.equal(warnings.length, 1, warnings.join('\n'));
        assert.match(warnings[0]!, /--queue differs from the options the queue has in the store; the store keeps its own/);
        assert.match(warnings[0]!, /maxsize: 5 in the store, 9 here; ttr: 60 in the store, 30 here/);
        assert.deepEqual([(await a.queueStats(queue)).maxsize, (await a.queueStats(queue)).ttr], [5, 60]);
      } finally {
        await first.close();
        await second.close();
      }
    });

    it('have ids of their own', () => {
      assert.notEqual(a.managerId, b.managerId);
    });

    it('on one manager, a put hands its task to the first waiting get in its own script, an ack its result to a waiting get of the replyTo queue, and a get of a queue known to be empty waits without a script', async () => {
      const queue = queueName('handover');
      const results = queueName('handover-results');
      await a.ensureQueue(queue);
      await a.ensureQueue(results);
      const scripts: string[] = [];
      a.onRoundTrip = (name) => scripts.push(name);
      const settled = async (expected: string[], what: string) => {
        await eventually(() => scripts.length >= expected.length, 5000, what);
        await sleep(200); // and nothing more
        assert.deepEqual(scripts.splice(0), expected, what);
      };
      const first = get(a, 'worker', queue, { timeout: 10 });
      await settled(['get'], 'the first get looks');
      const second = get(a, 'other-worker', queue, { timeout: 2 });
      await sleep(200);
      assert.deepEqual(scripts.splice(0), [], 'a get of a queue this manager knows to be empty runs no script');
      const result = get(a, 'producer', results, { timeout: 10, autoAck: true });
      await settled(['get'], 'the producer looks for its result');
      const [id] = await put(a, queue, ['work'], { replyTo: results });
      await settled(['putThenGet'], 'the put hands its task over; the other get is not woken (no task is ready)');
      const [task] = await first;
      assert.equal(task?.id, id);
      await a.ack('worker', [{ id: id!, result: jsonTextOf('done') }]);
      await settled(['ackThenGet'], 'the ack hands its result over');
      const [answer] = await result;
      assert.deepEqual(JSON.parse(answer!.payload), { taskId: id, result: 'done' });
      assert.deepEqual(await second, [], 'the other get had nothing and timed out');
      assert.deepEqual((await a.queueStats(queue)).totals, { put: 1, acked: 1, nacked: 0, expired: 0, released: 0, deadLettered: 0 });
    });

    it("an ack with next takes the worker's next task in the ack's own script, beside a result's handover; it leaves a get waiting here its turn, and gives the task back when the worker is gone", async () => {
      const queue = queueName('ack-next');
      const results = queueName('ack-next-results');
      await a.ensureQueue(queue);
      await a.ensureQueue(results);
      const ids = await put(a, queue, ['one', 'two', 'three'], { replyTo: results });
      const [first] = await get(a, 'worker', queue);
      const scripts: string[] = [];
      a.onRoundTrip = (name) => scripts.push(name);
      const result = get(a, 'producer', results, { timeout: 10, autoAck: true });
      await eventually(() => scripts.length === 1, 5000, 'the producer looks for its result');
      scripts.splice(0);
      const next = { queue, max: 1, timeout: 10, ttr: undefined, autoAck: false, session: 'worker' };
      const delivered: RawTask[][] = [];
      const took = await a.ackThenTake('worker', [{ id: first!.id, result: jsonTextOf('done one') }], next, (tasks) => delivered.push(tasks) > 0);
      assert.equal(took, true);
      assert.deepEqual(scripts.splice(0), ['ackThenGet'], 'one script: the ack, the result handed to the producer, the next task taken');
      assert.deepEqual(
        delivered.map((tasks) => tasks.map((task) => [task.id, task.payload, task.attempt])),
        [[[ids[1], '"two"', 1]]],
      );
      assert.deepEqual(JSON.parse((await result)[0]!.payload), { taskId: first!.id, result: 'done one' });
      assert.equal(a.leasedBy('worker'), 1, 'the worker holds the task the ack took');

      // A get waiting here on the queue is in line before the worker's next: the ack leaves the queue to it.
      const other = get(a, 'other-worker', queue, { timeout: 10 });
      await eventually(() => scripts.length > 0, 5000, 'the other get looks');
      const [third] = await other;
      assert.equal(third?.id, ids[2]);
      const waiting = get(a, 'waiting-worker', queue, { timeout: 2 });
      await sleep(200);
      scripts.splice(0);
      assert.equal(await a.ackThenTake('worker', [{ id: ids[1]! }], next, () => assert.fail('nothing was to be delivered')), false);
      assert.deepEqual(scripts.splice(0), ['ack'], 'the ack alone: a get waits here on the queue');

      await put(a, queue, ['four']);
      assert.deepEqual(
        (await waiting).map((task) => task.payload),
        ['"four"'],
        'the get that waited takes the next task put',
      );

      // Its worker gone when the ack's script answers: the task it took goes back, attempt unchanged.
      await put(a, queue, ['five']);
      scripts.splice(0);
      const gone = await a.ackThenTake('other-worker', [{ id: third!.id }], { ...next, session: 'other-worker' }, () => false);
      assert.equal(gone, false);
      assert.deepEqual(scripts.splice(0), ['ackThenGet', 'undo']);
      const [back] = await a.peek(queue, 1);
      assert.deepEqual([back?.payload, back?.attempt], ['"five"', 1]);
      assert.equal(a.leasedBy('other-worker'), 0);
    });

    it('a task put through A reaches a get blocked on B at once', async () => {
      const queue = queueName('wake');
      await b.ensureQueue(queue);
      const waiting = get(b, 'worker', queue, { timeout: 10 });
      await sleep(200); // B's get is blocked: it looked, found nothing, and waits
      const started = Date.now();
      const [id] = await put(a, queue, ['hello']);
      const [task] = await waiting;
      const latency = Date.now() - started;
      assert.equal(task?.id, id);
      assert.equal(task?.payload, '"hello"');
      assert.ok(latency < 1000, `the wake-up took ${latency} ms`);
    });

    it("B's waiting gets are served in the order they began to wait, by tasks put through A one by one or all at once", async () => {
      const queue = queueName('fifo');
      await b.ensureQueue(queue);
      for (const together of [false, true]) {
        const order: string[] = [];
        const waiting = ['w1', 'w2', 'w3', 'w4'].map((session) => get(b, session, queue, { timeout: 10 }).then(([task]) => order.push(`${session}:${task?.payload}`)));
        await sleep(200);
        if (together) await put(a, queue, [1, 2, 3, 4]);
        else for (const n of [1, 2, 3, 4]) await put(a, queue, [n]);
        await Promise.all(waiting);
        assert.deepEqual(order, ['w1:1', 'w2:2', 'w3:3', 'w4:4'], together ? 'one put of four' : 'four puts');
      }
    });

    it('a put blocked on a full queue on A goes in when a task is acked on B', async () => {
      const queue = queueName('full');
      await a.declareQueue(queue, { maxsize: 1 });
      await put(a, queue, ['first']);
      let admitted = false;
      const waiting = put(a, queue, ['second'], { timeout: 10 }).then((ids) => ((admitted = true), ids));
      const [task] = await get(b, 'worker', queue);
      await sleep(200);
      assert.equal(admitted, false, 'a lease makes no room (spec §7.9): only the ack does');
      await b.ack('worker', [{ id: task!.id }]);
      assert.equal((await waiting).length, 1);
      assert.equal((await b.queueStats(queue)).ready, 1);
    });

    it('join on A sees the queue reach empty on B, even when it is not empty for long', async () => {
      const queue = queueName('join');
      await put(a, queue, ['x']);
      const joined = new Promise<boolean>((done) => a.join(queue, 10, 'joiner', done));
      await sleep(200);
      const [task] = await get(b, 'worker', queue);
      await b.ack('worker', [{ id: task!.id }]);
      await put(b, queue, ['y']); // not empty any more by the time A looks again
      assert.equal(await joined, true);
    });

    it('task ids are unique across managers', async () => {
      const queue = queueName('ids');
      const batches = await Promise.all([put(a, queue, Array(50).fill(1)), put(b, queue, Array(50).fill(2)), put(a, queue, Array(50).fill(3)), put(b, queue, Array(50).fill(4))]);
      const ids = batches.flat();
      assert.equal(new Set(ids).size, 200);
    });

    it('of racing declares of a new queue, exactly one reports created: true', async () => {
      const queue = queueName('declare');
      const outcomes = await Promise.all([a.declareQueue(queue, { maxsize: 5 }), b.declareQueue(queue, { maxsize: 5 }), a.declareQueue(queue, {}), b.declareQueue(queue, {})]);
      assert.equal(outcomes.filter((o) => o.created).length, 1);
      assert.ok((await a.listQueues()).some((q) => q.queue === queue));
    });

    it('a result acked on B reaches a get blocked on A in another family (on one node, the ack script puts it there itself)', async () => {
      const queue = queueName('jobs');
      const results = queueName('results');
      await a.ensureQueue(results);
      const waitingResult = get(a, 'producer', results, { timeout: 10, autoAck: true });
      const [id] = await put(a, queue, ['job'], { replyTo: results });
      const [task] = await get(b, 'worker', queue, { timeout: 5 });
      await b.ack('worker', [{ id: task!.id, result: '{"ok":1.50}' as JsonText }]);
      const [result] = await waitingResult;
      assert.equal(result?.payload, `{"taskId":${JSON.stringify(id)},"result":{"ok":1.50}}`);
    });

    it('a task dead-lettered into another family arrives there with its error', async () => {
      const queue = queueName('flaky');
      const failed = queueName('failed');
      await a.declareQueue(queue, { deadLetter: failed });
      await put(a, queue, ['bad']);
      const [task] = await get(b, 'worker', queue);
      await b.nack('worker', [{ id: task!.id, error: 'broken', retry: false }]);
      const [dead] = await get(a, 'reader', failed, { autoAck: true, timeout: 5 });
      assert.deepEqual([dead?.id, dead?.payload, dead?.lastError, dead?.deadLetteredFrom], [task!.id, '"bad"', 'broken', queue]);
      assert.equal((await a.queueStats(queue)).dead, 0);
    });
  });

  describe('RedisQueues: Redis going away', function () {
    this.timeout(30_000);
    it('fails requests at once with store unavailable while Redis is down, and resumes by itself once it is back, with nothing answered lost (appendfsync always)', async () => {
      const own = await startRedis({ appendonly: true, appendfsync: 'always' });
      const backend = await RedisQueues.connect({ url: own.url });
      try {
        const queue = `outage-${process.pid}`;
        const [kept] = await new Promise<string[]>((done) => backend.put({ queue, tasks: [{ payload: jsonTextOf('kept') }], timeout: 0 }, (o) => done(o as string[])));
        await own.stop({ keepDir: true });
        const started = Date.now();
        const refusal = await new Promise<string[] | EngineError>((done) => backend.put({ queue, tasks: [{ payload: jsonTextOf('x') }], timeout: 0 }, done));
        assert.ok(refusal instanceof EngineError, 'the put did not fail');
        assert.equal(refusal.reason, 'store_unavailable');
        assert.match(refusal.message, /^store unavailable: redis:\/\/127\.0\.0\.1:\d+: /);
        assert.ok(Date.now() - started < 2000, 'the put waited for the store');
        await assert.rejects(
          Promise.resolve().then(() => backend.queueStats(queue)),
          { reason: 'store_unavailable' },
        );
        await own.restart();
        await eventually(
          async () => {
            try {
              await backend.queueStats(queue);
              return true;
            } catch {
              return false;
            }
          },
          10_000,
          'the backend to reconnect',
        );
        const ids = await new Promise<string[] | EngineError>((done) => backend.put({ queue, tasks: [{ payload: jsonTextOf('y') }], timeout: 0 }, done));
        assert.ok(Array.isArray(ids), String(ids));
        const tasks = await new Promise<RawTask[]>((done) => backend.get({ queue, session: 'w', max: 10, timeout: 0, autoAck: true }, (t) => (done(t), true)));
        assert.deepEqual(
          tasks.map((t) => t.id),
          [kept, ...ids],
        );
      } finally {
        await backend.close();
        await own.stop();
      }
    });
  });
});
