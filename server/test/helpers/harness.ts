import { connect as netConnect, type Socket } from 'node:net';
import { connect, TaskwireServer, type ConnectOptions, type ServerOptions, type TaskwireClient } from '../../src';
import { clientProof, newNonce, serverProof } from '../../src/protocol/auth';
import { PROTOCOL_VERSIONS } from '../../src/protocol/generated';
import { MessageInbox } from './inbox';

export const TEST_KEY = Buffer.from('test-authkey-0123456789');

/** A real server on a free loopback port, stopped by stop(). */
export interface RunningServer {
  server: TaskwireServer;
  port: number;
  key: Buffer;
  /** A client with the right key; closed by stop(). */
  client(options?: Partial<ConnectOptions>): Promise<TaskwireClient>;
  stop(): Promise<void>;
}

export async function startServer(options: Partial<ServerOptions> = {}): Promise<RunningServer> {
  const server = new TaskwireServer({ authkey: TEST_KEY, host: '127.0.0.1', port: 0, ...options });
  const { port } = await server.listen();
  const clients: TaskwireClient[] = [];
  return {
    server,
    port,
    key: options.authkey ?? TEST_KEY,
    async client(clientOptions = {}) {
      const client = await connect({ host: '127.0.0.1', port, authkey: options.authkey ?? TEST_KEY, reconnect: false, ...clientOptions });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.close();
      await server.shutdown();
    },
  };
}

/** A JSON-RPC message as seen on the wire. */
export type WireMessage = Record<string, unknown> & { id?: unknown; result?: unknown; error?: { code: number; message: string; data?: Record<string, unknown> } };

/**
 * A raw NDJSON (or Content-Length) connection for wire-level tests: send exact bytes,
 * read exact messages, see the connection close.
 */
export class RawConnection extends MessageInbox<WireMessage> {
  private buffer = '';
  private nextId = 1;
  /** The line each message arrived as, for tests of the exact bytes (opaque payloads). */
  private readonly lines = new WeakMap<WireMessage, string>();

  private constructor(socket: Socket) {
    super(socket);
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffer += text;
      this.parse();
      this.wake();
    });
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port }, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** Opens and completes the handshake with `key`. */
  static async authenticated(port: number, key: Buffer = TEST_KEY, name = 'raw'): Promise<RawConnection> {
    const raw = await RawConnection.open(port);
    await raw.handshake(key, name);
    return raw;
  }

  async handshake(key: Buffer, name = 'raw'): Promise<WireMessage> {
    const nonce = newNonce();
    const hello = (await this.request('session/hello', { protocolVersions: [...PROTOCOL_VERSIONS], nonce, client: { name } })) as WireMessage & {
      result: { nonce: string; protocolVersion: string };
    };
    if (!hello.result) throw new Error(`hello failed: ${JSON.stringify(hello)}`);
    const proof = clientProof(key, hello.result.nonce, nonce, hello.result.protocolVersion);
    const auth = await this.request('session/authenticate', { proof });
    const result = auth.result as { serverProof?: string } | undefined;
    if (result && result.serverProof !== serverProof(key, hello.result.nonce, nonce, hello.result.protocolVersion)) throw new Error('bad server proof');
    return auth;
  }

  /** Writes raw text (add the newline yourself). */
  write(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** The exact text a message arrived as (without its newline). */
  textOf(message: WireMessage): string {
    const line = this.lines.get(message);
    if (line === undefined) throw new Error('not a message this connection received');
    return line;
  }

  /** Sends a request and resolves with its response. */
  async request(method: string, params?: unknown, timeoutMs = 5000): Promise<WireMessage> {
    const id = this.nextId++;
    this.write(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }) + '\n');
    return this.waitFor((m) => m.id === id, timeoutMs);
  }

  notify(method: string, params?: unknown): void {
    this.write(JSON.stringify({ jsonrpc: '2.0', method, params }) + '\n');
  }

  /** Sends a request without waiting; returns its id. */
  send(method: string, params?: unknown): number {
    const id = this.nextId++;
    this.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
    return id;
  }

  private parse(): void {
    for (;;) {
      const newline = this.buffer.indexOf('\n');
      if (newline < 0) return;
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      if (!line.trim()) continue;
      const message = JSON.parse(line) as WireMessage;
      this.lines.set(message, line);
      this.messages.push(message);
    }
  }
}

/** Polls `check` until it returns true (for state that changes asynchronously on the server). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
