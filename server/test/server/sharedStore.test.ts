// Protocol 2026-12 on the wire (spec §7.18, §8.2): a store that cannot be reached is 1006 for
// sessions of 2026-12 and -32603 for sessions of 2026-11, on the same manager at the same time;
// hello's managerId and the `manager` of registry entries and events are sent to 2026-12
// sessions only. The queues are the real LocalQueues behind a backend that can lose its store
// (what a Redis backend reports while Redis is away), so the server's mapping is what is tested.
import { strict as assert } from 'node:assert';
import { OUTAGE, serverWithStore as startWithStore, type StoreBehindNetwork } from '../helpers/storeBehindNetwork';
import type { TaskwireServer } from '../../src/server/server';
import { call, expectError, expectResult, expectServes, nextEvent, PROTOCOL_VERSION, queueName, sendHello, SHARED_STORE_VERSION, useFixture, type RawConnection } from './fixture';

describe('server: protocol 2026-12 (several managers on one store)', () => {
  const fx = useFixture();

  const servers: TaskwireServer<StoreBehindNetwork>[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.shutdown()));
  });

  async function serverWithStore(): Promise<{ port: number; store: StoreBehindNetwork }> {
    const { server, port, store } = await startWithStore();
    servers.push(server);
    return { port, store };
  }

  const v2611 = [PROTOCOL_VERSION];
  const v2612 = [PROTOCOL_VERSION, SHARED_STORE_VERSION];

  it('negotiates 2026-12 when offered, 2026-11 when only it is offered; managerId only in 2026-12', async () => {
    const { port } = await serverWithStore();
    const both = expectResult('session/hello', (await sendHello(await fx.open(port), { name: 'both' }, [SHARED_STORE_VERSION, PROTOCOL_VERSION])).response);
    assert.equal(both.protocolVersion, SHARED_STORE_VERSION);
    assert.equal(both.managerId, 'm-test-7f3a', 'the backend gives the manager its id');
    const old = expectResult('session/hello', (await sendHello(await fx.open(port), { name: 'old' }, v2611)).response);
    assert.equal(old.protocolVersion, PROTOCOL_VERSION);
    assert.equal('managerId' in old, false, 'a 2026-11 session is not sent managerId');
  });

  it('mints a random manager id per process when the backend has none, the same in every session', async () => {
    const { port } = await fx.server();
    const a = expectResult('session/hello', (await sendHello(await fx.open(port), { name: 'a' }, v2612)).response);
    const b = expectResult('session/hello', (await sendHello(await fx.open(port), { name: 'b' }, v2612)).response);
    assert.match(a.managerId, /^m-[0-9a-f]{12}$/);
    assert.equal(b.managerId, a.managerId);
    const { port: otherPort } = await fx.server();
    const other = expectResult('session/hello', (await sendHello(await fx.open(otherPort), { name: 'c' }, v2612)).response);
    assert.notEqual(other.managerId, a.managerId, 'another manager, another id');
  });

  it('answers a store outage with 1006 to 2026-12 sessions and -32603 to 2026-11 sessions; both stay open and work again once the store is back', async () => {
    const { port, store } = await serverWithStore();
    const current = await fx.connect(port, 'current', undefined, v2612);
    const legacy = await fx.connect(port, 'legacy', undefined, v2611);
    const queue = queueName('outage');
    store.reachable = false;

    const put = { queue, tasks: [{ payload: 'image_url_0' }] };
    expectError(await current.request('queue/put', put), 1006, `store unavailable: ${OUTAGE}`, { reason: 'store_unavailable', retryAfter: 1.5 });
    const internal = expectError(await legacy.request('queue/put', put), -32603, `internal error: store unavailable: ${OUTAGE}`);
    assert.equal(internal.data, undefined, '-32603 carries no data (no reason, no retryAfter)');

    // The MaybePromise path (a promise that rejects) maps the same way.
    expectError(await current.request('queue/stats', { queue }), 1006, `store unavailable: ${OUTAGE}`, { reason: 'store_unavailable', retryAfter: 1.5 });
    expectError(await legacy.request('queue/peek', { queue }), -32603, `internal error: store unavailable: ${OUTAGE}`);

    // A failure of the request, not of the connection.
    assert.ok(await call(current, 'session/ping'));
    assert.ok(await call(legacy, 'session/ping'));
    store.reachable = true;
    const { ids } = await call(current, 'queue/put', put);
    assert.equal(ids.length, 1);
    assert.equal((await call(legacy, 'queue/stats', { queue })).ready, 1, 'the failed puts changed nothing; the later one counts');
    await expectServes(current);
    await expectServes(legacy);
  });

  it('answers an ack during an outage by version, and the lease is still held afterwards', async () => {
    const { port, store } = await serverWithStore();
    const current = await fx.connect(port, 'current-worker', undefined, v2612);
    const legacy = await fx.connect(port, 'legacy-worker', undefined, v2611);
    const queue = queueName('acks');
    await call(current, 'queue/put', { queue, tasks: [{ payload: 1 }, { payload: 2 }] });
    const [first] = (await call(current, 'queue/get', { queue })).tasks;
    const [second] = (await call(legacy, 'queue/get', { queue })).tasks;
    store.reachable = false;
    expectError(await current.request('task/ack', { acks: [{ id: first.id }] }), 1006, `store unavailable: ${OUTAGE}`, { reason: 'store_unavailable' });
    expectError(await legacy.request('task/nack', { nacks: [{ id: second.id }] }), -32603, `internal error: store unavailable: ${OUTAGE}`);
    store.reachable = true;
    assert.deepEqual(await call(current, 'task/ack', { acks: [{ id: first.id }] }), { acked: 1 });
    assert.deepEqual(await call(legacy, 'task/ack', { acks: [{ id: second.id }] }), { acked: 1 });
  });

  it('shows which manager each session is on in manager/clients, to 2026-12 viewers only', async () => {
    const { port } = await serverWithStore();
    const current = await fx.connect(port, 'viewer-2612', undefined, v2612);
    const legacy = await fx.connect(port, 'viewer-2611', undefined, v2611);
    const seenByCurrent = (await call(current, 'manager/clients')).clients;
    assert.equal(seenByCurrent.length, 2);
    for (const entry of seenByCurrent) assert.equal(entry.manager, 'm-test-7f3a', `${entry.name} is on this manager`);
    const seenByLegacy = (await call(legacy, 'manager/clients')).clients;
    assert.equal(seenByLegacy.length, 2);
    for (const entry of seenByLegacy) assert.equal('manager' in entry, false, `a 2026-11 viewer sees no manager on ${entry.name}`);
  });

  it('puts `manager` on events for 2026-12 subscribers only', async () => {
    const { port } = await serverWithStore();
    const current = await fx.connect(port, 'sub-2612', undefined, v2612);
    const legacy = await fx.connect(port, 'sub-2611', undefined, v2611);
    await call(current, 'events/subscribe', {});
    await call(legacy, 'events/subscribe', {});
    const producer: RawConnection = await fx.connect(port, 'producer', undefined, v2611);
    const queue = queueName('events');
    await call(producer, 'queue/put', { queue, tasks: [{ payload: 'x' }] });

    const connected = await nextEvent(current, (e) => e.kind === 'client-connected' && e.client.name === 'producer');
    assert.equal(connected.manager, 'm-test-7f3a');
    const put = await nextEvent(current, (e) => e.kind === 'put' && e.queue === queue);
    assert.equal(put.manager, 'm-test-7f3a', 'the put was made by a session on this manager');
    const legacyConnected = await nextEvent(legacy, (e) => e.kind === 'client-connected' && e.client.name === 'producer');
    assert.equal('manager' in legacyConnected, false);
    const legacyPut = await nextEvent(legacy, (e) => e.kind === 'put' && e.queue === queue);
    assert.equal('manager' in legacyPut, false);
  });
});
