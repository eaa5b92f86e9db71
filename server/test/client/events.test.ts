import { strict as assert } from 'node:assert';
import type { Event, TaskwireClient } from '../../src';
import { eventually, startServer, type RunningServer } from '../helpers/harness';

let counter = 0;
const fresh = () => `ev-${process.pid}-${++counter}`;

describe('client: events', function () {
  let running: RunningServer;
  let watcher: TaskwireClient;
  let worker: TaskwireClient;

  before(async () => {
    running = await startServer();
  });

  after(async () => {
    await running.stop();
  });

  beforeEach(async () => {
    watcher = await running.client({ name: 'watcher', role: 'monitor' });
    worker = await running.client({ name: 'worker' });
  });

  afterEach(() => {
    watcher.close();
    worker.close();
  });

  it('a subscriber receives ack events carrying the result, without taking anything', async () => {
    const q = worker.queue(fresh());
    const events: Event[] = [];
    await watcher.subscribe({ queues: [q.name], kinds: ['ack'] }, (event) => events.push(event));
    const id = await q.put({ job: 1 });
    const task = await q.get({ timeout: 5 });
    await task.ack({ answer: 42 });
    await eventually(() => events.length === 1, 5000, 'the ack event');
    const [event] = events;
    assert.equal(event!.kind, 'ack');
    assert.equal(event!.queue, q.name);
    assert.equal(event!.taskId, id);
    assert.deepEqual(event!.result, { answer: 42 });
    assert.ok(!Number.isNaN(Date.parse(event!.at)));
    assert.equal(event!.client?.sessionId, worker.sessionId);
    // Only ack events of this queue were asked for.
    await worker.queue(fresh()).put('elsewhere');
    await q.put('not acked');
    await watcher.ping();
    await worker.ping();
    assert.equal(events.length, 1);
    assert.equal((await q.stats()).ready, 1, 'the subscriber took a task');
  });

  it('put events carry the payload only with includePayload', async () => {
    const q = worker.queue(fresh());
    const bare: Event[] = [];
    const full: Event[] = [];
    await watcher.subscribe({ queues: [q.name], kinds: ['put'] }, (event) => bare.push(event));
    await watcher.subscribe({ queues: [q.name], kinds: ['put'], includePayload: true }, (event) => full.push(event));
    await q.put({ secret: 'x' });
    await eventually(() => bare.length === 1 && full.length === 1, 5000, 'the put events');
    assert.equal(bare[0]!.payload, undefined);
    assert.deepEqual(full[0]!.payload, { secret: 'x' });
    assert.notEqual(bare[0]!.subscription, full[0]!.subscription);
  });

  it('unsubscribe stops the events', async () => {
    const q = worker.queue(fresh());
    const events: Event[] = [];
    const subscription = await watcher.subscribe({ queues: [q.name], kinds: ['ack'] }, (event) => events.push(event));
    await q.put(1);
    await (await q.get({ timeout: 5 })).ack('first');
    await eventually(() => events.length === 1, 5000, 'the first ack event');

    await subscription.unsubscribe();
    await subscription.unsubscribe(); // a second call is harmless
    await q.put(2);
    await (await q.get({ timeout: 5 })).ack('second');
    // Both connections have seen everything the manager sent before these round trips.
    await worker.ping();
    await watcher.ping();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(
      events.map((e) => e.result),
      ['first'],
    );
  });

  it('sees client-connected and client-disconnected', async () => {
    const events: Event[] = [];
    await watcher.subscribe({ kinds: ['client-connected', 'client-disconnected'] }, (event) => events.push(event));
    const visitor = await running.client({ name: 'visitor' });
    const sessionId = visitor.sessionId;
    visitor.close();
    await eventually(() => events.some((e) => e.kind === 'client-disconnected' && e.client?.sessionId === sessionId), 5000, 'client-disconnected');
    const connected = events.find((e) => e.kind === 'client-connected' && e.client?.sessionId === sessionId);
    assert.ok(connected);
    assert.equal(connected.client?.name, 'visitor');
  });
});
