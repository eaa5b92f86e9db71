import { strict as assert } from 'node:assert';
import { AbortedError, ConnectionClosedError, QueueEmptyError, TaskwireError, type TaskwireClient } from '../../src';
import { eventually, startServer, type RunningServer } from '../helpers/harness';
import { rejection, sleep, within } from './util';

let counter = 0;
const fresh = (prefix = 'q') => `${prefix}-${process.pid}-${++counter}`;

describe('client: queue operations', function () {
  let running: RunningServer;
  let client: TaskwireClient;
  let other: TaskwireClient;

  before(async () => {
    running = await startServer({ limits: { maxBatch: 5 } });
  });

  after(async () => {
    await running.stop();
  });

  beforeEach(async () => {
    client = await running.client({ name: 'queue-test' });
    other = await running.client({ name: 'queue-test-other' });
  });

  afterEach(() => {
    client.close();
    other.close();
  });

  it('put, get and ack with a result that goes to replyTo', async () => {
    const q = client.queue<{ n: number }>(fresh());
    const results = fresh('results');
    const id = await q.put({ n: 7 }, { replyTo: results });
    assert.equal(typeof id, 'string');
    const task = await q.get({ timeout: 5 });
    assert.equal(task.id, id);
    assert.deepEqual(task.payload, { n: 7 });
    assert.equal(task.attempt, 1);
    assert.equal(task.replyTo, results);
    assert.equal(task.queue, q.name);
    assert.ok(task.leaseUntil && Date.parse(task.leaseUntil) > Date.now());
    await task.ack({ doubled: 14 });
    assert.equal(task.settled, true);

    const reply = await other.queue(results).get({ timeout: 5, autoAck: true });
    assert.deepEqual(reply.payload, { taskId: id, result: { doubled: 14 } });
    const stats = await q.stats();
    assert.equal(stats.leased, 0);
    assert.equal(stats.totals.acked, 1);
  });

  it('QueueHandle.ack by id with a result also routes to replyTo', async () => {
    const q = client.queue(fresh());
    const results = fresh('results');
    const id = await q.put('x', { replyTo: results });
    await q.get({ timeout: 5 });
    await q.ack(id, 'done');
    const reply = await client.queue(results).get({ timeout: 5, autoAck: true });
    assert.deepEqual(reply.payload, { taskId: id, result: 'done' });
  });

  it('get with a timeout on an empty queue throws QueueEmptyError', async () => {
    const q = client.queue(fresh());
    const started = Date.now();
    const error = await rejection(q.get({ timeout: 0.2 }));
    assert.ok(error instanceof QueueEmptyError, `got ${error.name}: ${error.message}`);
    assert.ok(error instanceof TaskwireError);
    assert.equal(error.name, 'QueueEmptyError');
    assert.equal(error.message, `queue "${q.name}" is empty (waited 0.2 s)`);
    assert.equal(error.queue, q.name);
    assert.ok(Date.now() - started >= 150, 'the get did not wait for its timeout');
  });

  it('get with timeout 0 never blocks', async () => {
    const q = client.queue(fresh());
    const error = await rejection(q.get({ timeout: 0 }), 2000);
    assert.ok(error instanceof QueueEmptyError);
  });

  it('getMany returns [] on timeout and at most max tasks', async () => {
    const q = client.queue(fresh());
    assert.deepEqual(await q.getMany(3, { timeout: 0.1 }), []);
    await q.putMany([1, 2, 3, 4, 5].map((n) => ({ payload: n })));
    const first = await q.getMany(3, { timeout: 5 });
    assert.deepEqual(
      first.map((t) => t.payload),
      [1, 2, 3],
    );
    const rest = await q.getMany(3, { timeout: 5 });
    assert.deepEqual(
      rest.map((t) => t.payload),
      [4, 5],
    );
    assert.equal(await q.ackMany([...first, ...rest].map((t) => ({ id: t.id }))), 5);
    assert.equal((await q.stats()).leased, 0);
  });

  it('putMany splits a list longer than limits.maxBatch', async () => {
    assert.equal(client.limits.maxBatch, 5);
    const q = client.queue<number>(fresh());
    const payloads = Array.from({ length: 12 }, (_, i) => i);
    const ids = await q.putMany(payloads.map((payload) => ({ payload })));
    assert.equal(ids.length, 12);
    assert.equal(new Set(ids).size, 12);
    const stats = await q.stats();
    assert.equal(stats.ready, 12);
    assert.equal(stats.totals.put, 12);
    // FIFO order survives the split.
    const seen: number[] = [];
    while (seen.length < 12) {
      const batch = await q.getMany(5, { timeout: 5, autoAck: true });
      seen.push(...batch.map((t) => t.payload));
    }
    assert.deepEqual(seen, payloads);
  });

  it('nack with a delay holds the task back, then redelivers it with attempt 2 and lastError', async () => {
    const q = client.queue(fresh());
    const id = await q.put('flaky');
    const task = await q.get({ timeout: 5 });
    await task.nack({ error: 'try later', delay: 0.3 });
    assert.equal(task.settled, true);
    const stats = await q.stats();
    assert.equal(stats.delayed, 1);
    assert.equal(stats.ready, 0);
    assert.equal(stats.leased, 0);
    assert.equal(stats.totals.nacked, 1);
    assert.ok((await rejection(q.get({ timeout: 0 }))) instanceof QueueEmptyError);
    const again = await q.get({ timeout: 5 });
    assert.equal(again.id, id);
    assert.equal(again.attempt, 2);
    assert.equal(again.lastError, 'try later');
    await again.ack();
  });

  it('QueueHandle.nack by id', async () => {
    const q = client.queue(fresh());
    const id = await q.put('p');
    await q.get({ timeout: 5 });
    await q.nack(id, { delay: 0, error: 'e' });
    const again = await q.get({ timeout: 5 });
    assert.equal(again.id, id);
    assert.equal(again.attempt, 2);
  });

  it('touch extends a lease', async () => {
    const q = client.queue(fresh());
    await q.put('slow');
    const task = await q.get({ timeout: 5, ttr: 2 });
    const before = Date.parse(task.leaseUntil!);
    assert.ok(before <= Date.now() + 2500);
    const until = await q.touch(task, 30);
    assert.ok(Date.parse(until) > before + 20_000, `lease not extended: ${task.leaseUntil} -> ${until}`);
    await task.touch(60);
    assert.ok(Date.parse(task.leaseUntil!) > Date.parse(until));
    await task.ack();
  });

  it('join resolves once every task is acked; false on timeout', async () => {
    const q = client.queue(fresh());
    assert.equal(await q.join({ timeout: 0 }), true, 'an empty queue is joined at once');
    await q.putMany([{ payload: 1 }, { payload: 2 }]);
    assert.equal(await q.join({ timeout: 0.1 }), false);
    const joined = other.queue(q.name).join({ timeout: 10 });
    const tasks = await q.getMany(2, { timeout: 5 });
    await tasks[0]!.ack();
    await tasks[1]!.ack();
    assert.equal(await within(joined, 5000, 'join'), true);
  });

  it('peek shows the next tasks without leasing them', async () => {
    const q = client.queue(fresh());
    await q.putMany([{ payload: 'a' }, { payload: 'b' }, { payload: 'c' }]);
    const peeked = await q.peek(2);
    assert.deepEqual(
      peeked.map((t) => t.payload),
      ['a', 'b'],
    );
    assert.deepEqual(
      (await q.peek()).map((t) => t.payload),
      ['a'],
    );
    const stats = await q.stats();
    assert.equal(stats.ready, 3);
    assert.equal(stats.leased, 0);
    const got = await q.get({ timeout: 5 });
    assert.equal(got.id, peeked[0]!.id);
  });

  it('purge removes ready and delayed tasks, not leased ones', async () => {
    const q = client.queue(fresh());
    await q.putMany([{ payload: 1 }, { payload: 2 }, { payload: 3, delay: 60 }]);
    const leased = await q.get({ timeout: 5 });
    assert.equal(await q.purge(), 2);
    const stats = await q.stats();
    assert.equal(stats.ready, 0);
    assert.equal(stats.delayed, 0);
    assert.equal(stats.leased, 1);
    await leased.ack();
    assert.equal(await q.purge(), 0);
  });

  it('stats has every field of QueueStats', async () => {
    const q = client.queue(fresh());
    await q.declare({ maxsize: 10 });
    await q.putMany([{ payload: 1 }, { payload: 2 }, { payload: 3, delay: 60 }]);
    const task = await q.get({ timeout: 5 });
    const stats = await q.stats();
    // The design's fields; the spec may add more (ttr, maxAttempts, deadLetter, waitingPutters).
    for (const field of ['dead', 'delayed', 'leased', 'maxsize', 'queue', 'ready', 'totals', 'waitingGetters']) {
      assert.ok(field in stats, `QueueStats lacks "${field}"`);
    }
    assert.equal(stats.queue, q.name);
    assert.equal(stats.ready, 1);
    assert.equal(stats.leased, 1);
    assert.equal(stats.delayed, 1);
    assert.equal(stats.dead, 0);
    assert.equal(stats.maxsize, 10);
    assert.equal(stats.waitingGetters, 0);
    assert.deepEqual(stats.totals, { put: 3, acked: 0, nacked: 0, expired: 0, released: 0, deadLettered: 0 });
    await task.ack();
    assert.equal((await q.stats()).totals.acked, 1);
    assert.ok((await client.queues()).some((s) => s.queue === q.name));
  });

  it('declare reports whether the queue was created', async () => {
    const name = fresh();
    assert.deepEqual(await client.declareQueue(name, { ttr: 5 }), { created: true });
    assert.deepEqual(await client.queue(name).declare({ maxsize: 3 }), { created: false });
    assert.equal((await client.queue(name).stats()).maxsize, 3);
  });

  it('delivers higher priority first, FIFO within a priority', async () => {
    const q = client.queue<string>(fresh());
    await q.put('low-1');
    await q.put('high-1', { priority: 5 });
    await q.put('low-2');
    await q.put('high-2', { priority: 5 });
    await q.put('negative', { priority: -1 });
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      const task = await q.get({ timeout: 5, autoAck: true });
      order.push(task.payload);
      if (task.payload.startsWith('high')) assert.equal(task.priority, 5);
    }
    assert.deepEqual(order, ['high-1', 'high-2', 'low-1', 'low-2', 'negative']);
  });

  it('delay holds a task back', async () => {
    const q = client.queue(fresh());
    const started = Date.now();
    await q.put('later', { delay: 0.3 });
    await q.put('now');
    assert.equal((await q.get({ timeout: 5, autoAck: true })).payload, 'now');
    assert.equal((await q.stats()).delayed, 1);
    const later = await q.get({ timeout: 5, autoAck: true });
    assert.equal(later.payload, 'later');
    assert.ok(Date.now() - started >= 250, 'the delayed task came too early');
  });

  it('a blocked get receives a task put later', async () => {
    const q = client.queue(fresh());
    const pending = q.get({ timeout: 10 });
    await eventually(async () => (await other.queue(q.name).stats()).waitingGetters === 1, 5000, 'the getter to wait');
    await other.queue(q.name).put('wake');
    const task = await within(pending, 5000, 'the blocked get');
    assert.equal(task.payload, 'wake');
    await task.ack();
  });

  describe('cancellation', () => {
    it('an AbortSignal aborts a blocked get; the server forgets the waiter and the next task is not lost', async () => {
      const q = client.queue(fresh());
      const controller = new AbortController();
      const pending = q.get({ signal: controller.signal });
      await eventually(async () => (await other.queue(q.name).stats()).waitingGetters === 1, 5000, 'the getter to wait');
      controller.abort();
      const error = await rejection(pending, 5000);
      assert.ok(error instanceof AbortedError, `got ${error.name}: ${error.message}`);
      assert.equal(error.name, 'AbortedError');
      await eventually(async () => (await other.queue(q.name).stats()).waitingGetters === 0, 5000, 'the waiter to be withdrawn');

      const id = await other.queue(q.name).put('after-abort');
      assert.equal((await q.stats()).ready, 1, 'the task went to the aborted getter');
      const task = await other.queue(q.name).get({ timeout: 5 });
      assert.equal(task.id, id);
      assert.equal(task.attempt, 1);
      await task.ack();
      // The connection is still healthy after the cancel.
      await client.ping();
    });

    it('an already-aborted signal fails at once without sending', async () => {
      const q = client.queue(fresh());
      const controller = new AbortController();
      controller.abort();
      const error = await rejection(q.get({ signal: controller.signal }), 2000);
      assert.ok(error instanceof AbortedError);
      assert.equal((await q.stats()).waitingGetters, 0);
    });

    it('an AbortSignal aborts a put blocked on a full queue', async () => {
      const q = client.queue(fresh());
      await q.declare({ maxsize: 1 });
      await q.put('fills it');
      const controller = new AbortController();
      const pending = q.put('waits', { signal: controller.signal });
      await sleep(100);
      controller.abort();
      const error = await rejection(pending, 5000);
      assert.ok(error instanceof AbortedError, `got ${error.name}: ${error.message}`);
      const stats = await q.stats();
      assert.equal(stats.ready, 1);
      assert.equal(stats.totals.put, 1);
    });

    it('close() fails a blocked get with ConnectionClosedError', async () => {
      const q = client.queue(fresh());
      const pending = q.get();
      await eventually(async () => (await other.queue(q.name).stats()).waitingGetters === 1, 5000, 'the getter to wait');
      client.close();
      const error = await rejection(pending, 5000);
      assert.ok(error instanceof ConnectionClosedError, `got ${error.name}: ${error.message}`);
      await eventually(async () => (await other.queue(q.name).stats()).waitingGetters === 0, 5000, 'the waiter to go');
    });

    it('an AbortSignal aborts a join', async () => {
      const q = client.queue(fresh());
      await q.put('pending');
      const controller = new AbortController();
      const pending = q.join({ signal: controller.signal });
      await sleep(50);
      controller.abort();
      assert.ok((await rejection(pending, 5000)) instanceof AbortedError);
    });
  });
});
