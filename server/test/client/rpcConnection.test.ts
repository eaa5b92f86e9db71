import { strict as assert } from 'node:assert';
import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { RpcConnection, RpcRequestError } from '../../src/client/rpcConnection';

/** The peer end of one connection: records the chunks it receives and writes what it is told. */
interface Peer {
  socket: Socket;
  chunks: string[];
  lines(): Record<string, unknown>[];
}

async function pair(): Promise<{ rpc: RpcConnection; peer: Peer; server: Server; writes: () => number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const socket = netConnect((server.address() as AddressInfo).port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const peerSocket = await accepted;
  peerSocket.setEncoding('utf8');
  peerSocket.on('error', () => {});
  const chunks: string[] = [];
  peerSocket.on('data', (text: string) => chunks.push(text));
  const peer: Peer = {
    socket: peerSocket,
    chunks,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
  // Counts the socket writes the connection makes (the bytes still go through).
  let writes = 0;
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = ((...args: unknown[]) => (writes++, write(...args))) as typeof socket.write;
  return { rpc: RpcConnection.overSocket(socket), peer, server, writes: () => writes };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function failureOf(promise: Promise<unknown>): Promise<RpcRequestError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RpcRequestError, `expected an RpcRequestError, got ${String(error)}`);
    return error;
  }
  assert.fail('the request did not fail');
}

describe('client: the JSON-RPC connection', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
  });

  async function open() {
    const made = await pair();
    server = made.server;
    return made;
  }

  it('sends the requests made in one turn in one write, each a JSON-RPC 2.0 request with its own id', async () => {
    const { rpc, peer } = await open();
    const ids = Array.from({ length: 50 }, (_, i) => rpc.request('session/ping', { n: i }).id);
    await until(() => peer.lines().length === 50, '50 requests');
    assert.equal(peer.chunks.length, 1, `arrived in ${peer.chunks.length} chunks`);
    assert.deepEqual(
      peer.lines().map((m) => [m.jsonrpc, m.id, m.method, (m.params as { n: number }).n]),
      ids.map((id, i) => ['2.0', id, 'session/ping', i]),
    );
    assert.equal(new Set(ids).size, 50);
  });

  it('hands large requests to the socket as they come rather than gathering a whole turn in one string', async () => {
    // 24 requests of 1 MiB in one turn: gathered whole, 120 of 8 MiB would pass V8's longest string and throw.
    const { rpc, peer, writes } = await open();
    const payload = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 24; i++) rpc.request('queue/put', { queue: 'big', tasks: [{ payload }], n: i });
    assert.ok(writes() >= 24, `${writes()} socket writes for 24 requests of 1 MiB`);
    await until(() => peer.chunks.join('').split('\n').length > 24, '24 requests');
    assert.deepEqual(
      peer.lines().map((m) => (m.params as { n: number }).n),
      Array.from({ length: 24 }, (_, i) => i),
    );
  });

  it('matches answers to requests by id, in any order', async () => {
    const { rpc, peer } = await open();
    const first = rpc.request('a', {});
    const second = rpc.request('b', {});
    await until(() => peer.lines().length === 2, 'two requests');
    peer.socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: second.id, result: 'second' })}\n${JSON.stringify({ jsonrpc: '2.0', id: first.id, result: 'first' })}\n`);
    assert.deepEqual(await Promise.all([first.result, second.result]), ['first', 'second']);
  });

  it("rejects with the manager's error object when the answer is an error", async () => {
    const { rpc, peer } = await open();
    const { id, result } = rpc.request('queue/get', {});
    await until(() => peer.lines().length === 1, 'the request');
    peer.socket.write(JSON.stringify({ jsonrpc: '2.0', id, error: { code: 1003, message: 'lease unknown', data: { ids: ['x'] } } }) + '\n');
    const failure = await failureOf(result);
    assert.deepEqual(failure.failure, { kind: 'remote', error: { code: 1003, message: 'lease unknown', data: { ids: ['x'] } } });
  });

  it('ignores an answer to an id it never sent and keeps working', async () => {
    const { rpc, peer } = await open();
    const { id, result } = rpc.request('session/ping', {});
    await until(() => peer.lines().length === 1, 'the request');
    peer.socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: 9999, result: 'stray' })}\n${JSON.stringify({ jsonrpc: '2.0', id, result: 'mine' })}\n`);
    assert.equal(await result, 'mine');
    assert.equal(rpc.closed, false);
  });

  it('hands notifications to their handler and answers a request from the manager with -32601', async () => {
    const { rpc, peer } = await open();
    const seen: unknown[] = [];
    rpc.onNotification('events/event', (params) => seen.push(params));
    peer.socket.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'events/event', params: { kind: 'put' } })}\n${JSON.stringify({ jsonrpc: '2.0', method: 'unknown/thing', params: {} })}\n`);
    peer.socket.write(JSON.stringify({ jsonrpc: '2.0', id: 'm1', method: 'client/do', params: {} }) + '\n');
    await until(() => peer.lines().length === 1, 'the answer to the manager');
    assert.deepEqual(seen, [{ kind: 'put' }]);
    const [answer] = peer.lines();
    assert.equal(answer!.id, 'm1');
    assert.equal((answer!.error as { code: number }).code, -32601);
  });

  it('a line that is not JSON fails every request in flight and closes the connection', async () => {
    const { rpc, peer } = await open();
    const { result } = rpc.request('session/ping', {});
    await until(() => peer.lines().length === 1, 'the request');
    const closedWith = new Promise<Error>((resolve) => rpc.onClose(resolve));
    peer.socket.write('this is not json\n');
    const failure = await failureOf(result);
    assert.equal(failure.failure.kind, 'closed');
    assert.match(failure.message, /the manager sent a line that is not JSON/);
    assert.match((await closedWith).message, /not JSON/);
    assert.equal(rpc.closed, true);
    await new Promise<void>((resolve) => (peer.socket.destroyed ? resolve() : peer.socket.once('close', () => resolve())));
  });

  it('the manager hanging up fails the requests in flight and every later one at once', async () => {
    const { rpc, peer } = await open();
    const { result } = rpc.request('queue/get', { queue: 'q' });
    await until(() => peer.lines().length === 1, 'the request');
    peer.socket.destroy();
    const failure = await failureOf(result);
    assert.equal(failure.failure.kind, 'closed');
    assert.match(failure.message, /the connection to the manager closed/);
    const later = await failureOf(rpc.request('session/ping', {}).result);
    assert.equal(later.failure.kind, 'closed');
  });

  it('close() sends what was written in this turn before ending the connection', async () => {
    const { rpc, peer } = await open();
    rpc.notify('$/cancelRequest', { id: 7 });
    rpc.close(new Error('done'));
    await new Promise<void>((resolve) => peer.socket.once('end', () => resolve()));
    assert.deepEqual(peer.lines(), [{ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 7 } }]);
  });
});
