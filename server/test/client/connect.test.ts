import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  AuthenticationFailedError,
  connect,
  ConnectError,
  ConnectionClosedError,
  RemoteError,
  ServerProofError,
  TaskwireError,
  TimeoutError,
  UnsupportedProtocolVersionError,
  type ConnectOptions,
  type TaskwireClient,
} from '../../src';
import { startServer, TEST_KEY, type RunningServer } from '../helpers/harness';
import { FakeManager, rejection, TempDirs } from './util';
import { freePort } from '../helpers/os';

/** Environment variables the key and address resolution reads; cleared for each test and restored after. */
const ENV_VARS = ['TASKWIRE_AUTHKEY', 'TASKWIRE_AUTHKEY_FILE', 'TASKWIRE_HOME', 'TASKWIRE_HOST', 'TASKWIRE_PORT'] as const;

describe('client: connect', function () {
  let running: RunningServer;
  const clients: TaskwireClient[] = [];
  const temp = new TempDirs();
  let savedEnv: Record<string, string | undefined>;

  before(async () => {
    running = await startServer({ limits: { authFailureDelay: 10 } });
  });

  after(async () => {
    await running.stop();
  });

  beforeEach(() => {
    savedEnv = {};
    for (const name of ENV_VARS) {
      savedEnv[name] = process.env[name];
      delete process.env[name];
    }
    // Never fall back to the developer's real ~/.taskwire/authkey.
    process.env.TASKWIRE_HOME = temp.make();
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    for (const name of ENV_VARS) {
      if (savedEnv[name] === undefined) delete process.env[name];
      else process.env[name] = savedEnv[name];
    }
    temp.cleanup();
  });

  async function open(options: ConnectOptions): Promise<TaskwireClient> {
    const client = await connect({ host: '127.0.0.1', port: running.port, reconnect: false, ...options });
    clients.push(client);
    return client;
  }

  /** The connection works end to end: a round trip and the registry sees it. */
  async function assertUsable(client: TaskwireClient): Promise<void> {
    assert.ok(client.connected);
    assert.match(client.sessionId ?? '', /\S/);
    assert.ok(!Number.isNaN(Date.parse(await client.ping())));
    const registry = await client.clients();
    assert.ok(registry.some((c) => c.sessionId === client.sessionId));
  }

  it('authenticates with the key as a string', async () => {
    await assertUsable(await open({ authkey: TEST_KEY.toString('utf8') }));
  });

  it('authenticates with the key as a Buffer', async () => {
    await assertUsable(await open({ authkey: Buffer.from(TEST_KEY) }));
  });

  it('authenticates with a key file that ends in a newline', async () => {
    const file = join(temp.make(), 'authkey');
    writeFileSync(file, TEST_KEY.toString('utf8') + '\n', { mode: 0o600 });
    await assertUsable(await open({ authkeyFile: file }));
  });

  it('authenticates with $TASKWIRE_AUTHKEY', async () => {
    process.env.TASKWIRE_AUTHKEY = TEST_KEY.toString('utf8');
    await assertUsable(await open({}));
  });

  it('authenticates with the default key file under $TASKWIRE_HOME', async () => {
    const home = temp.make();
    writeFileSync(join(home, 'authkey'), TEST_KEY.toString('utf8') + '\n', { mode: 0o600 });
    process.env.TASKWIRE_HOME = home;
    await assertUsable(await open({}));
  });

  it('an explicit key wins over $TASKWIRE_AUTHKEY', async () => {
    process.env.TASKWIRE_AUTHKEY = 'not-the-key';
    await assertUsable(await open({ authkey: TEST_KEY }));
  });

  it('takes host and port from $TASKWIRE_HOST and $TASKWIRE_PORT', async () => {
    process.env.TASKWIRE_HOST = '127.0.0.1';
    process.env.TASKWIRE_PORT = String(running.port);
    const client = await connect({ authkey: TEST_KEY, reconnect: false });
    clients.push(client);
    assert.equal(client.port, running.port);
    await assertUsable(client);
  });

  it('a wrong key fails with AuthenticationFailedError "authentication failed"', async () => {
    const error = await rejection(open({ authkey: 'wrong key' }));
    assert.ok(error instanceof AuthenticationFailedError, `got ${error.name}: ${error.message}`);
    assert.ok(error instanceof RemoteError);
    assert.equal(error.name, 'AuthenticationFailedError');
    assert.equal(error.code, -32001);
    assert.equal(error.message, 'authentication failed');
  });

  it('nothing listening fails with ConnectError saying "connection refused"', async () => {
    const port = await freePort();
    const error = await rejection(connect({ host: '127.0.0.1', port, authkey: TEST_KEY, reconnect: false }));
    assert.ok(error instanceof ConnectError, `got ${error.name}: ${error.message}`);
    assert.ok(error instanceof TaskwireError);
    assert.match(error.message, /connection refused/);
    assert.ok(error.message.includes(`127.0.0.1:${port}`), error.message);
  });

  describe('against an impostor', () => {
    let fake: FakeManager;

    beforeEach(async () => {
      fake = await FakeManager.start();
    });

    afterEach(async () => {
      await fake.stop();
    });

    it('a wrong serverProof fails with ServerProofError and sends nothing after authenticate', async () => {
      const error = await rejection(connect({ host: '127.0.0.1', port: fake.port, authkey: TEST_KEY, reconnect: false }));
      assert.ok(error instanceof ServerProofError, `got ${error.name}: ${error.message}`);
      assert.equal(error.name, 'ServerProofError');
      assert.deepEqual(
        fake.received.map((m) => m.method),
        ['session/hello', 'session/authenticate'],
      );
      // The client hung up on the impostor.
      const deadline = Date.now() + 5000;
      while (fake.sockets.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(fake.sockets.size, 0, 'the client kept its connection to the impostor open');
    });

    it('the hello carries a 32-byte nonce, the protocol versions and a client description', async () => {
      await rejection(connect({ host: '127.0.0.1', port: fake.port, authkey: TEST_KEY, reconnect: false, name: 'probe', role: 'monitor' }));
      const hello = fake.received[0]!.params as { protocolVersions: string[]; nonce: string; client: { name: string; role: string; pid: number } };
      assert.ok(hello.protocolVersions.includes('2026-11'));
      assert.equal(Buffer.from(hello.nonce, 'base64').length, 32);
      assert.equal(hello.client.name, 'probe');
      assert.equal(hello.client.role, 'monitor');
      assert.equal(hello.client.pid, process.pid);
      const auth = fake.received[1]!.params as { proof: string };
      assert.match(auth.proof, /^[0-9a-f]{64}$/);
    });
  });

  it('a manager that chooses a version the client did not offer is refused before authenticate (§10.3)', async () => {
    const fake = await FakeManager.start({ protocolVersion: '1999-01' });
    try {
      const error = await rejection(connect({ host: '127.0.0.1', port: fake.port, authkey: TEST_KEY, reconnect: false }), 5000);
      assert.ok(error instanceof UnsupportedProtocolVersionError, `got ${error.name}: ${error.message}`);
      assert.match(error.message, /"1999-01".*did not offer/);
      assert.deepEqual(
        fake.received.map((m) => m.method),
        ['session/hello'],
      );
      const deadline = Date.now() + 5000;
      while (fake.sockets.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(fake.sockets.size, 0, 'the client kept the connection open');
    } finally {
      await fake.stop();
    }
  });

  describe('against a peer that does not speak the protocol', () => {
    let peer: Server | undefined;
    const sockets = new Set<Socket>();

    async function listen(onConnection: (socket: Socket) => void): Promise<number> {
      peer = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {});
        onConnection(socket);
      });
      await new Promise<void>((resolve) => peer!.listen(0, '127.0.0.1', resolve));
      return (peer.address() as AddressInfo).port;
    }

    afterEach(async () => {
      for (const socket of sockets) socket.destroy();
      if (peer) await new Promise<void>((resolve) => peer!.close(() => resolve()));
      peer = undefined;
    });

    it('a peer that never answers the hello fails with TimeoutError after connectTimeout', async () => {
      const port = await listen(() => {});
      const started = Date.now();
      const error = await rejection(connect({ host: '127.0.0.1', port, authkey: TEST_KEY, reconnect: false, connectTimeout: 300 }), 5000);
      assert.ok(error instanceof TimeoutError, `got ${error.name}: ${error.message}`);
      assert.match(error.message, /handshake/);
      assert.ok(Date.now() - started >= 250);
    });

    it('a peer that hangs up during the handshake fails with ConnectionClosedError', async () => {
      const port = await listen((socket) => socket.once('data', () => socket.destroy()));
      const error = await rejection(connect({ host: '127.0.0.1', port, authkey: TEST_KEY, reconnect: false }), 5000);
      assert.ok(error instanceof ConnectionClosedError, `got ${error.name}: ${error.message}`);
      assert.match(error.message, /handshake/);
    });
  });

  it('no key anywhere fails with an Error that tells how to provide one', async () => {
    // TASKWIRE_HOME points at an empty temp dir and no key variable is set.
    const error = await rejection(connect({ host: '127.0.0.1', port: running.port, reconnect: false }));
    assert.ok(error instanceof Error);
    assert.match(error.message, /no authkey/);
    assert.match(error.message, /TASKWIRE_AUTHKEY/);
    assert.match(error.message, /authkey-file|authkeyFile/);
    assert.ok(error.message.includes(join(process.env.TASKWIRE_HOME!, 'authkey')), error.message);
  });

  it('a missing key file is reported by name', async () => {
    const file = join(temp.make(), 'nope');
    const error = await rejection(connect({ host: '127.0.0.1', port: running.port, authkeyFile: file, reconnect: false }));
    assert.ok(error.message.includes(file), error.message);
    assert.match(error.message, /does not exist/);
  });
});
