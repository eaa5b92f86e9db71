// Quiet and stop (spec §7.20): an operator tells one session to take no task, or to finish and
// leave. The manager enforces it itself, so a client that ignores session/state (or a 2026-11
// client, which is never told) is handed nothing, and a stopping one is closed once it holds
// nothing. Raw connections on a real server, every message checked against the spec.
import { strict as assert } from 'node:assert';
import type { ClientDescription } from '../../src/protocol/generated';
import { validateDefinition } from '../../src/protocol/validation';
import { proxyFor, startMpServer } from '../mp/mpHelpers';
import { call, expectError, handshake, TEST_KEY, PROTOCOL_VERSION, queueName, SHARED_STORE_VERSION, sleep, useFixture, type RawConnection } from './fixture';

const v2611 = [PROTOCOL_VERSION];
const v2612 = [PROTOCOL_VERSION, SHARED_STORE_VERSION];

describe('server: quiet and stop a session (client/quiet, client/stop, session/state)', function () {
  this.timeout(20_000);
  const fx = useFixture();

  /** A session that completed the handshake, with its id. */
  async function session(port: number, name: string, versions = v2612): Promise<{ raw: RawConnection; id: string }> {
    const raw = await fx.open(port);
    const auth = await handshake(raw, { name, role: 'worker' } as ClientDescription, undefined, versions);
    assert.ok(auth.result, JSON.stringify(auth));
    return { raw, id: (auth.result as { sessionId: string }).sessionId };
  }

  function stateNotification(raw: RawConnection, state: string) {
    return raw
      .waitFor((m) => m.method === 'session/state')
      .then((m) => {
        assert.equal(validateDefinition('SessionStateParams', m.params), undefined);
        assert.deepEqual(m.params, { state });
      });
  }

  it('quiet: the session is told, its blocked get answers empty at once, later gets get nothing though tasks are ready, its lease runs on and its ack works', async () => {
    const { port } = await fx.server();
    const queue = queueName('quiet');
    const worker = await session(port, 'worker');
    const operator = await session(port, 'operator');
    await call(operator.raw, 'queue/put', { queue, tasks: [{ payload: 'image_url_0' }] });
    const [held] = (await call(worker.raw, 'queue/get', { queue, timeout: 0 })).tasks;
    const blocked = worker.raw.send('queue/get', { queue, timeout: 30 });
    await sleep(50);

    const result = await call(operator.raw, 'client/quiet', { session: worker.id });
    assert.equal(result.session, worker.id);
    assert.equal(result.state, 'quiet');
    assert.equal(result.notified, true);
    assert.match(result.manager, /^m-/);
    await stateNotification(worker.raw, 'quiet');
    const answered = await worker.raw.waitFor((m) => m.id === blocked, 2000);
    assert.deepEqual(answered.result, { tasks: [] }, 'the blocked get answers empty at once');

    await call(operator.raw, 'queue/put', { queue, tasks: [{ payload: 'image_url_1' }] });
    assert.deepEqual(await call(worker.raw, 'queue/get', { queue, timeout: 0 }), { tasks: [] });
    const started = Date.now();
    assert.deepEqual(await call(worker.raw, 'queue/get', { queue, timeout: 0.4 }), { tasks: [] }, 'a get waits for its timeout, then answers empty');
    assert.ok(Date.now() - started >= 350, 'it waited its timeout (a client that ignores the state does not spin)');
    assert.deepEqual(await call(worker.raw, 'task/ack', { acks: [{ id: held.id }], next: { queue, timeout: 0 } }), { acked: 1, tasks: [] }, 'an ack works; its next gives nothing');

    const entry = (await call(operator.raw, 'manager/clients')).clients.find((c: { sessionId: string }) => c.sessionId === worker.id);
    assert.equal(entry.state, 'quiet');
    assert.equal((await call(operator.raw, 'manager/clients')).clients.find((c: { sessionId: string }) => c.sessionId === operator.id).state, 'active');
    assert.equal((await call(operator.raw, 'queue/stats', { queue })).ready, 1, 'the task is still there for others');
    const other = await session(port, 'other');
    assert.equal((await call(other.raw, 'queue/get', { queue, timeout: 0 })).tasks.length, 1, 'another session takes it');
  });

  it('a 2026-11 session is quieted without being told: it is handed nothing, and the answer says notified: false', async () => {
    const { port } = await fx.server();
    const queue = queueName('legacy');
    const legacy = await session(port, 'legacy', v2611);
    const operator = await session(port, 'operator');
    await call(operator.raw, 'queue/put', { queue, tasks: [{ payload: 'image_url_0' }] });
    const result = await call(operator.raw, 'client/quiet', { session: legacy.id });
    assert.deepEqual({ state: result.state, notified: result.notified }, { state: 'quiet', notified: false });
    assert.deepEqual(await call(legacy.raw, 'queue/get', { queue, timeout: 0.2 }), { tasks: [] });
    assert.equal(
      legacy.raw.messages.some((m) => m.method === 'session/state'),
      false,
      'no session/state to a 2026-11 session',
    );
    const entry = (await call(legacy.raw, 'manager/clients')).clients[0];
    assert.equal('state' in entry, false, 'a 2026-11 viewer sees no state');
    expectError(await legacy.raw.request('client/quiet', { session: operator.id }), -32601, 'method not found: "client/quiet"');
  });

  it('stop: the session is told, finishes, and the manager closes it once it held nothing for the grace period; a quiet after it leaves it stopping', async () => {
    const { port } = await fx.server({ limits: { stopGracePeriod: 0.3 } as never });
    const queue = queueName('stop');
    const worker = await session(port, 'worker');
    const operator = await session(port, 'operator');
    await call(operator.raw, 'queue/put', { queue, tasks: [{ payload: 'image_url_0' }] });
    const [held] = (await call(worker.raw, 'queue/get', { queue, timeout: 0 })).tasks;
    assert.equal((await call(operator.raw, 'client/stop', { session: worker.id })).state, 'stopping');
    await stateNotification(worker.raw, 'stopping');
    assert.equal((await call(operator.raw, 'client/quiet', { session: worker.id })).state, 'stopping', 'stop is not undone by quiet');
    await sleep(600);
    assert.equal(worker.raw.closed, false, 'not closed while it holds a task');
    assert.deepEqual(await call(worker.raw, 'task/ack', { acks: [{ id: held.id }] }), { acked: 1 });
    await worker.raw.waitForClose(5000);
    const stats = await call(operator.raw, 'queue/stats', { queue });
    assert.equal(stats.totals.acked, 1);
    assert.equal(stats.totals.released, 0, 'nothing was released');
    expectError(await operator.raw.request('client/stop', { session: worker.id }), 1007, `session not found: no session ${worker.id} is connected`, {
      reason: 'session_not_found',
      session: worker.id,
    });
  });

  it('stop of a 2026-11 session: never told, quiet enforced, closed once it holds nothing', async () => {
    const { port } = await fx.server({ limits: { stopGracePeriod: 0.2 } as never });
    const legacy = await session(port, 'legacy', v2611);
    const operator = await session(port, 'operator');
    assert.deepEqual((({ state, notified }) => ({ state, notified }))(await call(operator.raw, 'client/stop', { session: legacy.id })), { state: 'stopping', notified: false });
    await legacy.raw.waitForClose(5000);
    assert.equal(
      legacy.raw.messages.some((m) => m.method === 'session/state'),
      false,
    );
  });

  it('an unknown session is 1007 with its id; bad params are -32602', async () => {
    const { port } = await fx.server();
    const operator = await session(port, 'operator');
    expectError(await operator.raw.request('client/quiet', { session: 's-gone' }), 1007, 'session not found: no session s-gone is connected', { reason: 'session_not_found', session: 's-gone' });
    expectError(await operator.raw.request('client/stop', {}), -32602, 'invalid params: missing required field "session"', { field: '/session' });
    expectError(await operator.raw.request('client/quiet', { session: 's-1', force: true }), -32602, /^invalid params/);
  });
  it('a client of the multiprocessing listener is listed but cannot be quieted: 1007 says why', async () => {
    const mp = await startMpServer({}, { typeIds: [['get_task_queue', 'tasks']] });
    try {
      const { client: proxy } = await proxyFor(mp.mpPort, TEST_KEY, 'get_task_queue');
      const operator = await session(mp.running.port, 'operator');
      const listed = (await call(operator.raw, 'manager/clients')).clients.find((c: { name: string }) => c.name === 'python multiprocessing');
      assert.ok(listed, 'the proxy is in the registry');
      assert.equal('state' in listed, false);
      expectError(
        await operator.raw.request('client/quiet', { session: listed.sessionId }),
        1007,
        `session not found: ${listed.sessionId} is a client of the multiprocessing listener, which cannot be quieted or stopped`,
        { reason: 'session_not_found', session: listed.sessionId },
      );
      proxy.close();
    } finally {
      await mp.stop();
    }
  });
});
