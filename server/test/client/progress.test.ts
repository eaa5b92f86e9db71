import { strict as assert } from 'node:assert';
import { InvalidParamsError, LeaseUnknownError, type Event, type TaskwireClient } from '../../src';
import { startServer, type RunningServer } from '../helpers/harness';
import { rejection, within } from './util';

let counter = 0;
const fresh = () => `progress-${process.pid}-${++counter}`;

describe('client: task.progress()', function () {
  let running: RunningServer;
  let worker: TaskwireClient;
  let monitor: TaskwireClient;

  before(async () => (running = await startServer()));
  after(async () => running.stop());
  beforeEach(async () => {
    worker = await running.client({ name: 'progress-worker' });
    monitor = await running.client({ name: 'progress-monitor', role: 'monitor' });
  });
  afterEach(() => {
    worker.close();
    monitor.close();
  });

  it('reports a percent and a message (or an object with a detail), renews the lease, and shows on the events and manager/clients', async () => {
    const q = worker.queue(fresh());
    const events: Event[] = [];
    await monitor.subscribe({ queues: [q.name], kinds: ['progress'] }, (event) => events.push(event));
    await q.put({ url: 'https://example.com' });
    const task = await q.get({ timeout: 5, ttr: 30 });
    const firstLease = task.leaseUntil!;

    await new Promise((resolve) => setTimeout(resolve, 20));
    await task.progress(40, 'fetching page 2');
    assert.ok(Date.parse(task.leaseUntil!) > Date.parse(firstLease), 'the lease was renewed');
    await within(
      (async () => {
        while (events.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      })(),
      5000,
      'the progress event',
    );
    assert.deepEqual([events[0]!.taskId, events[0]!.percent, events[0]!.message, events[0]!.client?.name], [task.id, 40, 'fetching page 2', 'progress-worker']);

    await task.progress({ message: 'parsing', detail: { links: 12 } });
    const entry = (await monitor.clients()).find((c) => c.name === 'progress-worker')!;
    assert.deepEqual(
      entry.tasks?.map((t) => [t.id, t.queue, t.progress?.percent, t.progress?.message, t.progress?.detail]),
      [[task.id, q.name, undefined, 'parsing', { links: 12 }]],
    );
    await task.ack();
    assert.deepEqual((await monitor.clients()).find((c) => c.name === 'progress-worker')!.tasks, []);
  });

  it('rejects with LeaseUnknownError once the task is settled, and with InvalidParamsError for a percent above 100', async () => {
    const q = worker.queue(fresh());
    await q.put(1);
    const task = await q.get({ timeout: 5 });
    const bad = await rejection(task.progress(140));
    assert.ok(bad instanceof InvalidParamsError, bad.message);
    assert.equal(bad.message, 'invalid params: "percent" must be <= 100');
    await task.ack();
    const gone = await rejection(task.progress(100, 'done'));
    assert.ok(gone instanceof LeaseUnknownError, gone.message);
    assert.equal(gone.message, `unknown or expired lease: this session does not hold task ${task.id}`);
  });
});
