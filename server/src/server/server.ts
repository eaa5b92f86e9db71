import { createServer as createTcpServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Engine, EngineError, systemClock, type EngineErrorReason } from '../engine';
import { methodNotFound, ProtocolError } from '../protocol/errors';
import { detectFraming, encodeFrame } from '../protocol/framing';
import { ErrorCodes, type EventClient, type HelloParams } from '../protocol/generated';
import { validateParams } from '../protocol/validation';
import { packageVersion } from '../version';
import { EngineTimer } from './engineTimer';
import { EventHub } from './events';
import { DEFERRED, handlers, type Call, type HandlerContext } from './handlers';
import { authenticate, hello } from './handshake';
import { silentLogger, type Logger } from './logger';
import { DEFAULT_HOST, DEFAULT_LIMITS, DEFAULT_PORT, type ServerLimits, type ServerOptions } from './options';
import { Session, type SessionHost } from './session';

/** Engine refusals map to wire codes in this one table. */
const ENGINE_ERROR_CODES: Record<EngineErrorReason, number> = {
  queue_not_found: ErrorCodes.QueueNotFound,
  queue_full: ErrorCodes.QueueFull,
  lease_unknown: ErrorCodes.LeaseUnknown,
};

function toProtocolError(error: unknown, log: Logger, method: string): ProtocolError {
  if (error instanceof ProtocolError) return error;
  if (error instanceof EngineError) {
    const code = ENGINE_ERROR_CODES[error.reason];
    const registry = new ProtocolError(code);
    return new ProtocolError(code, `${registry.message}: ${error.message}`, { ...registry.data, ...error.details });
  }
  // Unexpected: logged here with its stack, sent as -32603 with no detail.
  log.error('internal error', { method, error: error instanceof Error ? error.stack : String(error) });
  return new ProtocolError(ErrorCodes.InternalError);
}

/**
 * The Taskwire manager: accepts TCP or TLS connections, runs the handshake, dispatches
 * methods to the engine, keeps the worker registry and fans out events.
 */
export class TaskwireServer implements SessionHost {
  readonly engine: Engine;
  readonly limits: ServerLimits;
  private readonly authkey: Buffer;
  private readonly log: Logger;
  private readonly net: NetServer;
  private readonly sessions = new Set<Session>();
  private readonly authenticatedSessions = new Map<string, Session>();
  private readonly events: EventHub;
  private readonly timer = new EngineTimer();
  private readonly context: HandlerContext;
  private readonly autoCreate: boolean;
  private shuttingDown = false;
  private resolveClosed: (() => void) | undefined;
  /** Resolves once a shutdown (by signal, by API or by manager/shutdown) has completed. */
  readonly closed: Promise<void> = new Promise((resolve) => (this.resolveClosed = resolve));

  constructor(private readonly options: ServerOptions) {
    if (!options.authkey || options.authkey.length === 0) throw new Error('an authkey is required: Taskwire has no unauthenticated mode');
    this.authkey = options.authkey;
    this.log = options.log ?? silentLogger;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.autoCreate = options.autoCreateQueues ?? true;
    this.engine = new Engine({ clock: systemClock, defaults: options.engine, autoCreate: this.autoCreate, onWake: this.timer.wake });
    this.timer.attach(this.engine);
    for (const queue of options.queues ?? []) {
      const { name, ...rest } = queue;
      this.engine.declareQueue(name, rest);
    }
    this.events = new EventHub((id) => this.describeSession(id), this.limits.maxEventBacklogBytes);
    this.engine.onEvent((event) => this.events.publishEngineEvent(event));
    this.context = {
      engine: this.engine,
      events: this.events,
      limits: this.limits,
      clients: () => ({ clients: [...this.authenticatedSessions.values()].map((s) => s.info(this.engine.leasedBy(s.id))) }),
      shutdown: () => void this.shutdown(),
    };
    const onConnection = (socket: Socket) => this.accept(socket);
    this.net = options.tls
      ? createTlsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, onConnection)
      : createTcpServer(onConnection);
    // TLS handshake failures (a wrong certificate, plain TCP on a TLS port) are the peer's problem.
    this.net.on('tlsClientError', (error: Error) => this.log.debug('TLS handshake failed', { error: error.message }));
  }

  /** Starts listening; resolves with the bound address. */
  listen(): Promise<AddressInfo> {
    const host = this.options.host ?? DEFAULT_HOST;
    const port = this.options.port ?? DEFAULT_PORT;
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.net.once('error', onError);
      this.net.listen(port, host, () => {
        this.net.off('error', onError);
        this.net.on('error', (error) => this.log.error('server error', { error: error.message }));
        const address = this.net.address() as AddressInfo;
        this.log.info('listening', { host: address.address, port: address.port, tls: this.options.tls !== undefined });
        resolve(address);
      });
    });
  }

  get address(): AddressInfo {
    return this.net.address() as AddressInfo;
  }

  /** How many connections are open (authenticated or not). */
  get connectionCount(): number {
    return this.sessions.size;
  }

  /**
   * Graceful shutdown: stop accepting, answer blocked requests with -32005, release every
   * lease (attempt + 1), close every connection after its pending output is sent.
   */
  shutdown(): Promise<void> {
    if (this.shuttingDown) return this.closed;
    this.shuttingDown = true;
    this.log.info('shutting down', { connections: this.sessions.size });
    this.net.close();
    const shuttingDown = new ProtocolError(ErrorCodes.ShuttingDown, 'shutting down: the manager is stopping');
    for (const session of this.sessions) {
      for (const [id, waiter] of session.pending) {
        waiter.cancel();
        session.respondError(id, shuttingDown);
      }
      session.pending.clear();
      const released = this.engine.releaseSession(session.id, 'manager shut down');
      if (released > 0) this.log.info('released leases', { session: session.id, tasks: released });
      // After the requests already read in this turn (answered -32005), not before.
      setImmediate(() => session.end());
    }
    this.timer.stop();
    this.maybeClosed();
    return this.closed;
  }

  // ---- SessionHost ----------------------------------------------------------------------

  handleRequest(session: Session, id: string | number, method: string, params: unknown, frameBytes: number): void {
    if (session.state !== 'authenticated') {
      this.handleHandshake(session, id, method, params);
      return;
    }
    if (this.shuttingDown) {
      session.respondError(id, new ProtocolError(ErrorCodes.ShuttingDown, 'shutting down: the manager accepts no new work'));
      return;
    }
    if (method === 'session/hello' || method === 'session/authenticate') {
      session.respondError(id, new ProtocolError(ErrorCodes.InvalidRequest, 'invalid request: the session is already authenticated'));
      return;
    }
    const handler = (handlers as Record<string, ((p: unknown, c: Call, x: HandlerContext) => unknown) | undefined>)[method];
    // A method with no handler (a notification's name, say) is not found, whatever its params.
    const invalid = handler ? validateParams(method, params) : methodNotFound(method);
    if (invalid || !handler) {
      session.respondError(id, invalid ?? methodNotFound(method));
      return;
    }
    if (session.pending.has(id)) {
      // Reusing the id of a blocked request would make it impossible to cancel or answer apart.
      session.respondError(id, new ProtocolError(ErrorCodes.InvalidRequest, `invalid request: id ${JSON.stringify(id)} is already used by a request that has not been answered`));
      return;
    }
    const call = this.makeCall(session, id, frameBytes, method);
    try {
      const result = handler(params ?? {}, call, this.context);
      if (result !== DEFERRED) call.resolve(result);
    } catch (error) {
      call.reject(error);
    }
  }

  handleNotification(session: Session, method: string, params: unknown): void {
    if (session.state !== 'authenticated' || method !== '$/cancelRequest') return;
    const id = (params as { id?: unknown } | null)?.id;
    if (typeof id !== 'string' && typeof id !== 'number') return;
    const waiter = session.pending.get(id);
    if (!waiter) return;
    session.pending.delete(id);
    waiter.cancel();
    session.respondError(id, new ProtocolError(ErrorCodes.RequestCancelled, 'request cancelled'));
  }

  sessionClosed(session: Session): void {
    this.sessions.delete(session);
    this.events.dropSession(session);
    session.pending.clear();
    const released = this.engine.releaseSession(session.id, 'client disconnected');
    if (this.authenticatedSessions.delete(session.id)) {
      this.log.info('client disconnected', { session: session.id, name: session.client?.name, address: session.address, released });
      this.events.publishClientEvent('client-disconnected', this.eventClient(session));
    }
    this.maybeClosed();
  }

  // ---- internals ------------------------------------------------------------------------

  private accept(socket: Socket): void {
    if (this.shuttingDown) {
      socket.destroy();
      return;
    }
    if (this.sessions.size >= this.limits.maxConnections) {
      this.refuse(socket);
      return;
    }
    const session = new Session(socket, this, { maxFrameBytes: this.limits.maxFrameBytes, handshakeTimeout: this.limits.handshakeTimeout });
    this.sessions.add(session);
  }

  /** Over the connection limit: answer the first message, in the client's framing, with why. */
  private refuse(socket: Socket): void {
    const address = `${socket.remoteAddress}:${socket.remotePort}`;
    this.log.warn('connection refused: too many connections', { address, max: this.limits.maxConnections });
    const error = new ProtocolError(ErrorCodes.LimitExceeded, `limit exceeded: the manager serves at most ${this.limits.maxConnections} connections`, {
      limit: 'maxConnections',
      max: this.limits.maxConnections,
    });
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.once('data', (chunk: Buffer) => {
      const framing = detectFraming(chunk[0] ?? 0x7b) ?? 'ndjson';
      socket.end(encodeFrame(JSON.stringify({ jsonrpc: '2.0', id: null, error: error.toJson() }), framing));
    });
    setTimeout(() => socket.destroy(), 5000).unref();
  }

  private handleHandshake(session: Session, id: string | number, method: string, params: unknown): void {
    if (method === 'session/hello' && session.state === 'new') {
      const invalid = validateParams(method, params);
      if (invalid) {
        session.respondError(id, invalid);
        return;
      }
      if (this.shuttingDown) {
        session.respondError(id, new ProtocolError(ErrorCodes.ShuttingDown, 'shutting down: the manager accepts no new connections'));
        session.end();
        return;
      }
      try {
        session.respond(id, hello(session, params as HelloParams, packageVersion));
      } catch (error) {
        session.respondError(id, toProtocolError(error, this.log, method));
        session.end();
      }
      return;
    }
    if (method === 'session/authenticate' && session.state === 'greeted') {
      if (this.shuttingDown) {
        session.respondError(id, new ProtocolError(ErrorCodes.ShuttingDown, 'shutting down: the manager accepts no new connections'));
        session.end();
        return;
      }
      session.state = 'authenticating';
      const proof = (params as { proof?: unknown } | null)?.proof;
      const result = authenticate(session, proof, this.authkey, {
        capabilities: { events: true, framings: ['ndjson', 'content-length'], autoCreateQueues: this.autoCreate },
        limits: {
          maxFrameBytes: this.limits.maxFrameBytes,
          maxPayloadBytes: this.limits.maxPayloadBytes,
          maxBatch: this.limits.maxBatch,
          maxSubscriptions: this.limits.maxSubscriptions,
        },
      });
      if (!result) {
        this.log.warn('authentication failed', { address: session.address, name: session.client?.name });
        // The delay slows guessing; the answer says nothing about what was wrong.
        setTimeout(() => {
          session.respondError(id, new ProtocolError(ErrorCodes.AuthenticationFailed));
          session.end();
        }, this.limits.authFailureDelay);
        return;
      }
      session.respond(id, result);
      this.authenticatedSessions.set(session.id, session);
      this.log.info('client connected', { session: session.id, name: session.client?.name, role: session.client?.role ?? 'worker', address: session.address });
      this.events.publishClientEvent('client-connected', this.eventClient(session));
      return;
    }
    if (session.state === 'authenticating') return; // input while a failure is being delayed
    const message = session.state === 'new' ? 'not authenticated: the first request must be session/hello' : 'not authenticated: session/authenticate must follow session/hello';
    session.respondError(id, new ProtocolError(ErrorCodes.NotAuthenticated, message));
    session.end();
  }

  private makeCall(session: Session, id: string | number, frameBytes: number, method: string): Call {
    let settled = false;
    const log = this.log;
    return {
      session,
      frameBytes,
      resolve(result: unknown): boolean {
        if (settled) return false;
        settled = true;
        session.pending.delete(id);
        return session.respond(id, result);
      },
      reject(error: unknown): void {
        if (settled) return;
        settled = true;
        session.pending.delete(id);
        session.respondError(id, toProtocolError(error, log, method));
      },
      defer(waiter) {
        if (!settled) session.pending.set(id, waiter);
      },
    };
  }

  private describeSession(id: string): EventClient | undefined {
    const session = this.authenticatedSessions.get(id);
    return session ? this.eventClient(session) : undefined;
  }

  private eventClient(session: Session): EventClient {
    return { sessionId: session.id, name: session.client?.name ?? '?', role: session.client?.role ?? 'worker', address: session.address };
  }

  private maybeClosed(): void {
    if (this.shuttingDown && this.sessions.size === 0 && this.resolveClosed) {
      this.resolveClosed();
      this.resolveClosed = undefined;
    }
  }
}
