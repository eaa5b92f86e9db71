import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { DepartingSessions } from '../server/departingSessions';
import type { MaybePromise } from '../engine/queueBackend';
import type { ClientSource, ListenerHost } from '../server/listenerHost';
import { MpConnection, type ConnectionHost } from './mpConnection';
import type { PyValue } from './pyValue';
import { MpRequests, type Reply } from './requests';
import { TypeIdMap } from './typeIds';

export interface MpListenerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** `--mp-typeid NAME=QUEUE` entries. */
  typeIds?: Iterable<readonly [string, string]>;
  /** Let the manager's `shutdown` request stop the manager (default: refused). */
  allowShutdown?: boolean;
}

/**
 * The listener for CPython's multiprocessing.managers clients (`taskwire serve --mp-listen`):
 * BaseManager.connect() and its queue proxies work against it as against CPython's own
 * manager, on the manager's queues. It shares the manager's key, limits, failed-authentication
 * back-off, registry and shutdown (ListenerHost); each connection's tasks are leased to it.
 */
export class MpListener implements ClientSource {
  private readonly net: NetServer;
  private readonly connections = new Set<MpConnection>();
  /** Connections still in the handshake, per remote address, oldest first. */
  private readonly handshaking = new Map<string, Set<MpConnection>>();
  /** Proxy connections: the clients manager/clients lists. */
  private readonly proxies = new Map<string, MpConnection>();
  /** Proxies that closed while a store that answers later (Redis) releases what they held: their events still name them. */
  private readonly departing = new DepartingSessions<MpConnection>();
  private readonly requests: MpRequests;
  private readonly connectionHost: ConnectionHost;
  readonly typeIds: TypeIdMap;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly host: ListenerHost,
    private readonly options: MpListenerOptions,
  ) {
    this.typeIds = new TypeIdMap(options.typeIds);
    this.requests = new MpRequests(host, this.typeIds, { allowShutdown: options.allowShutdown === true });
    this.connectionHost = {
      authkey: host.authkey,
      maxMessageBytes: host.limits.maxFrameBytes,
      authFailureDelay: host.limits.authFailureDelay,
      throttledMs: (remote) => host.authThrottle.remainingMs(remote, Date.now()),
      authFailed: (connection) => {
        host.counters.authFailures++;
        host.authThrottle.failed(connection.remote, Date.now());
        host.throttled.warn('mp-auth-failed', 'multiprocessing client: authentication failed', { address: connection.address });
      },
      authSucceeded: (connection) => {
        host.authThrottle.succeeded(connection.remote);
        this.leaveHandshake(connection);
      },
      handle: (connection, request: PyValue): MaybePromise<Reply> => this.requests.handle(connection, request),
      becameProxy: (connection) => {
        this.proxies.set(connection.id, connection);
        host.log.info('client connected', { session: connection.id, name: 'python multiprocessing', process: connection.processName, address: connection.address });
        host.clientConnected(connection.eventClient());
      },
      closed: (connection) => this.closed(connection),
    };
    this.net = createServer((socket) => this.accept(socket));
    host.attach(this, () => this.close());
  }

  /** Starts listening; resolves with the bound address. */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen(this.options.port, this.options.host, () => {
        this.net.off('error', reject);
        this.net.on('error', (error) => this.host.log.error('multiprocessing listener error', { error: error.message }));
        const address = this.net.address() as AddressInfo;
        this.host.log.info('multiprocessing listener', { host: address.address, port: address.port });
        resolve(address);
      });
    });
  }

  get address(): AddressInfo {
    return this.net.address() as AddressInfo;
  }

  // ---- ClientSource -------------------------------------------------------------------------

  clients() {
    return [...this.proxies.values()].map((connection) => connection.info(this.host.queues.leasedBy(connection.id)));
  }

  describe(sessionId: string) {
    return (this.proxies.get(sessionId) ?? this.departing.get(sessionId))?.eventClient();
  }

  // ---- connections --------------------------------------------------------------------------

  private accept(socket: Socket): void {
    const remote = socket.remoteAddress;
    if (this.host.stopping || remote === undefined) {
      socket.destroy();
      return;
    }
    const limits = this.host.limits;
    if (this.connections.size >= limits.maxConnections) {
      this.host.counters.connectionsRefused++;
      this.host.throttled.warn('mp-refused', 'multiprocessing client refused: maxConnections reached', { address: `${remote}:${socket.remotePort}`, max: limits.maxConnections });
      socket.destroy();
      return;
    }
    // Beyond the per-address cap of connections still authenticating, the oldest of them makes room.
    const fromAddress = this.handshaking.get(remote);
    if (fromAddress && fromAddress.size >= limits.maxHandshakesPerAddress) {
      const oldest = fromAddress.values().next().value!;
      this.host.counters.connectionsDropped++;
      oldest.destroy('closed to make room for a newer connection (maxHandshakesPerAddress)');
      this.leaveHandshake(oldest);
    }
    this.host.counters.connectionsTotal++;
    const connection = new MpConnection(socket, this.connectionHost);
    this.connections.add(connection);
    let set = this.handshaking.get(remote);
    if (!set) this.handshaking.set(remote, (set = new Set()));
    set.add(connection);
    // CPython's own server waits for ever; this one drops a client that has not finished the
    // handshake within the manager's handshake deadline.
    const deadline = setTimeout(() => {
      if (connection.authenticated || connection.closed) return;
      this.host.counters.connectionsDropped++;
      this.host.throttled.warn('mp-handshake-deadline', 'multiprocessing client dropped: no handshake within the handshake deadline', {
        address: connection.address,
        seconds: limits.handshakeTimeout,
      });
      connection.destroy('handshake deadline');
    }, limits.handshakeTimeout * 1000);
    deadline.unref();
    socket.once('close', () => clearTimeout(deadline));
  }

  private leaveHandshake(connection: MpConnection): void {
    const set = this.handshaking.get(connection.remote);
    if (!set?.delete(connection)) return;
    if (set.size === 0) this.handshaking.delete(connection.remote);
  }

  private closed(connection: MpConnection): void {
    this.connections.delete(connection);
    this.leaveHandshake(connection);
    connection.waiting?.cancel();
    connection.waiting = undefined;
    const wasProxy = this.proxies.delete(connection.id);
    // Tasks it took and did not finish go back to their queues now, with attempt + 1.
    const releasing = this.host.queues.releaseSession(connection.id, 'multiprocessing client disconnected', this.host.stopping);
    if (wasProxy && releasing instanceof Promise) this.departing.keepUntil(connection.id, connection, releasing);
    whenSettled(releasing, (released) => {
      this.host.counters.leasesReleased += released;
      if (wasProxy) this.host.log.info('client disconnected', { session: connection.id, name: 'python multiprocessing', address: connection.address, released });
    });
    if (wasProxy) this.host.clientDisconnected(connection.eventClient());
    else if (connection.closeReason && connection.closeReason !== 'handshake deadline')
      this.host.log.debug('multiprocessing connection closed', { address: connection.address, reason: connection.closeReason });
  }

  /** Stops listening, withdraws waiting requests and gives back every lease (the manager is stopping). */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.net.close();
      const releases: Promise<unknown>[] = [];
      for (const connection of this.connections) {
        connection.waiting?.cancel();
        connection.waiting = undefined;
        const releasing = this.host.queues.releaseSession(connection.id, 'manager shut down', true);
        if (releasing instanceof Promise) {
          // Destroyed below, the proxy still names itself in the events of these releases.
          if (this.proxies.has(connection.id)) this.departing.keepUntil(connection.id, connection, releasing);
          releases.push(releasing.catch(() => {}));
        }
        connection.destroy('manager shut down');
      }
      void Promise.all(releases).then(() => resolve());
    });
    return this.closing;
  }
}

function whenSettled<T>(value: MaybePromise<T>, then: (value: T) => void): void {
  if (value instanceof Promise) value.then(then, () => {});
  else then(value);
}
