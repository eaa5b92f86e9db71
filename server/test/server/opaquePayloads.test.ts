// Payloads are opaque (spec §7.17), over real TCP: the bytes a payload or result arrived as are
// the bytes every answer, event and routed result carries, even where parsing and serializing
// again would change them.
import { strict as assert } from 'node:assert';
import { call, expectError, expectResult, queueName, useFixture, type Json, type RawConnection, type WireMessage } from './fixture';

/** Changes if parsed and serialized again: 1.0, an exponent past double range, a number past 2^53, -0, escapes, duplicate keys, key order. */
export const ODD_PAYLOAD = '{"b":1,"a":[1.0,1e400,12345678901234567890123,-0],"s":"\\u00e9\\/\\ud83d\\ude00 ü","k":1,"k":2}';
export const ODD_RESULT = '{"n":1.50,"big":98765432109876543210,"e":"\\u00e9"}';

let nextId = 1000;

/** Sends a request whose params are given as text; resolves with the response. */
async function requestText(raw: RawConnection, method: string, paramsText: string): Promise<WireMessage> {
  const id = nextId++;
  raw.write(`{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${paramsText}}\n`);
  return raw.waitFor((message) => message.id === id);
}

/** Puts one task whose payload is `payloadText`; returns its id. */
async function putText(raw: RawConnection, queue: string, payloadText: string, extra = ''): Promise<string> {
  const response = await requestText(raw, 'queue/put', `{"queue":${JSON.stringify(queue)},"tasks":[{"payload":${payloadText}${extra}}]}`);
  return expectResult('queue/put', response).ids[0];
}

describe('server: payloads are opaque', () => {
  const fx = useFixture();

  it('put → peek and get: the payload comes back as the bytes it was put as', async () => {
    const { port } = await fx.server();
    const raw = await fx.connect(port, 'opaque-get');
    const queue = queueName('opaque');
    const id = await putText(raw, queue, ODD_PAYLOAD);

    const peeked = await raw.request('queue/peek', { queue });
    expectResult('queue/peek', peeked);
    assert.ok(raw.textOf(peeked).includes(`"payload":${ODD_PAYLOAD}`), raw.textOf(peeked));

    const got = await raw.request('queue/get', { queue, timeout: 0 });
    const [task] = expectResult('queue/get', got).tasks;
    assert.equal(task.id, id);
    assert.ok(raw.textOf(got).includes(`"payload":${ODD_PAYLOAD}`), raw.textOf(got));
  });

  it('put → ack with a result → the replyTo get: the routed payload holds the result as the bytes it was acked with', async () => {
    const { port } = await fx.server();
    const producer = await fx.connect(port, 'opaque-producer');
    const worker = await fx.connect(port, 'opaque-worker');
    const queue = queueName('opaque-jobs');
    const results = queueName('opaque-results');
    const id = await putText(producer, queue, ODD_PAYLOAD, `,"replyTo":${JSON.stringify(results)}`);
    const [task] = (await call(worker, 'queue/get', { queue, timeout: 1 })).tasks;
    assert.equal(task.id, id);
    expectResult('task/ack', await requestText(worker, 'task/ack', `{"acks":[{"result":${ODD_RESULT},"id":${JSON.stringify(id)}}]}`));

    const got = await producer.request('queue/get', { queue: results, timeout: 1, autoAck: true });
    expectResult('queue/get', got);
    assert.ok(producer.textOf(got).includes(`"payload":{"taskId":${JSON.stringify(id)},"result":${ODD_RESULT}}`), producer.textOf(got));
  });

  it('events carry payloads (with includePayload) and results as the bytes they came as', async () => {
    const { port } = await fx.server();
    const watcher = await fx.connect(port, 'opaque-watcher');
    const plainWatcher = await fx.connect(port, 'opaque-plain-watcher');
    const worker = await fx.connect(port, 'opaque-events-worker');
    const queue = queueName('opaque-events');
    await call(watcher, 'events/subscribe', { queues: [queue], includePayload: true });
    await call(plainWatcher, 'events/subscribe', { queues: [queue] });
    const id = await putText(worker, queue, ODD_PAYLOAD);
    await call(worker, 'queue/get', { queue, timeout: 1 });
    expectResult('task/ack', await requestText(worker, 'task/ack', `{"acks":[{"id":${JSON.stringify(id)},"result":${ODD_RESULT}}]}`));

    const isEvent = (kind: string) => (message: WireMessage) => message.method === 'events/event' && (message.params as Json).kind === kind;
    for (const kind of ['put', 'get']) {
      const event = await watcher.waitFor(isEvent(kind));
      assert.ok(watcher.textOf(event).includes(`"payload":${ODD_PAYLOAD}`), watcher.textOf(event));
      const plain = await plainWatcher.waitFor(isEvent(kind));
      assert.equal((plain.params as Json).payload, undefined, 'no payload without includePayload');
      assert.equal((plain.params as Json).taskId, id);
    }
    for (const inbox of [watcher, plainWatcher]) {
      const ack = await inbox.waitFor(isEvent('ack'));
      assert.equal((ack.params as Json).taskId, id);
      assert.ok(inbox.textOf(ack).includes(`"result":${ODD_RESULT}`), inbox.textOf(ack));
    }
  });

  it('string payloads and results: plain ones and ones with escapes (in themselves or elsewhere in the frame) come back as sent', async () => {
    const { port } = await fx.server();
    const producer = await fx.connect(port, 'opaque-strings-producer');
    const worker = await fx.connect(port, 'opaque-strings-worker');
    const queue = queueName('opaque-strings');
    const results = queueName('opaque-strings-results');
    // A plain string alone; an escaped one; a plain one beside an escape in another member of its frame.
    const cases: [payload: string, extra: string][] = [
      ['"https://example.com/a?b=1 ü"', ''],
      ['"caf\\u00e9 \\"q\\""', ''],
      ['"plain"', ',"priority":0,"replyTo":"' + results + '"'],
    ];
    const escapedElsewhere = `{"queue":${JSON.stringify(queue)},"tasks":[{"payload":"plain"},{"payload":"x\\u0041"}]}`;
    for (const [payload, extra] of cases) await putText(producer, queue, payload, extra);
    expectResult('queue/put', await requestText(producer, 'queue/put', escapedElsewhere));
    const got = await worker.request('queue/get', { queue, max: 10, timeout: 1 });
    const tasks = expectResult('queue/get', got).tasks;
    const text = worker.textOf(got);
    for (const payload of [...cases.map(([p]) => p), '"x\\u0041"']) assert.ok(text.includes(`"payload":${payload}`), `${payload} in ${text}`);
    assert.equal(tasks.length, 5);
    // Results: a plain string, and one with an escape.
    const routed = tasks[2]!;
    expectResult('task/ack', await requestText(worker, 'task/ack', `{"acks":[{"id":${JSON.stringify(routed.id)},"result":"d\\u00f6ne"}]}`));
    const reply = await producer.request('queue/get', { queue: results, timeout: 1, autoAck: true });
    expectResult('queue/get', reply);
    assert.ok(producer.textOf(reply).includes(`"result":"d\\u00f6ne"`), producer.textOf(reply));
  });

  it('a payload written with whitespace is kept without it, every other character as sent', async () => {
    const { port } = await fx.server();
    const raw = await fx.connect(port, 'opaque-spaced');
    const queue = queueName('opaque-spaced');
    // (No line feed: NDJSON frames cannot hold one outside a string.)
    await putText(raw, queue, ' {  "a" : [ 1.0 ,\t"x  y" ] ,\r  "b" : 1E2 }');
    const got = await raw.request('queue/get', { queue, timeout: 0, autoAck: true });
    assert.ok(raw.textOf(got).includes('"payload":{"a":[1.0,"x  y"],"b":1E2}'), raw.textOf(got));
  });

  it('maxPayloadBytes measures the payload as sent: a \\u escape counts as its six bytes', async () => {
    const { port } = await fx.server({ limits: { maxPayloadBytes: 20 } });
    const raw = await fx.connect(port, 'opaque-limit');
    const queue = queueName('opaque-limit');
    // 2 quotes + 3 × 6 bytes = 20: fits. One more escape: 26, refused, though "éééé" is 10 bytes as compact UTF-8.
    await putText(raw, queue, '"\\u00e9\\u00e9\\u00e9"');
    expectError(
      await requestText(raw, 'queue/put', `{"queue":"${queue}","tasks":[{"payload":"\\u00e9\\u00e9\\u00e9\\u00e9"}]}`),
      1004,
      'payload too large: the payload of task 0 is 26 bytes, the limit is 20',
      {
        limit: 20,
      },
    );
    const stats = await call(raw, 'queue/stats', { queue });
    assert.deepEqual([stats.ready, stats.bytes], [1, 20]);
  });
});
