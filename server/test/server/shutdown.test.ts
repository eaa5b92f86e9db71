// Graceful shutdown over the wire: manager/shutdown and server.shutdown() answer blocked
// requests with -32005, release leases, close every connection and stop accepting.
import { strict as assert } from 'node:assert';
import { connect as netConnect } from 'node:net';
import { call, expectError, expectResult, queueName, useFixture } from './fixture';

function connectError(port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error) => resolve(error));
  });
}

describe('server: shutdown', () => {
  const fx = useFixture();

  it('manager/shutdown answers {}, fails blocked requests with -32005, releases leases and closes everything', async () => {
    const { server, port } = await fx.server();
    const admin = await fx.connect(port, { name: 'sd-admin', role: 'monitor' });
    const getter = await fx.connect(port, 'sd-getter');
    const holder = await fx.connect(port, 'sd-holder');
    const pending = await fx.open(port); // has not even said hello
    const queue = queueName('sd-jobs');
    const empty = queueName('sd-empty');
    const { ids } = await call(holder, 'queue/put', { queue, tasks: [{ payload: 'held' }] });
    await call(holder, 'queue/get', { queue, timeout: 0 });
    const getId = getter.send('queue/get', { queue: empty });
    const joinId = holder.send('queue/join', { queue });
    await call(getter, 'session/ping');
    await call(holder, 'session/ping');

    expectResult('manager/shutdown', await admin.request('manager/shutdown', {}));
    expectError(await getter.waitFor((m) => m.id === getId), -32005, 'shutting down: the manager is stopping');
    expectError(await holder.waitFor((m) => m.id === joinId), -32005, 'shutting down: the manager is stopping');

    await Promise.all([admin.waitForClose(), getter.waitForClose(), holder.waitForClose(), pending.waitForClose()]);
    await server.shutdown();
    assert.equal(server.connectionCount, 0);

    // The lease went back: the task is ready again for whoever serves this engine next.
    const stats = server.queues.queueStats(queue);
    assert.deepEqual([stats.leased, stats.ready], [0, 1]);
    const [task] = server.queues.peek(queue, 1);
    assert.deepEqual([task?.id, task?.attempt], [ids[0], 2]);

    const error = await connectError(port);
    assert.equal(error?.code, 'ECONNREFUSED', 'no new connections are accepted');
  });

  it('answers requests that arrive after shutdown began with -32005', async () => {
    const { server, port } = await fx.server();
    const admin = await fx.connect(port, 'sd-admin');
    const queue = queueName('sd-late');
    await call(admin, 'queue/put', { queue, tasks: [{ payload: 1 }] });
    // Shutdown and two more requests in one write: the later ones find the manager stopping.
    admin.write(
      [
        { jsonrpc: '2.0', id: 'stop', method: 'manager/shutdown', params: {} },
        { jsonrpc: '2.0', id: 'late-put', method: 'queue/put', params: { queue, tasks: [{ payload: 2 }] } },
        { jsonrpc: '2.0', id: 'late-ping', method: 'session/ping', params: {} },
      ]
        .map((m) => JSON.stringify(m))
        .join('\n') + '\n',
    );
    expectResult('manager/shutdown', await admin.waitFor((m) => m.id === 'stop'));
    expectError(await admin.waitFor((m) => m.id === 'late-put'), -32005, 'shutting down: the manager accepts no new work');
    expectError(await admin.waitFor((m) => m.id === 'late-ping'), -32005, 'shutting down: the manager accepts no new work');
    await admin.waitForClose();
    await server.shutdown();
    assert.equal(server.queues.queueStats(queue).ready, 1, 'the late put was not applied');
  });

  it('server.shutdown() fails a blocked put with -32005 and resolves once every connection is closed', async () => {
    const { server, port } = await fx.server();
    const producer = await fx.connect(port, 'sd-producer');
    const greeted = await fx.open(port);
    greeted.send('session/hello', { protocolVersions: ['2026-11'], nonce: Buffer.alloc(32, 3).toString('base64'), client: { name: 'sd-greeted' } });
    await greeted.waitFor(() => true);
    const queue = queueName('sd-full');
    await call(producer, 'queue/declare', { queue, maxsize: 1 });
    await call(producer, 'queue/put', { queue, tasks: [{ payload: 1 }] });
    const putId = producer.send('queue/put', { queue, tasks: [{ payload: 2 }] });
    await call(producer, 'session/ping');

    const stopped = server.shutdown();
    assert.equal(server.shutdown(), stopped, 'shutdown is idempotent');
    expectError(await producer.waitFor((m) => m.id === putId), -32005, 'shutting down: the manager is stopping');
    await Promise.all([producer.waitForClose(), greeted.waitForClose()]);
    await stopped;
    assert.equal(server.queues.queueStats(queue).ready, 1, 'the blocked put never went in');
  });
});
