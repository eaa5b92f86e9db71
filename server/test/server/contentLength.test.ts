// LSP-style Content-Length framing: a stock vscode-jsonrpc client connects unchanged, the
// server answers in the framing the client used, and a broken frame closes the connection.
import { strict as assert } from 'node:assert';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { clientProof, newNonce, serverProof } from '../../src/protocol/auth';
import { validateResult } from '../../src/protocol/validation';
import { expectError, expectResult, expectServes, PROTOCOL_VERSION, queueName, TEST_KEY, useFixture, type Json } from './fixture';

async function send(connection: MessageConnection, method: string, params: object = {}): Promise<Json> {
  const result = await connection.sendRequest(method, params);
  const problem = validateResult(method, result);
  assert.equal(problem, undefined, `${method} result does not match the spec: ${problem}`);
  return result;
}

describe('server: Content-Length framing', () => {
  const fx = useFixture();

  it('serves a stock vscode-jsonrpc client: handshake, put, get, ack', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const socket = await fx.socket(port);
    socket.setNoDelay(true);
    const connection = fx.track({
      inner: createMessageConnection(new StreamMessageReader(socket), new StreamMessageWriter(socket)),
      close() {
        this.inner.dispose();
      },
    }).inner;
    connection.listen();

    const clientNonce = newNonce();
    const hello = await send(connection, 'session/hello', { protocolVersions: [PROTOCOL_VERSION], nonce: clientNonce, client: { name: 'cl-vscode', language: 'typescript' } });
    assert.equal(hello.protocolVersion, PROTOCOL_VERSION);
    const auth = await send(connection, 'session/authenticate', { proof: clientProof(TEST_KEY, hello.nonce, clientNonce, PROTOCOL_VERSION) });
    assert.equal(auth.serverProof, serverProof(TEST_KEY, hello.nonce, clientNonce, PROTOCOL_VERSION));

    const queue = queueName('cl');
    const { ids } = await send(connection, 'queue/put', { queue, tasks: [{ payload: { n: 1, text: 'ünïcödé' } }, { payload: [1, 2, 3] }] });
    assert.equal(ids.length, 2);
    const { tasks } = await send(connection, 'queue/get', { queue, max: 2, timeout: 1 });
    assert.deepEqual(
      tasks.map((t: Json) => t.payload),
      [{ n: 1, text: 'ünïcödé' }, [1, 2, 3]],
    );
    assert.deepEqual(await send(connection, 'task/ack', { acks: tasks.map((t: Json) => ({ id: t.id })) }), { acked: 2 });
    const stats = await send(connection, 'queue/stats', { queue });
    assert.equal(stats.leased, 0);
    assert.equal(stats.totals.acked, 2);

    // Errors reach the stock client as ResponseErrors with code, message and data.
    await assert.rejects(connection.sendRequest('task/ack', { acks: [{ id: ids[0] }] }), (error: unknown) => {
      assert.ok(error instanceof ResponseError);
      assert.equal(error.code, 1003);
      assert.match(error.message, /^unknown or expired lease: /);
      assert.deepEqual((error.data as Json).ids, [ids[0]]);
      return true;
    });
    // The server's events reach it as notifications.
    const events: Json[] = [];
    connection.onNotification('events/event', (params: Json) => {
      events.push(params);
    });
    await send(connection, 'events/subscribe', { queues: [queue], kinds: ['put'] });
    await expectServes(bystander);
    await send(connection, 'queue/put', { queue, tasks: [{ payload: 'evt' }] });
    await send(connection, 'session/ping');
    assert.deepEqual(
      events.map((e) => [e.kind, e.queue]),
      [['put', queue]],
    );
  });

  it('answers in Content-Length framing when the client uses it', async () => {
    const { port } = await fx.server();
    const raw = await fx.framed(port);
    const response = await raw.request('session/hello', { protocolVersions: [PROTOCOL_VERSION], nonce: newNonce(), client: { name: 'cl-raw' } });
    expectResult('session/hello', response);
    assert.match(raw.received.toString('latin1'), /^Content-Length: \d+\r\n\r\n\{/);
    assert.ok(!raw.received.toString('latin1').endsWith('\n'), 'no NDJSON newline after the body');
  });

  it('accepts lowercase headers, extra headers and a body split across writes', async () => {
    const { port } = await fx.server();
    const raw = await fx.framed(port);
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'session/hello', params: { protocolVersions: [PROTOCOL_VERSION], nonce: newNonce(), client: { name: 'cl-split ✓' } } }));
    raw.write(`content-length: ${body.length}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n`);
    raw.write(body.subarray(0, 10));
    await new Promise((resolve) => setTimeout(resolve, 5));
    raw.write(body.subarray(10));
    expectResult('session/hello', await raw.waitFor((m) => m.id === 1));
  });

  it('answers a parse error over Content-Length with -32700, then closes', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.framed(port);
    raw.writeFrame('{"jsonrpc":"2.0","id":1,"method":');
    expectError(await raw.waitFor((m) => m.id === null), -32700, 'parse error: the frame is not valid JSON');
    await raw.waitForClose();
    await expectServes(bystander);
  });

  it('answers invalid UTF-8 in a body with -32700, then closes', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.framed(port);
    raw.writeFrame(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    expectError(await raw.waitFor((m) => m.id === null), -32700, 'parse error: message body is not valid UTF-8');
    await raw.waitForClose();
    await expectServes(bystander);
  });

  it('answers a malformed header block with -32700, then closes', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.framed(port);
    raw.write('Content-Length: lots\r\n\r\n{}');
    expectError(await raw.waitFor((m) => m.id === null), -32700, 'parse error: invalid Content-Length "lots"');
    await raw.waitForClose();
    await expectServes(bystander);
  });

  it('refuses an announced body over the frame limit with -32004 before the body arrives, then closes', async () => {
    const { port } = await fx.server({ limits: { maxFrameBytes: 1024 } });
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.framed(port);
    raw.write('Content-Length: 5000\r\n\r\n');
    expectError(await raw.waitFor((m) => m.id === null), -32004, 'frame too large: Content-Length 5000 exceeds the frame limit of 1024 bytes', { limit: 1024 });
    await raw.waitForClose();
    await expectServes(bystander);
  });

  it('refuses a batch over Content-Length with -32600 and keeps the connection', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.framed(port);
    raw.writeFrame('[{"jsonrpc":"2.0","id":1,"method":"session/ping"}]');
    expectError(await raw.waitFor((m) => m.id === null), -32600, /^invalid request: batches are not supported/);
    await expectServes(bystander);
    expectResult('session/hello', await raw.request('session/hello', { protocolVersions: [PROTOCOL_VERSION], nonce: newNonce(), client: { name: 'cl-batch' } }));
  });
});
