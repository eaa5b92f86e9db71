// Thousands of random and mutated frames from many connections at once, from a fixed seed
// (TASKWIRE_FUZZ_SEED overrides it; the seed is in the test's title so a failure names it).
// The oracle: the server answers only well-formed JSON-RPC, never -32603 (bad input never
// causes an internal error), never stalls a connection (each one ends answered or closed),
// logs no error, and a client connected before it all is served as before with its lease.
import { strict as assert } from 'node:assert';
import { ErrorCodes, PROTOCOL_VERSIONS, type NotificationMethod, type RequestMethod } from '../../src/protocol/generated';
import { eventually } from '../helpers/harness';
import { TEST_KEY, useFixture, type Json } from '../server/fixture';
import { bystander, HostileConnection, managerStats, Random, recordingLogger, wireProblem } from './util';

const SEED = Number(process.env.TASKWIRE_FUZZ_SEED ?? 20261103);
/** Parallel attackers; each opens connections one after another. */
const WORKERS = 16;
const CONNECTIONS_PER_WORKER = 16;
const FRAMES_PER_CONNECTION = 24;
/** Large enough for 100,000 levels of `{"a":` (600 KB) to be parsed rather than refused for size. */
const MAX_FRAME_BYTES = 1024 * 1024;
const DEEP = 100_000;

const QUEUES = ['fz-a', 'fz-b', 'fz-c', 'fz-c.dead', 'fz-d'];
const ODD_METHODS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', '', ' ', 'queue/', 'QUEUE/PUT', 'events/event', '$/x', 'manager/shutdown '];

/** A random JSON value a few levels deep. */
function randomJson(r: Random, depth = 3): unknown {
  const kind = r.int(0, depth > 0 ? 7 : 4);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, -1, 1.5, 2 ** 53, -(2 ** 53) - 2, 1e308, -1e-308, 42]);
    case 3:
      return r.pick(['', 'x', 'é☃𝄞', '\u0000', 'a'.repeat(r.int(0, 300)), '"\\\n', '\ud800']);
    case 4:
      return r.int(-1000, 1000);
    case 5:
    case 6:
      return Array.from({ length: r.int(0, 4) }, () => randomJson(r, depth - 1));
    default:
      return Object.fromEntries(Array.from({ length: r.int(0, 4) }, (_, i) => [r.pick(['payload', 'queue', 'id', 'x', `k${i}`, '__proto__', 'constructor']), randomJson(r, depth - 1)]));
  }
}

/** A value of a type the schema will not expect, or an extreme of the expected one. */
function wrongValue(r: Random): unknown {
  return r.pick<() => unknown>([
    () => null,
    () => true,
    () => 'string',
    () => '',
    () => -1,
    () => 0,
    () => 1.5,
    () => 2 ** 64,
    () => -(2 ** 64),
    () => Number.MAX_SAFE_INTEGER + 2,
    () => [],
    () => [1, 'two', null],
    () => ({}),
    () => ({ nested: { deeper: [1] } }),
    () => 'x'.repeat(5000),
    () => ({ __proto__: { polluted: true } }),
    () => randomJson(r),
  ])();
}

type ClientMethod = Exclude<RequestMethod | NotificationMethod, 'events/event' | 'session/state'>;

/**
 * Well-formed params for each method a client sends (sometimes with a blocking timeout, never
 * one that outlives the test): a method added to the spec fails to compile here until it has
 * its entry, and so is fuzzed from its first day.
 */
const GOOD_PARAMS: Record<ClientMethod, (r: Random, queue: string) => Json> = {
  'session/hello': (r) => ({ protocolVersions: [...PROTOCOL_VERSIONS], nonce: Buffer.alloc(32, r.int(0, 255)).toString('base64'), client: { name: 'fuzz' } }),
  'session/authenticate': (r) => ({ proof: r.bytes(32).toString('hex') }),
  'session/ping': () => ({}),
  'queue/declare': (r, queue) => ({ queue, maxsize: r.int(0, 5), ttr: r.pick([0.05, 1, 60]), maxAttempts: r.int(0, 3) }),
  'queue/list': () => ({}),
  'queue/stats': (_r, queue) => ({ queue }),
  'queue/purge': (_r, queue) => ({ queue }),
  'queue/pause': (_r, queue) => ({ queue }),
  'queue/resume': (_r, queue) => ({ queue }),
  'queue/put': (r, queue) => ({
    queue,
    tasks: Array.from({ length: r.int(1, 4) }, () => ({ payload: randomJson(r), priority: r.int(-3, 3), ...(r.chance(0.2) ? { delay: 0.05 } : {}) })),
    timeout: r.pick([0, 0.05]),
  }),
  'queue/get': (r, queue) => ({ queue, max: r.int(1, 5), timeout: r.pick([0, 0.05, 0.2]), ...(r.chance(0.3) ? { ttr: 0.1 } : {}), autoAck: r.chance(0.3) }),
  'queue/join': (r, queue) => ({ queue, timeout: r.pick([0, 0.05]) }),
  'queue/peek': (r, queue) => ({ queue, max: r.int(1, 10) }),
  'task/ack': (r) => ({ acks: [{ id: `t-${r.int(0, 99)}`, result: randomJson(r) }] }),
  'task/nack': (r) => ({ nacks: [{ id: `t-${r.int(0, 99)}`, error: 'fuzz', delay: 0 }] }),
  'task/touch': (r) => ({ ids: [`t-${r.int(0, 99)}`], ttr: 1 }),
  'task/progress': (r) => ({ id: `t-${r.int(0, 99)}`, percent: r.int(0, 100), message: 'fuzz', ...(r.chance(0.3) ? { detail: randomJson(r) } : {}) }),
  'schedule/set': (r, queue) => ({
    name: `s-${r.int(0, 3)}`,
    queue,
    task: { payload: randomJson(r) },
    ...(r.chance(0.5) ? { every: r.int(1, 60) } : { cron: r.pick(['* * * * *', '0 3 * * MON', '61 * * * *']), timezone: r.pick(['UTC', 'Europe/Berlin']) }),
  }),
  'schedule/list': (r, queue) => (r.chance(0.5) ? { queue } : {}),
  'schedule/delete': (r) => ({ name: `s-${r.int(0, 3)}` }),
  'events/subscribe': (r, queue) => ({ queues: [queue], kinds: ['put', 'ack'], includePayload: r.chance(0.5) }),
  'events/unsubscribe': (r) => ({ subscription: `sub-${r.int(0, 9)}` }),
  'manager/clients': () => ({}),
  'manager/stats': () => ({}),
  // Fuzzed as a method name only (see METHODS): a well-formed one would stop the manager under test.
  'manager/shutdown': () => ({}),
  '$/cancelRequest': (r) => ({ id: r.int(0, 50) }),
  'session/close': () => ({}),
  'client/quiet': (r) => ({ session: `s-${r.int(0, 9)}` }),
  'client/stop': (r) => ({ session: `s-${r.int(0, 9)}` }),
};

/** Every method a client sends, but those that would stop the manager or end the session under test. */
const METHODS = (Object.keys(GOOD_PARAMS) as ClientMethod[]).filter((method) => method !== 'manager/shutdown' && method !== 'session/close');

function goodParams(r: Random, method: string): Json {
  const queue = r.pick(QUEUES);
  // hasOwn: the odd method names include "constructor" and "__proto__".
  return Object.hasOwn(GOOD_PARAMS, method) ? GOOD_PARAMS[method as ClientMethod](r, queue) : {};
}

/** Replaces, removes or adds one member somewhere inside `params`. */
function mutateParams(r: Random, params: Json): Json {
  const containers: Json[] = [];
  const visit = (value: Json) => {
    if (value !== null && typeof value === 'object') {
      containers.push(value);
      for (const child of Object.values(value)) visit(child);
    }
  };
  visit(params);
  const target = r.pick(containers);
  const keys = Object.keys(target);
  const action = r.int(0, 2);
  if (action === 0 && keys.length > 0) target[r.pick(keys)] = wrongValue(r);
  else if (action === 1 && keys.length > 0) delete target[r.pick(keys)];
  else target[r.pick(['bogus', 'queue', 'id', '__proto__', 'payload'])] = wrongValue(r);
  return params;
}

const INVALID_UTF8 = [
  Buffer.from([0xc3, 0x28]),
  Buffer.from([0xff]),
  Buffer.from([0x80]),
  Buffer.from([0xc0, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from([0xe2, 0x82]),
];

/** One fuzz frame's body (before framing), as bytes. */
function fuzzBody(r: Random, id: number): Buffer {
  const method = r.chance(0.05) ? r.pick(ODD_METHODS) : r.pick(METHODS);
  const message: Json = { jsonrpc: '2.0', id, method, params: goodParams(r, method) };
  const kind = r.int(0, 99);
  if (kind < 22) return Buffer.from(JSON.stringify(message)); // valid (or valid-looking) requests
  if (kind < 45) return Buffer.from(JSON.stringify({ ...message, params: mutateParams(r, message.params) }));
  if (kind < 50) {
    // A broken envelope.
    const broken = r.pick<() => Json>([
      () => ({ ...message, jsonrpc: r.pick(['1.0', 2, null]) }),
      () => ({ ...message, id: wrongValue(r) }),
      () => ({ ...message, method: wrongValue(r) }),
      () => ({ ...message, params: wrongValue(r) }),
      () => ({ jsonrpc: '2.0', id, result: randomJson(r) }),
      () => ({ jsonrpc: '2.0', id, error: { code: 1, message: 'x' } }),
      () => [message, message],
      () => [],
      () => randomJson(r),
    ])();
    return Buffer.from(JSON.stringify(broken) ?? 'undefined');
  }
  const text = Buffer.from(JSON.stringify(message));
  if (kind < 60) return text.subarray(0, r.int(0, text.length - 1)); // truncated JSON
  if (kind < 66) {
    // Flipped bytes (a flipped byte may well be a newline, which splits the frame).
    const copy = Buffer.from(text);
    for (let i = r.int(1, 4); i > 0; i--) copy[r.int(0, copy.length - 1)] = r.int(0, 255);
    return copy;
  }
  if (kind < 72) {
    // Invalid UTF-8 inside a string or between tokens.
    const at = r.int(0, text.length);
    return Buffer.concat([text.subarray(0, at), r.pick(INVALID_UTF8), text.subarray(at)]);
  }
  if (kind < 77) {
    // Huge and odd numbers.
    const number = r.pick(['1e400', '-1e400', '123456789012345678901234567890123', '1.0e-99999', '-0', '0.' + '1'.repeat(400), '1'.repeat(400)]);
    return Buffer.from(`{"jsonrpc":"2.0","id":${r.pick([number, String(id)])},"method":"queue/get","params":{"queue":"fz-a","max":${number},"timeout":${r.pick([number, '0'])}}}`);
  }
  if (kind < 81) {
    // Deep nesting: 100,000 levels at the top, inside the payload, in the id, in params, unbalanced.
    const open = r.pick(['[', '{"a":']);
    const close = open === '[' ? ']' : '}';
    const deep = open.repeat(DEEP) + (open === '[' ? '' : '1') + close.repeat(DEEP);
    return Buffer.from(
      r.pick([
        () => deep,
        () => `{"jsonrpc":"2.0","id":${id},"method":"queue/put","params":{"queue":"fz-deep","tasks":[{"payload":${deep}}]}}`,
        () => `{"jsonrpc":"2.0","id":${deep},"method":"session/ping"}`,
        () => `{"jsonrpc":"2.0","id":${id},"method":"queue/get","params":${deep}}`,
        () => `{"jsonrpc":"2.0","id":${id},"method":"events/subscribe","params":{"queues":${deep}}}`,
        () => open.repeat(DEEP),
      ])(),
    );
  }
  if (kind < 86) return r.bytes(r.int(0, 600)); // random bytes
  if (kind < 90) return Buffer.from(r.pick(['', ' ', '\t', '\r', 'null', 'true', '"x"', '1', '{}', '{"jsonrpc":"2.0"}', '[]', '[[]]']));
  if (kind < 93) {
    // Duplicate keys, prototype names.
    return Buffer.from(`{"jsonrpc":"2.0","id":${id},"method":"queue/put","method":"session/ping","params":{"queue":"fz-a","queue":"fz-b","tasks":[{"payload":1,"payload":2}],"__proto__":{"x":1}}}`);
  }
  if (kind < 94) return Buffer.alloc(MAX_FRAME_BYTES + r.int(1, 100), 0x20 + r.int(0, 90)); // over the frame limit: -32004 and close
  // Large, around the payload limit (1004 above it).
  return Buffer.from(JSON.stringify({ jsonrpc: '2.0', id, method: 'queue/put', params: { queue: 'fz-big', tasks: [{ payload: 'z'.repeat(r.int(1000, 40_000)) }] } }));
}

/** Frames a body, sometimes with a Content-Length that lies or a header that is not one. */
function frameFor(r: Random, conn: HostileConnection, body: Buffer): Buffer {
  if (conn.framing === 'ndjson') return Buffer.concat([body, Buffer.from(r.chance(0.1) ? '\r\n' : '\n')]);
  const roll = r.int(0, 99);
  let header: string;
  if (roll < 80) header = `Content-Length: ${body.length}\r\n\r\n`;
  else if (roll < 85)
    header = `Content-Length: ${body.length + r.int(1, 50)}\r\n\r\n`; // says more than is sent
  else if (roll < 90)
    header = `Content-Length: ${Math.max(0, body.length - r.int(1, 50))}\r\n\r\n`; // says less
  else if (roll < 93) header = `Content-Length: ${r.pick(['-1', 'abc', '1e3', '99999999999999999', ''])}\r\n\r\n`;
  else if (roll < 96)
    header = `Content-Type: application/json\r\n\r\n`; // no length
  else header = `content-length: ${body.length}\r\nContent-Length: ${body.length + 1}\r\n\r\n`; // conflicting
  return Buffer.concat([Buffer.from(header, 'latin1'), body]);
}

interface Tally {
  frames: number;
  connections: number;
  answered: number;
  closedByServer: number;
  codes: Map<number, number>;
  problems: string[];
}

/** One attacker: connection after connection, each with a burst of fuzz frames, then a check that it is not stuck. */
async function attacker(index: number, port: number, tally: Tally): Promise<void> {
  const r = new Random(SEED + index * 7919);
  for (let c = 0; c < CONNECTIONS_PER_WORKER; c++) {
    const framing = r.chance(0.25) ? 'content-length' : 'ndjson';
    const conn = await HostileConnection.open(port, framing);
    tally.connections++;
    try {
      const authenticate = r.chance(0.7);
      if (authenticate) {
        const auth = await conn.handshake(TEST_KEY, `fuzz-${index}-${c}`);
        assert.ok(auth.result, `handshake failed: ${JSON.stringify(auth)}`);
      }
      // Frames go out in chunks of random sizes, so frames and UTF-8 sequences straddle writes.
      const bytes = Buffer.concat(Array.from({ length: FRAMES_PER_CONNECTION }, (_, i) => frameFor(r, conn, fuzzBody(r, 1000 + i))));
      tally.frames += FRAMES_PER_CONNECTION;
      for (let offset = 0; offset < bytes.length && !conn.closed;) {
        const size = r.int(1, 4096);
        conn.write(bytes.subarray(offset, offset + size));
        offset += size;
        if (r.chance(0.1)) await new Promise((resolve) => setImmediate(resolve));
      }
      // Not stuck: a final request is answered, or the server closed the connection (after a
      // fatal framing error, an unfinished Content-Length body, a failed handshake...).
      const syncId = `sync-${index}-${c}`;
      if (conn.framing === 'ndjson') conn.write('\n');
      conn.send('session/ping', {}, syncId);
      let answered: boolean;
      try {
        answered = await conn.answeredOrClosed((m) => m.id === syncId, 8000);
      } catch {
        tally.problems.push(`seed ${SEED}, attacker ${index}, connection ${c} (${framing}, ${authenticate ? 'authenticated' : 'not authenticated'}): neither answered nor closed`);
        continue;
      }
      if (answered) tally.answered++;
      else tally.closedByServer++;
      for (const message of conn.messages) {
        const problem = wireProblem(message);
        if (problem) tally.problems.push(`seed ${SEED}: the server sent ${JSON.stringify(message).slice(0, 300)}: ${problem}`);
        const code = message.error?.code;
        if (typeof code === 'number') tally.codes.set(code, (tally.codes.get(code) ?? 0) + 1);
      }
      for (const text of conn.garbage) tally.problems.push(`seed ${SEED}: the server sent a frame that is not JSON: ${text}`);
    } finally {
      conn.close();
    }
  }
}

describe('hardening: fuzz', function () {
  this.timeout(120_000);
  const fx = useFixture();

  it(`answers ${WORKERS * CONNECTIONS_PER_WORKER * FRAMES_PER_CONNECTION} random and mutated frames from ${WORKERS * CONNECTIONS_PER_WORKER} connections with well-formed errors only, and keeps serving (seed ${SEED})`, async () => {
    const log = recordingLogger();
    const { server, port } = await fx.server({
      log,
      limits: {
        maxFrameBytes: MAX_FRAME_BYTES,
        maxPayloadBytes: 32 * 1024,
        maxBatch: 50,
        authFailureDelay: 10,
        partialFrameTimeout: 0.5,
        handshakeTimeout: 5,
      },
    });
    const witness = await bystander(fx, port);
    const started = Date.now();
    const tally: Tally = { frames: 0, connections: 0, answered: 0, closedByServer: 0, codes: new Map(), problems: [] };
    await Promise.all(Array.from({ length: WORKERS }, (_, i) => attacker(i, port, tally)));
    const elapsed = Date.now() - started;

    assert.deepEqual(tally.problems.slice(0, 10), [], `${tally.problems.length} problems`);
    assert.equal(tally.codes.get(ErrorCodes.InternalError) ?? 0, 0, 'bad input never causes -32603');
    assert.deepEqual(
      log.entries.filter((e) => e.level === 'error').map((e) => `${e.message} ${JSON.stringify(e.fields).slice(0, 300)}`),
      [],
      'nothing was logged as an error',
    );
    // Every kind of answer the fuzz is meant to provoke came up.
    for (const code of [ErrorCodes.ParseError, ErrorCodes.InvalidRequest, ErrorCodes.MethodNotFound, ErrorCodes.InvalidParams, ErrorCodes.FrameTooLarge, ErrorCodes.NotAuthenticated]) {
      assert.ok((tally.codes.get(code) ?? 0) > 0, `no ${code} answered; codes: ${JSON.stringify([...tally.codes])}`);
    }

    await witness.check();
    await eventually(() => server.connectionCount === 1, 10_000, 'every fuzz connection to be gone');
    const stats = await managerStats(witness.raw);
    assert.equal(stats.connections.current, 1);
    assert.ok(stats.connections.total >= tally.connections);
    // Frames after a fatal framing error (or after the handshake failed) are never read.
    assert.ok(stats.frames.received > tally.connections, `frames received: ${stats.frames.received}`);
    console.log(
      `      fuzz seed ${SEED}: ${tally.frames} frames on ${tally.connections} connections in ${elapsed} ms; ` +
        `${tally.answered} connections still answering at the end, ${tally.closedByServer} closed by the server; ` +
        `answers by code ${JSON.stringify(Object.fromEntries([...tally.codes].sort((a, b) => a[0] - b[0])))}; ` +
        `server rss ${(stats.memory.rss / 1048576).toFixed(0)} MiB`,
    );
  });
});
