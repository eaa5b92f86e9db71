// Payloads and frames at and over their limits, to the byte, in both framings; and the
// smaller frame limit before authentication.
import { strict as assert } from 'node:assert';
import { call, expectError, queueName, TEST_KEY, useFixture, type Json } from '../server/fixture';
import { bystander, HostileConnection } from './util';

/** A queue/put line whose JSON text is exactly `bytes` long, padding the payload string. */
function putOfSize(bytes: number, queue: string, id: number): string {
  const skeleton = (pad: string) => JSON.stringify({ jsonrpc: '2.0', id, method: 'queue/put', params: { queue, tasks: [{ payload: pad }] } });
  const text = skeleton('x'.repeat(bytes - Buffer.byteLength(skeleton(''))));
  assert.equal(Buffer.byteLength(text), bytes);
  return text;
}

describe('hardening: sizes', function () {
  this.timeout(30_000);
  const fx = useFixture();

  it('maxPayloadBytes: exactly at the limit is accepted, one byte over is 1004, for payloads and results', async () => {
    const limit = 1000;
    const { port } = await fx.server({ limits: { maxPayloadBytes: limit } });
    const witness = await bystander(fx, port);
    const raw = await fx.connect(port, 'payload-limit');
    const queue = queueName('payload');
    // A string's size is its JSON: quotes included, each é two bytes in UTF-8.
    const atLimit = 'é'.repeat(499); // 2 + 998 = 1000 bytes
    const overLimit = 'é'.repeat(499) + 'a'; // 1001
    const object = { list: Array.from({ length: 1 }, () => 'y'.repeat(limit - 13)) }; // {"list":["…"]} = 1000
    assert.equal(Buffer.byteLength(JSON.stringify(object)), limit);
    const { ids } = await call(raw, 'queue/put', { queue, tasks: [{ payload: atLimit, replyTo: `${queue}.out` }, { payload: object }] });
    expectError(await raw.request('queue/put', { queue, tasks: [{ payload: overLimit }] }), 1004, `payload too large: the payload of task 0 is 1001 bytes, the limit is ${limit}`, {
      limit,
      reason: 'payload_too_large',
    });
    const { tasks } = await call(raw, 'queue/get', { queue, max: 2, timeout: 0 });
    assert.deepEqual(
      tasks.map((t: Json) => t.payload),
      [atLimit, object],
    );
    expectError(await raw.request('task/ack', { acks: [{ id: ids[0], result: overLimit }] }), 1004, `payload too large: the result of ack 0 is 1001 bytes, the limit is ${limit}`);
    assert.deepEqual(await call(raw, 'task/ack', { acks: [{ id: ids[0], result: atLimit }, { id: ids[1] }] }), { acked: 2 });
    const { tasks: replies } = await call(raw, 'queue/get', { queue: `${queue}.out`, timeout: 0 });
    assert.deepEqual(replies[0].payload, { taskId: ids[0], result: atLimit });
    await witness.check();
  });

  it('maxFrameBytes, NDJSON: a line of exactly the limit is read (with LF or CRLF), one byte more is -32004 and close', async () => {
    const limit = 4096;
    const { port } = await fx.server({ limits: { maxFrameBytes: limit, maxPayloadBytes: 4000 } });
    const witness = await bystander(fx, port);
    const raw = await fx.connect(port, 'frame-limit');
    const queue = queueName('frame');
    raw.write(putOfSize(limit, queue, 1) + '\n');
    assert.ok((await raw.waitFor((m) => m.id === 1)).result);
    raw.write(putOfSize(limit, queue, 2) + '\r\n');
    assert.ok((await raw.waitFor((m) => m.id === 2)).result);
    raw.write(putOfSize(limit + 1, queue, 3) + '\n');
    expectError(await raw.waitFor(() => true), -32004, `frame too large: line exceeds the frame limit of ${limit} bytes`, { limit });
    await raw.waitForClose();
    await witness.check();
  });

  it('maxFrameBytes, Content-Length: a body of exactly the limit is read, one byte more is refused from the header alone', async () => {
    const limit = 4096;
    const { port } = await fx.server({ limits: { maxFrameBytes: limit, maxPayloadBytes: 4000 } });
    const witness = await bystander(fx, port);
    const framed = fx.track(await HostileConnection.open(port, 'content-length'));
    assert.ok((await framed.handshake(TEST_KEY, 'frame-limit-cl')).result);
    const queue = queueName('frame-cl');
    framed.write(framed.frame(putOfSize(limit, queue, 1)));
    assert.ok((await framed.waitFor((m) => m.id === 1)).result);
    // Only the header: the server answers without waiting for a body it would never read.
    framed.write(`Content-Length: ${limit + 1}\r\n\r\n`);
    expectError(await framed.waitFor(() => true), -32004, `frame too large: Content-Length ${limit + 1} exceeds the frame limit of ${limit} bytes`, { limit });
    await framed.waitForClose();
    await witness.check();
  });

  it('before authentication the frame limit is maxHandshakeFrameBytes; after it, maxFrameBytes', async () => {
    const { port } = await fx.server({ limits: { maxFrameBytes: 64 * 1024, maxHandshakeFrameBytes: 1024 } });
    const witness = await bystander(fx, port);
    // A hello padded with whitespace to exactly 1024 bytes is read.
    const hello = (bytes: number, id: number) => {
      const text = JSON.stringify({
        jsonrpc: '2.0',
        id,
        method: 'session/hello',
        params: { protocolVersions: ['2026-11'], nonce: Buffer.alloc(32, 3).toString('base64'), client: { name: 'big-hello' } },
      });
      return text.slice(0, -1) + ' '.repeat(bytes - text.length) + '}';
    };
    const fits = fx.track(await HostileConnection.open(port));
    fits.write(hello(1024, 1) + '\n');
    assert.ok((await fits.waitFor((m) => m.id === 1)).result);
    const over = fx.track(await HostileConnection.open(port));
    over.write(hello(1025, 1) + '\n');
    expectError(await over.waitFor(() => true), -32004, 'frame too large: line exceeds the frame limit of 1024 bytes', { limit: 1024 });
    await over.waitForClose();
    // An unauthenticated peer cannot make the server hold more: the same without a newline.
    const trickle = fx.track(await HostileConnection.open(port));
    trickle.write('{"jsonrpc":"2.0",' + ' '.repeat(1100));
    expectError(await trickle.waitFor(() => true), -32004, /^frame too large: /, { limit: 1024 });
    // Once authenticated, frames up to maxFrameBytes are read.
    const raw = await fx.connect(port, 'after-auth');
    const { ids } = await call(raw, 'queue/put', { queue: queueName('big'), tasks: [{ payload: 'p'.repeat(60_000) }] });
    assert.equal(ids.length, 1);
    await witness.check();
  });
});
