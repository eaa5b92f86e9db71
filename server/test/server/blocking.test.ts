// Blocking queue/get, queue/put and queue/join across connections, their timeouts, and
// $/cancelRequest; a waiter whose connection dies never swallows a task.
import { strict as assert } from 'node:assert';
import { call, expectError, expectResult, expectServes, queueName, unconsumed, useFixture, waitForStats, type Json } from './fixture';

describe('server: blocking requests and cancellation', () => {
  const fx = useFixture();

  it('serves a blocked get with a later put from another connection', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'b-worker');
    const producer = await fx.connect(port, 'b-producer');
    const queue = queueName('b-get');
    const getId = worker.send('queue/get', { queue });
    await waitForStats(producer, queue, (s) => s.waitingGetters === 1, 'the getter to wait');
    // A blocked request does not block the connection.
    await expectServes(worker);
    const { ids } = await call(producer, 'queue/put', { queue, tasks: [{ payload: { job: 1 } }] });
    const got = expectResult('queue/get', await worker.waitFor((m) => m.id === getId));
    assert.equal(got.tasks.length, 1);
    assert.deepEqual([got.tasks[0].id, got.tasks[0].attempt, got.tasks[0].payload], [ids[0], 1, { job: 1 }]);
    assert.deepEqual(await call(worker, 'task/ack', { acks: [{ id: ids[0] }] }), { acked: 1 });
  });

  it('refuses a request that reuses the id of a blocked one, and keeps the first cancellable', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'b-dup');
    const queue = queueName('b-dup');
    worker.write(JSON.stringify({ jsonrpc: '2.0', id: 'dup', method: 'queue/get', params: { queue } }) + '\n');
    await waitForStats(worker, queue, (s) => s.waitingGetters === 1, 'the getter to wait');
    worker.write(JSON.stringify({ jsonrpc: '2.0', id: 'dup', method: 'queue/get', params: { queue } }) + '\n');
    expectError(await worker.waitFor((m) => m.id === 'dup'), -32600, /^invalid request: id "dup" is already used by a request that has not been answered$/);
    worker.notify('$/cancelRequest', { id: 'dup' });
    expectError(await worker.waitFor((m) => m.id === 'dup'), -32800, /^request cancelled$/);
    await waitForStats(worker, queue, (s) => s.waitingGetters === 0, 'the getter to be withdrawn');
    await expectServes(worker);
  });

  it('serves blocked getters first come, first served', async () => {
    const { port } = await fx.server();
    const first = await fx.connect(port, 'b-first');
    const second = await fx.connect(port, 'b-second');
    const producer = await fx.connect(port, 'b-producer');
    const queue = queueName('b-fifo');
    const firstId = first.send('queue/get', { queue, timeout: 5 });
    await waitForStats(producer, queue, (s) => s.waitingGetters === 1);
    const secondId = second.send('queue/get', { queue, timeout: 5 });
    await waitForStats(producer, queue, (s) => s.waitingGetters === 2);
    await call(producer, 'queue/put', { queue, tasks: [{ payload: 'a' }] });
    assert.equal(expectResult('queue/get', await first.waitFor((m) => m.id === firstId)).tasks[0].payload, 'a');
    await call(producer, 'queue/put', { queue, tasks: [{ payload: 'b' }] });
    assert.equal(expectResult('queue/get', await second.waitFor((m) => m.id === secondId)).tasks[0].payload, 'b');
  });

  it('answers {tasks: []} when a get times out, and at once with timeout 0', async () => {
    const { port } = await fx.server();
    const raw = await fx.connect(port, 'b-timeout');
    const queue = queueName('b-timeout');
    const started = Date.now();
    assert.deepEqual(await call(raw, 'queue/get', { queue, timeout: 0.2 }), { tasks: [] });
    assert.ok(Date.now() - started >= 150, 'the get waited for its timeout');
    assert.deepEqual(await call(raw, 'queue/get', { queue, timeout: 0 }), { tasks: [] });
    assert.equal((await call(raw, 'queue/stats', { queue })).waitingGetters, 0);
  });

  it('returns up to max ready tasks, as soon as one is ready', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'b-max');
    const producer = await fx.connect(port, 'b-producer');
    const queue = queueName('b-max');
    await call(producer, 'queue/put', { queue, tasks: [1, 2, 3].map((payload) => ({ payload })) });
    const first = await call(worker, 'queue/get', { queue, max: 5, timeout: 0 });
    assert.deepEqual(
      first.tasks.map((t: Json) => t.payload),
      [1, 2, 3],
    );
    // Blocked with max 5: a put of two answers with both; the get does not wait for five.
    const getId = worker.send('queue/get', { queue, max: 5, timeout: 5 });
    await waitForStats(producer, queue, (s) => s.waitingGetters === 1);
    await call(producer, 'queue/put', { queue, tasks: [{ payload: 4 }, { payload: 5 }] });
    const second = expectResult('queue/get', await worker.waitFor((m) => m.id === getId));
    assert.deepEqual(
      second.tasks.map((t: Json) => t.payload),
      [4, 5],
    );
    const stats = await call(producer, 'queue/stats', { queue });
    assert.deepEqual([stats.ready, stats.leased], [0, 5]);
  });

  it('cancels a blocked get with $/cancelRequest: -32800, and the getter takes nothing', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const worker = await fx.connect(port, 'b-cancel-get');
    const queue = queueName('b-cancel-get');
    const getId = worker.send('queue/get', { queue });
    await waitForStats(bystander, queue, (s) => s.waitingGetters === 1);
    worker.notify('$/cancelRequest', { id: getId });
    expectError(await worker.waitFor((m) => m.id === getId), -32800, 'request cancelled');
    assert.equal((await call(bystander, 'queue/stats', { queue })).waitingGetters, 0);
    await call(bystander, 'queue/put', { queue, tasks: [{ payload: 'kept' }] });
    const stats = await call(bystander, 'queue/stats', { queue });
    assert.deepEqual([stats.ready, stats.leased], [1, 0], 'the cancelled getter took nothing');
    // No second answer comes for the cancelled request.
    assert.deepEqual(await unconsumed(worker), []);
    await expectServes(worker);
    await expectServes(bystander);
  });

  it('cancels a blocked put with $/cancelRequest: -32800, and nothing is enqueued', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const producer = await fx.connect(port, 'b-cancel-put');
    const queue = queueName('b-cancel-put');
    await call(producer, 'queue/declare', { queue, maxsize: 1 });
    await call(producer, 'queue/put', { queue, tasks: [{ payload: 'first' }] });
    const putId = producer.send('queue/put', { queue, tasks: [{ payload: 'second' }] });
    await waitForStats(bystander, queue, (s) => s.waitingPutters === 1);
    producer.notify('$/cancelRequest', { id: putId });
    expectError(await producer.waitFor((m) => m.id === putId), -32800, 'request cancelled');
    // Room appears later: the cancelled put must not sneak in.
    const { tasks } = await call(bystander, 'queue/get', { queue, timeout: 0 });
    await call(bystander, 'task/ack', { acks: [{ id: tasks[0].id }] });
    const stats = await call(bystander, 'queue/stats', { queue });
    assert.deepEqual([stats.ready, stats.waitingPutters, stats.totals.put], [0, 0, 1]);
    assert.deepEqual(await unconsumed(producer), []);
    await expectServes(bystander);
  });

  it('cancels a blocked join with $/cancelRequest: -32800', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.connect(port, 'b-cancel-join');
    const queue = queueName('b-cancel-join');
    await call(raw, 'queue/put', { queue, tasks: [{ payload: 1 }] });
    const joinId = raw.send('queue/join', { queue });
    await call(raw, 'session/ping');
    raw.notify('$/cancelRequest', { id: joinId });
    expectError(await raw.waitFor((m) => m.id === joinId), -32800, 'request cancelled');
    await call(raw, 'queue/purge', { queue });
    assert.deepEqual(await unconsumed(raw), [], 'the cancelled join does not answer when the queue empties');
    await expectServes(bystander);
  });

  it('cancels by string id, and ignores cancels of unknown or finished requests', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.connect(port, 'b-cancel-misc');
    const queue = queueName('b-cancel-misc');
    raw.write(JSON.stringify({ jsonrpc: '2.0', id: 'get-1', method: 'queue/get', params: { queue } }) + '\n');
    await waitForStats(raw, queue, (s) => s.waitingGetters === 1);
    raw.notify('$/cancelRequest', { id: 'get-1' });
    expectError(await raw.waitFor((m) => m.id === 'get-1'), -32800, 'request cancelled');
    raw.notify('$/cancelRequest', { id: 'get-1' });
    raw.notify('$/cancelRequest', { id: 424242 });
    raw.notify('$/cancelRequest', { nonsense: true });
    raw.notify('$/cancelRequest', null);
    const done = await call(raw, 'queue/get', { queue, timeout: 0 });
    assert.deepEqual(done, { tasks: [] });
    assert.deepEqual(await unconsumed(raw), []);
    await expectServes(bystander);
  });

  it('unblocks a put on a full queue when another connection acks', async () => {
    const { port } = await fx.server();
    const producer = await fx.connect(port, 'b-producer');
    const worker = await fx.connect(port, 'b-worker');
    const queue = queueName('b-full');
    await call(producer, 'queue/declare', { queue, maxsize: 1 });
    await call(producer, 'queue/put', { queue, tasks: [{ payload: 'first' }] });
    const { tasks } = await call(worker, 'queue/get', { queue, timeout: 0 });
    const putId = producer.send('queue/put', { queue, tasks: [{ payload: 'second' }] });
    await waitForStats(worker, queue, (s) => s.waitingPutters === 1, 'the putter to wait');
    // A leased task still counts against maxsize.
    assert.deepEqual(await unconsumed(producer), []);
    await call(worker, 'task/ack', { acks: [{ id: tasks[0].id }] });
    const put = expectResult('queue/put', await producer.waitFor((m) => m.id === putId));
    assert.equal(put.ids.length, 1);
    const next = await call(worker, 'queue/get', { queue, timeout: 0 });
    assert.equal(next.tasks[0].payload, 'second');
  });

  it('resolves join after the last ack, and join with a timeout on a busy queue answers done: false', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'b-worker');
    const waiter = await fx.connect(port, 'b-joiner');
    const queue = queueName('b-join');
    await call(worker, 'queue/put', { queue, tasks: [{ payload: 1 }, { payload: 2 }] });
    const { tasks } = await call(worker, 'queue/get', { queue, max: 2, timeout: 0 });
    assert.deepEqual(await call(waiter, 'queue/join', { queue, timeout: 0.1 }), { done: false });
    const joinId = waiter.send('queue/join', { queue });
    await call(worker, 'task/ack', { acks: [{ id: tasks[0].id }] });
    assert.deepEqual(await unconsumed(waiter), [], 'one task is still leased: join waits');
    await call(worker, 'task/ack', { acks: [{ id: tasks[1].id }] });
    assert.deepEqual(expectResult('queue/join', await waiter.waitFor((m) => m.id === joinId)), { done: true });
  });

  it('never lets a waiter whose connection died swallow a task', async () => {
    const { port } = await fx.server();
    const producer = await fx.connect(port, 'b-producer');
    const doomed = await fx.connect(port, 'b-doomed');
    const survivor = await fx.connect(port, 'b-survivor');
    const queue = queueName('b-doomed');
    doomed.send('queue/get', { queue });
    await waitForStats(producer, queue, (s) => s.waitingGetters === 1);
    const survivorId = survivor.send('queue/get', { queue, timeout: 5 });
    await waitForStats(producer, queue, (s) => s.waitingGetters === 2);
    doomed.close();
    await waitForStats(producer, queue, (s) => s.waitingGetters === 1, 'the dead getter to be withdrawn');
    const { ids } = await call(producer, 'queue/put', { queue, tasks: [{ payload: 'precious' }] });
    const got = expectResult('queue/get', await survivor.waitFor((m) => m.id === survivorId));
    assert.deepEqual([got.tasks[0].id, got.tasks[0].attempt, got.tasks[0].payload], [ids[0], 1, 'precious']);
    const stats = await call(producer, 'queue/stats', { queue });
    assert.deepEqual([stats.ready, stats.leased, stats.totals.expired], [0, 1, 0]);
  });

  it('withdraws a blocked put whose connection closes: it never goes in, and the next putter does', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, 'b-worker');
    const doomed = await fx.connect(port, 'b-doomed-producer');
    const patient = await fx.connect(port, 'b-patient-producer');
    const queue = queueName('b-doomed-put');
    await call(worker, 'queue/declare', { queue, maxsize: 1 });
    await call(worker, 'queue/put', { queue, tasks: [{ payload: 'first' }] });
    doomed.send('queue/put', { queue, tasks: [{ payload: 'ghost' }] });
    await waitForStats(worker, queue, (s) => s.waitingPutters === 1);
    const patientId = patient.send('queue/put', { queue, tasks: [{ payload: 'second' }], timeout: 5 });
    await waitForStats(worker, queue, (s) => s.waitingPutters === 2);
    doomed.close();
    await waitForStats(worker, queue, (s) => s.waitingPutters === 1, 'the dead putter to be withdrawn');
    const { tasks } = await call(worker, 'queue/get', { queue, timeout: 0 });
    await call(worker, 'task/ack', { acks: [{ id: tasks[0].id }] });
    expectResult('queue/put', await patient.waitFor((m) => m.id === patientId));
    const next = await call(worker, 'queue/peek', { queue, max: 5 });
    assert.deepEqual(
      next.tasks.map((t: Json) => t.payload),
      ['second'],
    );
  });

  it('loses no task when the getter dies at the same moment the task arrives', async () => {
    const { port } = await fx.server();
    const producer = await fx.connect(port, 'b-producer');
    const queues: string[] = [];
    for (let round = 0; round < 5; round++) {
      const queue = queueName('b-race');
      queues.push(queue);
      const doomed = await fx.connect(port, `b-doomed-${round}`);
      doomed.send('queue/get', { queue });
      await waitForStats(producer, queue, (s) => s.waitingGetters === 1);
      // No waiting for the server to notice: the put may reach the dead getter first,
      // and then the lease comes back when the close is seen.
      doomed.close();
      await call(producer, 'queue/put', { queue, tasks: [{ payload: round }] });
    }
    for (const [round, queue] of queues.entries()) {
      await waitForStats(producer, queue, (s) => s.leased === 0 && s.ready === 1, `the task of round ${round} back in its queue`);
      const { tasks } = await call(producer, 'queue/get', { queue, timeout: 0 });
      assert.equal(tasks[0].payload, round);
      assert.ok(tasks[0].attempt === 1 || tasks[0].attempt === 2, `attempt ${tasks[0].attempt}`);
    }
  });
});
