import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { encodeFrame, FrameDecoder, type Framing } from '../protocol/framing';
import { ProtocolError } from '../protocol/errors';
import { ErrorCodes, type ClientDescription, type ClientInfo } from '../protocol/generated';
import type { Waiter } from '../engine';

type RequestId = string | number;

/** What a session hands up to the server for each message it reads. */
export interface SessionHost {
  handleRequest(session: Session, id: RequestId, method: string, params: unknown, frameBytes: number): void;
  handleNotification(session: Session, method: string, params: unknown): void;
  sessionClosed(session: Session): void;
}

export type SessionState = 'new' | 'greeted' | 'authenticating' | 'authenticated' | 'closed';

/**
 * One connection: framing, the JSON-RPC envelope, and what the registry shows about it.
 * It knows nothing of queues.
 */
export class Session {
  readonly id = randomBytes(8).toString('hex');
  readonly address: string;
  readonly connectedAt = Date.now();
  lastSeenAt = this.connectedAt;
  state: SessionState = 'new';
  framing: Framing | undefined;
  client: ClientDescription | undefined;
  protocolVersion: string | undefined;
  clientNonce: string | undefined;
  serverNonce: string | undefined;
  acked = 0;
  nacked = 0;
  droppedEvents = 0;
  /** Blocking requests in flight, by request id, so $/cancelRequest can find them. */
  readonly pending = new Map<RequestId, Waiter>();
  readonly subscriptions = new Set<string>();
  private readonly decoder: FrameDecoder;
  private readonly maxFrameBytes: number;
  private handshakeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: Socket,
    private readonly host: SessionHost,
    options: { maxFrameBytes: number; handshakeTimeout: number },
  ) {
    this.address = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.maxFrameBytes = options.maxFrameBytes;
    socket.setNoDelay(true);
    // Finds peers that vanished without a FIN (a pulled cable, a dead VM) so their leases return.
    socket.setKeepAlive(true, 30_000);
    this.decoder = new FrameDecoder({
      maxFrameBytes: options.maxFrameBytes,
      onFrame: (text, bytes) => this.onFrame(text, bytes),
      onError: (error) => this.onFramingError(error.kind, error.fatal, error.message),
    });
    socket.on('data', (chunk: Buffer) => {
      this.lastSeenAt = Date.now();
      this.decoder.push(chunk);
    });
    socket.on('error', () => {
      // A reset or broken pipe: 'close' follows and cleans up.
    });
    socket.on('close', () => this.closed());
    this.handshakeTimer = setTimeout(() => {
      if (this.state !== 'authenticated') this.destroy();
    }, options.handshakeTimeout * 1000);
  }

  get writable(): boolean {
    return this.state !== 'closed' && !this.socket.destroyed && this.socket.writable;
  }

  /** Bytes written but not yet sent: how far behind this peer is. */
  get backlog(): number {
    return this.socket.writableLength;
  }

  authenticated(): void {
    this.state = 'authenticated';
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  /** Writes one message as one frame; false when the connection is gone. */
  send(message: object): boolean {
    if (!this.writable) return false;
    this.socket.write(encodeFrame(JSON.stringify(message), this.framing ?? 'ndjson'));
    return true;
  }

  respond(id: RequestId, result: unknown): boolean {
    return this.send({ jsonrpc: '2.0', id, result });
  }

  respondError(id: RequestId | null, error: ProtocolError): boolean {
    return this.send({ jsonrpc: '2.0', id, error: error.toJson() });
  }

  notify(method: string, params: unknown): boolean {
    return this.send({ jsonrpc: '2.0', method, params });
  }

  /** Sends what is queued, then closes. */
  end(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.socket.end();
    // A peer that never reads must not keep the socket open forever.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  info(leased: number): ClientInfo {
    const client = this.client;
    const info: ClientInfo = {
      sessionId: this.id,
      name: client?.name ?? '(handshake)',
      role: client?.role ?? 'worker',
      address: this.address,
      connectedAt: new Date(this.connectedAt).toISOString(),
      lastSeenAt: new Date(this.lastSeenAt).toISOString(),
      leased,
      acked: this.acked,
      nacked: this.nacked,
    };
    if (client?.version !== undefined) info.version = client.version;
    if (client?.language !== undefined) info.language = client.language;
    if (client?.host !== undefined) info.host = client.host;
    if (client?.pid !== undefined) info.pid = client.pid;
    if (client?.labels !== undefined) info.labels = client.labels as Record<string, string>;
    return info;
  }

  private onFrame(text: string, bytes: number): void {
    if (this.state === 'closed') return;
    this.framing ??= this.decoder.framing;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.respondError(null, new ProtocolError(ErrorCodes.ParseError, 'parse error: the frame is not valid JSON'));
      if (this.framing === 'content-length') this.end();
      return;
    }
    if (Array.isArray(message)) {
      this.respondError(null, new ProtocolError(ErrorCodes.InvalidRequest, 'invalid request: batches are not supported; use the list parameters of queue/put, queue/get and task/ack'));
      return;
    }
    if (typeof message !== 'object' || message === null) {
      this.respondError(null, new ProtocolError(ErrorCodes.InvalidRequest, 'invalid request: a message must be a JSON object'));
      return;
    }
    const { jsonrpc, id, method, params } = message as Record<string, unknown>;
    const validId = typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id));
    if (jsonrpc !== '2.0' || typeof method !== 'string' || (id !== undefined && !validId)) {
      // A response from the client (there is nothing it could answer) is ignored, not refused.
      if (jsonrpc === '2.0' && validId && method === undefined && ('result' in message || 'error' in message)) return;
      const reason = jsonrpc !== '2.0' ? '"jsonrpc" must be "2.0"' : typeof method !== 'string' ? '"method" must be a string' : '"id" must be a string or an integer';
      this.respondError(validId ? (id as RequestId) : null, new ProtocolError(ErrorCodes.InvalidRequest, `invalid request: ${reason}`));
      return;
    }
    if (id === undefined) this.host.handleNotification(this, method, params);
    else this.host.handleRequest(this, id as RequestId, method, params, bytes);
  }

  private onFramingError(kind: string, fatal: boolean, message: string): void {
    // The first frame may fail before any was delivered: answer in the framing the client used.
    this.framing ??= this.decoder.framing;
    if (kind === 'too-large') {
      this.respondError(null, new ProtocolError(ErrorCodes.FrameTooLarge, message, { limit: this.maxFrameBytes }));
    } else {
      this.respondError(null, new ProtocolError(ErrorCodes.ParseError, message));
    }
    if (fatal) this.end();
  }

  private closed(): void {
    // 'close' fires once per socket, so the host hears of each session's end exactly once.
    this.state = 'closed';
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.host.sessionClosed(this);
  }
}
