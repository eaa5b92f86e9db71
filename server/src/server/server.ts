import { createServer as createTcpServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { DepartingSessions } from './departingSessions';
import type { RestoreSummary } from '../engine/journal';
import type { ManagerPeers } from '../engine/peers';
import type { MaybePromise, QueueBackend } from '../engine/queueBackend';
import { ProtocolError } from '../protocol/errors';
import { detectFraming, encodeFrame } from '../protocol/framing';
import type { EngineEvent } from '../engine';
import { ErrorCodes, type ClientInfo, type EventClient, type EventKind, type HeldTask, type HelloParams, type ManagerStats } from '../protocol/generated';
import { validateParams } from '../protocol/validation';
import { MANAGER_IDS_SINCE, RELEASES_SINCE, speaks } from '../protocol/versions';
import { packageVersion } from '../version';
import { ManagerCounters } from './counters';
import { EventHub, type EventSession } from './events';
import { dispatch, toProtocolError } from './dispatch';
import type { HandlerContext } from './handlers';
import { QueueListCache } from './queueListCache';
import { ProgressBoard } from './progressBoard';
import { LocalQueues } from './localQueues';
import { authenticate, hello } from './handshake';
import { newManagerId } from './managerId';
import { silentLogger, type Logger } from './logger';
import { DEFAULT_HOST, DEFAULT_LIMITS, DEFAULT_PORT, type ServerLimits, type ServerOptions } from './options';
import { Session, type SessionHost } from './session';
import { ThrottledLog } from './throttle';
import { SessionControl } from './sessionControl';
import { AuthThrottle, HandshakeRoster } from './admission';
import type { ClientSource, ListenerHost } from './listenerHost';

/**
 * Sockets being closed with an explanation at once (a refusal waiting for the first frame, an
 * evicted handshake whose notice is being flushed); beyond, they are closed without a word,
 * so a flood cannot make the manager hold a socket per connection for seconds.
 */
const MAX_EXPLAINED_CLOSES = 256;

/** The close reason of a session that ended with session/close, and the reason of its releases. */
const CLIENT_STOPPED = 'client stopped';

/**
 * The Taskwire manager: accepts TCP or TLS connections, runs the handshake, dispatches
 * methods to the queues (through QueueBackend), keeps the worker registry and fans out events.
 *
 * Admission (admission.ts), the handshake's steps (handshake.ts) and dispatch (dispatch.ts) are
 * modules of their own; this class holds what ties them to the live connections: accepting,
 * evicting and refusing sockets, the handshake's state per session, shutdown. That is why it
 * is longer than most modules.
 */

/** The events that end a lease: its progress ends with it. */
const LEASE_ENDS: ReadonlySet<EventKind> = new Set<EventKind>(['ack', 'nack', 'expired', 'released', 'dead']);

export class TaskwireServer<Q extends QueueBackend = LocalQueues> implements SessionHost {
  /**
   * The queues: this process's (the engine, with the journal of --data-dir when there is one),
   * or the backend given in the options (`Q`, the type of `options.backend`).
   */
  readonly queues: Q;
  /** This manager's id (the backend's, or one minted for the process), on the wire since 2026-12 (spec §7.18). */
  readonly managerId: string;
  /** Refreshes the queue list manager/stats reads, when the queues live in a shared store. */
  private readonly listCache: QueueListCache | undefined;
  /** Sessions that ended while a store that answers later releases what they held (see releaseLeases). */
  private readonly departing = new DepartingSessions<Session>();
  /** Releases a store that answers later has not answered yet (see releaseLeases). */
  private readonly releasing = new Set<Promise<number>>();
  /** The other managers of a shared store (their sessions and events); undefined for a manager alone. */
  private readonly peers: ManagerPeers | undefined;
  /** The last progress of held tasks, and the rate limit of progress events (spec §5.20). */
  private readonly progress: ProgressBoard;
  readonly limits: ServerLimits;
  private readonly authkey: Buffer;
  private readonly log: Logger;
  private readonly net: NetServer;
  private readonly sessions = new Set<Session>();
  private readonly authenticatedSessions = new Map<string, Session>();
  private readonly events: EventHub;
  /** Quiet and stop of sessions (spec §7.20). */
  private readonly control: SessionControl;
  private readonly context: HandlerContext;
  private readonly autoCreate: boolean;
  /** Manager-wide counters, for manager/stats. */
  readonly counters: ManagerCounters;
  private readonly throttled: ThrottledLog;
  /** Connections not authenticated yet, oldest first, by remote address and overall (admission.ts). */
  private readonly handshaking = new HandshakeRoster<Session>();
  /** Failed proofs per remote address, and the back-off they earned. */
  private readonly authThrottle: AuthThrottle;
  /** Refused or evicted sockets still being told why (bounded by MAX_EXPLAINED_CLOSES). */
  private explainedCloses = 0;
  /** What was restored from the store at start. */
  readonly restored: RestoreSummary | undefined;
  /** Why the manager stopped on its own: the store could no longer keep changes. */
  storeFailure: Error | undefined;
  private shuttingDown = false;
  /** Other listeners sharing these queues (the multiprocessing listener): their clients, and how to close them. */
  private readonly attached: { source: ClientSource; close: () => Promise<void> }[] = [];
  /** Attached listeners still closing at shutdown; the queues close after them. */
  private attachedClosing = 0;
  private resolveClosed: (() => void) | undefined;
  /** Resolves once a shutdown (by signal, by API or by manager/shutdown) has completed. */
  readonly closed: Promise<void> = new Promise((resolve) => (this.resolveClosed = resolve));

  constructor(private readonly options: ServerOptions<Q>) {
    if (!options.authkey || options.authkey.length === 0) throw new Error('an authkey is required: Taskwire has no unauthenticated mode');
    this.authkey = options.authkey;
    this.log = options.log ?? silentLogger;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.authThrottle = new AuthThrottle({ baseDelayMs: this.limits.authFailureDelay, maxDelayMs: this.limits.maxAuthFailureBackoff * 1000 });
    this.autoCreate = options.autoCreateQueues ?? true;
    // Without a backend, Q is its default, LocalQueues: the one case where the server builds it.
    this.queues =
      options.backend ??
      (new LocalQueues({
        defaults: options.engine,
        autoCreate: this.autoCreate,
        maxQueuedBytes: this.limits.maxQueuedBytes,
        queues: options.queues,
        store: options.store,
        onStoreFailure: (error) => {
          this.storeFailure = error;
          this.log.error('the store failed: the manager stops, as it can no longer keep changes', { error: error.message });
          void this.shutdown();
        },
      }) as unknown as Q);
    this.managerId = this.queues.managerId ?? newManagerId();
    this.restored = this.queues instanceof LocalQueues ? this.queues.restored : undefined;
    // A shared store's queue list answers later: manager/stats reads it through a cache.
    this.listCache = options.backend ? new QueueListCache(this.queues) : undefined;
    this.counters = new ManagerCounters(this.listCache ?? this.queues);
    this.throttled = new ThrottledLog(this.log);
    this.events = new EventHub((id) => this.describeSession(id), this.limits.maxEventBacklogBytes, {
      sent: () => this.counters.eventsSent++,
      dropped: () => this.counters.eventsDropped++,
      startedDropping: (session) => this.log.warn('dropping events for a slow subscriber', { session: session.id, name: session.client?.name, address: session.address, unsentBytes: session.backlog }),
      stoppedDropping: (session, dropped) => this.log.info('events flow again to a slow subscriber', { session: session.id, name: session.client?.name, dropped }),
      // The other managers of a shared store send their events only to managers with subscribers.
      activeChanged: (active) => this.peers?.setListening(active),
    });
    this.peers = this.queues.peers;
    this.control = new SessionControl({
      managerId: this.managerId,
      queues: this.queues,
      stopGracePeriod: this.limits.stopGracePeriod,
      find: (id) => this.authenticatedSessions.get(id),
      isAttachedClient: (id) => this.attached.some((listener) => listener.source.describe(id) !== undefined),
      peers: this.peers,
      sessionsChanged: () => this.peers?.sessionsChanged(),
      log: this.log,
    });
    this.peers?.attach({
      sessions: () => this.localClients(this.managerId),
      receive: (message) => (message.type === 'engine' ? this.events.publishEngineEvent(message.event, message.source ?? null) : this.events.publishClientEvent(message.kind, message.source)),
      control: (id, action) => {
        const session = this.authenticatedSessions.get(id);
        return session && !this.shuttingDown ? this.control.apply(session, action) : undefined;
      },
    });
    this.progress = new ProgressBoard((event) => this.publishEvent(event));
    this.queues.onEvent((event) => {
      // A lease that ends takes its progress along; a report still waiting goes out first.
      if (event.taskId !== undefined && LEASE_ENDS.has(event.kind)) this.progress.leaseEnded(event.taskId);
      this.publishEvent(event);
    });
    this.context = {
      queues: this.queues,
      events: this.events,
      limits: this.limits,
      clients: (viewer) => {
        // Since 2026-12 each entry says which manager its session is on (§5.15).
        const withManager = speaks(viewer.protocolVersion, MANAGER_IDS_SINCE);
        const local = this.localClients(withManager ? this.managerId : undefined);
        if (!this.peers) return { clients: local };
        // The sessions of the other managers of the store, as they last reported them (spec §7.18).
        return this.peers.otherSessions().then((others) => ({ clients: [...local, ...(withManager ? others : others.map(({ manager: _manager, tasks: _tasks, ...info }) => info))] }));
      },
      reportProgress: (session, taskId, report) => {
        // The lease may have ended while its renewal was on the way (a store that answers later).
        const held = this.queues.heldTasks(session.id).find((task) => task.id === taskId);
        if (!held) return;
        this.progress.record(session.id, taskId, held.queue, report);
        // The other managers' manager/clients read this manager's list of sessions: write it soon.
        this.peers?.sessionsChanged();
      },
      // A shared store's queue list is read afresh, so the answer shows what was just done.
      stats: () => (this.listCache ? this.listCache.refresh().then(() => this.stats()) : this.stats()),
      shutdown: (by) => {
        if (by) this.log.info('shutdown requested', { session: by.id, name: by.client?.name, address: by.address });
        void this.shutdown();
      },
      control: (target, action, by) => this.control.control(target, action, by),
    };
    const onConnection = (socket: Socket) => this.accept(socket);
    this.net = options.tls
      ? createTlsServer(
          // A peer that never completes the TLS handshake is dropped at the same deadline as one that never authenticates.
          { cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2', handshakeTimeout: this.limits.handshakeTimeout * 1000 },
          onConnection,
        )
      : createTcpServer(onConnection);
    // TLS handshake failures (a wrong certificate, plain TCP on a TLS port) are the peer's problem.
    this.net.on('tlsClientError', (error: Error, socket: Socket) => {
      this.counters.tlsFailures++;
      this.log.debug('TLS handshake failed', { error: error.message, address: `${socket.remoteAddress}:${socket.remotePort}` });
      // Node reports a handshake timeout here but leaves the socket open: a peer that never
      // sent a ClientHello would be held for ever, outside maxConnections.
      socket.destroy();
    });
  }

  /** This process's queues (the engine inside, for tests and tools); throws when they live in a shared store. */
  /** The manager-wide counters and queue activity that manager/stats answers. */
  stats(): ManagerStats {
    return {
      ...this.counters.snapshot({ current: this.sessions.size, sessions: this.authenticatedSessions.size }),
      queuedBytes: this.queues.queuedBytes,
      maxQueuedBytes: this.queues.maxQueuedBytes,
    };
  }

  /** What a listener on another wire shares with this one (see listenerHost.ts). */
  listenerHost(): ListenerHost {
    const stopping = () => this.shuttingDown;
    return {
      queues: this.queues,
      authkey: this.authkey,
      limits: this.limits,
      authThrottle: this.authThrottle,
      counters: this.counters,
      log: this.log,
      throttled: this.throttled,
      attach: (source, close) => this.attached.push({ source, close }),
      clientConnected: (client) => this.clientEvent('client-connected', { client, manager: this.managerId }),
      clientDisconnected: (client) => this.clientEvent('client-disconnected', { client, manager: this.managerId }),
      shutdown: () => void this.shutdown(),
      get stopping() {
        return stopping();
      },
    };
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
        this.counters.start();
        this.log.info('listening', { host: address.address, port: address.port, tls: this.options.tls !== undefined });
        resolve(address);
      });
    });
  }

  get address(): AddressInfo {
    return this.net.address() as AddressInfo;
  }

  /** Whether the manager's port is open (the metrics' readiness). */
  get listening(): boolean {
    return this.net.listening && !this.shuttingDown;
  }

  /** This manager's sessions and its other listeners' clients, as manager/clients lists them (the metrics count them by role). */
  clients(): ClientInfo[] {
    return this.localClients(undefined);
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
      for (const [id, waiter] of session.unblockAll()) {
        waiter.cancel();
        session.respondError(id, shuttingDown);
      }
      whenSettled(this.releaseLeases(session, 'manager shut down', true), (released) => {
        if (released > 0) this.log.info('released leases', { session: session.id, tasks: released });
      });
      // After the requests already read in this turn (answered -32005), not before, and after
      // answers that wait to be durable.
      this.queues.whenDurable(() => setImmediate(() => session.end()));
    }
    for (const listener of this.attached) {
      this.attachedClosing++;
      const closed = () => {
        this.attachedClosing--;
        this.maybeClosed();
      };
      listener.close().then(closed, (error: Error) => {
        this.log.error('a listener could not be closed cleanly', { error: error.message });
        closed();
      });
    }
    this.counters.stop();
    this.control.close();
    this.listCache?.stop();
    this.peers?.setListening(false);
    this.throttled.flushAll();
    this.progress.close();
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
    dispatch(session, id, method, params, frameBytes, this.context, this.log);
  }

  handleNotification(session: Session, method: string, params: unknown): void {
    if (session.state !== 'authenticated') return;
    if (method === 'session/close') {
      // {"jsonrpc":"2.0","method":"session/close"}: ignored before 2026-12, like any unknown notification.
      if (!speaks(session.protocolVersion, RELEASES_SINCE)) return;
      // Released here, in the order of what this manager reads (§3.6), not when the socket's
      // close event comes: a get another client sends after seeing this connection close
      // must find the tasks back at the head. sessionClosed then finds nothing left to release.
      this.releaseLeases(session, CLIENT_STOPPED);
      session.end(CLIENT_STOPPED);
      return;
    }
    if (method !== '$/cancelRequest') return;
    const id = (params as { id?: unknown } | null)?.id;
    if (typeof id !== 'string' && typeof id !== 'number') return;
    const waiter = session.unblock(id);
    if (!waiter) return;
    waiter.cancel();
    if (waiter.answerCancel) waiter.answerCancel();
    else session.respondError(id, new ProtocolError(ErrorCodes.RequestCancelled, 'request cancelled'));
  }

  /** Gives back what the session holds and withdraws its waiting requests, counted. */
  private releaseLeases(session: Session, reason: string, managerStopping = false): number | Promise<number> {
    const releasing = this.queues.releaseSession(session.id, reason, managerStopping);
    // A store that answers later (Redis) reports the releases after the session has left the
    // registry: it stays describable until then, so its released events still name their client.
    if (typeof releasing !== 'number') {
      this.departing.keepUntil(session.id, session, releasing);
      // A stopping manager closes its store only after these: their events still reach the other managers.
      this.releasing.add(releasing);
      const settled = () => this.releasing.delete(releasing);
      releasing.then(settled, settled);
    }
    whenSettled(releasing, (count) => (this.counters.leasesReleased += count));
    return releasing;
  }

  sessionClosed(session: Session): void {
    this.progress.sessionEnded(session.id);
    this.sessions.delete(session);
    this.leaveHandshake(session);
    this.events.dropSession(session);
    this.control.forget(session);
    session.unblockAll();
    const releasing = this.releaseLeases(session, 'client disconnected');
    const released = typeof releasing === 'number' ? releasing : undefined;
    if (this.authenticatedSessions.delete(session.id)) {
      this.log.info('client disconnected', { session: session.id, name: session.client?.name, address: session.address, released, reason: session.closeReason });
      this.clientEvent('client-disconnected', this.eventSession(session));
    } else if (session.closeReason === 'handshake deadline') {
      this.throttled.warn('handshake-deadline', 'connection dropped: not authenticated within the handshake deadline', {
        address: session.address,
        seconds: this.limits.handshakeTimeout,
      });
    } else if (session.closeReason === 'hello deadline') {
      this.throttled.warn('hello-deadline', 'connection dropped: no session/hello within the hello deadline', {
        address: session.address,
        seconds: Math.min(this.limits.helloTimeout, this.limits.handshakeTimeout),
      });
    } else {
      this.log.debug('connection closed before authenticating', { address: session.address, reason: session.closeReason });
    }
    this.maybeClosed();
  }

  // ---- internals ------------------------------------------------------------------------

  /**
   * A new connection. At a limit, the oldest connection that has not authenticated (a silent
   * one first) is closed to make room rather than the newcomer refused: unauthenticated
   * sockets cannot keep a client with the key out. Only when every connection is an
   * authenticated session is a newcomer refused (maxConnections).
   */
  private accept(socket: Socket): void {
    if (this.shuttingDown) {
      socket.destroy();
      return;
    }
    const remote = socket.remoteAddress;
    if (remote === undefined) {
      socket.destroy(); // already gone
      return;
    }
    // One from the same address makes room first: a flood from one address then only ever
    // displaces its own connections.
    if (this.handshaking.countFrom(remote) >= this.limits.maxHandshakesPerAddress) {
      const max = this.limits.maxHandshakesPerAddress;
      const why = `at most ${max} connections from one address may be authenticating at once`;
      const victim = this.handshaking.victim(remote);
      // None: every one of them arrived in this same burst and has not been read yet.
      if (!victim) {
        this.refuse(socket, 'maxHandshakesPerAddress', max, `limit exceeded: ${why}`);
        return;
      }
      this.evict(victim, 'maxHandshakesPerAddress', max, why);
    }
    if (this.sessions.size >= this.limits.maxConnections) {
      const max = this.limits.maxConnections;
      const victim = this.handshaking.victim();
      // None: every connection is an authenticated session (or too new to tell).
      if (!victim) {
        this.refuse(socket, 'maxConnections', max, `limit exceeded: the manager serves at most ${max} connections`);
        return;
      }
      this.evict(victim, 'maxConnections', max, `the manager serves at most ${max} connections`);
    }
    const session = new Session(socket, this, {
      maxFrameBytes: this.limits.maxFrameBytes,
      handshakeTimeout: this.limits.handshakeTimeout,
      helloTimeout: this.limits.helloTimeout,
      maxHandshakeFrameBytes: this.limits.maxHandshakeFrameBytes,
      maxNestingDepth: this.limits.maxNestingDepth,
      partialFrameTimeout: this.limits.partialFrameTimeout,
      maxOutputBytes: this.limits.maxOutputBytes,
      slowConsumerTimeout: this.limits.slowConsumerTimeout,
      maxBlockedBytes: this.limits.maxBlockedBytes,
      counters: this.counters,
      log: this.log,
    });
    this.sessions.add(session);
    this.handshaking.add(session, remote);
    session.shieldUntilRead();
    this.counters.connectionsTotal++;
    this.log.debug('connection opened', { address: session.address });
  }

  /**
   * Closes an unauthenticated connection to make room for a newer one. It stops counting at
   * once (its socket may take a moment to close); one that has said hello is told why, with
   * the 1005 a refused newcomer would have had, as long as few closes are being explained.
   */
  private evict(victim: Session, limit: string, max: number, why: string): void {
    this.throttled.warn(`evicted:${limit}`, `connection closed to make room for a newer one: ${limit} reached`, { address: victim.address, state: victim.state, limit, max });
    this.log.debug('evicted', { address: victim.address, state: victim.state, limit, ageMs: Date.now() - victim.connectedAt });
    this.sessions.delete(victim);
    this.handshaking.remove(victim);
    const explain = this.explainedCloses < MAX_EXPLAINED_CLOSES && victim.framing !== undefined;
    if (explain) {
      this.explainedCloses++;
      victim.socket.once('close', () => this.explainedCloses--);
    }
    victim.evict(explain ? new ProtocolError(ErrorCodes.LimitExceeded, `limit exceeded: closed to make room for a newer connection; ${why}`, { limit, max }) : undefined);
  }

  /** The session no longer counts against its address's handshake limit (authenticated or closed). */
  private leaveHandshake(session: Session): void {
    this.handshaking.remove(session);
  }

  /** Over a connection limit: answer the first message, in the client's framing, with why. */
  private refuse(socket: Socket, limit: string, max: number, message: string): void {
    this.counters.connectionsRefused++;
    const address = `${socket.remoteAddress}:${socket.remotePort}`;
    this.throttled.warn(`refused:${limit}`, `connection refused: ${limit} reached`, { address, limit, max });
    socket.on('error', () => {});
    if (this.explainedCloses >= MAX_EXPLAINED_CLOSES) {
      // A flood: explaining to each one would hold a socket per connection for seconds.
      socket.destroy();
      return;
    }
    this.explainedCloses++;
    const error = new ProtocolError(ErrorCodes.LimitExceeded, message, { limit, max });
    socket.setNoDelay(true);
    socket.once('data', (chunk: Buffer) => {
      const framing = detectFraming(chunk[0] ?? 0x7b) ?? 'ndjson';
      socket.end(encodeFrame(JSON.stringify({ jsonrpc: '2.0', id: null, error: error.toJson() }), framing));
    });
    const timer = setTimeout(() => socket.destroy(), 5000);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer);
      this.explainedCloses--;
    });
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
        session.respond(id, hello(session, params as HelloParams, packageVersion, this.managerId));
        // Its authenticate is the next thing to read: not evicted before it could arrive.
        session.shieldUntilRead();
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
      // Proofs from an address that has just failed are not checked until its back-off ends,
      // whatever connection they come on: its guesses do not multiply with its connections.
      const remote = this.handshaking.addressOf(session) ?? session.socket.remoteAddress ?? session.address;
      const throttledMs = this.authThrottle.remainingMs(remote, Date.now());
      if (throttledMs > 0) {
        this.throttled.warn('auth-throttled', 'authentication refused: the address is backing off after failed authentications', { address: session.address });
        const retryAfter = Math.ceil(throttledMs / 100) / 10;
        session.respondError(
          id,
          new ProtocolError(ErrorCodes.LimitExceeded, `limit exceeded: too many failed authentications from this address; the proof was not checked; retry in ${retryAfter} s`, {
            limit: 'authFailureBackoff',
            max: Math.ceil(this.limits.maxAuthFailureBackoff),
            retryAfter,
          }),
        );
        session.end('authentication throttled');
        return;
      }
      session.state = 'authenticating';
      // §4.3: params with any member besides `proof` are a failure, like a wrong proof.
      const onlyProof = params !== null && typeof params === 'object' && !Array.isArray(params) && Object.keys(params).length === 1;
      const proof = onlyProof ? (params as { proof?: unknown }).proof : undefined;
      const result = authenticate(session, proof, this.authkey, {
        capabilities: { events: true, framings: ['ndjson', 'content-length'], autoCreateQueues: this.autoCreate, ackNext: true },
        limits: {
          maxFrameBytes: this.limits.maxFrameBytes,
          maxPayloadBytes: this.limits.maxPayloadBytes,
          maxBatch: this.limits.maxBatch,
          maxSubscriptions: this.limits.maxSubscriptions,
          maxQueuedBytes: this.limits.maxQueuedBytes,
        },
      });
      if (!result) {
        this.counters.authFailures++;
        this.authThrottle.failed(remote, Date.now());
        this.throttled.warn('auth-failed', 'authentication failed', { address: session.address, name: session.client?.name });
        // The delay slows guessing; the answer says nothing about what was wrong.
        setTimeout(() => {
          session.respondError(id, new ProtocolError(ErrorCodes.AuthenticationFailed));
          session.end('authentication failed');
        }, this.limits.authFailureDelay);
        return;
      }
      this.authThrottle.succeeded(remote);
      this.leaveHandshake(session);
      session.respond(id, result);
      this.authenticatedSessions.set(session.id, session);
      this.log.info('client connected', { session: session.id, name: session.client?.name, role: session.client?.role ?? 'worker', address: session.address });
      this.clientEvent('client-connected', this.eventSession(session));
      return;
    }
    if (session.state === 'authenticating') return; // input while a failure is being delayed
    const message = session.state === 'new' ? 'not authenticated: the first request must be session/hello' : 'not authenticated: session/authenticate must follow session/hello';
    session.respondError(id, new ProtocolError(ErrorCodes.NotAuthenticated, message));
    session.end();
  }

  /** A session of this manager connected or left: its subscribers, and the other managers' (and their registries), learn it. */
  private clientEvent(kind: 'client-connected' | 'client-disconnected', source: EventSession): void {
    this.events.publishClientEvent(kind, source);
    // The list first: the other managers hear of the session once their registry shows it.
    this.peers?.sessionsChanged();
    this.peers?.publish({ type: 'client', kind, source });
  }

  /**
   * This manager's sessions (and its other listeners' clients) as manager/clients lists them;
   * given `manager` (the view of 2026-12), each entry also says its manager and its held tasks.
   */
  private localClients(manager: string | undefined): ClientInfo[] {
    const attached = this.attached.flatMap((listener) => listener.source.clients()).map((info) => (manager ? { ...info, manager } : info));
    const sessions = [...this.authenticatedSessions.values()].map((s) => {
      const info = s.info(this.queues.leasedBy(s.id), manager);
      return manager === undefined ? info : { ...info, tasks: this.heldTasks(s.id) };
    });
    return [...sessions, ...attached];
  }

  /** The tasks a session holds, with the last progress of each (spec §5.15, §5.20). */
  private heldTasks(session: string): HeldTask[] {
    const held = this.queues.heldTasks(session);
    this.progress.retainHeld(session, new Set(held.map((task) => task.id)));
    return held.map(({ id, queue, leaseUntil }) => {
      const task: HeldTask = { id, queue, leaseUntil: new Date(leaseUntil).toISOString() };
      const progress = this.progress.progressOf(session, id);
      if (progress) task.progress = progress;
      return task;
    });
  }

  /** An event to this manager's subscribers, and to the other managers' when they have some. */
  private publishEvent(event: EngineEvent): void {
    this.events.publishEngineEvent(event);
    if (this.peers?.othersListening) {
      // `since` is this manager's, for its metrics.
      const { session, since: _since, ...rest } = event;
      this.peers.publish({ type: 'engine', event: rest, source: session !== undefined ? this.describeSession(session) : undefined });
    }
  }

  private describeSession(id: string): EventSession | undefined {
    const session = this.authenticatedSessions.get(id) ?? this.departing.get(id);
    if (session) return this.eventSession(session);
    for (const listener of this.attached) {
      const client = listener.source.describe(id);
      if (client) return { client, manager: this.managerId };
    }
    return undefined;
  }

  private eventSession(session: Session): EventSession {
    const client: EventClient = { sessionId: session.id, name: session.client?.name ?? '?', role: session.client?.role ?? 'worker', address: session.address };
    return { client, manager: this.managerId };
  }

  private maybeClosed(): void {
    if (this.shuttingDown && this.sessions.size === 0 && this.attachedClosing === 0 && this.resolveClosed) {
      const resolveClosed = this.resolveClosed;
      this.resolveClosed = undefined;
      Promise.allSettled([...this.releasing])
        .then(() => this.queues.close())
        .then(resolveClosed, (error: Error) => {
          this.storeFailure ??= error;
          this.log.error('the store could not be closed cleanly', { error: error.message });
          resolveClosed();
        });
    }
  }
}

/** Runs `then` with the value now, or when the promise settles (a failure is the backend's to report). */
function whenSettled<T>(value: MaybePromise<T>, then: (value: T) => void): void {
  if (value instanceof Promise) value.then(then, () => {});
  else then(value);
}
