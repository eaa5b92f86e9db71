// Leases over the wire: expiry and redelivery, release on disconnect, retries and dead
// letters, touch; plus priorities, delays and replyTo routing.
import { strict as assert } from 'node:assert';
import { call, expectError, expectResult, expectServes, nextEvent, queueName, sleep, useFixture, waitForStats, type Json } from './fixture';

describe('server: leases', () => {
  const fx = useFixture();

  it('redelivers a task whose lease expired with attempt 2, and emits an expired event', async () => {
    const { port } = await fx.server();
    const monitor = await fx.connect(port, { name: 'l-monitor', role: 'monitor' });
    const slow = await fx.connect(port, 'l-slow');
    const fast = await fx.connect(port, 'l-fast');
    const queue = queueName('l-expiry');
    await call(monitor, 'events/subscribe', { queues: [queue], kinds: ['expired'] });
    const { ids } = await call(slow, 'queue/put', { queue, tasks: [{ payload: 'job' }] });
    const first = await call(slow, 'queue/get', { queue, ttr: 0.2, timeout: 0 });
    assert.equal(first.tasks[0].attempt, 1);
    const leaseUntil = Date.parse(first.tasks[0].leaseUntil);
    assert.ok(leaseUntil < Date.now() + 5000, 'the lease lasts the ttr asked for, not the default 60 s');

    const again = await call(fast, 'queue/get', { queue, timeout: 5 });
    assert.deepEqual([again.tasks[0].id, again.tasks[0].attempt, again.tasks[0].payload], [ids[0], 2, 'job']);
    const event = await nextEvent(monitor);
    assert.deepEqual([event.kind, event.queue, event.taskId, event.attempt, event.error], ['expired', queue, ids[0], 1, 'lease expired']);
    assert.equal(event.client?.name, 'l-slow', 'the event names the session that lost the lease');

    // The slow worker's ack comes too late.
    expectError(await slow.request('task/ack', { acks: [{ id: ids[0] }] }), 1003, /^unknown or expired lease: /, { ids, reason: 'lease_unknown' });
    assert.deepEqual(await call(fast, 'task/ack', { acks: [{ id: ids[0] }] }), { acked: 1 });
    const stats = await call(fast, 'queue/stats', { queue });
    assert.deepEqual([stats.totals.expired, stats.totals.acked, stats.leased, stats.ready], [1, 1, 0, 0]);
  });

  it('releases the leases of a connection that closes, at once, with attempt 2', async () => {
    const { port } = await fx.server();
    const producer = await fx.connect(port, 'l-producer');
    const doomed = await fx.connect(port, 'l-doomed');
    const queue = queueName('l-disconnect');
    const { ids } = await call(producer, 'queue/put', { queue, tasks: [{ payload: 'a' }, { payload: 'b' }] });
    await call(doomed, 'queue/get', { queue, max: 2, timeout: 0 });
    assert.equal((await call(producer, 'queue/stats', { queue })).leased, 2);
    doomed.close();
    // Default ttr is 60 s: only the disconnect can bring them back within this wait.
    await waitForStats(producer, queue, (s) => s.leased === 0 && s.ready === 2, 'the leases to be released');
    const { tasks } = await call(producer, 'queue/get', { queue, max: 2, timeout: 0 });
    assert.equal(tasks.length, 2);
    const byId = new Map(tasks.map((t: Json) => [t.id, t]));
    for (const id of ids) assert.equal((byId.get(id) as Json)?.attempt, 2);
  });

  it('dead-letters a task after maxAttempts nacks to <queue>.dead, with deadLetteredFrom and stats.dead', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'l-worker');
    const queue = queueName('l-dead');
    await call(worker, 'queue/declare', { queue, maxAttempts: 2 });
    const { ids } = await call(worker, 'queue/put', { queue, tasks: [{ payload: { file: 'x.png' } }] });
    await call(worker, 'queue/get', { queue, timeout: 0 });
    assert.deepEqual(await call(worker, 'task/nack', { nacks: [{ id: ids[0], error: 'first failure', delay: 0 }] }), { nacked: 1 });
    const got = await call(worker, 'queue/get', { queue, timeout: 0 });
    assert.deepEqual([got.tasks[0].id, got.tasks[0].attempt, got.tasks[0].lastError], [ids[0], 2, 'first failure']);
    assert.deepEqual(await call(worker, 'task/nack', { nacks: [{ id: ids[0], error: 'second failure', delay: 0 }] }), { nacked: 1 });

    assert.deepEqual(await call(worker, 'queue/get', { queue, timeout: 0 }), { tasks: [] }, 'no third attempt');
    const stats = await call(worker, 'queue/stats', { queue });
    assert.deepEqual([stats.dead, stats.totals.deadLettered, stats.totals.nacked, stats.ready], [1, 1, 2, 0]);
    const dead = await call(worker, 'queue/get', { queue: `${queue}.dead`, timeout: 0 });
    assert.equal(dead.tasks.length, 1);
    const letter = dead.tasks[0];
    assert.deepEqual([letter.id, letter.queue, letter.deadLetteredFrom, letter.lastError, letter.payload], [ids[0], `${queue}.dead`, queue, 'second failure', { file: 'x.png' }]);
    // The dead-letter queue never dead-letters again: a nack there just retries.
    assert.deepEqual(await call(worker, 'task/nack', { nacks: [{ id: ids[0], delay: 0 }] }), { nacked: 1 });
    assert.equal((await call(worker, 'queue/get', { queue: `${queue}.dead`, timeout: 0 })).tasks[0].id, ids[0]);
  });

  it('dead-letters at once a task nacked with retry: false (a permanent failure)', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'l-permanent');
    const queue = queueName('l-permanent');
    const { ids } = await call(worker, 'queue/put', { queue, tasks: [{ payload: 'http://127.0.0.1/missing.png' }] });
    await call(worker, 'queue/get', { queue, timeout: 0 });
    assert.deepEqual(await call(worker, 'task/nack', { nacks: [{ id: ids[0], error: 'HTTP 404', retry: false }] }), { nacked: 1 });
    const stats = await call(worker, 'queue/stats', { queue });
    assert.deepEqual([stats.ready, stats.delayed, stats.dead, stats.totals.deadLettered], [0, 0, 1, 1]);
    const letter = (await call(worker, 'queue/get', { queue: `${queue}.dead`, timeout: 0 })).tasks[0];
    assert.deepEqual([letter.id, letter.attempt, letter.lastError, letter.deadLetteredFrom], [ids[0], 1, 'HTTP 404', queue]);
    expectError(await worker.request('task/nack', { nacks: [{ id: ids[0], retry: 'no' }] }), -32602, /^invalid params: "nacks\/0\/retry" must be true or false$/);
  });

  it('honours a per-task maxAttempts and a named or null dead-letter queue', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'l-worker');
    const named = queueName('l-named');
    const dropped = queueName('l-dropped');
    await call(worker, 'queue/declare', { queue: named, deadLetter: 'l-graveyard' });
    await call(worker, 'queue/declare', { queue: dropped, deadLetter: null });
    const a = await call(worker, 'queue/put', { queue: named, tasks: [{ payload: 'a', maxAttempts: 1 }] });
    const b = await call(worker, 'queue/put', { queue: dropped, tasks: [{ payload: 'b', maxAttempts: 1 }] });
    await call(worker, 'queue/get', { queue: named, timeout: 0 });
    await call(worker, 'queue/get', { queue: dropped, timeout: 0 });
    await call(worker, 'task/nack', {
      nacks: [
        { id: a.ids[0], delay: 0 },
        { id: b.ids[0], delay: 0 },
      ],
    });
    const grave = await call(worker, 'queue/get', { queue: 'l-graveyard', timeout: 0 });
    assert.deepEqual([grave.tasks[0].id, grave.tasks[0].deadLetteredFrom], [a.ids[0], named]);
    const stats = await call(worker, 'queue/stats', { queue: dropped });
    assert.deepEqual([stats.totals.deadLettered, stats.ready, stats.leased, stats.delayed], [1, 0, 0, 0]);
    assert.deepEqual(await call(worker, 'queue/join', { queue: dropped, timeout: 0 }), { done: true });
  });

  it('backs off a nack without delay (the task waits as delayed)', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'l-backoff');
    const queue = queueName('l-backoff');
    await call(worker, 'queue/put', { queue, tasks: [{ payload: 1 }] });
    const { tasks } = await call(worker, 'queue/get', { queue, timeout: 0 });
    await call(worker, 'task/nack', { nacks: [{ id: tasks[0].id, error: 'later' }] });
    const stats = await call(worker, 'queue/stats', { queue });
    assert.deepEqual([stats.ready, stats.delayed, stats.leased], [0, 1, 0]);
    assert.deepEqual(await call(worker, 'queue/get', { queue, timeout: 0 }), { tasks: [] });
  });

  it('extends a lease with task/touch', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'l-touch');
    const queue = queueName('l-touch');
    const { ids } = await call(worker, 'queue/put', { queue, tasks: [{ payload: 1 }] });
    const { tasks } = await call(worker, 'queue/get', { queue, ttr: 0.3, timeout: 0 });
    const original = Date.parse(tasks[0].leaseUntil);
    const touched = await call(worker, 'task/touch', { ids, ttr: 10 });
    assert.ok(Date.parse(touched.leaseUntil) >= original + 5000, 'the lease now ends later');
    // Past the original lease end the task is still held.
    await sleep(450);
    let stats = await call(worker, 'queue/stats', { queue });
    assert.deepEqual([stats.leased, stats.totals.expired], [1, 0]);
    // touch without ttr reuses the lease length in force (10 s).
    const again = await call(worker, 'task/touch', { ids });
    assert.ok(Date.parse(again.leaseUntil) >= Date.now() + 8000);
    assert.deepEqual(await call(worker, 'task/ack', { acks: [{ id: ids[0] }] }), { acked: 1 });
    stats = await call(worker, 'queue/stats', { queue });
    assert.deepEqual([stats.leased, stats.totals.acked], [0, 1]);
  });

  it('uses the task ttr, then the queue ttr, when get does not give one', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'l-ttr');
    const queue = queueName('l-ttr');
    await call(worker, 'queue/declare', { queue, ttr: 100 });
    await call(worker, 'queue/put', { queue, tasks: [{ payload: 'task-ttr', ttr: 1000 }, { payload: 'queue-ttr' }] });
    const { tasks } = await call(worker, 'queue/get', { queue, max: 2, timeout: 0 });
    const now = Date.now();
    const [withTask, withQueue] = tasks.map((t: Json) => Date.parse(t.leaseUntil) - now);
    assert.ok(withTask > 900_000 && withTask <= 1_000_000, `task ttr: ${withTask}`);
    assert.ok(withQueue > 90_000 && withQueue <= 100_000, `queue ttr: ${withQueue}`);
  });
});

describe('server: priorities, delays and replyTo', () => {
  const fx = useFixture();

  it('delivers higher priority first, FIFO within a priority', async () => {
    const { port } = await fx.server();
    const raw = await fx.connect(port, 'p-order');
    const queue = queueName('p-order');
    await call(raw, 'queue/put', {
      queue,
      tasks: [
        { payload: 'low-1', priority: -5 },
        { payload: 'mid-1' },
        { payload: 'high-1', priority: 10 },
        { payload: 'mid-2', priority: 0 },
        { payload: 'high-2', priority: 10 },
        { payload: 'low-2', priority: -5 },
      ],
    });
    const order = ['high-1', 'high-2', 'mid-1', 'mid-2', 'low-1', 'low-2'];
    const peeked = await call(raw, 'queue/peek', { queue, max: 10 });
    assert.deepEqual(
      peeked.tasks.map((t: Json) => t.payload),
      order,
    );
    const got: string[] = [];
    for (let i = 0; i < 6; i++) got.push((await call(raw, 'queue/get', { queue, timeout: 0 })).tasks[0].payload);
    assert.deepEqual(got, order);
    const high = (await call(raw, 'queue/put', { queue, tasks: [{ payload: 'x', priority: 7 }] })).ids[0];
    const { tasks } = await call(raw, 'queue/get', { queue, timeout: 0 });
    assert.deepEqual([tasks[0].id, tasks[0].priority], [high, 7]);
  });

  it('holds a delayed task back, then delivers it', async () => {
    const { port } = await fx.server();
    const raw = await fx.connect(port, 'p-delay');
    const queue = queueName('p-delay');
    const started = Date.now();
    await call(raw, 'queue/put', { queue, tasks: [{ payload: 'later', delay: 0.3 }, { payload: 'now' }] });
    let stats = await call(raw, 'queue/stats', { queue });
    assert.deepEqual([stats.ready, stats.delayed], [1, 1]);
    assert.equal((await call(raw, 'queue/get', { queue, timeout: 0 })).tasks[0].payload, 'now');
    assert.deepEqual(await call(raw, 'queue/get', { queue, timeout: 0 }), { tasks: [] }, 'the delayed task is not ready yet');
    assert.equal((await call(raw, 'queue/peek', { queue })).tasks.length, 0);
    const { tasks } = await call(raw, 'queue/get', { queue, timeout: 5 });
    assert.equal(tasks[0].payload, 'later');
    assert.ok(Date.now() - started >= 250, 'the delay was honoured');
    stats = await call(raw, 'queue/stats', { queue });
    assert.deepEqual([stats.ready, stats.delayed, stats.leased], [0, 0, 2]);
  });

  it('counts a delayed task against maxsize and join', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.connect(port, 'p-delay-size');
    const queue = queueName('p-delay-size');
    await call(raw, 'queue/declare', { queue, maxsize: 1 });
    await call(raw, 'queue/put', { queue, tasks: [{ payload: 1, delay: 60 }] });
    expectError(await raw.request('queue/put', { queue, tasks: [{ payload: 2 }], timeout: 0 }), 1002, /^queue full: /);
    assert.deepEqual(await call(raw, 'queue/join', { queue, timeout: 0 }), { done: false });
    assert.deepEqual(await call(raw, 'queue/purge', { queue }), { removed: 1 }, 'purge removes delayed tasks');
    assert.deepEqual(await call(raw, 'queue/join', { queue, timeout: 0 }), { done: true });
    await expectServes(bystander);
  });

  it('routes an ack result to replyTo as {taskId, result}', async () => {
    const { port } = await fx.server();
    const producer = await fx.connect(port, 'p-producer');
    const worker = await fx.connect(port, 'p-worker');
    const queue = queueName('p-jobs');
    const results = queueName('p-results');
    const { ids } = await call(producer, 'queue/put', {
      queue,
      tasks: [{ payload: 'image_url_0', replyTo: results }, { payload: 'image_url_1', replyTo: results }, { payload: 'image_url_2' }],
    });
    const resultId = producer.send('queue/get', { queue: results, autoAck: true, timeout: 5 });
    const { tasks } = await call(worker, 'queue/get', { queue, max: 3, timeout: 0 });
    assert.equal(tasks[0].replyTo, results);
    await call(worker, 'task/ack', {
      acks: [
        { id: ids[0], result: { url: 'image_url_0', status: 'success' } },
        { id: ids[1] }, // no result: nothing is routed
        { id: ids[2], result: 'no replyTo: kept nowhere' },
      ],
    });
    const delivered = expectResult('queue/get', await producer.waitFor((m) => m.id === resultId));
    assert.deepEqual(delivered.tasks[0].payload, { taskId: ids[0], result: { url: 'image_url_0', status: 'success' } });
    const stats = await call(producer, 'queue/stats', { queue: results });
    assert.deepEqual([stats.ready, stats.leased, stats.totals.put, stats.totals.acked], [0, 0, 1, 1]);
  });
});
