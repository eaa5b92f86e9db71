// task/progress over the wire (spec §5.20): the report, its event, its place on manager/clients,
// the lease it renews, its errors, the protocol version that has it, and the rate limit.
import { strict as assert } from 'node:assert';
import { PROGRESS_EVENT_INTERVAL_MS } from '../../src/server/progressBoard';
import { call, drainEvents, expectError, nextEvent, queueName, SHARED_STORE_VERSION, sleep, useFixture, type Json, type RawConnection } from './fixture';

const V12 = [SHARED_STORE_VERSION];

async function heldTasks(monitor: RawConnection, name: string): Promise<Json[]> {
  const { clients } = await call(monitor, 'manager/clients');
  return clients.find((c: Json) => c.name === name).tasks;
}

describe('server: task progress', () => {
  const fx = useFixture();

  it('renews the lease, goes out as an event and stays on the holder’s manager/clients entry until the ack', async () => {
    const { port } = await fx.server();
    const monitor = await fx.connect(port, { name: 'p-monitor', role: 'monitor' }, undefined, V12);
    const worker = await fx.connect(port, { name: 'p-worker' }, undefined, V12);
    const queue = queueName('p-jobs');
    await call(monitor, 'events/subscribe', { queues: [queue] });
    const { ids } = await call(monitor, 'queue/put', { queue, tasks: [{ payload: 'page' }] });
    const { tasks } = await call(worker, 'queue/get', { queue, timeout: 0, ttr: 30 });

    let held = await heldTasks(monitor, 'p-worker');
    assert.deepEqual(held, [{ id: ids[0], queue, leaseUntil: tasks[0].leaseUntil }], 'a held task without progress yet');

    await sleep(20);
    const { leaseUntil } = await call(worker, 'task/progress', { id: ids[0], percent: 40, message: 'fetching page 2', detail: { page: 2, of: 5 } });
    assert.ok(Date.parse(leaseUntil) > Date.parse(tasks[0].leaseUntil), `the report renewed the lease: ${leaseUntil} after ${tasks[0].leaseUntil}`);

    const event = await nextEvent(monitor, (e) => e.kind === 'progress');
    assert.deepEqual(
      { queue: event.queue, taskId: event.taskId, percent: event.percent, message: event.message, detail: event.detail, client: event.client.name },
      { queue, taskId: ids[0], percent: 40, message: 'fetching page 2', detail: { page: 2, of: 5 }, client: 'p-worker' },
    );
    assert.match(event.manager, /./);

    held = await heldTasks(monitor, 'p-worker');
    assert.equal(held.length, 1);
    assert.deepEqual({ ...held[0].progress, at: undefined }, { percent: 40, message: 'fetching page 2', detail: { page: 2, of: 5 }, at: undefined });
    assert.equal(held[0].leaseUntil, leaseUntil);
    assert.match(held[0].progress.at, /^\d{4}-\d\d-\d\dT/);

    // A report replaces the last one: a message alone drops the percent.
    await sleep(PROGRESS_EVENT_INTERVAL_MS + 50);
    await call(worker, 'task/progress', { id: ids[0], message: 'parsing' });
    const second = await nextEvent(monitor, (e) => e.kind === 'progress' && e.message === 'parsing');
    assert.equal(second.percent, undefined);
    assert.deepEqual((await heldTasks(monitor, 'p-worker'))[0].progress.message, 'parsing');

    await call(worker, 'task/ack', { acks: [{ id: ids[0] }] });
    assert.deepEqual(await heldTasks(monitor, 'p-worker'), [], 'the progress went with the lease');
    assert.deepEqual(await heldTasks(monitor, 'p-monitor'), [], 'a session that holds nothing lists no tasks');
  });

  it('refuses a report of a task the session does not hold, a bad percent, an empty report and a large detail', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, { name: 'p-worker' }, undefined, V12);
    const other = await fx.connect(port, { name: 'p-other' }, undefined, V12);
    const queue = queueName('p-jobs');
    const { ids } = await call(worker, 'queue/put', { queue, tasks: [{ payload: 1 }] });

    expectError(await worker.request('task/progress', { id: ids[0], percent: 10 }), 1003, `unknown or expired lease: this session does not hold task ${ids[0]}`, {
      reason: 'lease_unknown',
      ids: [ids[0]],
    });
    await call(worker, 'queue/get', { queue, timeout: 0 });
    expectError(await other.request('task/progress', { id: ids[0], percent: 10 }), 1003, `unknown or expired lease: this session does not hold task ${ids[0]}`, { ids: [ids[0]] });
    expectError(await worker.request('task/progress', { id: ids[0], percent: 101 }), -32602, 'invalid params: "percent" must be <= 100', { field: '/percent' });
    expectError(await worker.request('task/progress', { id: ids[0], percent: -1 }), -32602, 'invalid params: "percent" must be >= 0', { field: '/percent' });
    expectError(await worker.request('task/progress', { id: ids[0], percent: '50' }), -32602, 'invalid params: "percent" must be a number', { field: '/percent' });
    expectError(await worker.request('task/progress', { id: ids[0] }), -32602, 'invalid params: a progress report needs "percent" or "message" (or both)', { field: '' });
    expectError(await worker.request('task/progress', { id: ids[0], detail: {} }), -32602, 'invalid params: a progress report needs "percent" or "message" (or both)', { field: '' });
    expectError(await worker.request('task/progress', { id: ids[0], message: 'x'.repeat(201) }), -32602, 'invalid params: "message" must be at most 200 characters long', { field: '/message' });
    expectError(
      await worker.request('task/progress', { id: ids[0], percent: 1, detail: { blob: 'x'.repeat(5000) } }),
      -32602,
      'invalid params: "detail" is 5011 bytes of JSON, at most 4096 are allowed',
      {
        field: '/detail',
      },
    );
    // A detail just within the bound is taken.
    await call(worker, 'task/progress', { id: ids[0], percent: 1, detail: { blob: 'x'.repeat(4085) } });
  });

  it('does not exist for a session of 2026-11, which sees no progress events and no held tasks', async () => {
    const { port } = await fx.server();
    const old = await fx.connect(port, { name: 'p-old', role: 'monitor' });
    const worker = await fx.connect(port, { name: 'p-worker' }, undefined, V12);
    const queue = queueName('p-jobs');
    await call(old, 'events/subscribe', { queues: [queue] });
    const { ids } = await call(worker, 'queue/put', { queue, tasks: [{ payload: 1 }] });
    await call(old, 'queue/get', { queue: queueName('p-empty'), timeout: 0 });
    expectError(await old.request('task/progress', { id: ids[0], percent: 5 }), -32601, 'method not found: "task/progress"');
    await call(worker, 'queue/get', { queue, timeout: 0 });
    await call(worker, 'task/progress', { id: ids[0], percent: 5 });
    await call(worker, 'task/ack', { acks: [{ id: ids[0] }] });
    await nextEvent(old, (e) => e.kind === 'ack');
    const kinds = (await drainEvents(old)).map((e) => e.kind);
    assert.ok(!kinds.includes('progress'), `no progress event for 2026-11: ${kinds.join(', ')}`);
    const { clients } = await call(old, 'manager/clients');
    assert.ok(
      clients.every((c: Json) => c.tasks === undefined),
      'no held tasks on 2026-11 entries',
    );
  });

  it('keeps a lease alive for as long as its holder reports, and lets it expire when it stops', async () => {
    const { port } = await fx.server();
    const worker = await fx.connect(port, { name: 'p-worker' }, undefined, V12);
    const queue = queueName('p-jobs');
    const { ids } = await call(worker, 'queue/put', { queue, tasks: [{ payload: 1 }] });
    await call(worker, 'queue/get', { queue, timeout: 0, ttr: 1 });
    // Three lease lengths, reporting every 300 ms: the lease never runs out.
    for (let i = 0; i < 10; i++) {
      await sleep(300);
      await call(worker, 'task/progress', { id: ids[0], percent: i * 10 });
    }
    assert.equal((await call(worker, 'queue/stats', { queue })).leased, 1);
    // Silent for longer than a lease: it expires as any lease does.
    await sleep(2500);
    expectError(await worker.request('task/progress', { id: ids[0], percent: 100 }), 1003, `unknown or expired lease: this session does not hold task ${ids[0]}`);
  });

  it('throttles a flood of reports to a few events a task, delivers the last value, and keeps serving others', async () => {
    const { port } = await fx.server();
    const monitor = await fx.connect(port, { name: 'p-monitor', role: 'monitor' }, undefined, V12);
    const worker = await fx.connect(port, { name: 'p-flood' }, undefined, V12);
    const bystander = await fx.connect(port, { name: 'p-bystander' }, undefined, V12);
    const queue = queueName('p-jobs');
    await call(monitor, 'events/subscribe', { queues: [queue], kinds: ['progress'] });
    const { ids } = await call(worker, 'queue/put', { queue, tasks: [{ payload: 1 }] });
    await call(worker, 'queue/get', { queue, timeout: 0 });

    const reports = 3000;
    const started = Date.now();
    const sent: number[] = [];
    for (let i = 1; i <= reports; i++) sent.push(worker.send('task/progress', { id: ids[0], percent: (i * 100) / reports, message: `step ${i}` }));
    // While the flood is read, another client's ping is answered.
    const pingStarted = Date.now();
    await call(bystander, 'session/ping', {}, 10_000);
    const pingMs = Date.now() - pingStarted;
    for (const id of sent) {
      const answer = await worker.waitFor((m) => m.id === id, 30_000);
      assert.ok(answer.result, `report ${id} answered: ${JSON.stringify(answer)}`);
    }
    const answeredMs = Date.now() - started;
    const last = await nextEvent(monitor, (e) => e.message === `step ${reports}`, 5000);
    assert.equal(last.percent, 100, 'the final value is delivered');
    const events = [...(await drainEvents(monitor)), last];
    const windowMs = Date.now() - started;
    const bound = Math.ceil(windowMs / PROGRESS_EVENT_INTERVAL_MS) + 2;
    assert.ok(events.length <= bound, `${events.length} events for ${reports} reports in ${windowMs} ms (at most ${bound})`);
    assert.ok(pingMs < 5000, `a ping took ${pingMs} ms during the flood`);
    console.log(`      ${reports} reports answered in ${answeredMs} ms; ${events.length} events reached the subscriber; a ping took ${pingMs} ms`);
  });
});
