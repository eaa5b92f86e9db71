// Deep nesting: JSON.parse builds 100,000 levels without trouble, but JSON.stringify (and
// every other recursive reader) runs out of stack a few thousand levels down. Before the
// nesting limit, a put of 10 KB of `[` was accepted and the manager crashed with "Maximum
// call stack size exceeded" when a timer delivered the task. Now such messages are refused on
// arrival with -32600, and everything up to the limit is delivered everywhere.
import { strict as assert } from 'node:assert';
import { call, expectError, nextEvent, queueName, sleep, useFixture, type Json } from '../server/fixture';
import { bystander, HostileConnection } from './util';
import { TEST_KEY } from '../server/fixture';

const LIMIT = 256;
const TOO_DEEP = `invalid request: the message nests arrays and objects deeper than ${LIMIT} levels`;

function nestedArrays(depth: number, inner = '1'): string {
  return '['.repeat(depth) + inner + ']'.repeat(depth);
}

function nestedObjects(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** A value whose parse nests exactly `depth` levels (arrays), as a JS value. */
function nestedValue(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe('hardening: deep nesting', function () {
  this.timeout(30_000);
  const fx = useFixture();

  it('refuses 100,000 nested arrays or objects anywhere in a message, fast, and keeps serving', async () => {
    const { port } = await fx.server();
    const witness = await bystander(fx, port);
    const raw = await fx.connect(port, 'deep');
    const queue = queueName('deep');
    const deep = nestedArrays(100_000);
    const started = Date.now();

    // At the top: a batch, refused as such without looking inside.
    raw.write(deep + '\n');
    expectError(await raw.waitFor((m) => m.id === null), -32600, /^invalid request: batches are not supported/);
    // In a payload, in params, in an object chain: -32600 with the request's id; nothing applied.
    raw.write(`{"jsonrpc":"2.0","id":1,"method":"queue/put","params":{"queue":"${queue}","tasks":[{"payload":${deep}}]}}\n`);
    expectError(await raw.waitFor((m) => m.id === 1), -32600, TOO_DEEP);
    raw.write(`{"jsonrpc":"2.0","id":2,"method":"queue/get","params":${nestedObjects(100_000)}}\n`);
    expectError(await raw.waitFor((m) => m.id === 2), -32600, TOO_DEEP);
    raw.write(`{"jsonrpc":"2.0","id":3,"method":"events/subscribe","params":{"queues":${deep}}}\n`);
    expectError(await raw.waitFor((m) => m.id === 3), -32600, TOO_DEEP);
    // In the id itself: no usable id, so id null.
    raw.write(`{"jsonrpc":"2.0","id":${deep},"method":"session/ping"}\n`);
    expectError(await raw.waitFor((m) => m.id === null), -32600, TOO_DEEP);
    // Unbalanced: not JSON at all.
    raw.write('['.repeat(100_000) + '\n');
    expectError(await raw.waitFor((m) => m.id === null), -32700, 'parse error: the frame is not valid JSON');
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 2000, `refusing took ${elapsed} ms`);

    const { queues } = await call(raw, 'queue/list');
    assert.equal(
      queues.find((q: Json) => q.queue === queue),
      undefined,
      'the refused put created nothing',
    );
    await witness.check();
  });

  it('refuses it before authentication and in Content-Length framing too, connection kept', async () => {
    const { port } = await fx.server();
    const witness = await bystander(fx, port);
    const early = await fx.open(port);
    early.write(`{"jsonrpc":"2.0","id":7,"method":"session/hello","params":${nestedArrays(100_000)}}\n`);
    expectError(await early.waitFor((m) => m.id === 7), -32600, TOO_DEEP);
    const hello = await early.request('session/hello', { protocolVersions: ['2026-11'], nonce: Buffer.alloc(32, 1).toString('base64'), client: { name: 'after-deep' } });
    assert.ok(hello.result, 'the connection goes on');

    const framed = await HostileConnection.open(port, 'content-length');
    fx.track(framed);
    assert.ok((await framed.handshake(TEST_KEY, 'deep-cl')).result);
    framed.write(framed.frame(`{"jsonrpc":"2.0","id":"x","method":"queue/put","params":{"queue":"cl-deep","tasks":[{"payload":${nestedObjects(100_000)}}]}}`));
    expectError(await framed.waitFor((m) => m.id === 'x'), -32600, TOO_DEEP);
    assert.ok((await framed.request('session/ping', {})).result, 'the Content-Length connection goes on');
    await witness.check();
  });

  it('accepts a payload nested up to the limit and delivers it on every path: get, blocked get woken by a timer, events', async () => {
    const { port } = await fx.server();
    const witness = await bystander(fx, port);
    const raw = await fx.connect(port, 'deep-ok');
    const monitor = await fx.connect(port, 'deep-monitor');
    const queue = queueName('deep-ok');
    await call(monitor, 'events/subscribe', { queues: [queue], includePayload: true });
    // message 1 > params 2 > tasks 3 > task 4 > payload: 252 levels make 256.
    const payload = nestedValue(LIMIT - 4);
    const tooDeep = nestedValue(LIMIT - 3);
    expectError(await raw.request('queue/put', { queue, tasks: [{ payload: tooDeep }] }), -32600, TOO_DEEP);

    const { ids } = await call(raw, 'queue/put', { queue, tasks: [{ payload }] });
    assert.deepEqual((await nextEvent(monitor, (e) => e.kind === 'put')).payload, payload);
    const { tasks } = await call(raw, 'queue/get', { queue, timeout: 0 });
    assert.equal(tasks[0].id, ids[0]);
    assert.deepEqual(tasks[0].payload, payload);
    await call(raw, 'task/ack', { acks: [{ id: ids[0] }] });

    // The path that used to crash the manager: a blocked get served when a delayed task becomes ready.
    const blocked = raw.send('queue/get', { queue, timeout: 5 });
    await call(raw, 'queue/put', { queue, tasks: [{ payload, delay: 0.2 }] });
    const delivered = await raw.waitFor((m) => m.id === blocked);
    assert.deepEqual((delivered.result as Json).tasks[0].payload, payload);
    // Results nest the same way: ack result routed to a reply queue.
    await call(raw, 'task/ack', { acks: [{ id: (delivered.result as Json).tasks[0].id, result: nestedValue(LIMIT - 5) }] });
    await sleep(50);
    await witness.check();
  });

  it('takes its limit from the server options', async () => {
    const { port } = await fx.server({ limits: { maxNestingDepth: 5 } });
    const raw = await fx.connect(port, 'shallow');
    // message > params > tasks > task > payload [ ] : 5 levels with a flat array payload.
    await call(raw, 'queue/put', { queue: 'shallow', tasks: [{ payload: [1, 2] }] });
    expectError(await raw.request('queue/put', { queue: 'shallow', tasks: [{ payload: [[1]] }] }), -32600, 'invalid request: the message nests arrays and objects deeper than 5 levels');
  });
});
