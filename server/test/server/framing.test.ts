// NDJSON framing and the JSON-RPC envelope over real TCP: what the server does with bytes that
// are not a well-formed request, and with well-formed requests cut up or run together.
import { strict as assert } from 'node:assert';
import { call, expectError, expectResult, expectServes, handshake, queueName, sleep, useFixture, type RawConnection, type WireMessage } from './fixture';

const BATCH_MESSAGE = 'invalid request: batches are not supported; use the list parameters of queue/put, queue/get and task/ack';

function nullIdMessage(raw: RawConnection): Promise<WireMessage> {
  return raw.waitFor((m) => m.id === null);
}

describe('server: NDJSON framing and envelope', () => {
  const fx = useFixture();

  it('answers malformed JSON with -32700 and id null; the connection survives', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.connect(port, 'fr-bad-json');
    raw.write('{"jsonrpc":"2.0","id":1,"method":\n');
    expectError(await nullIdMessage(raw), -32700, 'parse error: the frame is not valid JSON');
    raw.write('this is not json at all}\n');
    expectError(await nullIdMessage(raw), -32700, 'parse error: the frame is not valid JSON');
    await expectServes(raw);
    await expectServes(bystander);
  });

  it('answers malformed JSON before the handshake with -32700 and lets the handshake go on', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.open(port);
    raw.write('{oops\n');
    expectError(await nullIdMessage(raw), -32700, 'parse error: the frame is not valid JSON');
    await expectServes(bystander);
    expectResult('session/authenticate', await handshake(raw, { name: 'fr-early' }));
    await expectServes(raw);
  });

  it('refuses a batch with -32600 naming batches; the connection survives', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.connect(port, 'fr-batch');
    raw.write(
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'session/ping', params: {} },
        { jsonrpc: '2.0', id: 2, method: 'session/ping', params: {} },
      ]) + '\n',
    );
    expectError(await nullIdMessage(raw), -32600, BATCH_MESSAGE);
    raw.write('[]\n');
    expectError(await nullIdMessage(raw), -32600, BATCH_MESSAGE);
    // Nothing in the batch was executed.
    assert.deepEqual(raw.messages, []);
    await expectServes(raw);
    await expectServes(bystander);
  });

  it('refuses a batch as the very first bytes of a connection with -32600', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.open(port);
    raw.write('[{"jsonrpc":"2.0","id":1,"method":"session/ping"}]\n');
    expectError(await nullIdMessage(raw), -32600, BATCH_MESSAGE);
    await expectServes(bystander);
    expectResult('session/authenticate', await handshake(raw, { name: 'fr-batch-first' }));
  });

  for (const text of ['42', '"ping"', 'null', 'true']) {
    it(`refuses a message that is not an object (${text}) with -32600`, async () => {
      const { port } = await fx.server();
      const bystander = await fx.connect(port, 'bystander');
      const raw = await fx.connect(port, 'fr-scalar');
      raw.write(`${text}\n`);
      expectError(await nullIdMessage(raw), -32600, 'invalid request: a message must be a JSON object');
      await expectServes(raw);
      await expectServes(bystander);
    });
  }

  for (const [what, message, id, text] of [
    ['missing jsonrpc', { id: 7, method: 'session/ping', params: {} }, 7, 'invalid request: "jsonrpc" must be "2.0"'],
    ['jsonrpc 1.0', { jsonrpc: '1.0', id: 'a', method: 'session/ping' }, 'a', 'invalid request: "jsonrpc" must be "2.0"'],
    ['method not a string', { jsonrpc: '2.0', id: 8, method: 42 }, 8, 'invalid request: "method" must be a string'],
    ['missing method', { jsonrpc: '2.0', id: 9, params: {} }, 9, 'invalid request: "method" must be a string'],
    ['id an object', { jsonrpc: '2.0', id: { x: 1 }, method: 'session/ping' }, null, 'invalid request: "id" must be a string or an integer'],
    ['id a boolean', { jsonrpc: '2.0', id: true, method: 'session/ping' }, null, 'invalid request: "id" must be a string or an integer'],
    ['a fractional id', { jsonrpc: '2.0', id: 1.5, method: 'session/ping' }, null, 'invalid request: "id" must be a string or an integer'],
  ] as const) {
    it(`refuses an envelope with ${what} with -32600 (id ${JSON.stringify(id)})`, async () => {
      const { port } = await fx.server();
      const bystander = await fx.connect(port, 'bystander');
      const raw = await fx.connect(port, 'fr-envelope');
      raw.write(JSON.stringify(message) + '\n');
      expectError(await raw.waitFor((m) => m.id === id), -32600, text);
      await expectServes(raw);
      await expectServes(bystander);
    });
  }

  it('answers the requests read in one chunk in one write, in order', async () => {
    const { port } = await fx.server();
    const raw = await fx.connect(port, 'fr-coalesce');
    let chunks = 0;
    raw.socket.on('data', () => chunks++);
    const queue = queueName('coalesce');
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ jsonrpc: '2.0', id: 1000 + i, method: 'queue/put', params: { queue, tasks: [{ payload: i }] } }));
    raw.write(lines.join('\n') + '\n');
    const answers = [];
    for (let i = 0; i < 50; i++) answers.push(await raw.waitFor((m) => m.id === 1000 + i));
    for (const answer of answers) expectResult('queue/put', answer);
    // One chunk in, one write out (TCP may still split a write; 50 answers are far from a segment).
    assert.equal(chunks, 1, `the 50 answers arrived in ${chunks} chunks`);
    const { tasks } = await call(raw, 'queue/peek', { queue, max: 50 });
    assert.deepEqual(
      tasks.map((t: { payload: number }) => t.payload),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it('ignores a response sent by the client and an unknown notification (no answer)', async () => {
    const { port } = await fx.server();
    const raw = await fx.connect(port, 'fr-ignored');
    raw.write('{"jsonrpc":"2.0","id":99,"result":{}}\n');
    raw.write('{"jsonrpc":"2.0","id":98,"error":{"code":1,"message":"x"}}\n');
    raw.notify('no/such/notification', {});
    raw.write('\n   \n');
    await call(raw, 'session/ping');
    assert.deepEqual(raw.messages, []);
  });

  it('refuses a frame over the limit with -32004 and data.limit, then closes', async () => {
    const { port } = await fx.server({ limits: { maxFrameBytes: 1024 } });
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.connect(port, 'fr-huge');
    const payload = 'x'.repeat(2000);
    raw.write(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'queue/put', params: { queue: 'fr-huge', tasks: [{ payload }] } }) + '\n');
    expectError(await nullIdMessage(raw), -32004, 'frame too large: line exceeds the frame limit of 1024 bytes', { limit: 1024 });
    await raw.waitForClose();
    assert.deepEqual(raw.messages, [], 'the oversized request was not executed');
    const stats = await call(bystander, 'queue/list');
    assert.equal(
      stats.queues.find((q: { queue: string }) => q.queue === 'fr-huge'),
      undefined,
    );
    await expectServes(bystander);
  });

  it('accepts a frame of exactly the limit', async () => {
    const { port } = await fx.server({ limits: { maxFrameBytes: 1024 } });
    const raw = await fx.connect(port, 'fr-exact');
    const queue = queueName('fr-exact');
    const frame = (padding: string) => JSON.stringify({ jsonrpc: '2.0', id: 77, method: 'queue/put', params: { queue, tasks: [{ payload: padding }] } });
    const padding = 'p'.repeat(1024 - Buffer.byteLength(frame('')));
    assert.equal(Buffer.byteLength(frame(padding)), 1024);
    raw.write(frame(padding) + '\r\n');
    expectResult('queue/put', await raw.waitFor((m) => m.id === 77));
    const { tasks } = await call(raw, 'queue/get', { queue, timeout: 0 });
    assert.equal(tasks[0].payload, padding);
  });

  it('rejects an unterminated line over the limit before any newline arrives', async () => {
    const { port } = await fx.server({ limits: { maxFrameBytes: 1024 } });
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.connect(port, 'fr-endless');
    raw.write('{"jsonrpc":"2.0","id":1,"method":"session/ping","params":{"x":"');
    for (let i = 0; i < 4 && !raw.closed; i++) {
      raw.write('y'.repeat(400));
      await sleep(5);
    }
    expectError(await nullIdMessage(raw), -32004, 'frame too large: line exceeds the frame limit of 1024 bytes', { limit: 1024 });
    await raw.waitForClose();
    await expectServes(bystander);
  });

  it('answers invalid UTF-8 with -32700; the connection survives', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.connect(port, 'fr-utf8');
    const bad = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":3,"method":"session/ping","params":{"x":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}}\n')]);
    raw.write(bad);
    expectError(await nullIdMessage(raw), -32700, 'parse error: line is not valid UTF-8');
    // Multi-byte UTF-8 that is valid goes through untouched.
    const queue = queueName('fr-utf8');
    await call(raw, 'queue/put', { queue, tasks: [{ payload: 'grüße, 日本, 🚀' }] });
    const { tasks } = await call(raw, 'queue/get', { queue, timeout: 0 });
    assert.equal(tasks[0].payload, 'grüße, 日本, 🚀');
    await expectServes(bystander);
  });

  it('accepts CRLF line endings and leading blank lines', async () => {
    const { port } = await fx.server();
    const raw = await fx.connect(port, 'fr-crlf');
    raw.write('\r\n\r\n{"jsonrpc":"2.0","id":"crlf-1","method":"session/ping","params":{}}\r\n');
    expectResult('session/ping', await raw.waitFor((m) => m.id === 'crlf-1'));
    raw.write('{"jsonrpc":"2.0","id":"crlf-2","method":"session/ping"}\r\n{"jsonrpc":"2.0","id":"crlf-3","method":"session/ping","params":null}\r\n');
    expectResult('session/ping', await raw.waitFor((m) => m.id === 'crlf-2'));
    expectResult('session/ping', await raw.waitFor((m) => m.id === 'crlf-3'));
  });

  it('answers many requests sent in one write, in order', async () => {
    const { port } = await fx.server();
    const raw = await fx.connect(port, 'fr-many');
    const queue = queueName('fr-many');
    const lines: string[] = [];
    for (let i = 0; i < 50; i++) lines.push(JSON.stringify({ jsonrpc: '2.0', id: 1000 + i, method: 'queue/put', params: { queue, tasks: [{ payload: i }] } }));
    lines.push(JSON.stringify({ jsonrpc: '2.0', id: 2000, method: 'queue/get', params: { queue, max: 100, timeout: 0 } }));
    raw.write(lines.join('\n') + '\n');
    const got = expectResult('queue/get', await raw.waitFor((m) => m.id === 2000));
    assert.deepEqual(
      got.tasks.map((t: { payload: number }) => t.payload),
      Array.from({ length: 50 }, (_, i) => i),
    );
    // Every put was answered before the get, in the order sent.
    const putAnswers = raw.messages.splice(0).map((m) => m.id);
    assert.deepEqual(
      putAnswers,
      Array.from({ length: 50 }, (_, i) => 1000 + i),
    );
  });

  it('reassembles one request split across many writes', async () => {
    const { port } = await fx.server();
    const raw = await fx.connect(port, 'fr-split');
    const queue = queueName('fr-split');
    const text = JSON.stringify({ jsonrpc: '2.0', id: 'split', method: 'queue/put', params: { queue, tasks: [{ payload: 'ünïcödé split 🚀' }] } }) + '\n';
    const bytes = Buffer.from(text, 'utf8');
    // Cut everywhere, including inside multi-byte characters.
    for (let i = 0; i < bytes.length; i += 7) {
      raw.write(bytes.subarray(i, Math.min(i + 7, bytes.length)));
      if (i % 35 === 0) await sleep(2);
    }
    expectResult('queue/put', await raw.waitFor((m) => m.id === 'split'));
    const { tasks } = await call(raw, 'queue/get', { queue, timeout: 0 });
    assert.equal(tasks[0].payload, 'ünïcödé split 🚀');
  });

  it('answers the first byte of an unknown framing with -32700 and closes', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.open(port);
    raw.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expectError(await nullIdMessage(raw), -32700, 'parse error: unrecognised framing: first byte 0x47');
    await raw.waitForClose();
    await expectServes(bystander);
  });
});
