import { strict as assert } from 'node:assert';
import { RpcConnection } from '../../src/client/rpcConnection';
import type { FrameError } from '../../src/protocol/framing';
import { FrameTransport, transportPair } from '../../src/transport/frameTransport';

// The one transport of sessions, the client and the conformance kit, on its in-memory pair:
// the same framing and coalescing as over a socket, without one.

/** Counts the writes a transport hands to its stream. */
function countWrites(transport: FrameTransport): () => number {
  let writes = 0;
  const write = transport.stream.write.bind(transport.stream) as (...args: unknown[]) => boolean;
  transport.stream.write = ((...args: unknown[]) => (writes++, write(...args))) as typeof transport.stream.write;
  return () => writes;
}

function received(transport: FrameTransport): string[] {
  const messages: string[] = [];
  transport.onMessage((json) => messages.push(json));
  return messages;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 5000; !check(); await new Promise((resolve) => setImmediate(resolve))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('transport: frames both ways over one stream', () => {
  it('delivers what one end sends to the other, in order, the frames of one turn in one write', async () => {
    const [a, b] = transportPair();
    const writes = countWrites(a);
    const got = received(b);
    for (let i = 0; i < 50; i++) a.send(JSON.stringify({ n: i }));
    assert.equal(writes(), 0, 'nothing goes out before the turn ends');
    await until(() => got.length === 50, '50 messages');
    assert.equal(writes(), 1);
    assert.deepEqual(
      got.map((json) => (JSON.parse(json) as { n: number }).n),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it('hands large frames to the stream at once instead of gathering the turn in one string', async () => {
    const [a, b] = transportPair();
    const writes = countWrites(a);
    const got = received(b);
    const big = JSON.stringify('x'.repeat(300 * 1024));
    for (let i = 0; i < 4; i++) a.send(big);
    assert.equal(writes(), 4);
    await until(() => got.length === 4, 'four large messages');
  });

  it('speaks Content-Length framing when told to, both ways', async () => {
    const [a, b] = transportPair({ framing: 'content-length', maxFrameBytes: 1024 * 1024 });
    const atB = received(b);
    const atA = received(a);
    a.send('{"to":"b","text":"é"}');
    b.send('{"to":"a"}');
    await until(() => atA.length === 1 && atB.length === 1, 'one message each way');
    assert.deepEqual([JSON.parse(atB[0]!), JSON.parse(atA[0]!)], [{ to: 'b', text: 'é' }, { to: 'a' }]);
  });

  it('close() sends what is pending and then ends: the other end hears both', async () => {
    const [a, b] = transportPair();
    const got = received(b);
    let closed = false;
    b.onClose(() => (closed = true));
    a.send('{"last":true}');
    a.close();
    b.stream.end(); // the peer ends its side too, as a socket's would on FIN
    await until(() => closed, 'the close');
    assert.deepEqual(got, ['{"last":true}']);
  });

  it('reports bytes that are not frames to its framing-error handler', async () => {
    const errors: FrameError[] = [];
    const [a, b] = transportPair({ framing: 'ndjson', maxFrameBytes: 64, onFramingError: (error) => errors.push(error) });
    received(b);
    a.sendRaw(`${'x'.repeat(100)}\n`);
    await until(() => errors.length > 0, 'a framing error');
    assert.equal(errors[0]!.kind, 'too-large');
  });

  it('carries the client JSON-RPC endpoint: a request answered by the other end, without a socket', async () => {
    const [clientEnd, managerEnd] = transportPair();
    const rpc = new RpcConnection(clientEnd);
    managerEnd.onMessage((json) => {
      const request = JSON.parse(json) as { id: number; method: string };
      managerEnd.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: { echoed: request.method } }));
    });
    assert.deepEqual(await rpc.request('session/ping', {}).result, { echoed: 'session/ping' });
  });
});
