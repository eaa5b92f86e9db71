// Helpers shared by the hardening suites: a seeded random generator, a raw connection that
// survives any bytes in either direction, a logger that records what it is given, and a
// "bystander": a client connected before the attack, holding a lease, that must be served
// exactly as before once the attack is over.
import { strict as assert } from 'node:assert';
import { connect as netConnect, type Socket } from 'node:net';
import { clientProof, newNonce } from '../../src/protocol/auth';
import type { Framing } from '../../src/protocol/framing';
import { validateDefinition } from '../../src/protocol/validation';
import type { Logger } from '../../src/server/logger';
import { call, expectServes, queueName, type Fixture, type Json, type RawConnection } from '../server/fixture';
import { MessageInbox } from '../helpers/inbox';

import { prng } from '../helpers/prng';

export class Random {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- a connection that tolerates anything ----------------------------------------------

export type Message = Json;

/**
 * A TCP connection for hostile tests: writes any bytes, and reads the server's frames in
 * whichever framing the server answers (detected from its first byte). Unlike the fixture's
 * RawConnection it never throws on what it reads; anything that is not a well-formed frame
 * of JSON is recorded in `garbage`, for the test to assert on.
 */
export class HostileConnection extends MessageInbox<Message> {
  readonly garbage: string[] = [];
  receivedBytes = 0;
  private buffer: Buffer = Buffer.alloc(0);
  private serverFraming: Framing | undefined;
  private nextId = 1;

  private constructor(
    socket: Socket,
    /** How this side writes requests made with request(). */
    readonly framing: Framing,
  ) {
    super(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.receivedBytes += chunk.length;
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.parse();
      this.wake();
    });
  }

  static open(port: number, framing: Framing = 'ndjson', localAddress?: string): Promise<HostileConnection> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) }, () => resolve(new HostileConnection(socket, framing)));
      socket.once('error', reject);
    });
  }

  write(bytes: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** One message as a frame of this connection's framing. */
  frame(json: string | Buffer): Buffer {
    const body = typeof json === 'string' ? Buffer.from(json, 'utf8') : json;
    if (this.framing === 'ndjson') return Buffer.concat([body, Buffer.from('\n')]);
    return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
  }

  send(method: string, params?: unknown, id: string | number = this.nextId++): string | number {
    this.write(this.frame(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })));
    return id;
  }

  async request(method: string, params?: unknown, timeoutMs = 5000): Promise<Message> {
    const id = this.send(method, params);
    return this.waitFor((m) => m.id === id, timeoutMs);
  }

  /** The handshake; resolves with the authenticate response. */
  async handshake(key: Buffer, name = 'hostile'): Promise<Message> {
    const nonce = newNonce();
    const hello = await this.request('session/hello', { protocolVersions: ['2026-11'], nonce, client: { name } });
    assert.ok(hello.result, `hello failed: ${JSON.stringify(hello)}`);
    return this.request('session/authenticate', { proof: clientProof(key, hello.result.nonce, nonce, hello.result.protocolVersion) });
  }

  /** Resolves with true when a message matches, false when the connection closed first; throws after timeoutMs. */
  async answeredOrClosed(match: (message: Message) => boolean, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.messages.some(match)) return true;
      if (this.closed) return false;
      if (Date.now() >= deadline) throw new Error('neither answered nor closed');
      await this.idle(deadline);
    }
  }

  private parse(): void {
    for (;;) {
      if (this.buffer.length === 0) return;
      this.serverFraming ??= this.buffer[0] === 0x43 ? 'content-length' : 'ndjson';
      let body: Buffer;
      if (this.serverFraming === 'ndjson') {
        const newline = this.buffer.indexOf(0x0a);
        if (newline < 0) return;
        body = this.buffer.subarray(0, newline);
        this.buffer = this.buffer.subarray(newline + 1);
      } else {
        const end = this.buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const match = /^Content-Length: (\d+)$/im.exec(this.buffer.toString('latin1', 0, end));
        if (!match) {
          this.garbage.push(this.buffer.toString('latin1', 0, end));
          this.buffer = Buffer.alloc(0);
          return;
        }
        const length = Number(match[1]);
        if (this.buffer.length < end + 4 + length) return;
        body = this.buffer.subarray(end + 4, end + 4 + length);
        this.buffer = this.buffer.subarray(end + 4 + length);
      }
      const text = body.toString('utf8');
      try {
        this.messages.push(JSON.parse(text) as Message);
      } catch {
        this.garbage.push(text.slice(0, 200));
      }
    }
  }
}

/** Whether `message` is something the server may send: a response, or an events/event notification. */
export function wireProblem(message: Message): string | undefined {
  if (message && typeof message === 'object' && 'method' in message) {
    if (message.method !== 'events/event') return `unexpected notification ${JSON.stringify(message.method)}`;
    return validateDefinition('JsonRpcNotification', message);
  }
  return validateDefinition('JsonRpcResponse', message);
}

// ---- logs --------------------------------------------------------------------------------

export interface LogEntry {
  level: 'info' | 'warn' | 'error' | 'debug';
  message: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps every line (debug included) for assertions. */
export function recordingLogger(): Logger & { entries: LogEntry[]; matching(pattern: RegExp): LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      void entries.push({ level, message, fields });
  return {
    entries,
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    debug: at('debug'),
    matching: (pattern) => entries.filter((e) => pattern.test(e.message)),
  };
}

// ---- the bystander -------------------------------------------------------------------------

export interface Bystander {
  raw: RawConnection;
  queue: string;
  /** The id of the task the bystander holds through the attack. */
  leased: string;
  /**
   * After the attack: still served (put/get/ack round trip), still the holder of its lease
   * (touch works, the queue shows it leased, the registry shows it holding it), then acks it.
   */
  check(): Promise<void>;
}

/** Connects a client that takes a task and keeps its lease while the test attacks the server. */
export async function bystander(fx: Fixture, port: number, name = 'bystander'): Promise<Bystander> {
  const raw = await fx.connect(port, name);
  const queue = queueName('bystander');
  const { ids } = await call(raw, 'queue/put', { queue, tasks: [{ payload: 'held through the attack' }] });
  const { tasks } = await call(raw, 'queue/get', { queue, timeout: 0, ttr: 600 });
  assert.equal(tasks[0].id, ids[0]);
  const leased = ids[0] as string;
  return {
    raw,
    queue,
    leased,
    async check() {
      await expectServes(raw);
      await call(raw, 'task/touch', { ids: [leased], ttr: 600 });
      const stats = await call(raw, 'queue/stats', { queue });
      assert.equal(stats.leased, 1, 'the bystander still holds its lease');
      const { clients } = await call(raw, 'manager/clients');
      const me = clients.find((c: Json) => c.name === name);
      assert.equal(me?.leased, 1, 'the registry shows the bystander holding its task');
      assert.deepEqual(await call(raw, 'task/ack', { acks: [{ id: leased }] }), { acked: 1 });
    },
  };
}

/** manager/stats over `raw`, validated against the spec. */
export function managerStats(raw: RawConnection): Promise<Json> {
  return call(raw, 'manager/stats');
}
