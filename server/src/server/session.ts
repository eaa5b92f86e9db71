import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { nestsDeeperThan } from '../protocol/depth';
import type { Framing } from '../protocol/framing';
import { FrameTransport } from '../transport/frameTransport';
import { ProtocolError } from '../protocol/errors';
import { ErrorCodes, type ClientDescription, type ClientInfo, type SessionState as WorkState } from '../protocol/generated';
import type { Waiter } from '../engine';
import { SerializedJson } from '../protocol/jsonText';
import { silentLogger, type Logger } from './logger';
import { DEFAULT_LIMITS } from './options';

type RequestId = string | number;

/** A blocked request's waiter, and what it answers when cancelled if not -32800. */
export interface BlockedWaiter extends Waiter {
  answerCancel?: () => void;
  /** A get's empty answer, sent when the session is told to take no task (spec §7.20). */
  answerEmpty?: () => void;
}

/** What a session hands up to the server for each message it reads. */
export interface SessionHost {
  handleRequest(session: Session, id: RequestId, method: string, params: unknown, frameBytes: number): void;
  handleNotification(session: Session, method: string, params: unknown): void;
  sessionClosed(session: Session): void;
}

export type SessionState = 'new' | 'greeted' | 'authenticating' | 'authenticated' | 'closed';

/** Manager-wide traffic counters a session adds to (see counters.ts). */
export interface SessionCounters {
  framesReceived: number;
  framesSent: number;
  bytesReceived: number;
  bytesSent: number;
  /** Connections the server closed because of a limit (a deadline, room made for a newer one, idle partial frame, unread output). */
  connectionsDropped: number;
}

export interface SessionOptions {
  maxFrameBytes: number;
  /** Seconds to authenticate. */
  handshakeTimeout: number;
  /** Seconds to send session/hello (a silent connection is closed then; capped at handshakeTimeout). */
  helloTimeout?: number;
  /** The frame limit until the connection has authenticated (capped at maxFrameBytes). */
  maxHandshakeFrameBytes?: number;
  /** Deepest nesting of arrays and objects in a message; deeper ones are refused with -32600. */
  maxNestingDepth?: number;
  /** Seconds an authenticated connection may leave a frame unfinished without sending more of it. */
  partialFrameTimeout?: number;
  /** Unsent output past which the connection is not read until it drains. */
  maxOutputBytes?: number;
  /** Seconds unsent output may stay above maxOutputBytes without shrinking before the connection is dropped. */
  slowConsumerTimeout?: number;
  /** Frame bytes of blocked requests past which the connection is not read until one is answered. */
  maxBlockedBytes?: number;
  counters?: SessionCounters;
  log?: Logger;
}

/**
 * One connection: framing, the JSON-RPC envelope, and what the registry shows about it.
 * It knows nothing of queues. It is longer than most modules because a connection's input and
 * output limits (back-pressure, blocked requests and their bytes, partial frames, the
 * handshake's smaller frames) act on each other and on one socket, and read best side by side.
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
  /** Whether an operator told it to take no task (quiet) or to finish and leave (stopping), spec §7.20. */
  workState: WorkState = 'active';
  droppedEvents = 0;
  /** True while events to this session are being dropped (its output is too far behind). */
  droppingEvents = false;
  /** Not to be evicted yet: see shieldUntilRead(). */
  shielded = false;
  /** Why the server closed the connection, when it did (for the log). */
  closeReason: string | undefined;
  /** Blocking requests in flight, by request id (so $/cancelRequest can find them), with the bytes of their frames. */
  private readonly blocked = new Map<RequestId, { waiter: BlockedWaiter; bytes: number }>();
  private blockedBytes = 0;
  readonly subscriptions = new Set<string>();
  /**
   * The text of the frame whose request is being handled: read by handlers, during the
   * synchronous dispatch of that request, for the texts of its payloads (rawPayloads.ts).
   */
  requestFrame = '';
  /** The frames both ways over the socket (decoding, coalesced writes): the shared transport. */
  private readonly transport: FrameTransport;
  private readonly maxFrameBytes: number;
  private readonly maxNestingDepth: number;
  private readonly partialFrameTimeout: number;
  private readonly maxOutputBytes: number;
  private readonly slowConsumerTimeout: number;
  private readonly maxBlockedBytes: number;
  private readonly counters: SessionCounters | undefined;
  private readonly log: Logger;
  private handshakeTimer: NodeJS.Timeout | undefined;
  /** Runs while an authenticated peer leaves a frame unfinished; refreshed by every byte. */
  private partialFrameTimer: NodeJS.Timeout | undefined;
  /** Reading is paused because the peer does not read what it is sent. */
  private inputPaused = false;
  /** Reading is paused because its blocked requests hold more than maxBlockedBytes. */
  private pausedForBlocked = false;
  private resumeForBlockedScheduled = false;
  private slowConsumerTimer: NodeJS.Timeout | undefined;
  /** Bytes flushed when the slow-consumer timer was last armed: progress is flushing more. */
  private flushedMark = 0;

  constructor(
    readonly socket: Socket,
    private readonly host: SessionHost,
    options: SessionOptions,
  ) {
    this.address = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.maxFrameBytes = options.maxFrameBytes;
    this.maxNestingDepth = options.maxNestingDepth ?? DEFAULT_LIMITS.maxNestingDepth;
    this.partialFrameTimeout = options.partialFrameTimeout ?? DEFAULT_LIMITS.partialFrameTimeout;
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_LIMITS.maxOutputBytes;
    this.slowConsumerTimeout = options.slowConsumerTimeout ?? DEFAULT_LIMITS.slowConsumerTimeout;
    this.maxBlockedBytes = options.maxBlockedBytes ?? DEFAULT_LIMITS.maxBlockedBytes;
    this.counters = options.counters;
    this.log = options.log ?? silentLogger;
    socket.setNoDelay(true);
    // Finds peers that vanished without a FIN (a pulled cable, a dead VM) so their leases return.
    socket.setKeepAlive(true, 30_000);
    const counters = this.counters;
    this.transport = new FrameTransport(socket, {
      // Until the peer proves it holds the key, it gets no more than a handshake needs.
      maxFrameBytes: Math.min(options.maxHandshakeFrameBytes ?? DEFAULT_LIMITS.maxHandshakeFrameBytes, options.maxFrameBytes),
      onFramingError: (error) => this.onFramingError(error.kind, error.fatal, error.message),
      onChunk: (chunk) => {
        this.lastSeenAt = Date.now();
        if (counters) counters.bytesReceived += chunk.length;
      },
      afterChunk: () => this.watchPartialFrame(),
      ...(counters ? { onWritten: (bytes: number) => (counters.bytesSent += bytes) } : {}),
    });
    this.transport.onMessage((text, bytes) => this.onFrame(text, bytes));
    socket.on('drain', () => this.resumeInput());
    socket.on('error', () => {
      // A reset or broken pipe: 'close' follows and cleans up.
    });
    socket.on('close', () => this.closed());
    // Two deadlines on one timer: a connection that has not said hello by helloTimeout is
    // closed then (a client sends hello as soon as it connects; a silent socket only holds a
    // place), one that has but has not authenticated by handshakeTimeout at that point.
    const handshakeMs = options.handshakeTimeout * 1000;
    const helloMs = Math.min((options.helloTimeout ?? DEFAULT_LIMITS.helloTimeout) * 1000, handshakeMs);
    this.handshakeTimer = setTimeout(() => {
      if (this.state === 'authenticated' || this.state === 'closed') return;
      if (this.state === 'new' && helloMs < handshakeMs) {
        this.drop('hello deadline');
        return;
      }
      this.handshakeTimer = setTimeout(() => {
        if (this.state === 'authenticated' || this.state === 'closed') return;
        this.drop('handshake deadline');
      }, handshakeMs - helloMs);
    }, helloMs);
  }

  get writable(): boolean {
    return this.state !== 'closed' && !this.socket.destroyed && this.socket.writable;
  }

  /** Bytes written but not yet sent: how far behind this peer is. */
  get backlog(): number {
    return this.transport.backlog;
  }

  /**
   * True when more than `limit` bytes written to this peer are still unsent. Output gathered
   * in this turn is handed to the socket first: the kernel may still take it, and only what
   * it refuses shows that the peer is behind.
   */
  isBehind(limit: number): boolean {
    if (this.transport.backlog <= limit) return false;
    this.transport.flush();
    return this.transport.unsent > limit;
  }

  authenticated(): void {
    this.state = 'authenticated';
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.transport.decoder.setFrameLimit(this.maxFrameBytes);
  }

  /**
   * Registers a request that waits (a put for room, a get for a task). While the frames of the
   * blocked requests add up to more than maxBlockedBytes, the connection is not read: a waiting
   * put holds its payload, and the peer's further requests wait in TCP, not in the manager.
   */
  block(id: RequestId, waiter: BlockedWaiter, bytes: number): void {
    this.blocked.set(id, { waiter, bytes });
    this.blockedBytes += bytes;
    if (this.blockedBytes > this.maxBlockedBytes && !this.pausedForBlocked) {
      this.pausedForBlocked = true;
      if (!this.inputPaused) this.stopReading();
    }
  }

  /** Forgets a blocked request (answered, cancelled, abandoned); returns its waiter if it was blocked. */
  unblock(id: RequestId): BlockedWaiter | undefined {
    const entry = this.blocked.get(id);
    if (!entry) return undefined;
    this.blocked.delete(id);
    this.blockedBytes -= entry.bytes;
    if (this.pausedForBlocked && this.blockedBytes <= this.maxBlockedBytes && !this.resumeForBlockedScheduled) {
      // Later, not now: this runs inside the engine (a put served by another session's ack), and
      // reading resumes with the requests kept meanwhile, which go to the engine in turn.
      this.resumeForBlockedScheduled = true;
      setImmediate(() => this.resumeForBlocked());
    }
    return entry.waiter;
  }

  /** The blocked requests that answer empty when the session may take no task (its gets), withdrawn from the session. */
  takeBlockedGets(): BlockedWaiter[] {
    const gets = [...this.blocked].filter(([, entry]) => entry.waiter.answerEmpty !== undefined);
    return gets.map(([id, entry]) => (this.unblock(id), entry.waiter));
  }

  isBlocked(id: RequestId): boolean {
    return this.blocked.has(id);
  }

  /** Forgets every blocked request; returns them (shutdown answers them, a close abandons them). */
  unblockAll(): [RequestId, Waiter][] {
    const all = [...this.blocked].map(([id, entry]): [RequestId, Waiter] => [id, entry.waiter]);
    for (const [id] of all) this.unblock(id);
    return all;
  }

  /** Writes one message as one frame; false when the connection is gone or the message cannot be sent. */
  send(message: object): boolean {
    if (!this.writable) return false;
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (error) {
      // Input is bounded (nesting depth), so this should not happen; if it does, the request
      // gets -32603 rather than no answer, and a delivery is taken back (false).
      this.log.error('cannot serialize a message', { session: this.id, error: error instanceof Error ? error.message : String(error) });
      const id = (message as { id?: unknown }).id;
      if (id === undefined || !('result' in message)) return false;
      this.write(JSON.stringify({ jsonrpc: '2.0', id, error: new ProtocolError(ErrorCodes.InternalError).toJson() }));
      return false;
    }
    this.write(text);
    return true;
  }

  /**
   * Queues one frame. Frames written in one event-loop turn (the answers to every request in
   * a chunk, a delivery and its put's answer) leave in one socket write when the turn ends:
   * on loopback each write costs a syscall and a wake-up of the reader, which was most of the
   * manager's time per task.
   */
  private write(json: string): void {
    this.transport.send(json);
    if (this.counters) this.counters.framesSent++;
    // A peer that sends requests but does not read the answers: stop reading its requests
    // (TCP pushes back on it) until it has taken what it was sent.
    if (!this.inputPaused && this.isBehind(this.maxOutputBytes)) this.pauseInput();
  }

  /** Answers a request; a SerializedJson result is written as its text (a get's tasks, with their payloads as they came). */
  respond(id: RequestId, result: unknown): boolean {
    // (An integer id is its own JSON text: ids are checked to be strings or safe integers.)
    if (result instanceof SerializedJson) return this.sendText(`{"jsonrpc":"2.0","id":${typeof id === 'number' ? id : JSON.stringify(id)},"result":${result.text}}`);
    return this.send({ jsonrpc: '2.0', id, result });
  }

  respondError(id: RequestId | null, error: ProtocolError): boolean {
    return this.send({ jsonrpc: '2.0', id, error: error.toJson() });
  }

  /** Sends a notification; SerializedJson params are written as their text (an event with its payload). */
  notify(method: string, params: unknown): boolean {
    if (params instanceof SerializedJson) return this.sendText(`{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":${params.text}}`);
    return this.send({ jsonrpc: '2.0', method, params });
  }

  /** Writes a message already serialized; false when the connection is gone. */
  private sendText(text: string): boolean {
    if (!this.writable) return false;
    this.write(text);
    return true;
  }

  /** Sends what is queued, then closes. */
  end(reason?: string): void {
    if (this.state === 'closed') return;
    this.closeReason ??= reason;
    this.state = 'closed';
    this.transport.close();
    // A peer that never reads must not keep the socket open forever.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /**
   * Shields the connection from eviction until the event loop has polled its socket once
   * more, so that what the peer already sent (a hello, an authenticate) is read before the
   * connection can be chosen to make room. A setImmediate callback runs right after the
   * current poll phase; one scheduled from it, right after the next one.
   */
  shieldUntilRead(): void {
    this.shielded = true;
    setImmediate(() => setImmediate(() => (this.shielded = false)));
  }

  /**
   * Closes a connection that has not authenticated, to make room for a newer one. One that
   * has sent a frame (so its framing is known) is told why first, when there is a notice; a
   * silent one is just closed.
   */
  evict(notice: ProtocolError | undefined): void {
    if (this.state === 'closed') return;
    this.closeReason = 'evicted';
    if (this.counters) this.counters.connectionsDropped++;
    if (this.framing === undefined || notice === undefined) {
      this.state = 'closed';
      this.socket.destroy();
      return;
    }
    this.respondError(null, notice);
    this.end();
  }

  /** This session in the worker registry; `manager`: the id of the manager it is on, for viewers of 2026-12 and later. */
  info(leased: number, manager?: string): ClientInfo {
    const client = this.client;
    const info: ClientInfo = {
      sessionId: this.id,
      ...(manager !== undefined ? { manager } : {}),
      name: client?.name ?? '(handshake)',
      // Like `manager`, since 2026-12 (spec §7.20).
      ...(manager !== undefined ? { state: this.workState } : {}),
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
    if (this.counters) this.counters.framesReceived++;
    this.framing ??= this.transport.decoder.framing;
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
    // Nesting n levels takes n opening and n closing brackets: a frame shorter than that (most
    // requests: a few hundred bytes against a limit of 256 levels) is not walked.
    if (bytes >= 2 * (this.maxNestingDepth + 1) && nestsDeeperThan(message, this.maxNestingDepth)) {
      // Refused before anything recursive (validation, serialization) sees it.
      this.respondError(
        validId ? (id as RequestId) : null,
        new ProtocolError(ErrorCodes.InvalidRequest, `invalid request: the message nests arrays and objects deeper than ${this.maxNestingDepth} levels`),
      );
      return;
    }
    if (jsonrpc !== '2.0' || typeof method !== 'string' || (id !== undefined && !validId)) {
      // A response from the client (there is nothing it could answer) is ignored, not refused.
      if (jsonrpc === '2.0' && validId && method === undefined && ('result' in message || 'error' in message)) return;
      const reason = jsonrpc !== '2.0' ? '"jsonrpc" must be "2.0"' : typeof method !== 'string' ? '"method" must be a string' : '"id" must be a string or an integer';
      this.respondError(validId ? (id as RequestId) : null, new ProtocolError(ErrorCodes.InvalidRequest, `invalid request: ${reason}`));
      return;
    }
    if (id === undefined) {
      this.host.handleNotification(this, method, params);
      return;
    }
    this.requestFrame = text;
    try {
      this.host.handleRequest(this, id as RequestId, method, params, bytes);
    } finally {
      // Not kept beyond the request: a large frame would stay in memory until the next one.
      this.requestFrame = '';
    }
  }

  private onFramingError(kind: string, fatal: boolean, message: string): void {
    // The first frame may fail before any was delivered: answer in the framing the client used.
    this.framing ??= this.transport.decoder.framing;
    if (kind === 'too-large') {
      this.respondError(null, new ProtocolError(ErrorCodes.FrameTooLarge, message, { limit: this.transport.decoder.frameLimit }));
    } else {
      this.respondError(null, new ProtocolError(ErrorCodes.ParseError, message));
    }
    if (fatal) this.end(kind === 'too-large' ? 'frame too large' : 'malformed frame');
  }

  /**
   * After authentication, a frame that has begun must keep coming: a peer that sends part of
   * a frame and then nothing for partialFrameTimeout seconds is dropped. (Before, the
   * handshake deadline covers it; while reading is paused, the peer is not to blame.)
   */
  private watchPartialFrame(): void {
    if (this.state !== 'authenticated' || this.inputPaused || this.pausedForBlocked || !this.transport.decoder.inFrame) {
      if (this.partialFrameTimer) clearTimeout(this.partialFrameTimer);
      this.partialFrameTimer = undefined;
      return;
    }
    if (this.partialFrameTimer) {
      this.partialFrameTimer.refresh();
      return;
    }
    this.partialFrameTimer = setTimeout(() => {
      this.partialFrameTimer = undefined;
      if (this.state !== 'authenticated' || this.inputPaused || this.pausedForBlocked || !this.transport.decoder.inFrame) return;
      this.log.warn('connection dropped: a frame was left unfinished', {
        session: this.id,
        name: this.client?.name,
        address: this.address,
        seconds: this.partialFrameTimeout,
        bufferedBytes: this.transport.decoder.bufferedBytes,
      });
      this.drop('unfinished frame');
    }, this.partialFrameTimeout * 1000);
  }

  private pauseInput(): void {
    this.inputPaused = true;
    if (!this.pausedForBlocked) this.stopReading();
    this.flushedMark = this.transport.bytesWritten - this.transport.unsent;
    this.slowConsumerTimer = setTimeout(() => this.checkSlowConsumer(), this.slowConsumerTimeout * 1000);
  }

  /** 'drain': everything written has been flushed; read requests again. */
  private resumeInput(): void {
    if (!this.inputPaused || this.transport.unsent > this.maxOutputBytes) return;
    this.inputPaused = false;
    if (this.slowConsumerTimer) clearTimeout(this.slowConsumerTimer);
    this.slowConsumerTimer = undefined;
    if (!this.pausedForBlocked) this.startReading();
  }

  private resumeForBlocked(): void {
    this.resumeForBlockedScheduled = false;
    if (!this.pausedForBlocked || this.blockedBytes > this.maxBlockedBytes) return;
    this.pausedForBlocked = false;
    if (!this.inputPaused) this.startReading();
  }

  private stopReading(): void {
    // Not even the rest of the chunk being read: each request in it could add another answer.
    this.transport.pauseInput();
    this.watchPartialFrame();
  }

  private startReading(): void {
    if (this.state === 'closed') return;
    // The requests kept from before the pause go first; they may pause it again.
    this.transport.resumeInput(() => !this.inputPaused && !this.pausedForBlocked);
    this.watchPartialFrame();
  }

  /** Still behind after slowConsumerTimeout: fine if it read something since, dropped if not. */
  private checkSlowConsumer(): void {
    this.slowConsumerTimer = undefined;
    if (!this.inputPaused || this.state === 'closed') return;
    const flushed = this.transport.bytesWritten - this.transport.unsent;
    if (flushed > this.flushedMark) {
      this.flushedMark = flushed;
      this.slowConsumerTimer = setTimeout(() => this.checkSlowConsumer(), this.slowConsumerTimeout * 1000);
      return;
    }
    this.log.warn('dropped slow consumer: it does not read what it is sent', {
      session: this.id,
      name: this.client?.name,
      address: this.address,
      unsentBytes: this.transport.unsent,
      seconds: this.slowConsumerTimeout,
    });
    this.drop('slow consumer');
  }

  /** Closes at once, without flushing: for peers that broke a limit. */
  private drop(reason: string): void {
    this.closeReason ??= reason;
    if (this.counters) this.counters.connectionsDropped++;
    this.socket.destroy();
  }

  private closed(): void {
    // 'close' fires once per socket, so the host hears of each session's end exactly once.
    this.state = 'closed';
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.partialFrameTimer) clearTimeout(this.partialFrameTimer);
    if (this.slowConsumerTimer) clearTimeout(this.slowConsumerTimer);
    this.handshakeTimer = this.partialFrameTimer = this.slowConsumerTimer = undefined;
    this.host.sessionClosed(this);
  }
}
