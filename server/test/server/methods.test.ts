// Every method of the method table over the wire, with its result checked against the spec,
// and the error paths each one documents.
import { strict as assert } from 'node:assert';
import { METHODS } from '../../src/protocol/generated';
import { call, expectError, expectResult, expectServes, PROTOCOL_VERSION, queueName, SHARED_STORE_VERSION, useFixture, type Json } from './fixture';

describe('server: methods', () => {
  const fx = useFixture();

  describe('valid calls', () => {
    it('session/ping answers the server clock', async () => {
      const { port } = await fx.server();
      const raw = await fx.connect(port, 'm-ping');
      const before = Date.now();
      const { time } = await call(raw, 'session/ping', {});
      assert.ok(Date.parse(time) >= before - 1000 && Date.parse(time) <= Date.now() + 1000);
      // params may be omitted or null
      expectResult('session/ping', await raw.request('session/ping'));
      expectResult('session/ping', await raw.request('session/ping', null));
    });

    it('queue/declare creates, then updates; queue/stats and queue/list show the options', async () => {
      const { port } = await fx.server();
      const raw = await fx.connect(port, 'm-declare');
      const queue = queueName('m-declare');
      assert.deepEqual(await call(raw, 'queue/declare', { queue, maxsize: 10, ttr: 30, maxAttempts: 3, deadLetter: 'm-graveyard' }), { queue, created: true });
      let stats = await call(raw, 'queue/stats', { queue });
      assert.deepEqual({ maxsize: stats.maxsize, ttr: stats.ttr, maxAttempts: stats.maxAttempts, deadLetter: stats.deadLetter }, { maxsize: 10, ttr: 30, maxAttempts: 3, deadLetter: 'm-graveyard' });
      assert.deepEqual(await call(raw, 'queue/declare', { queue, maxsize: 20 }), { queue, created: false });
      stats = await call(raw, 'queue/stats', { queue });
      assert.equal(stats.maxsize, 20);
      assert.equal(stats.ttr, 30, 'options not given are kept');
      assert.deepEqual(await call(raw, 'queue/declare', { queue, deadLetter: null }), { queue, created: false });
      assert.equal((await call(raw, 'queue/stats', { queue })).deadLetter, null);

      const { queues } = await call(raw, 'queue/list', {});
      const listed = queues.find((q: Json) => q.queue === queue);
      assert.ok(listed, 'the queue is listed');
      // A 2026-11 session: no `released` in the totals (a 2026-12 member).
      assert.deepEqual(listed.totals, { put: 0, acked: 0, nacked: 0, expired: 0, deadLettered: 0 });
    });

    it('queue/put, queue/peek, queue/get, task/touch, task/ack, task/nack, queue/purge, queue/join', async () => {
      const { port } = await fx.server();
      const raw = await fx.connect(port, 'm-all');
      const queue = queueName('m-all');
      const { ids } = await call(raw, 'queue/put', { queue, tasks: [{ payload: { n: 1 } }, { payload: 'two', priority: 0 }, { payload: null }, { payload: [3] }] });
      assert.equal(ids.length, 4);
      assert.equal(new Set(ids).size, 4, 'ids are unique');

      const peeked = await call(raw, 'queue/peek', { queue, max: 10 });
      assert.deepEqual(
        peeked.tasks.map((t: Json) => t.id),
        ids,
      );
      assert.ok(
        peeked.tasks.every((t: Json) => t.leaseUntil === undefined && t.attempt === 1),
        'peek leases nothing',
      );
      assert.equal((await call(raw, 'queue/peek', { queue })).tasks.length, 1, 'peek max defaults to 1');
      assert.equal((await call(raw, 'queue/stats', { queue })).ready, 4);

      const got = await call(raw, 'queue/get', { queue, max: 2, timeout: 0 });
      assert.deepEqual(
        got.tasks.map((t: Json) => [t.id, t.queue, t.attempt, t.priority]),
        [
          [ids[0], queue, 1, 0],
          [ids[1], queue, 1, 0],
        ],
      );
      assert.deepEqual(got.tasks[0].payload, { n: 1 });
      assert.ok(
        got.tasks.every((t: Json) => typeof t.leaseUntil === 'string'),
        'leased tasks carry leaseUntil',
      );
      let stats = await call(raw, 'queue/stats', { queue });
      assert.deepEqual([stats.ready, stats.leased], [2, 2]);

      const touched = await call(raw, 'task/touch', { ids: [ids[0], ids[1]], ttr: 120 });
      assert.ok(Date.parse(touched.leaseUntil) > Date.now() + 100_000);

      assert.deepEqual(await call(raw, 'task/ack', { acks: [{ id: ids[0], result: 'done' }] }), { acked: 1 });
      assert.deepEqual(await call(raw, 'task/nack', { nacks: [{ id: ids[1], error: 'flaky', delay: 0 }] }), { nacked: 1 });
      stats = await call(raw, 'queue/stats', { queue });
      assert.deepEqual([stats.ready, stats.leased, stats.totals.acked, stats.totals.nacked], [3, 0, 1, 1]);

      const joinBusy = await call(raw, 'queue/join', { queue, timeout: 0 });
      assert.deepEqual(joinBusy, { done: false });
      assert.deepEqual(await call(raw, 'queue/purge', { queue }), { removed: 3 });
      assert.deepEqual(await call(raw, 'queue/join', { queue }), { done: true });
      assert.deepEqual(await call(raw, 'queue/get', { queue, timeout: 0 }), { tasks: [] });
    });

    it('queue/get with autoAck removes tasks on delivery', async () => {
      const { port } = await fx.server();
      const bystander = await fx.connect(port, 'bystander');
      const raw = await fx.connect(port, 'm-autoack');
      const queue = queueName('m-autoack');
      const { ids } = await call(raw, 'queue/put', { queue, tasks: [{ payload: 1 }] });
      const { tasks } = await call(raw, 'queue/get', { queue, autoAck: true, timeout: 0 });
      assert.equal(tasks[0].id, ids[0]);
      assert.equal(tasks[0].leaseUntil, undefined);
      const stats = await call(raw, 'queue/stats', { queue });
      assert.deepEqual([stats.ready, stats.leased, stats.totals.acked], [0, 0, 1]);
      expectError(await raw.request('task/ack', { acks: [{ id: ids[0] }] }), 1003, /^unknown or expired lease: /, { ids, reason: 'lease_unknown' });
      await expectServes(bystander);
    });

    it('manager/clients, events/subscribe and events/unsubscribe answer per the spec', async () => {
      const { port } = await fx.server();
      const raw = await fx.connect(port, 'm-misc');
      const { clients } = await call(raw, 'manager/clients', {});
      assert.deepEqual(
        clients.map((c: Json) => c.name),
        ['m-misc'],
      );
      const { subscription } = await call(raw, 'events/subscribe', {});
      assert.equal(typeof subscription, 'string');
      assert.deepEqual(await call(raw, 'events/unsubscribe', { subscription }), {});
    });
  });

  describe('invalid params: -32602 naming the field', () => {
    // The fifth member: the versions the session offers, for methods newer than 2026-11.
    const cases: [string, unknown, string | RegExp, string, string[]?][] = [
      ['queue/put', { tasks: [{ payload: 1 }] }, 'invalid params: missing required field "queue"', '/queue'],
      ['queue/put', { queue: 'q', tasks: 'x' }, 'invalid params: "tasks" must be an array', '/tasks'],
      ['queue/put', { queue: 'q', tasks: [] }, 'invalid params: "tasks" must not be empty', '/tasks'],
      ['queue/put', { queue: 'q', tasks: [{}] }, 'invalid params: missing required field "tasks/0/payload"', '/tasks/0/payload'],
      ['queue/put', { queue: 'q', tasks: [{ payload: 1, ttr: 'x' }] }, 'invalid params: "tasks/0/ttr" must be a number', '/tasks/0/ttr'],
      ['queue/put', { queue: 'q', tasks: [{ payload: 1, priority: 1.5 }] }, 'invalid params: "tasks/0/priority" must be an integer', '/tasks/0/priority'],
      ['queue/put', { queue: 'q', tasks: [{ payload: 1 }], bogus: 1 }, 'invalid params: unknown field "bogus"', '/bogus'],
      ['queue/get', { queue: 'q', timeout: -1 }, 'invalid params: "timeout" must be >= 0', '/timeout'],
      ['queue/get', { queue: 'q', max: 0 }, 'invalid params: "max" must be >= 1', '/max'],
      ['queue/get', { queue: 'bad name!' }, /^invalid params: "queue" must be a queue name: 1 to \d+ characters of letters, digits and \. _ - : \//, '/queue'],
      ['queue/get', { queue: 'q', autoAck: 'yes' }, 'invalid params: "autoAck" must be true or false', '/autoAck'],
      ['queue/get', 'q', 'invalid params: params must be an object', ''],
      ['task/ack', {}, 'invalid params: missing required field "acks"', '/acks'],
      ['task/ack', { acks: [{}] }, 'invalid params: missing required field "acks/0/id"', '/acks/0/id'],
      ['task/ack', { acks: [{ id: 'a', extra: 1 }] }, 'invalid params: unknown field "acks/0/extra"', '/acks/0/extra'],
      ['task/nack', { nacks: [{ id: 'a', delay: 'soon' }] }, 'invalid params: "nacks/0/delay" must be a number', '/nacks/0/delay'],
      ['task/touch', { ids: 'x' }, 'invalid params: "ids" must be an array', '/ids'],
      ['task/touch', { ids: ['a'], ttr: 0 }, 'invalid params: "ttr" must be > 0', '/ttr'],
      ['task/progress', { id: 'a', percent: 101 }, 'invalid params: "percent" must be <= 100', '/percent'],
      ['session/ping', { x: 1 }, 'invalid params: unknown field "x"', '/x'],
      ['session/ping', [1], 'invalid params: params must be an object', ''],
      ['queue/list', { a: 1 }, 'invalid params: unknown field "a"', '/a'],
      ['queue/declare', { queue: 'q', deadLetter: 5 }, 'invalid params: "deadLetter" must be a string or null', '/deadLetter'],
      ['queue/declare', { queue: 'q', maxsize: -1 }, 'invalid params: "maxsize" must be >= 0', '/maxsize'],
      ['queue/stats', {}, 'invalid params: missing required field "queue"', '/queue'],
      ['queue/join', { queue: 'q', timeout: 'x' }, 'invalid params: "timeout" must be a number', '/timeout'],
      ['queue/peek', { queue: 'q', max: 'x' }, 'invalid params: "max" must be an integer', '/max'],
      ['queue/purge', { queue: 5 }, 'invalid params: "queue" must be a string', '/queue'],
      ['queue/pause', {}, 'invalid params: missing required field "queue"', '/queue'],
      ['queue/resume', { queue: 'q', until: 5 }, 'invalid params: unknown field "until"', '/until'],
      ['manager/clients', { x: 1 }, 'invalid params: unknown field "x"', '/x'],
      ['manager/stats', { verbose: true }, 'invalid params: unknown field "verbose"', '/verbose'],
      [
        'events/subscribe',
        { kinds: ['bogus'] },
        'invalid params: "kinds/0" must be one of "put", "get", "ack", "nack", "expired", "released", "dead", "purge", "paused", "resumed", "client-connected", "client-disconnected", "progress", "scheduled", "schedule-set", "schedule-deleted"',
        '/kinds/0',
      ],
      ['events/subscribe', { queues: 'q' }, 'invalid params: "queues" must be an array', '/queues'],
      ['events/unsubscribe', {}, 'invalid params: missing required field "subscription"', '/subscription'],
      ['manager/shutdown', { now: true }, 'invalid params: unknown field "now"', '/now'],
      ['client/quiet', {}, 'invalid params: missing required field "session"', '/session', [PROTOCOL_VERSION, SHARED_STORE_VERSION]],
      ['client/stop', { session: 's-1', force: true }, 'invalid params: unknown field "force"', '/force', [PROTOCOL_VERSION, SHARED_STORE_VERSION]],
      ['schedule/set', { name: 's', queue: 'q', task: { payload: 1 }, every: 0.5 }, 'invalid params: "every" must be >= 1', '/every'],
      [
        'schedule/set',
        { name: 's', queue: 'q', task: { payload: 1 }, cron: '61 * * * *' },
        'invalid params: "cron" "61 * * * *" is not a valid cron expression: Invalid value for minute: 61',
        '/cron',
      ],
      [
        'schedule/set',
        { name: 's', queue: 'q', task: { payload: 1 }, cron: '* * * * *', timezone: 'Nowhere/Land' },
        'invalid params: "timezone" "Nowhere/Land" is not an IANA time zone this manager knows',
        '/timezone',
      ],
      ['schedule/list', { queue: 7 }, 'invalid params: "queue" must be a string', '/queue'],
      ['schedule/delete', {}, 'invalid params: missing required field "name"', '/name'],
    ];

    it('covers every request method of the table', () => {
      const requests = Object.values(METHODS)
        .filter((m) => m.kind === 'request' && m.direction === 'clientToServer' && !m.method.startsWith('session/hello') && m.method !== 'session/authenticate')
        .map((m) => m.method);
      const covered = new Set(cases.map(([method]) => method));
      assert.deepEqual(
        requests.filter((m) => !covered.has(m)),
        [],
      );
    });

    for (const [method, params, text, field, versions] of cases) {
      it(`${method} ${JSON.stringify(params)}`, async () => {
        const { port } = await fx.server();
        const bystander = await fx.connect(port, 'bystander');
        // A method of a later version (2026-12) exists only for sessions of it (§10.3).
        const since = METHODS[method as keyof typeof METHODS].since;
        const raw = await fx.connect(port, 'm-invalid', undefined, versions ?? [since]);
        expectError(await raw.request(method, params), -32602, text, { field });
        // Nothing was done, the server is not shut down, and both sessions go on.
        assert.deepEqual((await call(raw, 'queue/list')).queues, []);
        await expectServes(raw);
        await expectServes(bystander);
      });
    }
  });

  it('answers an unknown method with -32601 naming it', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.connect(port, 'm-unknown');
    expectError(await raw.request('queue/frobnicate', {}), -32601, 'method not found: "queue/frobnicate"');
    // Notification methods are not requests.
    expectError(await raw.request('events/event', {}), -32601, /^method not found: "?events\/event"?$/);
    expectError(await raw.request('$/cancelRequest', { id: 1 }), -32601, /^method not found: "?\$\/cancelRequest"?$/);
    await expectServes(raw);
    await expectServes(bystander);
  });

  describe('1003 unknown or expired lease', () => {
    it('refuses ack, nack and touch of a task never leased, with data.ids and reason', async () => {
      const { port } = await fx.server();
      const bystander = await fx.connect(port, 'bystander');
      const raw = await fx.connect(port, 'm-lease');
      const queue = queueName('m-lease');
      const { ids } = await call(raw, 'queue/put', { queue, tasks: [{ payload: 1 }] });
      const data = { ids, reason: 'lease_unknown' };
      expectError(await raw.request('task/ack', { acks: [{ id: ids[0] }] }), 1003, `unknown or expired lease: this session does not hold task ${ids[0]}`, data);
      expectError(await raw.request('task/nack', { nacks: [{ id: ids[0] }] }), 1003, /^unknown or expired lease: this session does not hold task /, data);
      expectError(await raw.request('task/touch', { ids }), 1003, /^unknown or expired lease: /, data);
      expectError(await raw.request('task/ack', { acks: [{ id: 'no-such-task' }] }), 1003, /^unknown or expired lease: .*no-such-task/, { ids: ['no-such-task'], reason: 'lease_unknown' });
      assert.equal((await call(raw, 'queue/stats', { queue })).ready, 1, 'the task is untouched');
      await expectServes(raw);
      await expectServes(bystander);
    });

    it('refuses ack of a task another session holds; the holder keeps it', async () => {
      const { port } = await fx.server();
      const holder = await fx.connect(port, 'holder');
      const thief = await fx.connect(port, 'thief');
      const queue = queueName('m-other');
      const { ids } = await call(holder, 'queue/put', { queue, tasks: [{ payload: 1 }] });
      await call(holder, 'queue/get', { queue, timeout: 0 });
      expectError(await thief.request('task/ack', { acks: [{ id: ids[0] }] }), 1003, /^unknown or expired lease: /, { ids, reason: 'lease_unknown' });
      expectError(await thief.request('task/nack', { nacks: [{ id: ids[0] }] }), 1003, /^unknown or expired lease: /, { ids });
      assert.deepEqual(await call(holder, 'task/ack', { acks: [{ id: ids[0] }] }), { acked: 1 });
      await expectServes(thief);
    });

    it('applies nothing of a request naming one held and one unknown task (all or none)', async () => {
      const { port } = await fx.server();
      const bystander = await fx.connect(port, 'bystander');
      const raw = await fx.connect(port, 'm-all-or-none');
      const queue = queueName('m-aon');
      const { ids } = await call(raw, 'queue/put', { queue, tasks: [{ payload: 1 }] });
      await call(raw, 'queue/get', { queue, timeout: 0 });
      expectError(await raw.request('task/ack', { acks: [{ id: ids[0] }, { id: 'ghost' }] }), 1003, /ghost/, { ids: ['ghost'] });
      expectError(await raw.request('task/ack', { acks: [{ id: ids[0] }, { id: ids[0] }] }), 1003, /^unknown or expired lease: /, { ids });
      const stats = await call(raw, 'queue/stats', { queue });
      assert.deepEqual([stats.leased, stats.totals.acked], [1, 0]);
      assert.deepEqual(await call(raw, 'task/ack', { acks: [{ id: ids[0] }] }), { acked: 1 });
      expectError(await raw.request('task/ack', { acks: [{ id: ids[0] }] }), 1003, /^unknown or expired lease: /, { ids });
      await expectServes(bystander);
    });
  });

  describe('1002 queue full', () => {
    it('refuses a put with timeout 0 on a full queue at once, with queue and maxsize', async () => {
      const { port } = await fx.server();
      const bystander = await fx.connect(port, 'bystander');
      const raw = await fx.connect(port, 'm-full');
      const queue = queueName('m-full');
      await call(raw, 'queue/declare', { queue, maxsize: 1 });
      await call(raw, 'queue/put', { queue, tasks: [{ payload: 1 }] });
      expectError(await raw.request('queue/put', { queue, tasks: [{ payload: 2 }], timeout: 0 }), 1002, `queue full: "${queue}" has no room for 1 task (maxsize 1)`, {
        queue,
        maxsize: 1,
        reason: 'queue_full',
      });
      assert.equal((await call(raw, 'queue/stats', { queue })).ready, 1, 'nothing was added');
      await expectServes(raw);
      await expectServes(bystander);
    });

    it('refuses more tasks than maxsize at once, even without a timeout', async () => {
      const { port } = await fx.server();
      const bystander = await fx.connect(port, 'bystander');
      const raw = await fx.connect(port, 'm-toomany');
      const queue = queueName('m-toomany');
      await call(raw, 'queue/declare', { queue, maxsize: 2 });
      expectError(await raw.request('queue/put', { queue, tasks: [{ payload: 1 }, { payload: 2 }, { payload: 3 }] }), 1002, `queue full: "${queue}" has more tasks than its maxsize (maxsize 2)`, {
        queue,
        reason: 'queue_full',
      });
      await expectServes(raw);
      await expectServes(bystander);
    });

    it('refuses a put whose timeout passes with 1002', async () => {
      const { port } = await fx.server();
      const bystander = await fx.connect(port, 'bystander');
      const raw = await fx.connect(port, 'm-full-timeout');
      const queue = queueName('m-full-timeout');
      await call(raw, 'queue/declare', { queue, maxsize: 1 });
      await call(raw, 'queue/put', { queue, tasks: [{ payload: 1 }] });
      const started = Date.now();
      expectError(await raw.request('queue/put', { queue, tasks: [{ payload: 2 }], timeout: 0.2 }), 1002, `queue full: "${queue}" has no room for 1 task (maxsize 1)`, { reason: 'queue_full' });
      assert.ok(Date.now() - started >= 150);
      const stats = await call(raw, 'queue/stats', { queue });
      assert.deepEqual([stats.ready, stats.waitingPutters], [1, 0]);
      await expectServes(raw);
      await expectServes(bystander);
    });
  });

  describe('1001 queue not found (autoCreateQueues: false)', () => {
    it('refuses every queue method on an unknown queue; declared queues work', async () => {
      const { port } = await fx.server({ autoCreateQueues: false });
      const bystander = await fx.connect(port, 'bystander');
      const raw = await fx.connect(port, 'm-noauto');
      const data = { queue: 'nope', reason: 'queue_not_found' };
      const text = 'queue not found: queue "nope" does not exist';
      expectError(await raw.request('queue/put', { queue: 'nope', tasks: [{ payload: 1 }] }), 1001, text, data);
      expectError(await raw.request('queue/get', { queue: 'nope', timeout: 0 }), 1001, text, data);
      expectError(await raw.request('queue/get', { queue: 'nope' }), 1001, text, data);
      expectError(await raw.request('queue/stats', { queue: 'nope' }), 1001, text, data);
      expectError(await raw.request('queue/peek', { queue: 'nope' }), 1001, text, data);
      expectError(await raw.request('queue/purge', { queue: 'nope' }), 1001, text, data);
      expectError(await raw.request('queue/join', { queue: 'nope' }), 1001, text, data);
      const raw12 = await fx.connect(port, 'm-noauto-2026-12', undefined, ['2026-12']);
      expectError(await raw12.request('queue/pause', { queue: 'nope' }), 1001, text, data);
      expectError(await raw12.request('queue/resume', { queue: 'nope' }), 1001, text, data);
      assert.deepEqual((await call(raw, 'queue/list')).queues, [], 'nothing was created');

      await call(raw, 'queue/declare', { queue: 'jobs' });
      expectError(await raw.request('queue/put', { queue: 'jobs', tasks: [{ payload: 1, replyTo: 'nope' }] }), 1001, text, data);
      await call(raw, 'queue/put', { queue: 'jobs', tasks: [{ payload: 1 }] });
      assert.equal((await call(raw, 'queue/get', { queue: 'jobs', timeout: 0 })).tasks.length, 1);

      // expectServes uses fresh queue names, which this server refuses: use a declared one.
      await call(bystander, 'queue/declare', { queue: 'alive' });
      await call(bystander, 'queue/put', { queue: 'alive', tasks: [{ payload: 'x' }] });
      assert.equal((await call(bystander, 'queue/get', { queue: 'alive', timeout: 0 })).tasks[0].payload, 'x');
    });
  });

  it('refuses events/unsubscribe of an unknown subscription with -32602', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.connect(port, 'm-unsub');
    expectError(await raw.request('events/unsubscribe', { subscription: 'sub-nope' }), -32602, 'invalid params: "subscription" "sub-nope" is not a subscription of this session', {
      field: '/subscription',
    });
    // Another session's subscription is not this session's to cancel.
    const { subscription } = await call(bystander, 'events/subscribe', {});
    expectError(await raw.request('events/unsubscribe', { subscription }), -32602, /is not a subscription of this session/, { field: '/subscription' });
    // Unsubscribing twice: the second is unknown.
    assert.deepEqual(await call(bystander, 'events/unsubscribe', { subscription }), {});
    expectError(await bystander.request('events/unsubscribe', { subscription }), -32602, /is not a subscription of this session/);
    await expectServes(raw);
    await expectServes(bystander);
  });

  it('keeps working after a burst of bad requests', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.connect(port, 'm-burst');
    for (let i = 0; i < 20; i++) raw.send('queue/put', { queue: 'q', tasks: i });
    await expectServes(raw);
    const errors = raw.messages.splice(0);
    assert.equal(errors.length, 20);
    assert.ok(errors.every((m) => m.error?.code === -32602));
    await expectServes(bystander);
  });
});
