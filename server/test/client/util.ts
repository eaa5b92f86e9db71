// Small helpers shared by the client-library tests: temp dirs, bounded waits, and a fake
// manager that speaks NDJSON but cannot prove it knows the key.
import type { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newNonce } from '../../src/protocol/auth';

/** Temp dirs made by a suite, removed by cleanup(). */
export class TempDirs {
  private readonly dirs: string[] = [];

  make(prefix = 'taskwire-client-test-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Rejects when `promise` takes longer than `ms` (so a hang fails the test with a message, not a mocha timeout). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves with the arguments of the next `event` emitted by `emitter`. */
export function nextEvent(emitter: EventEmitter, event: string, ms = 5000): Promise<unknown[]> {
  return within(new Promise<unknown[]>((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args))), ms, `event "${event}"`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with the error `promise` rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>, ms = 10_000): Promise<Error> {
  try {
    await within(promise, ms, 'the call');
  } catch (error) {
    if (error instanceof Error && /did not settle within/.test(error.message)) throw error;
    return error as Error;
  }
  throw new Error('expected a rejection, but the call succeeded');
}

/**
 * A manager impostor: answers session/hello properly and session/authenticate with a
 * serverProof that does not match, so a client must refuse it.
 */
export class FakeManager {
  readonly sockets = new Set<Socket>();
  readonly received: { method: string; params: unknown }[] = [];
  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly protocolVersion: string,
  ) {}

  /** `protocolVersion`: the version the impostor chooses in its hello answer, whatever was offered. */
  static async start(options: { protocolVersion?: string } = {}): Promise<FakeManager> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fake = new FakeManager(server, (server.address() as AddressInfo).port, options.protocolVersion ?? '2026-11');
    server.on('connection', (socket) => fake.serve(socket));
    return fake;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    socket.setEncoding('utf8');
    let buffer = '';
    socket.on('data', (text: string) => {
      buffer += text;
      for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.trim()) continue;
        const message = JSON.parse(line) as { id?: number | string; method?: string; params?: unknown };
        if (message.method === undefined) continue;
        this.received.push({ method: message.method, params: message.params });
        if (message.id === undefined) continue;
        const reply = (result: unknown) => socket.write(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }) + '\n');
        if (message.method === 'session/hello') {
          reply({ protocolVersion: this.protocolVersion, nonce: newNonce(), server: { name: 'impostor', version: '0.0.0' } });
        } else if (message.method === 'session/authenticate') {
          reply({
            sessionId: 'fake-session',
            serverProof: '0'.repeat(64),
            capabilities: { events: true, framings: ['ndjson'], autoCreateQueues: true },
            limits: { maxFrameBytes: 1 << 20, maxPayloadBytes: 1 << 20, maxBatch: 100, maxSubscriptions: 4 },
          });
        } else {
          // An impostor happily answers anything; a client must never get this far.
          reply({});
        }
      }
    });
  }
}

/** A TCP relay in front of a manager whose connections can be cut, like a network failure. */
export class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<CuttableProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new CuttableProxy(server, (server.address() as AddressInfo).port);
    server.on('connection', (inbound) => {
      const outbound = connect({ host: '127.0.0.1', port: targetPort });
      for (const socket of [inbound, outbound]) {
        proxy.sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => {
          proxy.sockets.delete(socket);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    return proxy;
  }

  /** Drops every relayed connection at once (both ends see a reset/close). */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
