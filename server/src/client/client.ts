import {
  QueueListRequest,
  ManagerClientsRequest,
  SessionPingRequest,
  EventsSubscribeRequest,
  EventsUnsubscribeRequest,
  ManagerStatsRequest,
  ManagerShutdownRequest,
  EventsEventNotification,
  SessionStateNotification,
  ClientQuietRequest,
  ClientStopRequest,
  type RequestHandle,
} from '../protocol/generated';
import { EventEmitter, setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { resolveAuthkey, type AuthkeySource } from '../authkey';
import type {
  Capabilities,
  ClientInfo,
  ClientRole,
  ControlResult,
  DeclareParams,
  Event,
  Limits,
  ManagerStats,
  QueueStats,
  RequestMap,
  RequestMethod,
  SessionState,
  SubscribeParams,
  Task,
} from '../protocol/generated';
import { packageVersion } from '../version';
import { Channel } from './channel';
import { DEFAULT_CLIENT_PORT, formatAddress, resolveAddresses, type ManagerAddress } from './addresses';
import { AuthenticationFailedError, ConnectionClosedError, NoManagerReachableError, ServerProofError, TaskwireError, UnsupportedProtocolVersionError, type AddressFailure } from './errors';
import { QueueHandle } from './queue';
import { Schedules } from './schedules';
import type { Requester } from './requester';

export { DEFAULT_CLIENT_PORT };

export interface ReconnectOptions {
  /** First delay in ms (default 100); doubles per failed attempt, with jitter. */
  initialDelay?: number;
  /** Longest delay in ms (default 5000). */
  maxDelay?: number;
  /** Give up after this many failed attempts (default: never); an attempt tries every address once. */
  maxAttempts?: number;
}

export interface ConnectOptions extends AuthkeySource {
  /**
   * The manager, or several managers to fail over between: "host" or "host:port" entries, as
   * an array or a comma-separated string (`['h1:7400', 'h2']`, `'h1:7400,h2'`). Default:
   * $TASKWIRE_HOST (the same syntax), else 127.0.0.1.
   */
  host?: string | readonly string[];
  /** The port of the host entries that name none. Default $TASKWIRE_PORT, else 7400. */
  port?: number;
  /**
   * The first connection tries the managers in the order given (default), or, with true,
   * starting from a random one and wrapping around, which spreads workers over the managers.
   */
  randomStart?: boolean;
  /** true: TLS with the system's CAs; an object: Node TLS options such as `ca`. */
  tls?: boolean | TlsConnectionOptions;
  /** Shown in the worker registry (default: the script's name). */
  name?: string;
  role?: ClientRole;
  labels?: Record<string, string>;
  /** Reconnect with back-off when the connection drops (default true). */
  reconnect?: boolean | ReconnectOptions;
  /** Milliseconds for connect plus handshake (default 10,000). */
  connectTimeout?: number;
}

interface LocalSubscription {
  params: SubscribeParams;
  listener: (event: Event) => void;
  serverId: string | undefined;
  active: boolean;
}

/** A subscription to manager events; survives reconnects. */
export interface Subscription {
  unsubscribe(): Promise<void>;
}

/**
 * Connects to a manager and authenticates (both sides prove they know the key).
 * ```ts
 * const client = await connect({ port: 7400, authkeyFile: 'authkey' });
 * const tasks = client.queue('tasks');
 * await tasks.put('image_url_0');
 * ```
 */
export async function connect(options: ConnectOptions = {}): Promise<TaskwireClient> {
  const client = new TaskwireClient(options);
  await client.open();
  return client;
}

/**
 * A connection to a Taskwire manager that reconnects by itself. Emits `disconnected`
 * (error), `reconnecting` (attempt, delayMs), `reconnected` (address), `error` (a reconnect
 * that can never succeed: wrong key, wrong server), `close`, `lease-lost` (task, error)
 * when consume()/work() could not settle a task because its lease was already gone, and
 * `state` (state) when an operator quiets or stops this session (spec §7.20): `quiet` (take
 * no new task), `stopping` (finish the tasks in hand, then close), or `active` again on a new
 * session after a reconnect. consume() and work() obey it by themselves.
 *
 * Requests made while disconnected wait for the reconnect; a request in flight when the
 * connection drops fails with ConnectionClosedError (it may or may not have been applied),
 * and consume()/work() loops simply carry on.
 *
 * Given several managers, it connects to the first that completes the handshake, and when
 * that one goes away it moves at once to the next in the list (wrapping around), then backs
 * off and tries the whole list again. A wrong key, an impostor or a protocol version mismatch
 * at any address ends the search with that error: another address would not make it right.
 */
export class TaskwireClient extends EventEmitter implements Requester {
  /** The managers this client may use, in the order it tries them. */
  readonly addresses: readonly ManagerAddress[];
  /** The index in `addresses` of the manager in use (or last used, or to try first). */
  private addressIndex: number;
  private readonly key: Buffer;
  private channel: Channel | undefined;
  private closedByUser = false;
  private fatalError: Error | undefined;
  private connecting: Promise<void> | undefined;
  private readonly subscriptions = new Set<LocalSubscription>();
  private readonly reconnectOptions: Required<ReconnectOptions> | undefined;
  /** Set by the first connection, which connect() makes before it returns the client. */
  private lastLimits!: Limits;
  private lastCapabilities!: Capabilities;
  /** What an operator told this session (session/state); a new session starts active. */
  private currentWorkState: SessionState = 'active';
  /** Aborted when the session is told to take no task; a new one for a new, active session. */
  private activeController = workController();
  /** Listeners of workState (a set, not the emitter's: a worker loop per concurrency slot listens). */
  private readonly workStateListeners = new Set<(state: SessionState) => void>();
  private closedPromise: Promise<void> | undefined;

  constructor(private readonly options: ConnectOptions = {}) {
    super();
    this.addresses = resolveAddresses({ host: options.host, port: options.port });
    this.addressIndex = options.randomStart ? Math.floor(Math.random() * this.addresses.length) : 0;
    this.key = resolveAuthkey(options).key;
    const reconnect = options.reconnect ?? true;
    this.reconnectOptions = reconnect ? { initialDelay: 100, maxDelay: 5000, maxAttempts: Infinity, ...(reconnect === true ? {} : reconnect) } : undefined;
    // An 'error' nobody listens to must not crash the program: it is also thrown to callers.
    this.on('error', () => {});
  }

  /** The host of the manager in use (while reconnecting: the last one used). */
  get host(): string {
    return this.addresses[this.addressIndex]!.host;
  }

  /** The port of the manager in use (while reconnecting: the last one used). */
  get port(): number {
    return this.addresses[this.addressIndex]!.port;
  }

  /** The protocol version negotiated on the current connection. */
  get protocolVersion(): string | undefined {
    return this.channel?.protocolVersion;
  }

  /** The session id the manager assigned to the current connection. */
  /**
   * The id of the manager this client is connected to now (protocol 2026-12, spec §7.18); it
   * changes when a reconnect reaches another manager. Undefined with a 2026-11 manager.
   */
  get managerId(): string | undefined {
    return this.channel?.managerId;
  }

  get sessionId(): string | undefined {
    return this.channel?.session.sessionId;
  }

  /** The limits the manager announced; while reconnecting, those of the last connection. */
  get limits(): Limits {
    return this.channel?.session.limits ?? this.lastLimits;
  }

  /** What the manager announced it can do; while reconnecting, that of the last connection. */
  get capabilities(): Capabilities {
    return this.channel?.session.capabilities ?? this.lastCapabilities;
  }

  /**
   * Whether an operator told this session to take no task (`quiet`) or to finish and leave
   * (`stopping`), spec §7.20; `active` otherwise. The `state` event reports each change.
   */
  get workState(): SessionState {
    return this.currentWorkState;
  }

  /** Calls `listener` with each change of workState; returns a function that stops it. */
  onWorkState(listener: (state: SessionState) => void): () => void {
    this.workStateListeners.add(listener);
    return () => this.workStateListeners.delete(listener);
  }

  /**
   * Aborted as soon as the session is told to take no task (quiet or stopping): what consume()
   * and work() pass with their gets, so that one in flight ends at once.
   */
  get workSignal(): AbortSignal {
    return this.activeController.signal;
  }

  /** Resolves once the client is closed for good (by close(), or by an error no reconnect can fix). */
  whenClosed(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    // One promise for every caller (each worker loop waits on it while quiet): one listener.
    return (this.closedPromise ??= new Promise((resolve) => this.once('close', () => resolve())));
  }

  get isClosed(): boolean {
    return this.closedByUser || this.fatalError !== undefined;
  }

  /** True when a dropped connection will be re-established. */
  get willReconnect(): boolean {
    return this.reconnectOptions !== undefined && !this.isClosed;
  }

  get connected(): boolean {
    return this.channel !== undefined && !this.channel.closed;
  }

  /**
   * First connection; fails fast (each address is tried once, no back-off) so a wrong
   * address or key is reported at once.
   */
  async open(): Promise<void> {
    const { channel, index } = await this.openFirstOf(this.rotation(this.addressIndex));
    this.addressIndex = index;
    this.channel = channel;
  }

  /** The manager's schedules (protocol 2026-12): set, list, delete. */
  readonly schedules = new Schedules(this);

  queue<P = unknown>(name: string): QueueHandle<P> {
    return new QueueHandle<P>(name, this);
  }

  async declareQueue(name: string, options: Omit<DeclareParams, 'queue'> = {}): Promise<{ created: boolean }> {
    return this.queue(name).declare(options);
  }

  async queues(): Promise<QueueStats[]> {
    return (await this.request(QueueListRequest, {})).queues;
  }

  /** The worker registry: every connected client. */
  async clients(): Promise<ClientInfo[]> {
    return (await this.request(ManagerClientsRequest, {})).clients;
  }

  /** Round trip to the manager; resolves with the manager's clock. */
  async ping(): Promise<string> {
    return (await this.request(SessionPingRequest, {})).time;
  }

  /** Streams events to `listener` until unsubscribed; re-established after a reconnect. */
  async subscribe(params: SubscribeParams, listener: (event: Event) => void): Promise<Subscription> {
    const local: LocalSubscription = { params, listener, serverId: undefined, active: true };
    local.serverId = (await this.request(EventsSubscribeRequest, params)).subscription;
    this.subscriptions.add(local);
    return {
      unsubscribe: async () => {
        if (!local.active) return;
        local.active = false;
        this.subscriptions.delete(local);
        if (local.serverId !== undefined && this.connected) await this.request(EventsUnsubscribeRequest, { subscription: local.serverId });
      },
    };
  }

  /**
   * Manager-wide counters: uptime, version, connections, authentication failures, traffic,
   * dropped events, leases, memory, and each queue's depth and put/ack rates over the last minute.
   */
  async managerStats(): Promise<ManagerStats> {
    return this.request(ManagerStatsRequest, {});
  }

  /**
   * Tells a session (its id as clients() lists it, on any manager of the store) to take no new
   * task (spec §7.20). Throws SessionNotFoundError when no such session is connected.
   */
  async quietClient(session: string): Promise<ControlResult> {
    return this.request(ClientQuietRequest, { session });
  }

  /**
   * Tells a session to finish the tasks it holds, then close and exit (spec §7.20); the
   * manager closes it itself once it holds nothing and a grace period passed.
   */
  async stopClient(session: string): Promise<ControlResult> {
    return this.request(ClientStopRequest, { session });
  }

  /** Asks the manager to shut down gracefully. */
  async shutdownManager(): Promise<void> {
    await this.request(ManagerShutdownRequest, {});
  }

  /** Sends any request of the protocol; waits for a reconnect in progress. */
  async request<M extends RequestMethod>(method: RequestHandle<M> | M, params: RequestMap[M]['params'], signal?: AbortSignal): Promise<RequestMap[M]['result']> {
    const handle = typeof method === 'string' ? { kind: 'request' as const, method } : method;
    // Connected (the usual case): straight to the channel, without waiting a turn for currentChannel().
    const channel = this.channel;
    if (channel !== undefined && !channel.closed && !this.closedByUser && this.fatalError === undefined) return channel.request(handle, params, signal);
    return (await this.currentChannel()).request(handle, params, signal);
  }

  /** Resolves when connected (at once if already); rejects when the client is closed for good. */
  async waitUntilConnected(): Promise<void> {
    await this.currentChannel();
  }

  leaseLost(task: Task, error: Error): void {
    this.emit('lease-lost', task, error);
  }

  close(): void {
    if (this.closedByUser) return;
    this.closedByUser = true;
    this.channel?.close();
    this.emit('close');
  }

  private setWorkState(state: SessionState): void {
    if (state === this.currentWorkState) return;
    this.currentWorkState = state;
    if (state !== 'active') this.activeController.abort();
    else if (this.activeController.signal.aborted) this.activeController = workController();
    for (const listener of [...this.workStateListeners]) listener(state);
    this.emit('state', state);
  }

  private async currentChannel(): Promise<Channel> {
    for (;;) {
      if (this.closedByUser) throw new ConnectionClosedError('the client is closed');
      if (this.fatalError) throw this.fatalError;
      if (this.channel && !this.channel.closed) return this.channel;
      if (!this.reconnectOptions) throw new ConnectionClosedError(`not connected to the manager at ${formatAddress(this.addresses[this.addressIndex]!)}`);
      await (this.connecting ??= this.reconnect().finally(() => (this.connecting = undefined)));
    }
  }

  /** The indices of `addresses` starting at `first`, wrapping around. */
  private rotation(first: number): number[] {
    return this.addresses.map((_, offset) => (first + offset) % this.addresses.length);
  }

  /**
   * Opens a channel to the first of `indices` that completes the handshake. A refused, timed
   * out or closed connection moves on to the next; a wrong key, an impostor or a version
   * mismatch is thrown at once. When all fail: the one error, or NoManagerReachableError.
   */
  private async openFirstOf(indices: readonly number[], prefix?: string): Promise<{ channel: Channel; index: number }> {
    const failures: AddressFailure[] = [];
    for (const index of indices) {
      if (this.closedByUser) throw new ConnectionClosedError('the client is closed');
      try {
        return { channel: await this.openChannel(this.addresses[index]!), index };
      } catch (error) {
        if (isFatal(error)) throw error;
        failures.push({ address: formatAddress(this.addresses[index]!), error: error as Error });
      }
    }
    if (failures.length === 1) throw failures[0]!.error;
    throw new NoManagerReachableError(failures, prefix);
  }

  private async openChannel(address: ManagerAddress): Promise<Channel> {
    const channel = await Channel.open({
      host: address.host,
      port: address.port,
      key: this.key,
      tls: this.options.tls,
      connectTimeout: this.options.connectTimeout ?? 10_000,
      client: {
        name: this.options.name ?? defaultName(),
        version: packageVersion,
        language: `typescript (node ${process.versions.node})`,
        host: hostname(),
        pid: process.pid,
        role: this.options.role ?? 'worker',
        ...(this.options.labels ? { labels: this.options.labels } : {}),
      },
    });
    channel.onNotification(EventsEventNotification, (event) => {
      for (const subscription of this.subscriptions) {
        if (subscription.serverId === event.subscription) subscription.listener(event);
      }
    });
    channel.onNotification(SessionStateNotification, ({ state }) => {
      if (channel === this.channel) this.setWorkState(state);
    });
    this.lastLimits = channel.session.limits;
    this.lastCapabilities = channel.session.capabilities;
    channel.onClose((error) => {
      if (this.isClosed || channel !== this.channel) return;
      // Told to stop: a connection the manager closed is the end, not something to repair.
      if (this.currentWorkState === 'stopping') {
        this.close();
        return;
      }
      this.emit('disconnected', error);
      if (this.reconnectOptions) void this.currentChannel().catch(() => {});
    });
    return channel;
  }

  /**
   * Attempt n tries every address once, starting after the one that went away, after a
   * back-off delay. With several managers the first attempt is made at once and skips the
   * one that went away (the others are most likely up); the back-off starts with the second.
   */
  private async reconnect(): Promise<void> {
    const options = this.reconnectOptions!;
    const lost = this.addressIndex;
    const failover = this.addresses.length > 1;
    for (let attempt = 1; ; attempt++) {
      if (this.isClosed) return;
      const step = failover ? attempt - 1 : attempt;
      const delay = step === 0 ? 0 : Math.min(options.initialDelay * 2 ** (step - 1), options.maxDelay) * (0.5 + Math.random() / 2);
      this.emit('reconnecting', attempt, Math.round(delay));
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.isClosed) return;
      const indices = this.rotation(lost + 1).filter((index) => !(failover && attempt === 1 && index === lost));
      try {
        const { channel, index } = await this.openFirstOf(indices, `cannot reconnect to any of ${indices.length} managers`);
        if (this.closedByUser) {
          channel.close();
          return;
        }
        try {
          await this.resubscribe(channel);
        } catch (error) {
          channel.close();
          throw error;
        }
        this.addressIndex = index;
        this.channel = channel;
        // A new session: whatever the old one was told does not hold for it (spec §7.20).
        this.setWorkState('active');
        this.emit('reconnected', formatAddress(this.addresses[index]!));
        return;
      } catch (error) {
        const fatal = isFatal(error);
        if (fatal || attempt >= options.maxAttempts) {
          const where = this.addresses.map(formatAddress).join(', ');
          this.fatalError = fatal ? (error as Error) : new TaskwireError(`gave up reconnecting to ${where} after ${attempt} attempts: ${(error as Error).message}`);
          this.emit('error', this.fatalError);
          this.emit('close');
          return;
        }
      }
    }
  }

  private async resubscribe(channel: Channel): Promise<void> {
    for (const subscription of this.subscriptions) {
      if (!subscription.active) continue;
      subscription.serverId = (await channel.request(EventsSubscribeRequest, subscription.params)).subscription;
    }
  }
}

/** The controller of workSignal: every get of every worker loop listens to its signal at once. */
function workController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** Retrying, here or at another address, cannot fix a wrong key, an impostor or a version mismatch. */
function isFatal(error: unknown): boolean {
  return error instanceof AuthenticationFailedError || error instanceof ServerProofError || error instanceof UnsupportedProtocolVersionError;
}

function defaultName(): string {
  const script = process.argv[1];
  return script ? script.split(/[\\/]/).pop()! : 'node';
}
