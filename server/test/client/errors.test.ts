import { strict as assert } from 'node:assert';
import { InvalidParamsError, LeaseUnknownError, LimitExceededError, PayloadTooLargeError, QueueFullError, QueueNotFoundError, RemoteError, TaskwireError, type TaskwireClient } from '../../src';
import { startServer, type RunningServer } from '../helpers/harness';
import { rejection } from './util';

let counter = 0;
const fresh = () => `err-${process.pid}-${++counter}`;

/** Every wire error arrives as its typed class, a RemoteError with the code and data. */
function assertRemote(error: Error, Class: new (...args: never[]) => RemoteError, code: number, reason: string | undefined): RemoteError {
  assert.ok(error instanceof Class, `expected ${Class.name}, got ${error.name}: ${error.message}`);
  assert.ok(error instanceof RemoteError);
  assert.ok(error instanceof TaskwireError);
  assert.equal(error.name, Class.name);
  assert.equal(error.code, code);
  if (reason !== undefined) assert.equal(error.data?.reason, reason);
  return error;
}

describe('client: typed errors from the manager', function () {
  let running: RunningServer;
  let client: TaskwireClient;

  before(async () => {
    running = await startServer({ limits: { maxBatch: 5, maxPayloadBytes: 1024, maxSubscriptions: 2 } });
  });

  after(async () => {
    await running.stop();
  });

  beforeEach(async () => {
    client = await running.client({ name: 'errors-test' });
  });

  afterEach(() => {
    client.close();
  });

  it('QueueFullError (1002 queue_full) for a put with timeout 0 on a full bounded queue', async () => {
    const q = client.queue(fresh());
    await q.declare({ maxsize: 2 });
    await q.putMany([{ payload: 1 }, { payload: 2 }]);
    const error = assertRemote(await rejection(q.put(3, { timeout: 0 })), QueueFullError, 1002, 'queue_full');
    assert.match(error.message, /^queue full/);
    assert.equal(error.data?.queue, q.name);
    assert.equal((await q.stats()).ready, 2);
  });

  it('QueueFullError after a put timeout passes', async () => {
    const q = client.queue(fresh());
    await q.declare({ maxsize: 1 });
    await q.put(1);
    assertRemote(await rejection(q.put(2, { timeout: 0.1 })), QueueFullError, 1002, 'queue_full');
  });

  it('LeaseUnknownError (1003 lease_unknown) for acking a task twice', async () => {
    const q = client.queue(fresh());
    await q.put('once');
    const task = await q.get({ timeout: 5 });
    await task.ack();
    const error = assertRemote(await rejection(task.ack()), LeaseUnknownError, 1003, 'lease_unknown');
    assert.deepEqual(error.data?.ids, [task.id]);
  });

  it('LeaseUnknownError for nack or touch of a task another session holds', async () => {
    const q = client.queue(fresh());
    await q.put('theirs');
    const other = await running.client({ name: 'holder' });
    const task = await other.queue(q.name).get({ timeout: 5 });
    assertRemote(await rejection(q.nack(task.id)), LeaseUnknownError, 1003, 'lease_unknown');
    assertRemote(await rejection(q.touch(task.id)), LeaseUnknownError, 1003, 'lease_unknown');
    await task.ack();
    other.close();
  });

  it('InvalidParamsError (-32602) naming the field for priority 1.5', async () => {
    const q = client.queue(fresh());
    const error = assertRemote(await rejection(q.put('x', { priority: 1.5 })), InvalidParamsError, -32602, undefined);
    assert.match(error.message, /priority/);
    assert.equal(error.data?.field, '/tasks/0/priority');
    assert.equal((await q.stats()).totals.put, 0);
  });

  it('PayloadTooLargeError (1004 payload_too_large) for a payload over limits.maxPayloadBytes', async () => {
    assert.equal(client.limits.maxPayloadBytes, 1024);
    const q = client.queue(fresh());
    const error = assertRemote(await rejection(q.put('x'.repeat(4096))), PayloadTooLargeError, 1004, 'payload_too_large');
    assert.equal(error.data?.limit, 1024);
    // The session survives.
    await q.put('small');
  });

  it('PayloadTooLargeError for an ack result over the limit', async () => {
    const q = client.queue(fresh());
    await q.put('x');
    const task = await q.get({ timeout: 5 });
    assertRemote(await rejection(task.ack('y'.repeat(4096))), PayloadTooLargeError, 1004, 'payload_too_large');
    assert.equal(task.settled, false);
    await task.ack('fits');
  });

  it('LimitExceededError (1005 limit_exceeded) for a get max over limits.maxBatch', async () => {
    const q = client.queue(fresh());
    const error = assertRemote(await rejection(q.getMany(6, { timeout: 0 })), LimitExceededError, 1005, 'limit_exceeded');
    assert.equal(error.data?.limit, 'maxBatch');
    assert.equal(error.data?.max, 5);
  });

  it('LimitExceededError for too many subscriptions', async () => {
    await client.subscribe({ kinds: ['ack'] }, () => {});
    await client.subscribe({ kinds: ['nack'] }, () => {});
    const error = assertRemote(await rejection(client.subscribe({ kinds: ['put'] }, () => {})), LimitExceededError, 1005, 'limit_exceeded');
    assert.equal(error.data?.limit, 'maxSubscriptions');
  });

  describe('with autoCreateQueues: false', () => {
    let strict: RunningServer;

    before(async () => {
      strict = await startServer({ autoCreateQueues: false, queues: [{ name: 'known' }] });
    });

    after(async () => {
      await strict.stop();
    });

    it('QueueNotFoundError (1001 queue_not_found) for an unknown queue', async () => {
      const c = await strict.client();
      for (const call of [() => c.queue('unknown').get({ timeout: 0 }), () => c.queue('unknown').put(1), () => c.queue('unknown').stats()]) {
        const error = assertRemote(await rejection(call()), QueueNotFoundError, 1001, 'queue_not_found');
        assert.equal(error.data?.queue, 'unknown');
      }
      await c.queue('known').put(1);
      assert.equal((await c.queue('known').stats()).ready, 1);
    });

    it('QueueNotFoundError for an unknown replyTo queue', async () => {
      const c = await strict.client();
      assertRemote(await rejection(c.queue('known').put(1, { replyTo: 'nowhere' })), QueueNotFoundError, 1001, 'queue_not_found');
    });
  });
});
