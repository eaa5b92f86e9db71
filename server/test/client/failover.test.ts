import { strict as assert } from 'node:assert';
import {
  AuthenticationFailedError,
  connect,
  ConnectError,
  NoManagerReachableError,
  resolveAddresses,
  TaskwireServer,
  type ConnectOptions,
  type Event,
  type ReceivedTask,
  type TaskwireClient,
} from '../../src';
import { cleanupCli, runCli, startServe, makeHome, cleanEnv, type Serve } from '../cli/cliHarness';
import { eventually, TEST_KEY } from '../helpers/harness';
import { freePort } from '../helpers/os';
import { FakeManager, nextEvent, rejection, within } from './util';

// Several manager addresses: the client connects to the first that completes the handshake and
// fails over to the next when its manager goes away. Two managers here do not share queues
// (that takes the Redis store), so each test puts its tasks on the manager the client is on.

describe('client: several managers (failover)', function () {
  this.timeout(60_000);
  const servers: TaskwireServer[] = [];
  const clients: TaskwireClient[] = [];
  const fakes: FakeManager[] = [];

  async function serve(key: Buffer = TEST_KEY): Promise<TaskwireServer> {
    const server = new TaskwireServer({ authkey: key, host: '127.0.0.1', port: 0, limits: { authFailureDelay: 10 } });
    await server.listen();
    servers.push(server);
    return server;
  }

  async function open(options: ConnectOptions): Promise<TaskwireClient> {
    const client = await connect({ authkey: TEST_KEY, connectTimeout: 5000, ...options });
    clients.push(client);
    return client;
  }

  const at = (port: number) => `127.0.0.1:${port}`;

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(servers.splice(0).map((server) => server.shutdown()));
    await Promise.all(fakes.splice(0).map((fake) => fake.stop()));
    await cleanupCli();
  });

  describe('the first connection', () => {
    it('with the first address down, connects to the second', async () => {
      const down = await freePort();
      const up = await serve();
      const client = await open({ host: [at(down), at(up.address.port)], reconnect: false });
      assert.equal(client.port, up.address.port);
      assert.deepEqual(
        client.addresses.map((address) => address.port),
        [down, up.address.port],
      );
      await client.queue('jobs').put('reached');
      assert.equal(up.queues.queueStats('jobs').ready, 1);
    });

    it('takes a comma-separated list, and entries without a port take the port option', async () => {
      const down = await freePort();
      const up = await serve();
      const client = await open({ host: `127.0.0.1:${down}, 127.0.0.1`, port: up.address.port, reconnect: false });
      assert.equal(client.port, up.address.port);
      await client.ping();
    });

    it('with every address down, fails with NoManagerReachableError naming each address and why', async () => {
      const [first, second] = [await freePort(), await freePort()];
      const error = await rejection(connect({ host: [at(first), at(second)], authkey: TEST_KEY, reconnect: false }));
      assert.ok(error instanceof NoManagerReachableError, `got ${error.name}: ${error.message}`);
      assert.ok(error instanceof ConnectError);
      assert.equal(
        error.message,
        `cannot connect to any of 2 managers: cannot connect to the manager at ${at(first)}: connection refused (is \`taskwire serve\` running there?); ` +
          `cannot connect to the manager at ${at(second)}: connection refused (is \`taskwire serve\` running there?)`,
      );
      assert.deepEqual(
        error.failures.map((failure) => failure.address),
        [at(first), at(second)],
      );
    });

    it('a wrong key at the first address stops with the authentication error: the second is not tried', async () => {
      const wrongKey = await serve(Buffer.from('another key'));
      const untouched = await FakeManager.start();
      fakes.push(untouched);
      const error = await rejection(connect({ host: [at(wrongKey.address.port), at(untouched.port)], authkey: TEST_KEY, reconnect: false }));
      assert.ok(error instanceof AuthenticationFailedError, `got ${error.name}: ${error.message}`);
      assert.equal(error.message, 'authentication failed');
      assert.deepEqual(untouched.received, []);
    });

    it('an impostor at the first address stops with ServerProofError: the second is not tried', async () => {
      const impostor = await FakeManager.start();
      fakes.push(impostor);
      const up = await serve();
      const error = await rejection(connect({ host: [at(impostor.port), at(up.address.port)], authkey: TEST_KEY, reconnect: false }));
      assert.equal(error.name, 'ServerProofError');
      assert.equal(error.message, `the manager at ${at(impostor.port)} failed to prove it knows the authkey: it is not the manager you meant to reach`);
      const observer = await open({ host: at(up.address.port), name: 'observer', reconnect: false });
      assert.deepEqual(
        (await observer.clients()).map((client) => client.name),
        ['observer'],
      );
    });

    it('randomStart: true spreads clients over the managers', async () => {
      const [a, b] = [await serve(), await serve()];
      const host = [at(a.address.port), at(b.address.port)];
      const ports = new Set<number>();
      // With a random start, 24 clients all on one of two managers happens once in 8 million runs.
      for (let i = 0; i < 24; i++) ports.add((await open({ host, randomStart: true, reconnect: false })).port);
      assert.deepEqual([...ports].sort(), [a.address.port, b.address.port].sort());
    });

    it('in order by default: every client starts with the first address', async () => {
      const [a, b] = [await serve(), await serve()];
      for (let i = 0; i < 8; i++) assert.equal((await open({ host: [at(a.address.port), at(b.address.port)], reconnect: false })).port, a.address.port);
    });
  });

  describe('when the manager in use goes away', () => {
    it('a running worker loop goes on via the other manager (the first one SIGKILLed)', async () => {
      // Two `taskwire serve` processes with one TASKWIRE_HOME: the same key.
      const home = makeHome();
      const first = await startServe([], { home });
      const second = await startServe([], { home });
      // A back-off this long would fail the test: moving to the next manager must not wait for it.
      const worker = await open({
        host: [at(first.port), at(second.port)],
        authkeyFile: first.authkeyFile,
        authkey: undefined,
        name: 'failover-worker',
        reconnect: { initialDelay: 60_000, maxDelay: 60_000 },
      });
      assert.equal(worker.port, first.port);
      const done: string[] = [];
      const lost: ReceivedTask[] = [];
      worker.on('lease-lost', (task: ReceivedTask) => lost.push(task));
      let wake: (() => void) | undefined;
      const loop = worker.queue<string>('jobs').work((task) => {
        done.push(task.payload);
        wake?.();
      });
      const handled = (count: number) =>
        within(
          new Promise<void>((resolve) => {
            if (done.length >= count) return resolve();
            wake = () => done.length >= count && resolve();
          }),
          15_000,
          `task ${count} to be handled`,
        );

      await (await producerOf(first)).queue('jobs').put('on the first manager');
      await handled(1);

      const reconnected = nextEvent(worker, 'reconnected', 15_000);
      const reconnecting: [number, number][] = [];
      worker.on('reconnecting', (attempt: number, delay: number) => reconnecting.push([attempt, delay]));
      await first.stop('SIGKILL');
      const [address] = await reconnected;
      assert.equal(address, at(second.port));
      assert.equal(worker.port, second.port);
      assert.deepEqual(reconnecting, [[1, 0]]);

      await (await producerOf(second)).queue('jobs').put('on the second manager');
      await handled(2);
      assert.deepEqual(done, ['on the first manager', 'on the second manager']);
      // The ack of the first task rode on the get in flight when the manager died: the loop
      // cannot know whether it was applied, and reports the task as lease-lost (as on one manager).
      assert.ok(lost.every((task) => task.payload === 'on the first manager'));
      const workers = await (await producerOf(second)).clients();
      assert.ok(workers.some((client) => client.name === 'failover-worker'));

      worker.close();
      await within(
        loop.catch(() => undefined),
        10_000,
        'the work loop to end',
      );
    });

    it('a request made while reconnecting waits and goes to the other manager', async () => {
      const [a, b] = [await serve(), await serve()];
      const client = await open({ host: [at(a.address.port), at(b.address.port)], reconnect: { initialDelay: 60_000, maxDelay: 60_000 } });
      const disconnected = nextEvent(client, 'disconnected', 10_000);
      await a.shutdown();
      await disconnected;
      await within(client.queue('after').put('to b'), 15_000, 'the put');
      assert.equal(b.queues.queueStats('after').ready, 1);
    });

    it('re-establishes event subscriptions on the other manager', async () => {
      const [a, b] = [await serve(), await serve()];
      const watcher = await open({ host: [at(a.address.port), at(b.address.port)], name: 'watcher', role: 'monitor', reconnect: { initialDelay: 60_000, maxDelay: 60_000 } });
      const events: Event[] = [];
      await watcher.subscribe({ queues: ['watched'], kinds: ['put'] }, (event) => events.push(event));
      const reconnected = nextEvent(watcher, 'reconnected', 15_000);
      await a.shutdown();
      await reconnected;
      const producer = await open({ host: at(b.address.port), name: 'producer', reconnect: false });
      const id = await producer.queue('watched').put('after the failover');
      await eventually(() => events.length === 1, 10_000, 'the event from the other manager');
      assert.equal(events[0]!.taskId, id);
    });

    it('comes back to the first manager when the second goes away too', async () => {
      const [a, b] = [await serve(), await serve()];
      const aPort = a.address.port;
      const client = await open({ host: [at(aPort), at(b.address.port)], reconnect: { initialDelay: 20, maxDelay: 200 } });
      let reconnected = nextEvent(client, 'reconnected', 15_000);
      await a.shutdown();
      assert.deepEqual(await reconnected, [at(b.address.port)]);
      const again = new TaskwireServer({ authkey: TEST_KEY, host: '127.0.0.1', port: aPort });
      await again.listen();
      servers.push(again);
      reconnected = nextEvent(client, 'reconnected', 15_000);
      await b.shutdown();
      assert.deepEqual(await reconnected, [at(aPort)]);
      await client.queue('back').put('on a again');
      assert.equal(again.queues.queueStats('back').ready, 1);
    });

    it('a wrong key at the next address stops reconnecting with the authentication error', async () => {
      const a = await serve();
      const wrongKey = await serve(Buffer.from('another key'));
      const client = await open({ host: [at(a.address.port), at(wrongKey.address.port)], reconnect: { initialDelay: 20, maxDelay: 200 } });
      const failed = nextEvent(client, 'error', 15_000);
      await a.shutdown();
      const [error] = (await failed) as [Error];
      assert.ok(error instanceof AuthenticationFailedError, `got ${error.name}: ${error.message}`);
      assert.equal(client.isClosed, true);
      const later = await rejection(client.ping());
      assert.equal(later, error);
    });

    it('with every manager gone, giving up names every address tried', async () => {
      const [a, b] = [await serve(), await serve()];
      const [aPort, bPort] = [a.address.port, b.address.port];
      const client = await open({ host: [at(aPort), at(bPort)], reconnect: { initialDelay: 20, maxDelay: 50, maxAttempts: 3 } });
      const failed = nextEvent(client, 'error', 15_000);
      await Promise.all([a.shutdown(), b.shutdown()]);
      const [error] = (await failed) as [Error];
      assert.equal(
        error.message,
        `gave up reconnecting to ${at(aPort)}, ${at(bPort)} after 3 attempts: cannot reconnect to any of 2 managers: ` +
          `cannot connect to the manager at ${at(bPort)}: connection refused (is \`taskwire serve\` running there?); ` +
          `cannot connect to the manager at ${at(aPort)}: connection refused (is \`taskwire serve\` running there?)`,
      );
    });
  });

  describe('$TASKWIRE_HOST and $TASKWIRE_PORT', () => {
    const saved = { host: process.env.TASKWIRE_HOST, port: process.env.TASKWIRE_PORT };
    afterEach(() => {
      for (const [name, value] of [
        ['TASKWIRE_HOST', saved.host],
        ['TASKWIRE_PORT', saved.port],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it('$TASKWIRE_HOST holds a list; an entry without a port takes $TASKWIRE_PORT', async () => {
      const down = await freePort();
      const up = await serve();
      process.env.TASKWIRE_HOST = `127.0.0.1:${down},127.0.0.1`;
      process.env.TASKWIRE_PORT = String(up.address.port);
      const client = await open({ reconnect: false });
      assert.equal(client.port, up.address.port);
      await client.ping();
    });

    it('the host option wins over $TASKWIRE_HOST; empty variables count as unset', () => {
      const env = { TASKWIRE_HOST: 'from-env:1', TASKWIRE_PORT: '' };
      assert.deepEqual(resolveAddresses({ host: 'h1,h2:9', env }), [
        { host: 'h1', port: 7400 },
        { host: 'h2', port: 9 },
      ]);
      assert.deepEqual(resolveAddresses({ env }), [{ host: 'from-env', port: 1 }]);
      assert.deepEqual(resolveAddresses({ env: { TASKWIRE_HOST: '', TASKWIRE_PORT: ' ' } }), [{ host: '127.0.0.1', port: 7400 }]);
      assert.deepEqual(resolveAddresses({ host: '', env: { TASKWIRE_HOST: 'h3' } }), [{ host: 'h3', port: 7400 }]);
      assert.deepEqual(resolveAddresses({ port: 8000, env: { TASKWIRE_HOST: 'h4', TASKWIRE_PORT: '9000' } }), [{ host: 'h4', port: 8000 }]);
    });

    it('parses IPv6 entries with and without brackets, and drops empty entries', () => {
      assert.deepEqual(resolveAddresses({ host: '[::1]:7401, ::1 ,[fe80::2],, h5 ,', env: {} }), [
        { host: '::1', port: 7401 },
        { host: '::1', port: 7400 },
        { host: 'fe80::2', port: 7400 },
        { host: 'h5', port: 7400 },
      ]);
    });

    it('a bad entry or port is a TypeError naming it and where it came from', () => {
      assert.throws(() => resolveAddresses({ env: { TASKWIRE_HOST: 'h1,h2:http' } }), {
        name: 'TypeError',
        message: 'the port of "h2:http" in $TASKWIRE_HOST is not a port number (1 to 65535)',
      });
      assert.throws(() => resolveAddresses({ host: ['h1:70000'], env: {} }), { message: 'the port of "h1:70000" in the host option is not a port number (1 to 65535)' });
      assert.throws(() => resolveAddresses({ host: ':7400', env: {} }), { message: 'the manager address ":7400" in the host option has no host: write host:port' });
      assert.throws(() => resolveAddresses({ env: { TASKWIRE_PORT: 'x' } }), { message: '$TASKWIRE_PORT ("x") is not a port number (1 to 65535)' });
      assert.throws(() => resolveAddresses({ host: [], env: {} }), { message: 'the host option is an empty list: give at least one manager address' });
    });
  });

  describe('the CLI', () => {
    let first: Serve;
    let second: Serve;
    beforeEach(async () => {
      const home = makeHome();
      first = await startServe([], { home });
      second = await startServe([], { home });
    });

    it('taskwire ping --host h1,h2: the first down, answers from the second', async () => {
      const down = await freePort();
      const result = await runCli(['ping', '--count', '1', '--host', `127.0.0.1:${down},127.0.0.1:${second.port}`], { env: second.env });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^connected to 127\\.0\\.0\\.1:${second.port} in `));
    });

    it('$TASKWIRE_HOST as a list, entries without a port take --port', async () => {
      const down = await freePort();
      const result = await runCli(['ping', '--count', '1', '--port', String(first.port)], { env: { ...first.env, TASKWIRE_HOST: `127.0.0.1:${down},127.0.0.1` } });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^connected to 127\\.0\\.0\\.1:${first.port} in `));
    });

    it('every address down: the error names each one', async () => {
      const [a, b] = [await freePort(), await freePort()];
      const result = await runCli(['ping', '--host', `127.0.0.1:${a},127.0.0.1:${b}`], { env: cleanEnv({ TASKWIRE_HOME: first.home }) });
      assert.equal(result.code, 3, result.stderr);
      assert.equal(
        result.stderr.trim(),
        `taskwire: error: cannot connect to any of 2 managers: cannot connect to the manager at 127.0.0.1:${a}: connection refused (is \`taskwire serve\` running there?); ` +
          `cannot connect to the manager at 127.0.0.1:${b}: connection refused (is \`taskwire serve\` running there?)`,
      );
    });

    it('taskwire serve: a list in $TASKWIRE_HOST (meant for clients) is a usage error, not a listen failure', async () => {
      const result = await runCli(['serve', '--port', '0'], { env: { ...first.env, TASKWIRE_HOST: '127.0.0.1,127.0.0.2' } });
      assert.equal(result.code, 2);
      assert.equal(result.stderr.trim(), 'taskwire: error: --host takes one address to listen on, not a list ("127.0.0.1,127.0.0.2"; a list in $TASKWIRE_HOST is for clients): give --host');
    });

    it('a bad --host entry is a usage error', async () => {
      const result = await runCli(['ping', '--host', 'h1,h2:http'], { env: first.env });
      assert.equal(result.code, 2);
      assert.equal(result.stderr.trim(), 'taskwire: error: the port of "h2:http" in --host is not a port number (1 to 65535)');
    });
  });

  /** A producer on `manager` (same TASKWIRE_HOME, so the same key), closed after the test. */
  async function producerOf(manager: Serve): Promise<TaskwireClient> {
    return manager.client({ name: 'producer' });
  }
});
