// Shared helpers for the wire-level server tests: real servers on port 0, raw TCP
// connections, and assertions on exact wire messages. Everything opened through a Fixture
// is closed in afterEach.
import { strict as assert } from 'node:assert';
import { connect as netConnect, type Socket } from 'node:net';
import { clientProof, newNonce, serverProof } from '../../src/protocol/auth';
import type { ClientDescription } from '../../src/protocol/generated';
import { validateDefinition, validateResult } from '../../src/protocol/validation';
import type { ServerOptions } from '../../src/server/options';
import { RawConnection, startServer, TEST_KEY, type RunningServer, type WireMessage } from '../helpers/harness';
import { MessageInbox } from '../helpers/inbox';

export { RawConnection, TEST_KEY, type RunningServer, type WireMessage };

/** Results and params are checked against the spec; the tests read them loosely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the one deliberate any: wire JSON read loosely by tests
export type Json = any;

export const PROTOCOL_VERSION = '2026-11';
/** The version that added managerId, manager and error 1006 (spec §7.18). */
export const SHARED_STORE_VERSION = '2026-12';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let unique = 0;
/** A queue name no other test uses. */
export function queueName(prefix = 'q'): string {
  return `${prefix}-${process.pid}-${++unique}`;
}

interface Closable {
  close(): void;
}

/** Servers and connections opened by one test; cleanup() closes them all. */
export class Fixture {
  private servers: RunningServer[] = [];
  private closables: Closable[] = [];

  async server(options: Partial<ServerOptions> = {}): Promise<RunningServer> {
    const running = await startServer(options);
    this.servers.push(running);
    return running;
  }

  track<T extends Closable>(closable: T): T {
    this.closables.push(closable);
    return closable;
  }

  /** A TCP connection that has sent nothing yet. */
  async open(port: number): Promise<RawConnection> {
    return this.track(await RawConnection.open(port));
  }

  /** A connection that completed the handshake as `client` (a name or a full description). */
  async connect(port: number, client: string | ClientDescription = 'raw', key: Buffer = TEST_KEY, versions = [PROTOCOL_VERSION]): Promise<RawConnection> {
    const raw = await this.open(port);
    const description = typeof client === 'string' ? { name: client } : client;
    const auth = await handshake(raw, description, key, versions);
    assert.ok(auth.result, `handshake failed: ${JSON.stringify(auth)}`);
    return raw;
  }

  /** A plain socket (for connections that must not go through RawConnection's NDJSON parser). */
  socket(port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port }, () => resolve(socket));
      socket.setNoDelay(true);
      socket.once('error', reject);
      this.track({ close: () => socket.destroy() });
    });
  }

  async framed(port: number): Promise<FramedConnection> {
    return this.track(new FramedConnection(await this.socket(port)));
  }

  async cleanup(): Promise<void> {
    for (const closable of this.closables.splice(0)) closable.close();
    await Promise.all(this.servers.splice(0).map((s) => s.stop()));
  }
}

/** A Fixture whose connections and servers are closed after each test of the enclosing describe. */
export function useFixture(): Fixture {
  const fixture = new Fixture();
  afterEach(() => fixture.cleanup());
  return fixture;
}

// ---- handshake ----------------------------------------------------------------------------

export interface HelloExchange {
  clientNonce: string;
  response: WireMessage;
  result: Json;
}

/** Sends session/hello and returns the response with the nonce that was sent. */
export async function sendHello(raw: RawConnection, client: ClientDescription = { name: 'raw' }, versions = [PROTOCOL_VERSION], clientNonce = newNonce()): Promise<HelloExchange> {
  const response = await raw.request('session/hello', { protocolVersions: versions, nonce: clientNonce, client });
  return { clientNonce, response, result: response.result };
}

/** The full handshake as `client`; checks the server's proof. Returns the authenticate response. */
export async function handshake(raw: RawConnection, client: ClientDescription, key: Buffer = TEST_KEY, versions = [PROTOCOL_VERSION]): Promise<WireMessage> {
  const hello = await sendHello(raw, client, versions);
  assert.ok(hello.result, `hello failed: ${JSON.stringify(hello.response)}`);
  const { nonce: serverNonce, protocolVersion } = hello.result;
  const auth = await raw.request('session/authenticate', { proof: clientProof(key, serverNonce, hello.clientNonce, protocolVersion) });
  if (auth.result) {
    assert.equal((auth.result as Json).serverProof, serverProof(key, serverNonce, hello.clientNonce, protocolVersion), 'server proof');
  }
  return auth;
}

// ---- assertions -----------------------------------------------------------------------------

/**
 * Asserts an error response: the exact code, the message (exact string, or a pattern for its
 * stable prefix and key words) and the given data members; the whole response must conform to
 * the spec's JsonRpcResponse.
 */
export function expectError(message: WireMessage, code: number, text: string | RegExp, data?: Record<string, unknown>): Json {
  assert.ok(message.error, `expected error ${code}, got ${JSON.stringify(message)}`);
  const problem = validateDefinition('JsonRpcResponse', message);
  assert.equal(problem, undefined, `the error response does not match the spec: ${problem}`);
  assert.equal(message.error.code, code, `code of ${JSON.stringify(message.error)}`);
  if (typeof text === 'string') assert.equal(message.error.message, text);
  else assert.match(message.error.message, text);
  if (data) {
    for (const [key, value] of Object.entries(data)) {
      assert.deepEqual(message.error.data?.[key], value, `error.data.${key} of ${JSON.stringify(message.error)}`);
    }
  }
  return message.error;
}

/** Asserts a successful response whose result conforms to the method's result schema; returns the result. */
export function expectResult(method: string, message: WireMessage): Json {
  assert.ok(!message.error && 'result' in message, `${method} failed: ${JSON.stringify(message)}`);
  const problem = validateResult(method, message.result);
  assert.equal(problem, undefined, `${method} result does not match the spec: ${problem}; ${JSON.stringify(message.result)}`);
  return message.result;
}

/** Sends a request and returns its (spec-validated) result. */
export async function call(raw: RawConnection, method: string, params: unknown = {}, timeoutMs = 5000): Promise<Json> {
  return expectResult(method, await raw.request(method, params, timeoutMs));
}

/**
 * Proves that a connection is still served: a put and a get on a queue of its own, with the
 * payload coming back and the ack accepted.
 */
export async function expectServes(raw: RawConnection): Promise<void> {
  const queue = queueName('alive');
  const payload = { alive: queue };
  const { ids } = await call(raw, 'queue/put', { queue, tasks: [{ payload }] });
  const { tasks } = await call(raw, 'queue/get', { queue, timeout: 0 });
  assert.equal(tasks.length, 1);
  assert.equal(tasks[0].id, ids[0]);
  assert.deepEqual(tasks[0].payload, payload);
  assert.deepEqual(await call(raw, 'task/ack', { acks: [{ id: ids[0] }] }), { acked: 1 });
}

/**
 * Messages that arrived on `raw` and were not consumed, after a ping round trip: anything the
 * server wrote before answering the ping (events, stray responses) is in the list.
 */
export async function unconsumed(raw: RawConnection): Promise<WireMessage[]> {
  await call(raw, 'session/ping');
  return raw.messages.splice(0);
}

/** The events that arrived on `raw` before a ping round trip (each checked against the spec's Event); nothing else may have. */
export async function drainEvents(raw: RawConnection): Promise<Json[]> {
  const messages = await unconsumed(raw);
  return messages.map((message) => {
    assert.equal(message.method, 'events/event', `expected only events, got ${JSON.stringify(message)}`);
    const problem = validateDefinition('Event', message.params);
    assert.equal(problem, undefined, `event does not match the spec: ${problem}; ${JSON.stringify(message.params)}`);
    return message.params;
  });
}

/** The next events/event notification on `raw` matching `match` (validated against the spec's Event). */
export async function nextEvent(raw: RawConnection, match: (event: Json) => boolean = () => true, timeoutMs = 5000): Promise<Json> {
  const message = await raw.waitFor((m) => m.method === 'events/event' && match(m.params), timeoutMs);
  const problem = validateDefinition('Event', message.params);
  assert.equal(problem, undefined, `event does not match the spec: ${problem}; ${JSON.stringify(message.params)}`);
  return message.params;
}

/** Polls queue/stats over `raw` until `check` holds. */
export async function waitForStats(raw: RawConnection, queue: string, check: (stats: Json) => boolean, what = 'queue stats'): Promise<Json> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const stats = await call(raw, 'queue/stats', { queue });
    if (check(stats)) return stats;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last ${JSON.stringify(stats)}`);
    await sleep(10);
  }
}

// ---- Content-Length framing -----------------------------------------------------------------

/** A raw connection that speaks LSP-style Content-Length framing. */
export class FramedConnection extends MessageInbox<WireMessage> {
  /** Every byte received, for checking the framing of answers. */
  received = Buffer.alloc(0);
  private buffer = Buffer.alloc(0);
  private nextId = 1;

  constructor(socket: Socket) {
    super(socket);
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
      this.wake();
    });
  }

  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Writes one frame (header and body in one write). */
  writeFrame(body: string | Buffer): void {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    this.write(Buffer.concat([Buffer.from(`Content-Length: ${bytes.length}\r\n\r\n`, 'ascii'), bytes]));
  }

  async request(method: string, params: unknown = {}, timeoutMs = 5000): Promise<WireMessage> {
    const id = this.nextId++;
    this.writeFrame(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return this.waitFor((m) => m.id === id, timeoutMs);
  }

  private parse(): void {
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const header = this.buffer.toString('ascii', 0, end);
      const match = /^Content-Length: (\d+)$/im.exec(header);
      if (!match) throw new Error(`bad header from the server: ${JSON.stringify(header)}`);
      const length = Number(match[1]);
      if (this.buffer.length < end + 4 + length) return;
      const body = this.buffer.toString('utf8', end + 4, end + 4 + length);
      this.buffer = this.buffer.subarray(end + 4 + length);
      this.messages.push(JSON.parse(body) as WireMessage);
    }
  }
}
