import {
  QueueListRequest,
  ManagerClientsRequest,
  SessionPingRequest,
  EventsSubscribeRequest,
  EventsUnsubscribeRequest,
  ManagerStatsRequest,
  ManagerShutdownRequest,
  EventsEventNotification,
  type RequestHandle,
} from '../protocol/generated';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { resolveAuthkey, type AuthkeySource } from '../authkey';
import type { Capabilities, ClientInfo, ClientRole, DeclareParams, Event, Limits, ManagerStats, QueueStats, RequestMap, RequestMethod, SubscribeParams, Task } from '../protocol/generated';
import { packageVersion } from '../version';
import { Channel } from './channel';
import { AuthenticationFailedError, ConnectionClosedError, ServerProofError, TaskwireError, UnsupportedProtocolVersionError } from './errors';
import { QueueHandle } from './queue';
import type { Requester } from './requester';

export const DEFAULT_CLIENT_PORT = 7400;

export interface ReconnectOptions {
  /** First delay in ms (default 100); doubles per failed attempt, with jitter. */
  initialDelay?: number;
  /** Longest delay in ms (default 5000). */
  maxDelay?: number;
  /** Give up after this many failed attempts (default: never). */
  maxAttempts?: number;
}

export interface ConnectOptions extends AuthkeySource {
  /** Default 127.0.0.1 (or $TASKWIRE_HOST). */
  host?: string;
  /** Default 7400 (or $TASKWIRE_PORT). */
  port?: number;
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
 * (error), `reconnecting` (attempt, delayMs), `reconnected`, `error` (a reconnect that can
 * never succeed: wrong key, wrong server), `close`, and `lease-lost` (task, error) when
 * consume()/work() could not settle a task because its lease was already gone.
 *
 * Requests made while disconnected wait for the reconnect; a request in flight when the
 * connection drops fails with ConnectionClosedError (it may or may not have been applied),
 * and consume()/work() loops simply carry on.
 */
export class TaskwireClient extends EventEmitter implements Requester {
  readonly host: string;
  readonly port: number;
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

  constructor(private readonly options: ConnectOptions = {}) {
    super();
    this.host = options.host ?? process.env.TASKWIRE_HOST ?? '127.0.0.1';
    this.port = options.port ?? (process.env.TASKWIRE_PORT ? Number(process.env.TASKWIRE_PORT) : DEFAULT_CLIENT_PORT);
    this.key = resolveAuthkey(options).key;
    const reconnect = options.reconnect ?? true;
    this.reconnectOptions = reconnect ? { initialDelay: 100, maxDelay: 5000, maxAttempts: Infinity, ...(reconnect === true ? {} : reconnect) } : undefined;
    // An 'error' nobody listens to must not crash the program: it is also thrown to callers.
    this.on('error', () => {});
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

  /** First connection; fails fast (no retries) so a wrong address or key is reported at once. */
  async open(): Promise<void> {
    this.channel = await this.openChannel();
  }

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

  private async currentChannel(): Promise<Channel> {
    for (;;) {
      if (this.closedByUser) throw new ConnectionClosedError('the client is closed');
      if (this.fatalError) throw this.fatalError;
      if (this.channel && !this.channel.closed) return this.channel;
      if (!this.reconnectOptions) throw new ConnectionClosedError(`not connected to the manager at ${this.host}:${this.port}`);
      await (this.connecting ??= this.reconnect().finally(() => (this.connecting = undefined)));
    }
  }

  private async openChannel(): Promise<Channel> {
    const channel = await Channel.open({
      host: this.host,
      port: this.port,
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
    this.lastLimits = channel.session.limits;
    this.lastCapabilities = channel.session.capabilities;
    channel.onClose((error) => {
      if (this.isClosed || channel !== this.channel) return;
      this.emit('disconnected', error);
      if (this.reconnectOptions) void this.currentChannel().catch(() => {});
    });
    return channel;
  }

  private async reconnect(): Promise<void> {
    const options = this.reconnectOptions!;
    for (let attempt = 1; ; attempt++) {
      if (this.isClosed) return;
      const delay = Math.min(options.initialDelay * 2 ** (attempt - 1), options.maxDelay) * (0.5 + Math.random() / 2);
      this.emit('reconnecting', attempt, Math.round(delay));
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.isClosed) return;
      try {
        const channel = await this.openChannel();
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
        this.channel = channel;
        this.emit('reconnected');
        return;
      } catch (error) {
        // Retrying cannot fix a wrong key, an impostor or a version mismatch.
        const fatal = error instanceof AuthenticationFailedError || error instanceof ServerProofError || error instanceof UnsupportedProtocolVersionError;
        if (fatal || attempt >= options.maxAttempts) {
          this.fatalError = fatal ? (error as Error) : new TaskwireError(`gave up reconnecting to ${this.host}:${this.port} after ${attempt} attempts: ${(error as Error).message}`);
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

function defaultName(): string {
  const script = process.argv[1];
  return script ? script.split(/[\\/]/).pop()! : 'node';
}
