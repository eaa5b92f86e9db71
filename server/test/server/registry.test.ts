// manager/clients: the worker registry as a monitor sees it over the wire.
import { strict as assert } from 'node:assert';
import { call, queueName, useFixture, waitForStats, type Json, type RawConnection } from './fixture';

async function entry(monitor: RawConnection, name: string): Promise<Json> {
  const { clients } = await call(monitor, 'manager/clients');
  return clients.find((c: Json) => c.name === name);
}

describe('server: worker registry', () => {
  const fx = useFixture();

  it('shows who is connected, and counts that change as a worker works', async () => {
    const { port } = await fx.server();
    const monitor = await fx.connect(port, { name: 'r-monitor', role: 'monitor' });
    const before = Date.now();
    const worker = await fx.connect(port, {
      name: 'r-worker-1',
      version: '2.1.0',
      role: 'worker',
      language: 'python',
      host: 'render-box-7',
      pid: 4242,
      labels: { zone: 'eu-1', gpu: 'yes' },
    });
    const queue = queueName('r-jobs');

    let info = await entry(monitor, 'r-worker-1');
    assert.ok(info, 'the worker is listed');
    assert.deepEqual(
      { name: info.name, version: info.version, role: info.role, language: info.language, host: info.host, pid: info.pid, labels: info.labels },
      { name: 'r-worker-1', version: '2.1.0', role: 'worker', language: 'python', host: 'render-box-7', pid: 4242, labels: { zone: 'eu-1', gpu: 'yes' } },
    );
    assert.equal(info.address, `127.0.0.1:${worker.socket.localPort}`);
    assert.ok(Date.parse(info.connectedAt) >= before - 1000);
    assert.ok(Date.parse(info.lastSeenAt) >= Date.parse(info.connectedAt));
    assert.deepEqual([info.leased, info.acked, info.nacked], [0, 0, 0]);
    const monitorInfo = await entry(monitor, 'r-monitor');
    assert.equal(monitorInfo.role, 'monitor');
    assert.equal(monitorInfo.language, undefined, 'fields the client did not give are absent');
    assert.notEqual(monitorInfo.sessionId, info.sessionId);

    await call(monitor, 'queue/put', { queue, tasks: [1, 2, 3].map((payload) => ({ payload })) });
    const { tasks } = await call(worker, 'queue/get', { queue, max: 3, timeout: 0 });
    info = await entry(monitor, 'r-worker-1');
    assert.deepEqual([info.leased, info.acked, info.nacked], [3, 0, 0]);

    await call(worker, 'task/ack', { acks: [{ id: tasks[0].id }, { id: tasks[1].id }] });
    info = await entry(monitor, 'r-worker-1');
    assert.deepEqual([info.leased, info.acked, info.nacked], [1, 2, 0]);

    await call(worker, 'task/nack', { nacks: [{ id: tasks[2].id, delay: 0 }] });
    info = await entry(monitor, 'r-worker-1');
    assert.deepEqual([info.leased, info.acked, info.nacked], [0, 2, 1]);
    assert.ok(Date.parse(info.lastSeenAt) >= Date.parse(info.connectedAt));

    // A failed ack counts for nothing.
    await worker.request('task/ack', { acks: [{ id: 'nope' }] });
    info = await entry(monitor, 'r-worker-1');
    assert.deepEqual([info.leased, info.acked, info.nacked], [0, 2, 1]);

    worker.close();
    const deadline = Date.now() + 5000;
    while ((await entry(monitor, 'r-worker-1')) !== undefined) {
      assert.ok(Date.now() < deadline, 'the disconnected worker disappears');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // What it held went back to the queue.
    await waitForStats(monitor, queue, (s) => s.leased === 0);
  });

  it('lists only authenticated connections, and each with its own session', async () => {
    const { port } = await fx.server();
    const monitor = await fx.connect(port, { name: 'r-monitor', role: 'monitor' });
    const pending = await fx.open(port);
    pending.send('session/hello', { protocolVersions: ['2026-11'], nonce: Buffer.alloc(32, 1).toString('base64'), client: { name: 'r-pending' } });
    await pending.waitFor((m) => m.id !== undefined);
    const a = await fx.connect(port, 'r-same-name');
    const b = await fx.connect(port, 'r-same-name');
    const { clients } = await call(monitor, 'manager/clients');
    assert.deepEqual(clients.map((c: Json) => c.name).sort(), ['r-monitor', 'r-same-name', 'r-same-name']);
    const same = clients.filter((c: Json) => c.name === 'r-same-name');
    assert.notEqual(same[0].sessionId, same[1].sessionId);
    assert.deepEqual(same.map((c: Json) => c.address).sort(), [`127.0.0.1:${a.socket.localPort}`, `127.0.0.1:${b.socket.localPort}`].sort());
    assert.ok(
      same.every((c: Json) => c.role === 'worker'),
      'role defaults to worker',
    );
  });
});
