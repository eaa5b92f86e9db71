// Server limits over the wire: batch size, payload size, subscriptions and connections.
import { strict as assert } from 'node:assert';
import { eventually } from '../helpers/harness';
import { call, expectError, expectServes, queueName, sleep, useFixture, type Json } from './fixture';

describe('server: limits', () => {
  const fx = useFixture();

  describe('maxBatch (1005)', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const cases: [string, Json, string][] = [
      ['queue/put', { queue: 'lim', tasks: [1, 2, 3, 4].map((payload) => ({ payload })) }, 'limit exceeded: 4 tasks in one request, the limit is 3'],
      ['queue/get', { queue: 'lim', max: 4, timeout: 0 }, 'limit exceeded: 4 tasks asked for in one request, the limit is 3'],
      ['queue/peek', { queue: 'lim', max: 4 }, 'limit exceeded: 4 tasks asked for in one request, the limit is 3'],
      ['task/ack', { acks: ids.map((id) => ({ id })) }, 'limit exceeded: 4 acks in one request, the limit is 3'],
      ['task/nack', { nacks: ids.map((id) => ({ id })) }, 'limit exceeded: 4 nacks in one request, the limit is 3'],
      ['task/touch', { ids }, 'limit exceeded: 4 ids in one request, the limit is 3'],
    ];
    for (const [method, params, text] of cases) {
      it(`refuses ${method} over maxBatch with data.limit "maxBatch"`, async () => {
        const { port } = await fx.server({ limits: { maxBatch: 3 } });
        const bystander = await fx.connect(port, 'bystander');
        const raw = await fx.connect(port, 'lim-batch');
        expectError(await raw.request(method, params), 1005, text, { limit: 'maxBatch', max: 3, reason: 'limit_exceeded' });
        const { queues } = await call(raw, 'queue/list');
        assert.ok(
          queues.every((q: Json) => q.ready === 0),
          'nothing was enqueued',
        );
        await expectServes(raw);
        await expectServes(bystander);
      });
    }

    it('accepts exactly maxBatch', async () => {
      const { port } = await fx.server({ limits: { maxBatch: 3 } });
      const raw = await fx.connect(port, 'lim-batch-ok');
      const queue = queueName('lim');
      const { ids: put } = await call(raw, 'queue/put', { queue, tasks: [1, 2, 3].map((payload) => ({ payload })) });
      assert.equal(put.length, 3);
      const { tasks } = await call(raw, 'queue/get', { queue, max: 3, timeout: 0 });
      assert.deepEqual(await call(raw, 'task/ack', { acks: tasks.map((t: Json) => ({ id: t.id })) }), { acked: 3 });
    });
  });

  describe('maxPayloadBytes (1004)', () => {
    it('refuses a put whose payload is over the limit, all or none', async () => {
      const { port } = await fx.server({ limits: { maxPayloadBytes: 100 } });
      const bystander = await fx.connect(port, 'bystander');
      const raw = await fx.connect(port, 'lim-payload');
      const queue = queueName('lim-payload');
      const big = 'x'.repeat(150);
      expectError(await raw.request('queue/put', { queue, tasks: [{ payload: 'small' }, { payload: big }] }), 1004, 'payload too large: the payload of task 1 is 152 bytes, the limit is 100', {
        limit: 100,
        reason: 'payload_too_large',
      });
      const { queues } = await call(raw, 'queue/list');
      assert.equal(
        queues.find((q: Json) => q.queue === queue),
        undefined,
        'nothing was enqueued',
      );
      // A payload of exactly the limit (as compact JSON) is accepted.
      await call(raw, 'queue/put', { queue, tasks: [{ payload: 'y'.repeat(98) }] });
      await expectServes(raw);
      await expectServes(bystander);
    });

    it('refuses an ack whose result is over the limit; the lease is kept', async () => {
      const { port } = await fx.server({ limits: { maxPayloadBytes: 100 } });
      const bystander = await fx.connect(port, 'bystander');
      const raw = await fx.connect(port, 'lim-result');
      const queue = queueName('lim-result');
      const { ids } = await call(raw, 'queue/put', { queue, tasks: [{ payload: 1, replyTo: `${queue}.out` }] });
      await call(raw, 'queue/get', { queue, timeout: 0 });
      expectError(await raw.request('task/ack', { acks: [{ id: ids[0], result: { blob: 'z'.repeat(200) } }] }), 1004, /^payload too large: the result of ack 0 is \d+ bytes, the limit is 100$/, {
        limit: 100,
        reason: 'payload_too_large',
      });
      assert.equal((await call(raw, 'queue/stats', { queue })).leased, 1);
      assert.deepEqual(await call(raw, 'task/ack', { acks: [{ id: ids[0], result: 'ok' }] }), { acked: 1 });
      await expectServes(bystander);
    });
  });

  describe('maxSubscriptions (1005)', () => {
    it('refuses a subscription over the limit; unsubscribing makes room', async () => {
      const { port } = await fx.server({ limits: { maxSubscriptions: 1 } });
      const bystander = await fx.connect(port, 'bystander');
      const raw = await fx.connect(port, 'lim-subs');
      const { subscription } = await call(raw, 'events/subscribe', {});
      expectError(await raw.request('events/subscribe', { kinds: ['put'] }), 1005, /^limit exceeded: a session may hold at most 1 subscription$/, {
        limit: 'maxSubscriptions',
        max: 1,
        reason: 'limit_exceeded',
      });
      // The limit is per session.
      await call(bystander, 'events/subscribe', {});
      await call(raw, 'events/unsubscribe', { subscription });
      await call(raw, 'events/subscribe', {});
      await expectServes(raw);
      await expectServes(bystander);
    });
  });

  describe('maxConnections (1005)', () => {
    it('answers the first message of a connection over the limit with 1005, then closes it', async () => {
      const { server, port } = await fx.server({ limits: { maxConnections: 2 } });
      const bystander = await fx.connect(port, 'bystander');
      const other = await fx.connect(port, 'other');
      const refused = await fx.open(port);
      refused.send('session/hello', { protocolVersions: ['2026-11'], nonce: Buffer.alloc(32, 7).toString('base64'), client: { name: 'one-too-many' } });
      expectError(await refused.waitFor(() => true), 1005, 'limit exceeded: the manager serves at most 2 connections', {
        limit: 'maxConnections',
        max: 2,
        reason: 'limit_exceeded',
      });
      await refused.waitForClose();
      assert.equal(server.connectionCount, 2);
      await expectServes(bystander);
      await expectServes(other);

      // A connection that closes makes room.
      other.close();
      await eventually(() => server.connectionCount === 1, 5000, 'the server to notice the close');
      const next = await fx.connect(port, 'next');
      await expectServes(next);
    });

    it('a connection that has not authenticated makes room at the limit: it is closed, the newcomer served', async () => {
      const { server, port } = await fx.server({ limits: { maxConnections: 2 } });
      const bystander = await fx.connect(port, 'bystander');
      const silent = await fx.open(port); // not authenticated: the oldest such connection makes room
      await sleep(50); // (once the manager has had a chance to read it: one just accepted is never chosen)
      const newcomer = await fx.connect(port, 'newcomer');
      await silent.waitForClose();
      assert.deepEqual(silent.messages, [], 'a silent connection is closed without an answer');
      assert.equal(server.connectionCount, 2);
      // Now every connection is an authenticated session: the next one is refused, in the framing it used.
      const framed = await fx.framed(port);
      framed.writeFrame('{"jsonrpc":"2.0","id":1,"method":"session/ping"}');
      expectError(await framed.waitFor(() => true), 1005, 'limit exceeded: the manager serves at most 2 connections', { limit: 'maxConnections' });
      await framed.waitForClose();
      await expectServes(bystander);
      await expectServes(newcomer);
    });
  });
});
