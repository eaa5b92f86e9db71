// task/ack with next (spec §5.9.1): the acks are applied, then the request goes on as a
// queue/get, so a worker's loop costs one exchange per task.
import { strict as assert } from 'node:assert';
import { call, expectError, expectResult, queueName, useFixture, waitForStats, type Json } from './fixture';

describe('server: task/ack with next', () => {
  const fx = useFixture();

  it('acks, routes the result and leases the next ready task in one answer', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'an-worker');
    const queue = queueName('an');
    const results = queueName('an-results');
    const { ids } = await call(worker, 'queue/put', { queue, tasks: [{ payload: 'a', replyTo: results }, { payload: 'b' }] });
    const [first] = (await call(worker, 'queue/get', { queue, timeout: 0 })).tasks;
    const answer = await call(worker, 'task/ack', { acks: [{ id: first.id, result: 'a done' }], next: { queue, timeout: 0 } });
    assert.equal(answer.acked, 1);
    assert.deepEqual(
      answer.tasks.map((t: Json) => [t.id, t.payload, t.attempt, typeof t.leaseUntil]),
      [[ids[1], 'b', 1, 'string']],
    );
    const stats = await call(worker, 'queue/stats', { queue });
    assert.deepEqual([stats.ready, stats.leased, stats.totals.acked], [0, 1, 1]);
    assert.deepEqual((await call(worker, 'queue/get', { queue: results, timeout: 0, autoAck: true })).tasks[0].payload, { taskId: ids[0], result: 'a done' });
    // The task taken by next is this session's: it acks like any other.
    assert.deepEqual(await call(worker, 'task/ack', { acks: [{ id: ids[1] }] }), { acked: 1 });
  });

  it('answers {acked, tasks: []} with timeout 0 on an empty queue, and takes up to next.max', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'an-max');
    const queue = queueName('an-max');
    await call(worker, 'queue/put', { queue, tasks: [1, 2, 3, 4].map((payload) => ({ payload })) });
    const [task] = (await call(worker, 'queue/get', { queue, timeout: 0 })).tasks;
    const three = await call(worker, 'task/ack', { acks: [{ id: task.id }], next: { queue, max: 5, timeout: 0 } });
    assert.deepEqual(
      three.tasks.map((t: Json) => t.payload),
      [2, 3, 4],
    );
    const none = await call(worker, 'task/ack', { acks: three.tasks.map((t: Json) => ({ id: t.id })), next: { queue, timeout: 0 } });
    assert.deepEqual(none, { acked: 3, tasks: [] });
  });

  it('waits for the next task when none is ready, and a put from another connection serves it', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'an-wait');
    const producer = await fx.connect(port, 'an-producer');
    const queue = queueName('an-wait');
    await call(producer, 'queue/put', { queue, tasks: [{ payload: 'first' }] });
    const [task] = (await call(worker, 'queue/get', { queue, timeout: 0 })).tasks;
    const ackId = worker.send('task/ack', { acks: [{ id: task.id }], next: { queue, timeout: 10 } });
    // The ack is applied before the wait: the queue shows it done and the worker waiting.
    const stats = await waitForStats(producer, queue, (s) => s.waitingGetters === 1, 'the ack to wait for its next task');
    assert.deepEqual([stats.leased, stats.totals.acked], [0, 1]);
    const { ids } = await call(producer, 'queue/put', { queue, tasks: [{ payload: 'second' }] });
    const answer = expectResult('task/ack', await worker.waitFor((m) => m.id === ackId));
    assert.equal(answer.acked, 1);
    assert.deepEqual([answer.tasks[0].id, answer.tasks[0].payload], [ids[0], 'second']);
  });

  it('answers the acks with no tasks when its wait times out or is cancelled (not -32800)', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'an-cancel');
    const queue = queueName('an-cancel');
    await call(worker, 'queue/put', { queue, tasks: [{ payload: 1 }, { payload: 2 }] });
    const got = (await call(worker, 'queue/get', { queue, max: 2, timeout: 0 })).tasks;
    assert.deepEqual(await call(worker, 'task/ack', { acks: [{ id: got[0].id }], next: { queue, timeout: 0.2 } }), { acked: 1, tasks: [] });
    const ackId = worker.send('task/ack', { acks: [{ id: got[1].id }], next: { queue } });
    await waitForStats(worker, queue, (s) => s.waitingGetters === 1, 'the ack to wait');
    worker.notify('$/cancelRequest', { id: ackId });
    assert.deepEqual(expectResult('task/ack', await worker.waitFor((m) => m.id === ackId)), { acked: 1, tasks: [] });
    const stats = await waitForStats(worker, queue, (s) => s.waitingGetters === 0, 'the wait to be withdrawn');
    assert.deepEqual([stats.leased, stats.totals.acked], [0, 2]);
  });

  it('applies nothing when an ack is not held (1003), and takes no task', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'an-1003');
    const queue = queueName('an-1003');
    await call(worker, 'queue/put', { queue, tasks: [{ payload: 1 }, { payload: 2 }] });
    const [task] = (await call(worker, 'queue/get', { queue, timeout: 0 })).tasks;
    const refused = await worker.request('task/ack', { acks: [{ id: task.id }, { id: 'no-such-task' }], next: { queue, timeout: 0 } });
    expectError(refused, 1003, /^unknown or expired lease: /, { reason: 'lease_unknown', ids: ['no-such-task'] });
    const stats = await call(worker, 'queue/stats', { queue });
    assert.deepEqual([stats.ready, stats.leased, stats.totals.acked], [1, 1, 0]);
  });

  it('checks next before applying the acks: a bad next is -32602, a max above maxBatch 1005, an unknown queue 1001', async () => {
    const { port } = await fx.server({ autoCreateQueues: false, limits: { maxBatch: 10 } });
    const worker = await fx.connect(port, 'an-checks');
    const queue = queueName('an-checks');
    await call(worker, 'queue/declare', { queue });
    await call(worker, 'queue/put', { queue, tasks: [{ payload: 1 }] });
    const [task] = (await call(worker, 'queue/get', { queue, timeout: 0 })).tasks;
    const acks = [{ id: task.id }];
    expectError(await worker.request('task/ack', { acks, next: { queue, max: 0 } }), -32602, 'invalid params: "next/max" must be >= 1', { field: '/next/max' });
    expectError(await worker.request('task/ack', { acks, next: { max: 1 } }), -32602, 'invalid params: missing required field "next/queue"');
    expectError(await worker.request('task/ack', { acks, next: { queue, max: 11 } }), 1005, 'limit exceeded: 11 tasks asked for in one request, the limit is 10', { limit: 'maxBatch', max: 10 });
    expectError(await worker.request('task/ack', { acks, next: { queue: 'an-no-such-queue', timeout: 0 } }), 1001, 'queue not found: queue "an-no-such-queue" does not exist', {
      reason: 'queue_not_found',
      queue: 'an-no-such-queue',
    });
    const stats = await call(worker, 'queue/stats', { queue });
    assert.deepEqual([stats.leased, stats.totals.acked], [1, 0], 'a refused ack with next changed something');
    assert.deepEqual(await call(worker, 'task/ack', { acks, next: { queue, timeout: 0 } }), { acked: 1, tasks: [] });
  });

  it('gives the next task back when the connection closes before it is answered', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'an-close');
    const other = await fx.connect(port, 'an-other');
    const queue = queueName('an-close');
    await call(worker, 'queue/put', { queue, tasks: [{ payload: 1 }] });
    const [task] = (await call(worker, 'queue/get', { queue, timeout: 0 })).tasks;
    worker.send('task/ack', { acks: [{ id: task.id }], next: { queue } });
    await waitForStats(other, queue, (s) => s.waitingGetters === 1, 'the ack to wait');
    worker.close();
    await waitForStats(other, queue, (s) => s.waitingGetters === 0, 'the closed connection to stop waiting');
    const { ids } = await call(other, 'queue/put', { queue, tasks: [{ payload: 2 }] });
    const got = await call(other, 'queue/get', { queue, timeout: 0 });
    assert.deepEqual([got.tasks[0].id, got.tasks[0].attempt], [ids[0], 1], 'the task went to the live connection');
    assert.equal((await call(other, 'queue/stats', { queue })).totals.acked, 1, 'the ack stands');
  });
});
