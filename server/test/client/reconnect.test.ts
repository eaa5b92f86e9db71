import { strict as assert } from 'node:assert';
import { AuthenticationFailedError, connect, ConnectionClosedError, TaskwireServer, type ConnectOptions, type Event, type ReceivedTask, type TaskwireClient } from '../../src';
import { eventually, TEST_KEY } from '../helpers/harness';
import { CuttableProxy, nextEvent, rejection, within } from './util';

const FAST_RECONNECT = { initialDelay: 20, maxDelay: 200 };

describe('client: reconnect', function () {
  const servers: TaskwireServer[] = [];
  const clients: TaskwireClient[] = [];
  let port: number;

  async function serve(key: Buffer = TEST_KEY, onPort = 0): Promise<TaskwireServer> {
    const server = new TaskwireServer({ authkey: key, host: '127.0.0.1', port: onPort, limits: { authFailureDelay: 10 } });
    const address = await server.listen();
    servers.push(server);
    port = address.port;
    return server;
  }

  async function open(options: Partial<ConnectOptions> = {}): Promise<TaskwireClient> {
    const client = await connect({ host: '127.0.0.1', port, authkey: TEST_KEY, reconnect: FAST_RECONNECT, ...options });
    clients.push(client);
    return client;
  }

  /** Stops `server` and starts a new one on the same port (an empty manager, as after a restart). */
  async function restart(server: TaskwireServer, key: Buffer = TEST_KEY): Promise<TaskwireServer> {
    const samePort = server.address.port;
    await server.shutdown();
    return serve(key, samePort);
  }

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(servers.splice(0).map((server) => server.shutdown()));
  });

  it('emits disconnected, reconnecting and reconnected; requests work again on the new manager', async () => {
    const first = await serve();
    const client = await open({ name: 'survivor' });
    const firstSession = client.sessionId;
    const seen: string[] = [];
    client.on('disconnected', () => seen.push('disconnected'));
    client.on('reconnecting', (attempt: number, delay: number) => {
      assert.ok(attempt >= 1);
      assert.ok(delay >= 0 && delay <= FAST_RECONNECT.maxDelay);
      seen.push('reconnecting');
    });
    client.on('reconnected', () => seen.push('reconnected'));
    const reconnected = nextEvent(client, 'reconnected', 10_000);
    const disconnected = nextEvent(client, 'disconnected', 5000);

    await first.shutdown();
    const [why] = await disconnected;
    assert.ok(why instanceof Error);
    await serve(TEST_KEY, port);
    await reconnected;

    assert.equal(seen[0], 'disconnected');
    assert.ok(seen.includes('reconnecting'));
    assert.equal(seen[seen.length - 1], 'reconnected');
    assert.ok(client.connected);
    assert.notEqual(client.sessionId, firstSession);
    await client.ping();
    const id = await client.queue('after-restart').put('still works');
    assert.equal((await client.queue('after-restart').get({ timeout: 5, autoAck: true })).id, id);
  });

  it('a request made while the manager is down waits for the reconnect', async () => {
    const first = await serve();
    const client = await open();
    const disconnected = nextEvent(client, 'disconnected', 5000);
    await first.shutdown();
    await disconnected;
    const pending = client.queue('waits').put('queued while down');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await serve(TEST_KEY, port);
    const id = await within(pending, 10_000, 'the put made while disconnected');
    assert.equal(second.queues.queueStats('waits').ready, 1);
    assert.equal(typeof id, 'string');
  });

  it('re-establishes event subscriptions: an event from the new manager reaches the old listener', async () => {
    const first = await serve();
    const watcher = await open({ name: 'watcher', role: 'monitor' });
    const events: Event[] = [];
    await watcher.subscribe({ queues: ['watched'], kinds: ['put'] }, (event) => events.push(event));
    const producer = await open({ name: 'producer', reconnect: false });
    await producer.queue('watched').put('before');
    await eventually(() => events.length === 1, 5000, 'the first event');

    const reconnected = nextEvent(watcher, 'reconnected', 10_000);
    await restart(first);
    await reconnected;

    const producer2 = await open({ name: 'producer-2', reconnect: false });
    const id = await producer2.queue('watched').put('after');
    await eventually(() => events.length === 2, 5000, 'an event from the new manager');
    assert.equal(events[1]!.taskId, id);
    assert.equal(events[1]!.kind, 'put');
  });

  it('a consume() loop carries on after the manager restarts', async () => {
    const first = await serve();
    const consumer = await open({ name: 'consumer' });
    const producer = await open({ name: 'producer', reconnect: false });
    const controller = new AbortController();
    const seen: string[] = [];
    let wake: (() => void) | undefined;
    const loop = (async () => {
      for await (const task of consumer.queue<string>('jobs').consume({ signal: controller.signal })) {
        seen.push(task.payload);
        wake?.();
      }
    })();
    const waitFor = (count: number) =>
      within(
        new Promise<void>((resolve) => {
          if (seen.length >= count) return resolve();
          wake = () => seen.length >= count && resolve();
        }),
        10_000,
        `task ${count} to be consumed`,
      );

    await producer.queue('jobs').put('one');
    await waitFor(1);

    const reconnected = nextEvent(consumer, 'reconnected', 10_000);
    await restart(first);
    await reconnected;

    const producer2 = await open({ name: 'producer-2', reconnect: false });
    await producer2.queue('jobs').put('two');
    await waitFor(2);
    assert.deepEqual(seen, ['one', 'two']);
    await eventually(async () => (await producer2.queue('jobs').stats()).totals.acked === 1, 5000, 'the ack on the new manager');

    controller.abort();
    await within(loop, 5000, 'the consume loop to end');
  });

  it('a task in hand when the manager goes away is reported as lease-lost, not thrown', async () => {
    const first = await serve();
    const consumer = await open({ name: 'consumer' });
    await consumer.queue('jobs').put('held');
    const lost: ReceivedTask[] = [];
    consumer.on('lease-lost', (task: ReceivedTask) => lost.push(task));
    const controller = new AbortController();
    let second: TaskwireServer | undefined;
    const loop = (async () => {
      for await (const _task of consumer.queue('jobs').consume({ signal: controller.signal })) {
        // The manager restarts while this task is in hand; its ack then has no lease to settle.
        const reconnected = nextEvent(consumer, 'reconnected', 10_000);
        second = await restart(first);
        await reconnected;
        controller.abort();
      }
    })();
    await within(loop, 15_000, 'the consume loop');
    assert.equal(lost.length, 1);
    assert.ok(second);
  });

  it('reconnect: false — requests after the drop fail with ConnectionClosedError', async () => {
    const first = await serve();
    const client = await open({ reconnect: false });
    assert.equal(client.willReconnect, false);
    const disconnected = nextEvent(client, 'disconnected', 5000);
    const reconnecting: unknown[] = [];
    client.on('reconnecting', (...args: unknown[]) => reconnecting.push(args));
    await first.shutdown();
    await disconnected;
    assert.equal(client.connected, false);
    const error = await rejection(client.queue('x').put(1), 5000);
    assert.ok(error instanceof ConnectionClosedError, `got ${error.name}: ${error.message}`);
    assert.ok((await rejection(client.ping(), 5000)) instanceof ConnectionClosedError);
    assert.equal(reconnecting.length, 0);
  });

  describe('when the network drops the connection (no graceful shutdown)', () => {
    let proxy: CuttableProxy | undefined;

    afterEach(async () => {
      await proxy?.stop();
      proxy = undefined;
    });

    it('a request in flight fails with ConnectionClosedError instead of hanging (reconnect: false)', async () => {
      const server = await serve();
      proxy = await CuttableProxy.start(port);
      const client = await open({ port: proxy.port, reconnect: false });
      const pending = client.queue('blocked').get(); // waits forever on the manager
      await eventually(() => server.queues.queueStats('blocked').waitingGetters === 1, 5000, 'the getter to wait');
      proxy.cut();
      const error = await rejection(pending, 5000);
      assert.ok(error instanceof ConnectionClosedError, `got ${error.name}: ${error.message}`);
    });

    it('a consume() loop blocked in get carries on after the connection comes back', async () => {
      const server = await serve();
      proxy = await CuttableProxy.start(port);
      const consumer = await open({ port: proxy.port, name: 'consumer' });
      const controller = new AbortController();
      const seen: string[] = [];
      const loop = (async () => {
        for await (const task of consumer.queue<string>('cut-jobs').consume({ signal: controller.signal })) {
          seen.push(task.payload);
          controller.abort();
        }
      })();
      await eventually(() => server.queues.queueStats('cut-jobs').waitingGetters === 1, 5000, 'the getter to wait');
      const reconnected = nextEvent(consumer, 'reconnected', 10_000);
      proxy.cut();
      await reconnected;
      // The first connection's waiter is gone with its session; the new one waits.
      await eventually(() => server.queues.queueStats('cut-jobs').waitingGetters === 1, 5000, 'the getter to wait again');
      const producer = await open({ name: 'producer', reconnect: false });
      await producer.queue('cut-jobs').put('after the cut');
      await within(loop, 10_000, 'the consume loop');
      assert.deepEqual(seen, ['after the cut']);
      assert.equal(server.queues.queueStats('cut-jobs').totals.acked, 1);
    });
  });

  it('the restarted manager has a different key: emits error (AuthenticationFailedError) and gives up', async () => {
    const first = await serve();
    const client = await open();
    const failed = nextEvent(client, 'error', 10_000);
    const closed = nextEvent(client, 'close', 10_000);
    await restart(first, Buffer.from('a different key'));
    const [error] = await failed;
    assert.ok(error instanceof AuthenticationFailedError, `got ${(error as Error).name}: ${(error as Error).message}`);
    await closed;
    assert.equal(client.isClosed, true);
    assert.equal(client.willReconnect, false);
    // It stopped trying: no more reconnect attempts, and requests fail with the reason.
    let attempts = 0;
    client.on('reconnecting', () => attempts++);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(attempts, 0);
    assert.ok((await rejection(client.ping(), 5000)) instanceof AuthenticationFailedError);
  });

  it('gives up after maxAttempts when the manager never comes back', async () => {
    const first = await serve();
    const client = await open({ reconnect: { initialDelay: 10, maxDelay: 20, maxAttempts: 3 } });
    const failed = nextEvent(client, 'error', 10_000);
    let attempts = 0;
    client.on('reconnecting', () => attempts++);
    await first.shutdown();
    const [error] = await failed;
    assert.match((error as Error).message, /gave up reconnecting .* after 3 attempts/);
    assert.equal(attempts, 3);
    assert.equal(client.isClosed, true);
  });

  it('close() during a reconnect stops it', async () => {
    const first = await serve();
    const client = await open();
    const reconnecting = nextEvent(client, 'reconnecting', 5000);
    await first.shutdown();
    await reconnecting;
    client.close();
    const error = await rejection(client.ping(), 5000);
    assert.ok(error instanceof ConnectionClosedError);
    let reconnected = false;
    client.on('reconnected', () => (reconnected = true));
    await serve(TEST_KEY, port);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(reconnected, false);
    assert.equal(servers[servers.length - 1]!.connectionCount, 0);
  });
});
