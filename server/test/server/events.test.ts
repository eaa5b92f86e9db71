// events/subscribe over the wire: every kind of event, its filters and payload option,
// unsubscribe, and the rule that events are observations, never deliveries.
import { strict as assert } from 'node:assert';
import { call, drainEvents, expectServes, nextEvent, queueName, unconsumed, useFixture, waitForStats, type Json } from './fixture';

describe('server: events', () => {
  const fx = useFixture();

  it('reports put, get, ack with result, nack, expired, dead, purge and client events', async () => {
    const { port } = await fx.server();
    const monitor = await fx.connect(port, { name: 'e-monitor', role: 'monitor' });
    const queue = queueName('e-jobs');
    const results = queueName('e-results');
    const { subscription } = await call(monitor, 'events/subscribe', { includePayload: true });

    const worker = await fx.connect(port, { name: 'e-worker', role: 'worker', language: 'python' });
    const connected = await nextEvent(monitor, (e) => e.kind === 'client-connected');
    assert.equal(connected.subscription, subscription);
    assert.deepEqual([connected.client.name, connected.client.role], ['e-worker', 'worker']);
    assert.match(connected.client.address, /^127\.0\.0\.1:\d+$/);
    assert.equal(connected.client.address, `127.0.0.1:${worker.socket.localPort}`);
    const workerSession = connected.client.sessionId;
    assert.equal(connected.queue, undefined);

    const producer = await fx.connect(port, { name: 'e-producer', role: 'producer' });
    await nextEvent(monitor, (e) => e.kind === 'client-connected' && e.client.name === 'e-producer');
    await call(producer, 'queue/declare', { queue, maxAttempts: 2 });
    const { ids } = await call(producer, 'queue/put', { queue, tasks: [{ payload: { n: 1 }, replyTo: results }, { payload: { n: 2 } }, { payload: { n: 3 } }] });

    const put = await nextEvent(monitor, (e) => e.kind === 'put' && e.taskId === ids[0]);
    assert.deepEqual([put.queue, put.attempt, put.payload, put.client.name, put.client.role], [queue, 1, { n: 1 }, 'e-producer', 'producer']);
    assert.match(put.at, /^\d{4}-\d\d-\d\dT/);

    // get, then ack with a result (which also puts the reply).
    await call(worker, 'queue/get', { queue, timeout: 0 });
    const get = await nextEvent(monitor, (e) => e.kind === 'get');
    assert.deepEqual([get.queue, get.taskId, get.attempt, get.payload, get.client.sessionId], [queue, ids[0], 1, { n: 1 }, workerSession]);
    await call(worker, 'task/ack', { acks: [{ id: ids[0], result: { ok: true } }] });
    const ack = await nextEvent(monitor, (e) => e.kind === 'ack');
    assert.deepEqual([ack.queue, ack.taskId, ack.result, ack.client.name], [queue, ids[0], { ok: true }, 'e-worker']);
    const reply = await nextEvent(monitor, (e) => e.kind === 'put' && e.queue === results);
    assert.deepEqual(reply.payload, { taskId: ids[0], result: { ok: true } });

    // nack, then lose the lease (expired), then dead-letter on the last attempt.
    await call(worker, 'queue/get', { queue, timeout: 0 });
    await call(worker, 'task/nack', { nacks: [{ id: ids[1], error: 'boom', delay: 0 }] });
    const nack = await nextEvent(monitor, (e) => e.kind === 'nack');
    assert.deepEqual([nack.taskId, nack.attempt, nack.error, nack.client.name], [ids[1], 1, 'boom', 'e-worker']);
    // ids[1] went back behind ids[2]; lease both briefly and let both leases expire.
    const both = await call(worker, 'queue/get', { queue, max: 2, ttr: 0.1, timeout: 0 });
    assert.deepEqual(
      both.tasks.map((t: Json) => [t.id, t.attempt]),
      [
        [ids[2], 1],
        [ids[1], 2],
      ],
    );
    const expired = [await nextEvent(monitor, (e) => e.kind === 'expired'), await nextEvent(monitor, (e) => e.kind === 'expired')];
    assert.deepEqual(
      expired.map((e) => [e.queue, e.taskId, e.error, e.client?.name]).sort(),
      [
        [queue, ids[1], 'lease expired', 'e-worker'],
        [queue, ids[2], 'lease expired', 'e-worker'],
      ].sort(),
    );
    // ids[1] expired on its last attempt (maxAttempts 2): dead-lettered, with its payload and last error.
    const dead = await nextEvent(monitor, (e) => e.kind === 'dead');
    assert.deepEqual([dead.queue, dead.taskId, dead.attempt, dead.payload, dead.error], [queue, ids[1], 2, { n: 2 }, 'boom']);

    // purge of what is left.
    const left = (await call(producer, 'queue/stats', { queue })).ready;
    assert.equal(left, 1, 'ids[2] came back after its lease expired');
    await call(producer, 'queue/purge', { queue });
    const purge = await nextEvent(monitor, (e) => e.kind === 'purge');
    assert.deepEqual([purge.queue, purge.count, purge.client.name], [queue, left, 'e-producer']);

    worker.close();
    const gone = await nextEvent(monitor, (e) => e.kind === 'client-disconnected');
    assert.deepEqual([gone.client.sessionId, gone.client.name, gone.client.role], [workerSession, 'e-worker', 'worker']);
    await expectServes(producer);
  });

  it('leaves payloads out unless includePayload, but always carries ack results', async () => {
    const { port } = await fx.server();
    const monitor = await fx.connect(port, 'e-monitor');
    const worker = await fx.connect(port, 'e-worker');
    const queue = queueName('e-nopayload');
    await call(monitor, 'events/subscribe', { queues: [queue] });
    const { ids } = await call(worker, 'queue/put', { queue, tasks: [{ payload: 'secret' }] });
    await call(worker, 'queue/get', { queue, timeout: 0 });
    await call(worker, 'task/ack', { acks: [{ id: ids[0], result: 'answer' }] });
    const put = await nextEvent(monitor, (e) => e.kind === 'put');
    const get = await nextEvent(monitor, (e) => e.kind === 'get');
    const ack = await nextEvent(monitor, (e) => e.kind === 'ack');
    assert.equal(put.payload, undefined);
    assert.equal(get.payload, undefined);
    assert.equal(ack.result, 'answer');
  });

  it('filters by queue (client events always pass) and by kind', async () => {
    const { port } = await fx.server();
    const byQueue = await fx.connect(port, 'e-by-queue');
    const byKind = await fx.connect(port, 'e-by-kind');
    const producer = await fx.connect(port, 'e-producer');
    const watched = queueName('e-watched');
    const other = queueName('e-other');
    await call(byQueue, 'events/subscribe', { queues: [watched] });
    await call(byKind, 'events/subscribe', { kinds: ['ack'] });
    await call(producer, 'queue/put', { queue: other, tasks: [{ payload: 1 }] });
    const { ids } = await call(producer, 'queue/put', { queue: watched, tasks: [{ payload: 2 }] });
    await call(producer, 'queue/get', { queue: watched, timeout: 0 });
    await call(producer, 'task/ack', { acks: [{ id: ids[0] }] });
    const late = await fx.connect(port, 'e-late');

    const seenByQueue = await drainEvents(byQueue);
    assert.deepEqual(
      seenByQueue.map((e) => [e.kind, e.queue ?? e.client?.name]),
      [
        ['put', watched],
        ['get', watched],
        ['ack', watched],
        ['client-connected', 'e-late'],
      ],
    );
    const seenByKind = await drainEvents(byKind);
    assert.deepEqual(
      seenByKind.map((e) => [e.kind, e.taskId]),
      [['ack', ids[0]]],
    );
    late.close();
  });

  it('stops events after unsubscribe; other subscriptions go on', async () => {
    const { port } = await fx.server();
    const monitor = await fx.connect(port, 'e-monitor');
    const producer = await fx.connect(port, 'e-producer');
    const queue = queueName('e-unsub');
    const a = (await call(monitor, 'events/subscribe', { kinds: ['put'] })).subscription;
    const b = (await call(monitor, 'events/subscribe', { kinds: ['put'], queues: [queue] })).subscription;
    assert.notEqual(a, b);
    await call(producer, 'queue/put', { queue, tasks: [{ payload: 1 }] });
    const first = (await drainEvents(monitor)).map((e) => e.subscription);
    assert.deepEqual(first.sort(), [a, b].sort(), 'each subscription gets its own copy');

    assert.deepEqual(await call(monitor, 'events/unsubscribe', { subscription: a }), {});
    await call(producer, 'queue/put', { queue, tasks: [{ payload: 2 }] });
    assert.deepEqual(
      (await drainEvents(monitor)).map((e) => e.subscription),
      [b],
    );
    await call(monitor, 'events/unsubscribe', { subscription: b });
    await call(producer, 'queue/put', { queue, tasks: [{ payload: 3 }] });
    assert.deepEqual(await unconsumed(monitor), []);
  });

  it('never takes a task: a subscriber only observes', async () => {
    const { port } = await fx.server();
    const monitor = await fx.connect(port, 'e-monitor');
    const producer = await fx.connect(port, 'e-producer');
    const worker = await fx.connect(port, 'e-worker');
    const queue = queueName('e-observe');
    await call(monitor, 'events/subscribe', { includePayload: true });
    const getId = worker.send('queue/get', { queue, timeout: 5 });
    await waitForStats(producer, queue, (s) => s.waitingGetters === 1);
    const { ids } = await call(producer, 'queue/put', { queue, tasks: [{ payload: 'mine' }] });
    const got = await worker.waitFor((m) => m.id === getId);
    assert.deepEqual([(got.result as Json).tasks[0].id, (got.result as Json).tasks[0].attempt], [ids[0], 1]);
    const put = await nextEvent(monitor, (e) => e.kind === 'put' && e.taskId === ids[0]);
    assert.equal(put.payload, 'mine');
    const stats = await call(producer, 'queue/stats', { queue });
    assert.deepEqual([stats.ready, stats.leased], [0, 1]);
    // The monitor holds nothing, so it cannot ack.
    const { clients } = await call(monitor, 'manager/clients');
    assert.equal(clients.find((c: Json) => c.name === 'e-monitor').leased, 0);
  });

  it('forgets the subscriptions of a connection that closes', async () => {
    const { port } = await fx.server();
    const monitor = await fx.connect(port, 'e-monitor');
    const producer = await fx.connect(port, 'e-producer');
    const queue = queueName('e-closed');
    await call(monitor, 'events/subscribe', {});
    monitor.close();
    await call(producer, 'queue/put', { queue, tasks: [{ payload: 1 }] });
    await expectServes(producer);
  });
});
