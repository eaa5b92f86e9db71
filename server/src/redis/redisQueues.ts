import { randomBytes } from 'node:crypto';
import type { Nack, QueueStats, RateLimit } from '../protocol/generated';
import { EngineError } from '../engine/engineError';
import type { QueueBackend } from '../engine/queueBackend';
import {
  DEFAULTS,
  type EngineDefaults,
  type EngineEvent,
  type GetRequest,
  type HeldTaskRef,
  type PutDone,
  type PutRequest,
  type QueueOptions,
  type RawAck,
  type RawTask,
  type SessionId,
  type Waiter,
} from '../engine/types';
import type { Deliver } from '../engine/waiters';
import { silentLogger, type Logger } from '../server/logger';
import type { QueueDeclaration } from '../server/options';
import { ManagerHeartbeat } from './heartbeat';
import { firstActive, knownEmpty, type AnyWaiter, type GetWaiter, type HeldLease, type JoinWaiter, type LocalQueue, type PutWaiter } from './localState';
import { DEFAULT_HEARTBEAT_TTL } from './heartbeatDefaults';
import { RedisPeers } from './peers';
import { familyOf, heartbeatKey, MANAGER_SEQUENCE_KEY, MANAGERS_KEY, outboxKey, REGISTRY_KEY, scriptKey, wakeChannel } from './keys';
import { eventOf, leaseUnknownError, queueFullError, readReply, taskOf, type ScriptReply, type TaskTuple } from './replies';
import { type ScriptName } from './scripts';
import { asEngineError, callScript, notReplicated, openConnections, type Connection, type StoreTls, type StoreWait } from './connection';
import { parseStoreUrl, type StoreAddress } from './storeUrl';
import { RedisSchedules, SCHEDULES_CHANNEL } from './redisSchedules';
import type { ScheduleDefinition, ScheduleImage } from '../engine/schedules';

export interface RedisQueuesOptions {
  /** redis://[user:pass@]host:port[/db], rediss://..., redis+cluster://h1:p1,h2:p2 */
  url: string;
  /** With rediss://: the CA that signed Redis's certificate (default: Node's CAs, and NODE_EXTRA_CA_CERTS). */
  tls?: StoreTls;
  /** After each change a client is answered for, wait for this many replicas to have it (Redis's WAIT); fewer in time is store_unavailable. */
  wait?: StoreWait;
  defaults?: Partial<EngineDefaults>;
  /** Create queues on first use (default true). */
  autoCreate?: boolean;
  /** Queues to declare at start. */
  queues?: QueueDeclaration[];
  /**
   * A bound on queuedBytes (0 or absent: none): on Redis, the payload bytes of the queues this
   * manager serves, as of its last script on each (docs/redis.md says why not all of Redis).
   */
  maxQueuedBytes?: number;
  /** Seconds a manager's heartbeat lives without a refresh; a manager silent that long is gone, and its leases released (default 5). */
  heartbeatTtl?: number;
  /** Milliseconds between maintenance ticks: expiries and delays no timer here covers, outboxes left by a crash (default 1000). */
  tickInterval?: number;
  log?: Logger;
}

/** How many waiting gets of one queue run their scripts at once. */
const GET_BATCH = 16;

const QUEUE_OPTION_FIELDS: [keyof QueueOptions, string][] = [
  ['maxsize', 'ms'],
  ['maxBytes', 'mb'],
  ['ttr', 'ttr'],
  ['maxAttempts', 'ma'],
  ['deadLetter', 'dl'],
];

/**
 * Queues kept in Redis, shared by every manager on the same store (docs/redis.md): each change
 * is one Lua script, atomic in Redis; this class keeps only what belongs to this manager — its
 * sessions' waiting requests (served in the order they came), the leases its sessions hold (to
 * route an ack to its queue's slot), and timers for the deadlines its scripts reported.
 *
 * Its parts: the connections (connection.ts), the scripts (scripts.ts on luaCommon.ts) and their
 * answers (replies.ts), the waiting requests and leases it keeps (localState.ts), heartbeats
 * (heartbeat.ts). This class is the rest, and longer than most modules for the reason engine.ts
 * is: serving waiters runs scripts whose answers serve other waiters (a put wakes getters, an
 * ack makes room for putters and drains the outbox), and split further those calls would cross
 * files back and forth.
 */
export class RedisQueues implements QueueBackend {
  readonly maxQueuedBytes: number;
  private readonly defaults: EngineDefaults;
  private readonly autoCreate: boolean;
  private readonly log: Logger;
  private readonly wait: StoreWait | undefined;
  private readonly queues = new Map<string, LocalQueue>();
  /** Queues known to exist and to be in the registry. */
  private readonly known = new Set<string>();
  /** Per session, the tasks it leases through this manager: their queue and lease end (Redis ms). */
  private readonly leases = new Map<SessionId, Map<string, HeldLease>>();
  private readonly waitersOf = new Map<SessionId, Set<AnyWaiter>>();
  private readonly listeners: ((event: EngineEvent) => void)[] = [];
  private readonly subscriptions = new Map<string, Promise<unknown>>();
  /**
   * Per family whose wake-ups this manager is subscribed to, how many scripts it had started
   * when Redis confirmed the subscription: a later script's news of an empty queue stays true
   * until a wake-up says otherwise (knownEmpty). Cleared when the subscriber connection drops.
   */
  private readonly confirmedAt = new Map<string, number>();
  private scriptsStarted = 0;
  /** Bumped each time the subscriber connection drops: news from before then is not trusted. */
  private subscriberEpoch = 0;
  private readonly familyTimers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly drains = new Map<string, Promise<void>>();
  /** The payload bytes of each queue as of this manager's last script on it. */
  private readonly bytesOf = new Map<string, number>();
  /** Queues whose first waiting put waits for maxQueuedBytes: served again when bytes are freed. */
  private readonly waitingForBudget = new Set<LocalQueue>();
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat: ManagerHeartbeat;
  /** The other managers of this Redis: their sessions and events (spec §7.18). */
  readonly peers: RedisPeers;
  /** Told how long each script took from call to reply (seconds), for the metrics (cli/serve.ts sets it). */
  onRoundTrip: ((script: string, seconds: number) => void) | undefined = undefined;

  /** The schedules, shared by every manager of this Redis (redisSchedules.ts). */
  private readonly schedules: RedisSchedules;
  /** Redis's clock minus this machine's, as of the last script (ms). */
  private clockOffset = 0;
  private nextId = 0;
  private closed = false;

  private constructor(
    private readonly redis: Connection,
    private readonly subscriber: Connection,
    readonly address: StoreAddress,
    /** This manager's id: unique among the managers of the store; the start of its task ids and lease holders. */
    readonly managerId: string,
    options: RedisQueuesOptions,
  ) {
    this.defaults = { ...DEFAULTS, ...options.defaults };
    this.autoCreate = options.autoCreate ?? true;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 0;
    this.log = options.log ?? silentLogger;
    this.wait = options.wait;
    const ttlMs = (options.heartbeatTtl ?? DEFAULT_HEARTBEAT_TTL) * 1000;
    this.heartbeat = new ManagerHeartbeat(
      redis,
      managerId,
      ttlMs,
      (gone) => this.reapManager(gone),
      (error) => this.log.debug('heartbeat failed', { error: String(error) }),
    );
    this.peers = new RedisPeers(redis, subscriber, managerId, ttlMs, this.log);
    redis.on('close', () => this.heartbeat.interrupted());
    // The peers' channels carry sessions and events; every other channel is a family's wake-ups.
    this.schedules = new RedisSchedules({
      redis,
      log: this.log,
      run: (name, family, args, fill) => this.run(name, family, args, fill),
      store: (command) => this.store(command),
      newId: () => this.newId(),
      redisNow: () => Date.now() + this.clockOffset,
      emit: (event) => this.emit([event]),
      afterPut: async (queue) => {
        await this.register(queue);
        this.wake(queue);
      },
    });
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === SCHEDULES_CHANNEL) this.schedules.changed(message);
      else if (!this.peers.handle(channel, message)) this.woken(message);
    });
    // A wake-up published while the subscriber was away is lost: serve every waiter once more
    // (and read the schedules again: a set or delete may have been missed too).
    subscriber.on('close', () => {
      this.subscriberEpoch++;
      this.confirmedAt.clear();
      for (const queue of this.queues.values()) queue.emptyAt = undefined;
    });
    subscriber.on('ready', () => {
      // ioredis subscribes again by itself; asked again here, the answer says when it is done.
      for (const family of this.subscriptions.keys()) this.confirm(family, this.subscriber.subscribe(wakeChannel(family)));
      for (const queue of this.queues.values()) this.serve(queue);
      if (!this.closed) void this.schedules.loadAll().catch(() => undefined);
    });
    this.tickTimer = setInterval(() => void this.maintain(), options.tickInterval ?? 1000);
    this.tickTimer.unref();
  }

  /** Connects to the store (failing at once, with a clear error, when it cannot be reached), loads the scripts and declares the queues given. */
  static async connect(options: RedisQueuesOptions): Promise<RedisQueues> {
    const address = parseStoreUrl(options.url);
    const { redis, subscriber } = await openConnections(address, options.tls);
    const number = await redis.incr(MANAGER_SEQUENCE_KEY);
    const managerId = `${number.toString(36)}${randomBytes(2).toString('hex')}`;
    const queues = new RedisQueues(redis, subscriber, address, managerId, options);
    await queues.peers.start();
    await queues.heartbeat.start();
    await queues.store(() => subscriber.subscribe(SCHEDULES_CHANNEL));
    await queues.schedules.loadAll();
    for (const declaration of options.queues ?? []) await queues.declareAtStart(declaration);
    await queues.maintain();
    return queues;
  }

  // ---- queues ---------------------------------------------------------------------------

  async declareQueue(name: string, options: QueueOptions): Promise<{ queue: string; created: boolean }> {
    const pairs: string[] = [];
    for (const [option, field] of QUEUE_OPTION_FIELDS) {
      const value = options[option];
      if (value !== undefined) pairs.push(field, value === null ? '' : String(value));
    }
    // Limits (spec §7.22): rates as 'max period [burst]', '' for none (luaCommon.ts).
    if (options.rate !== undefined) pairs.push('rl', rateField(options.rate));
    if (options.keyRate !== undefined) pairs.push('kr', rateField(options.keyRate));
    if (options.keyConcurrency !== undefined) pairs.push('kc', String(options.keyConcurrency));
    const reply = await this.run('declare', familyOf(name), [name, ...pairs]);
    await this.register(name);
    // A larger maxsize or maxBytes may let waiting puts in.
    this.wake(name);
    return { queue: name, created: reply.data[0] === '1' };
  }

  /**
   * A --queue of this manager's start: creates the queue when it does not exist. The options of
   * a queue that does are fixed in the store (another manager, or a client, set them): a
   * manager started with other ones says so and leaves them.
   */
  private async declareAtStart({ name, ...options }: QueueDeclaration): Promise<void> {
    const existing = await this.statsOf(name);
    if (!existing) {
      await this.declareQueue(name, options);
      return;
    }
    await this.register(name);
    const stored = existing as unknown as Record<string, unknown>;
    const differing = (Object.keys(options) as (keyof QueueOptions)[]).filter((key) => options[key] !== undefined && JSON.stringify(options[key]) !== JSON.stringify(stored[key] ?? null));
    if (differing.length > 0) {
      this.log.warn('--queue differs from the options the queue has in the store; the store keeps its own', {
        queue: name,
        differing: differing.map((key) => `${key}: ${JSON.stringify(stored[key] ?? null)} in the store, ${JSON.stringify(options[key])} here`).join('; '),
      });
    }
  }

  async listQueues(): Promise<QueueStats[]> {
    const names = await this.store(() => this.redis.zrange(REGISTRY_KEY, 0, -1));
    const listed = new Set(names);
    const stats = (await Promise.all(names.map((name) => this.statsOf(name)))).filter((s): s is QueueStats => s !== undefined);
    // Dead-letter queues come to exist inside the scripts: list those the registry does not name yet.
    for (const { deadLetter } of [...stats]) {
      if (deadLetter === null || deadLetter === undefined || listed.has(deadLetter)) continue;
      listed.add(deadLetter);
      const dead = await this.statsOf(deadLetter);
      if (dead) {
        stats.push(dead);
        await this.register(deadLetter);
      }
    }
    return stats;
  }

  async queueStats(name: string): Promise<QueueStats> {
    await this.ensureQueue(name);
    const stats = await this.statsOf(name);
    if (!stats) throw notFound(name);
    return stats;
  }

  async pauseQueue(name: string, session?: SessionId): Promise<QueueStats> {
    return this.setPaused(name, true, session);
  }

  async resumeQueue(name: string, session?: SessionId): Promise<QueueStats> {
    return this.setPaused(name, false, session);
  }

  /** One script: the flag, its event and the wake-up that has every manager serve the queue's gets again. */
  private async setPaused(name: string, paused: boolean, session: SessionId | undefined): Promise<QueueStats> {
    await this.ensureQueue(name);
    await this.run('pause', familyOf(name), [name, paused ? '1' : '0', session ?? '']);
    this.wake(name);
    return this.queueStats(name);
  }

  async ensureQueue(name: string): Promise<void> {
    if (this.known.has(name)) return;
    const reply = await this.run('ensure', familyOf(name), [name, this.autoCreate ? '1' : '0']);
    if (reply.status === 'missing') throw notFound(name);
    await this.register(name);
  }

  // ---- put, get, join -------------------------------------------------------------------

  put(request: PutRequest, done: PutDone): Waiter | undefined {
    const queue = this.local(request.queue);
    const waiter: PutWaiter = { kind: 'put', request, done, active: true, running: false, timedOut: false };
    queue.putters.push(waiter);
    this.track(waiter, request.session);
    if (request.timeout !== undefined && request.timeout > 0) waiter.timer = setTimeout(() => void this.putTimedOut(queue, waiter), request.timeout * 1000);
    // The gets waiting here are served by the put's own script, or by its wake-up.
    this.serve(queue, false);
    return { cancel: () => this.withdraw(waiter) };
  }

  get(request: GetRequest, deliver: Deliver): Waiter | undefined {
    const queue = this.local(request.queue);
    // Even one that may not wait takes its place in the line: the gets ahead of it may be
    // looking right now, not waiting on an empty queue.
    const waiter: GetWaiter = { kind: 'get', request, deliver, active: true };
    queue.getters.push(waiter);
    this.track(waiter, request.session);
    if (request.timeout !== undefined && request.timeout > 0) {
      waiter.timer = setTimeout(() => {
        if (this.finish(waiter)) deliver([]);
      }, request.timeout * 1000);
    }
    this.serve(queue);
    return { cancel: () => this.withdraw(waiter) };
  }

  join(queueName: string, timeout: number | undefined, session: SessionId | undefined, done: (joined: boolean) => void): Waiter | undefined {
    const queue = this.local(queueName);
    const waiter: JoinWaiter = { kind: 'join', queue: queueName, timeout, session, done, active: true };
    queue.joiners.push(waiter);
    this.track(waiter, session);
    if (timeout !== undefined && timeout > 0) {
      waiter.timer = setTimeout(() => {
        if (this.finish(waiter)) done(false);
      }, timeout * 1000);
    }
    this.serve(queue, false);
    return { cancel: () => this.withdraw(waiter) };
  }

  // ---- ack, nack, touch -----------------------------------------------------------------

  async ack(session: SessionId, acks: RawAck[]): Promise<number> {
    await this.acknowledge(session, acks, undefined);
    return acks.length;
  }

  /**
   * task/ack with next: the ack's script also takes the worker's next tasks, one round trip to
   * Redis instead of two, unless a get on this manager is in line for that queue before it
   * (waiting, or being served: both are in its getters until answered) or the queue is known to
   * be empty; see QueueBackend.ackThenTake.
   */
  async ackThenTake(session: SessionId, acks: RawAck[], next: GetRequest, deliver: Deliver): Promise<boolean> {
    const queue = this.local(next.queue);
    const inLine = firstActive(queue.getters) !== undefined || knownEmpty(queue);
    return this.acknowledge(session, acks, inLine ? undefined : { queue, waiter: { kind: 'get', request: next, deliver, active: true } });
  }

  /** Applies acks, family by family; true when `next` was given tasks (by the last family's script). */
  private async acknowledge(session: SessionId, acks: RawAck[], next: { queue: LocalQueue; waiter: GetWaiter } | undefined): Promise<boolean> {
    const groups = this.heldGroups(
      session,
      acks.map((a) => a.id),
    );
    const results = new Map(acks.map((a) => [a.id, a.result]));
    const held = this.leases.get(session)!;
    // A result whose replyTo queue is on this node goes there in the ack's own script (its new
    // task's id given here); any other through the outbox (drain below).
    const resultId = (id: string, family: string): string => {
      const replyTo = held.get(id)?.replyTo;
      if (replyTo === undefined || results.get(id) === undefined) return '';
      return this.address.kind !== 'cluster' || familyOf(replyTo) === family ? this.newId() : '';
    };
    const args = (ids: string[], checkOnly: boolean, family: string) => [
      this.holder(session),
      checkOnly ? '1' : '0',
      ...ids.flatMap((id) => [id, results.get(id) ?? '', checkOnly ? '' : resultId(id, family)]),
    ];
    await this.checkFirst('ack', groups, args);
    let took = false;
    let last = 0;
    for (const [family, ids] of groups) {
      const ackArgs = args(ids, false, family);
      // Gets served by the same script: one waiting here on a replyTo queue the script puts a
      // result into, and, with the last family's acks, the worker's next (on the same node).
      const takers: { queue: LocalQueue; waiter: GetWaiter }[] = [];
      const resultTaker = this.resultTaker(ids, ackArgs, held);
      if (resultTaker) takers.push(resultTaker);
      if (next && ++last === groups.size && (this.address.kind !== 'cluster' || next.queue.family === family)) takers.push(next);
      const reply = await this.run(
        takers.length > 0 ? 'ackThenGet' : 'ack',
        family,
        takers.length > 0 ? [String(takers.length), ...takers.flatMap((taker) => this.getArgs(taker.waiter.request)), ...ackArgs] : ackArgs,
        (event) => {
          if (event.kind === 'ack' && event.taskId !== undefined) {
            event.result = results.get(event.taskId);
            event.since = held.get(event.taskId)?.since;
          }
        },
      );
      const data = takers.length > 0 ? (reply.data[0] as unknown[]) : reply.data;
      if (reply.status === 'unknown') throw leaseUnknownError(data as string[]);
      this.forget(session, ids);
      // The queues it changed are woken by run(); a result's queue joins the registry.
      for (const [kind, queue] of reply.events) if (kind === 'put') await this.register(queue);
      for (let i = 0; i < takers.length; i++) {
        const { queue, waiter } = takers[i]!;
        const handed = await this.handOver(queue, waiter, reply.data[i + 1] as TaskTuple[], reply.now);
        if (waiter === next?.waiter) took = handed;
      }
      if (Number(data[0]) > 0) await this.drain(family, session);
    }
    return took;
  }

  /**
   * The first get waiting here on a queue that this ack's script puts a result into (its id in
   * the arguments: the replyTo queue is on this node), when that queue is not being served now.
   */
  private resultTaker(ids: string[], ackArgs: string[], held: Map<string, HeldLease>): { queue: LocalQueue; waiter: GetWaiter } | undefined {
    for (let i = 0; i < ids.length; i++) {
      if (ackArgs[2 + i * 3 + 2] === '') continue;
      const replyTo = held.get(ids[i]!)?.replyTo;
      const queue = replyTo === undefined ? undefined : this.queues.get(replyTo);
      if (!queue || queue.serving) continue;
      const waiter = firstActive(queue.getters);
      if (waiter) return { queue, waiter };
    }
    return undefined;
  }

  async nack(session: SessionId, nacks: Nack[]): Promise<number> {
    const groups = this.heldGroups(
      session,
      nacks.map((n) => n.id),
    );
    const byId = new Map(nacks.map((n) => [n.id, n]));
    const args = (ids: string[], checkOnly: boolean) => [
      this.holder(session),
      checkOnly ? '1' : '0',
      ...ids.flatMap((id) => {
        const nack = byId.get(id)!;
        return [id, nack.retry === false ? '0' : '1', nack.delay === undefined ? '' : String(nack.delay), nack.error === undefined ? '0' : '1', nack.error ?? ''];
      }),
    ];
    await this.checkFirst('nack', groups, args);
    for (const [family, ids] of groups) {
      const reply = await this.run('nack', family, args(ids, false));
      if (reply.status === 'unknown') throw leaseUnknownError(reply.data as string[]);
      this.forget(session, ids);
      if (Number(reply.data[0]) > 0) await this.drain(family, session);
    }
    return nacks.length;
  }

  async touch(session: SessionId, ids: string[], ttr?: number): Promise<number> {
    const groups = this.heldGroups(session, ids);
    let earliest = Infinity;
    for (const [family, familyIds] of groups) {
      const reply = await this.run('touch', family, [this.holder(session), ttr === undefined ? '' : String(ttr), ...familyIds]);
      if (reply.status === 'unknown') throw leaseUnknownError(reply.data as string[]);
      const ends = reply.data as string[];
      const held = this.leases.get(session);
      familyIds.forEach((id, i) => {
        const lease = held?.get(id);
        if (lease) lease.until = Number(ends[i + 1]);
      });
      earliest = Math.min(earliest, Number(ends[0]) - this.clockOffset);
    }
    return earliest;
  }

  // ---- peek, purge ----------------------------------------------------------------------

  async peek(queue: string, max: number): Promise<RawTask[]> {
    await this.ensureQueue(queue);
    const reply = await this.run('peek', familyOf(queue), [queue, String(max)]);
    return (reply.data as TaskTuple[]).map(taskOf);
  }

  async purge(queue: string, session?: SessionId): Promise<number> {
    await this.ensureQueue(queue);
    const reply = await this.run('purge', familyOf(queue), [queue, session ?? '']);
    this.wake(queue);
    return Number(reply.data[0]);
  }

  // ---- sessions -------------------------------------------------------------------------

  leasedBy(session: SessionId): number {
    const held = this.leases.get(session);
    if (!held) return 0;
    // A lease past its end is over, whichever manager's script notices it: it no longer counts.
    const now = Date.now() + this.clockOffset;
    for (const [id, lease] of held) if (lease.until <= now) held.delete(id);
    if (held.size === 0) this.leases.delete(session);
    return held.size;
  }

  heldTasks(session: SessionId): HeldTaskRef[] {
    if (this.leasedBy(session) === 0) return [];
    // Lease ends are kept on Redis's clock; the server's answers use this process's.
    return [...this.leases.get(session)!].map(([id, lease]) => ({ id, queue: lease.queue, leaseUntil: lease.until - this.clockOffset }));
  }

  async releaseSession(session: SessionId, reason: string, managerStopping = false): Promise<number> {
    for (const waiter of this.waitersOf.get(session) ?? []) this.withdraw(waiter);
    this.waitersOf.delete(session);
    const held = this.leases.get(session);
    if (!held) return 0;
    const groups = groupByFamily(held);
    this.leases.delete(session);
    let released = 0;
    for (const [family, ids] of groups) {
      const reply = await this.run('release', family, [this.holder(session), reason, managerStopping ? '1' : '0', ...ids]);
      released += Number(reply.data[0]);
      if (Number(reply.data[1]) > 0) await this.drain(family, undefined);
    }
    return released;
  }

  // ---- schedules ------------------------------------------------------------------------

  setSchedule(definition: ScheduleDefinition, session?: SessionId): Promise<{ schedule: ScheduleImage; created: boolean }> {
    return this.schedules.set(definition, session);
  }

  listSchedules(queue?: string): Promise<ScheduleImage[]> {
    return this.schedules.list(queue);
  }

  deleteSchedule(name: string, session?: SessionId): Promise<boolean> {
    return this.schedules.delete(name, session);
  }

  // ---- events, bytes, durability, close --------------------------------------------------

  onEvent(listener: (event: EngineEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * The payload bytes of the queues this manager has used, as of its last script on each: on
   * Redis the byte budget of one process (maxQueuedBytes) does not apply (docs/redis.md).
   */
  get queuedBytes(): number {
    let sum = 0;
    for (const bytes of this.bytesOf.values()) sum += bytes;
    return sum;
  }

  whenDurable(callback: (failure?: Error) => void): void {
    // A change is answered once Redis answered its script: as durable as Redis's persistence makes it.
    callback();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.schedules.close();
    clearInterval(this.tickTimer);
    for (const { timer } of this.familyTimers.values()) clearTimeout(timer);
    this.familyTimers.clear();
    for (const queue of this.queues.values()) for (const waiter of [...queue.getters, ...queue.putters, ...queue.joiners]) this.finish(waiter);
    await Promise.allSettled([...this.drains.values()]);
    this.heartbeat.stop();
    await this.peers.close();
    // A clean stop: nothing is leased any more (the server released its sessions), and the others need not wait a TTL to know.
    await Promise.allSettled([this.redis.del(heartbeatKey(this.managerId)), this.redis.srem(MANAGERS_KEY, this.managerId)]);
    this.redis.disconnect();
    this.subscriber.disconnect();
  }

  // ---- serving waiters ------------------------------------------------------------------

  private local(name: string): LocalQueue {
    let queue = this.queues.get(name);
    if (!queue) this.queues.set(name, (queue = { name, family: familyOf(name), getters: [], putters: [], joiners: [], serving: false, again: false, getsToo: false, seenVersion: -1 }));
    return queue;
  }

  /**
   * A wake-up from a family's channel, `<manager id>/<kind><queue>` (luaCommon.ts, finish):
   * another manager's script changed the queue. This manager's own are skipped: run() woke its
   * waiters when the script answered.
   */
  private woken(message: string): void {
    const slash = message.indexOf('/');
    const second = message.indexOf('/', slash + 1);
    if (slash < 0 || second < 0 || message.slice(0, slash) === this.managerId) return;
    const name = message.slice(second + 1);
    const ready = message[slash + 1] === 'r';
    const queue = this.queues.get(name);
    if (queue) this.learn(queue, Number(message.slice(slash + 2, second)), ready ? 1 : 0, this.confirmedAt.has(queue.family));
    this.wake(name, ready);
  }

  /** News of a queue's ready tasks at a ready version; `trusted`: had a task become ready since, a wake-up would come. */
  private learn(queue: LocalQueue, version: number, ready: number, trusted: boolean): void {
    if (version < queue.seenVersion) return;
    queue.seenVersion = version;
    if (ready === 0 && trusted) queue.emptyAt = version;
  }

  /** A queue changed (here or on another manager): serve its waiters; `ready`: it has ready tasks, so its gets too. */
  private wake(name: string, ready = true): void {
    const queue = this.queues.get(name);
    if (queue && (queue.getters.length > 0 || queue.putters.length > 0 || queue.joiners.length > 0)) this.serve(queue, ready);
  }

  /** Serves a queue's waiting puts, then (with `gets`, or when asked since) its gets, then its joins. */
  private serve(queue: LocalQueue, gets = true): void {
    if (gets) queue.getsToo = true;
    if (queue.serving) {
      queue.again = true;
      return;
    }
    queue.serving = true;
    void (async () => {
      try {
        do {
          queue.again = false;
          await this.servePutters(queue);
          if (queue.getsToo) {
            queue.getsToo = false;
            await this.serveGetters(queue);
          }
          await this.serveJoiners(queue);
        } while (queue.again && !this.closed);
      } catch (error) {
        this.failWaiters(queue, error);
      } finally {
        queue.serving = false;
      }
    })();
  }

  private async servePutters(queue: LocalQueue): Promise<void> {
    for (let waiter = firstActive(queue.putters); waiter; waiter = firstActive(queue.putters)) {
      const { request } = waiter;
      if (request.timeout !== 0) await this.subscribe(queue.family);
      await this.ensureQueue(queue.name).then(
        () => Promise.all(request.tasks.map((t) => (t.replyTo === undefined ? undefined : this.ensureQueue(t.replyTo)))),
        (error: unknown) => {
          if (!(error instanceof EngineError) || error.reason === 'store_unavailable') throw error;
          if (this.finish(waiter!)) waiter!.done(error);
        },
      );
      if (!waiter.active) continue;
      // No budget, no await: most managers have none, and this is every put's path.
      const overBudget = this.maxQueuedBytes === 0 ? undefined : await this.budgetRefusal(queue, request);
      // Withdrawn or timed out (putTimedOut answered it) while a probe for the budget ran.
      if (!waiter.active) continue;
      if (overBudget) {
        if (overBudget.never || request.timeout === 0 || waiter.timedOut) {
          if (this.finish(waiter, true)) waiter.done(overBudget.error);
          continue;
        }
        this.waitingForBudget.add(queue);
        return;
      }
      const ids = request.tasks.map(() => this.newId());
      // The first get waiting here takes what is ready in the put's own script (a delayed task is not ready).
      const taker = request.tasks.some((t) => (t.delay ?? 0) > 0) ? undefined : firstActive(queue.getters);
      const args = [queue.name, request.session ?? '', 'put', String(request.tasks.length), ...request.tasks.flatMap((t, i) => putArgs(ids[i]!, t)), ...rateKeyArgs(request.tasks)];
      waiter.running = true;
      let reply: ScriptReply;
      try {
        reply = await this.run(taker ? 'putThenGet' : 'put', queue.family, taker ? ['1', ...this.getArgs(taker.request), ...args] : args, (event) => {
          if (event.kind === 'put' && event.taskId !== undefined) event.payload = request.tasks[ids.indexOf(event.taskId)]?.payload;
        });
      } finally {
        waiter.running = false;
      }
      const data = taker ? (reply.data[0] as unknown[]) : reply.data;
      // Withdrawn while its script ran (cancelled, or its session ended): it gets no answer, and
      // what it put is taken back. Timed out meanwhile: its script's outcome is its answer.
      const answerable = waiter.active || waiter.timedOut;
      if (reply.status === 'ok') {
        this.finish(waiter, true);
        if (answerable) waiter.done(...withHolders(request, ids, data as string[]));
        if (taker) await this.handOver(queue, taker, reply.data[1] as TaskTuple[], reply.now);
        if (!answerable) await this.run('unput', queue.family, [queue.name, ...ids]);
        queue.again = true;
        continue;
      }
      if (!answerable) continue;
      if (reply.status === 'never' || request.timeout === 0 || waiter.timedOut) {
        this.finish(waiter, true);
        waiter.done(queueFullError(queue.name, data, request.tasks.length, reply.status === 'never'));
        continue;
      }
      return; // full: it waits for room, and those behind it wait behind it
    }
  }

  private async putTimedOut(queue: LocalQueue, waiter: PutWaiter): Promise<void> {
    if (!waiter.active) return;
    if (waiter.running) {
      waiter.timedOut = true; // its script's answer decides
      return;
    }
    this.finish(waiter);
    try {
      const { request } = waiter;
      const overBudget = await this.budgetRefusal(queue, request);
      if (overBudget) {
        waiter.done(overBudget.error);
        return;
      }
      const reply = await this.probePut(queue, request);
      waiter.done(queueFullError(queue.name, reply.data, request.tasks.length, reply.status === 'never'));
    } catch (error) {
      waiter.done(asEngineError(error));
    }
    // Those behind it may fit.
    this.serve(queue, false);
  }

  /** The put script in probe mode: what is in the way of `request` now, changing nothing (scripts.ts). */
  private probePut(queue: LocalQueue, request: PutRequest): Promise<ScriptReply> {
    return this.run('put', queue.family, [queue.name, '', 'probe', String(request.tasks.length), ...request.tasks.flatMap((t) => putArgs('', t))]);
  }

  /**
   * queue_full when maxQueuedBytes keeps the put out now (`never`: whatever is freed). Only the
   * tasks a put adds need room (§7.21): a put with uniqueness keys that does not fit as a whole
   * asks Redis which of its tasks it would add (the put script's probe) and counts only theirs.
   * The answer may be stale by the time the put runs, as the budget itself is (queuedBytes).
   */
  private async budgetRefusal(queue: LocalQueue, request: PutRequest): Promise<{ error: EngineError; never: boolean } | undefined> {
    const max = this.maxQueuedBytes;
    if (max === 0) return undefined;
    let count = request.tasks.length;
    let bytes = 0;
    for (const task of request.tasks) bytes += Buffer.byteLength(task.payload);
    const held = this.queuedBytes;
    if (held + bytes <= max) return undefined;
    if (request.tasks.some((task) => task.unique !== undefined)) {
      const probe = await this.probePut(queue, request);
      bytes = Number(probe.data[4]);
      count = Number(probe.data[5]);
      if (count === 0 || held + bytes <= max) return undefined;
    }
    const what = `${count} task${count === 1 ? '' : 's'} of ${bytes} bytes`;
    if (bytes > max) return { never: true, error: new EngineError('queue_full', `the manager can never hold ${what} (maxQueuedBytes ${max})`, { queue: queue.name, limit: 'maxQueuedBytes', max }) };
    return {
      never: false,
      error: new EngineError('queue_full', `the manager has no room for ${what} in "${queue.name}" (maxQueuedBytes ${max}, ${held} held)`, { queue: queue.name, limit: 'maxQueuedBytes', max }),
    };
  }

  /**
   * Serves the waiting gets in the order they came. The first few run their scripts at once
   * (one round trip for all; Redis runs them in the order sent). If one finds nothing and one
   * behind it gets a task (put in between), that task goes back to the head, attempt
   * unchanged, for the earlier waiter: no waiter here is overtaken.
   */
  private async serveGetters(queue: LocalQueue): Promise<void> {
    for (;;) {
      const batch = queue.getters.filter((w) => w.active).slice(0, GET_BATCH);
      if (batch.length === 0) return;
      // Nothing ready, and a wake-up will say when something is: those that may wait, wait.
      if (knownEmpty(queue) && batch.every((w) => w.request.timeout !== 0)) return;
      // Subscribed before looking: a task put after the look wakes this manager.
      if (batch.some((w) => w.request.timeout !== 0)) await this.subscribe(queue.family);
      try {
        await this.ensureQueue(queue.name);
      } catch (error) {
        // queue_not_found (the server checks before a get, so only a direct caller sees this): nothing to deliver.
        if (!(error instanceof EngineError) || error.reason === 'store_unavailable') throw error;
        for (const waiter of batch) if (this.finish(waiter)) waiter.deliver([]);
        continue;
      }
      const replies = await Promise.all(batch.map(({ request }) => this.run('get', queue.family, this.getArgs(request))));
      let foundNothing = false;
      let overtook = false;
      for (let i = 0; i < batch.length; i++) {
        const tuples = replies[i]!.data as TaskTuple[];
        if (tuples.length === 0) {
          foundNothing = true;
          continue;
        }
        if (!(await this.handOver(queue, batch[i]!, tuples, replies[i]!.now, foundNothing))) overtook ||= foundNothing;
      }
      if (foundNothing) {
        // Nothing ready: those that may not wait are answered; the others wait for a wake-up (or take what was just put back).
        for (const waiter of [...queue.getters]) if (waiter.request.timeout === 0 && this.finish(waiter)) waiter.deliver([]);
        if (!overtook) return;
      }
    }
  }

  /**
   * Gives the tasks a get script took (the waiter's own get, or a put or ack that took them for
   * it) to the waiter. When it would overtake an earlier waiter, or is withdrawn, timed out or its
   * session gone, they go back to the head, attempt unchanged: false.
   */
  private async handOver(queue: LocalQueue, waiter: GetWaiter, tuples: TaskTuple[], now: number, overtaking = false): Promise<boolean> {
    if (tuples.length === 0) return false;
    const { request } = waiter;
    const tasks = tuples.map(taskOf);
    if (overtaking || !this.finish(waiter) || !waiter.deliver(tasks)) {
      await this.run('undo', queue.family, [queue.name, this.holder(request.session), String(tuples.length), ...tuples.flatMap(undoArgs)]);
      return false;
    }
    if (!request.autoAck) {
      let held = this.leases.get(request.session);
      if (!held) this.leases.set(request.session, (held = new Map()));
      for (const task of tasks) held.set(task.id, { queue: queue.name, until: Date.parse(task.leaseUntil!), replyTo: task.replyTo, since: now });
    }
    // The get script adds when each task became ready (the 16th field), for the queue-wait metric.
    const readySince = (j: number) => Number((tuples[j] as unknown[])[15]);
    this.emit(
      tasks.map((task, j) => ({
        kind: 'get',
        queue: queue.name,
        taskId: task.id,
        attempt: task.attempt,
        payload: task.payload,
        session: request.session,
        at: now,
        since: readySince(j),
      })),
    );
    return true;
  }

  private async serveJoiners(queue: LocalQueue): Promise<void> {
    if (!queue.joiners.some((w) => w.active)) {
      queue.joiners = [];
      return;
    }
    if (queue.joiners.some((w) => w.active && w.timeout !== 0)) await this.subscribe(queue.family);
    await this.ensureQueue(queue.name).catch((error: unknown) => {
      if (!(error instanceof EngineError) || error.reason === 'store_unavailable') throw error;
      for (const w of queue.joiners) if (this.finish(w)) w.done(false);
    });
    const reply = await this.run('stats', queue.family, [queue.name]);
    if (reply.status !== 'ok') return;
    const [ready, leased, delayed, , emptied] = (reply.data as string[]).slice(5).map(Number) as number[];
    const idle = ready! + leased! + delayed! === 0;
    for (const waiter of [...queue.joiners]) {
      if (!waiter.active) continue;
      if (idle || (waiter.emptied !== undefined && emptied! > waiter.emptied)) {
        if (this.finish(waiter)) waiter.done(true);
      } else if (waiter.timeout === 0) {
        if (this.finish(waiter)) waiter.done(false);
      } else {
        waiter.emptied ??= emptied;
      }
    }
  }

  /** The store failed while serving: no request waits on a store that is away (docs/redis.md). */
  private failWaiters(queue: LocalQueue, error: unknown): void {
    const failure = asEngineError(error);
    if (failure.reason !== 'store_unavailable') this.log.error('the Redis store failed a request', { queue: queue.name, error: error instanceof Error ? error.stack : String(error) });
    for (const waiter of [...queue.putters]) if (this.finish(waiter)) waiter.done(failure);
    for (const waiter of [...queue.getters]) if (this.finish(waiter)) waiter.deliver([]);
    for (const waiter of [...queue.joiners]) if (this.finish(waiter)) waiter.done(false);
  }

  private track(waiter: AnyWaiter, session: SessionId | undefined): void {
    if (session === undefined) return;
    let waiters = this.waitersOf.get(session);
    if (!waiters) this.waitersOf.set(session, (waiters = new Set()));
    waiters.add(waiter);
  }

  /** Ends a waiter's wait; true if it was still waiting (the caller then answers it, once). `force`: a put whose script answered. */
  private finish(waiter: AnyWaiter, force = false): boolean {
    if (!waiter.active && !force) return false;
    const wasActive = waiter.active;
    waiter.active = false;
    clearTimeout(waiter.timer);
    const queue = this.queues.get(waiter.kind === 'join' ? waiter.queue : waiter.request.queue);
    if (queue) {
      const list: AnyWaiter[] = waiter.kind === 'get' ? queue.getters : waiter.kind === 'put' ? queue.putters : queue.joiners;
      const i = list.indexOf(waiter);
      if (i >= 0) list.splice(i, 1);
    }
    const session = waiter.kind === 'join' ? waiter.session : waiter.request.session;
    if (session !== undefined) this.waitersOf.get(session)?.delete(waiter);
    return wasActive || force;
  }

  private withdraw(waiter: AnyWaiter): void {
    if (!this.finish(waiter)) return;
    // The head putter leaving may let the next one in.
    if (waiter.kind === 'put') this.wake(waiter.request.queue, false);
  }

  // ---- the store ------------------------------------------------------------------------

  /** Runs a script on a family's slot; reports its events and arms a timer for the deadline it reports. */
  private async run(name: ScriptName, family: string, args: string[], fill?: (event: EngineEvent) => void): Promise<ScriptReply> {
    const header = [family, String(this.defaults.ttr), String(this.defaults.maxAttempts), String(this.defaults.retryBackoffBase), String(this.defaults.retryBackoffCap)];
    const scriptNumber = ++this.scriptsStarted;
    const epoch = this.subscriberEpoch;
    const started = this.onRoundTrip ? performance.now() : 0;
    const called = await this.store(() => callScript(this.redis, name, [scriptKey(family, this.managerId), ...header, ...args], this.wait));
    if (this.onRoundTrip) this.onRoundTrip(name, (performance.now() - started) / 1000);
    const reply = readReply(called.reply);
    this.clockOffset = reply.now - Date.now();
    let freed = false;
    for (const [queue, bytes, ready, version] of reply.bytes) {
      const local = this.queues.get(queue);
      if (local) {
        // Subscribed before the script started: a task made ready after it would be announced.
        const confirmed = this.confirmedAt.get(local.family);
        this.learn(local, version, ready, epoch === this.subscriberEpoch && confirmed !== undefined && confirmed < scriptNumber);
      }
      // Only the queues this manager serves count toward its queuedBytes (a tick also reports others').
      const before = this.bytesOf.get(queue);
      if (before === undefined && !this.queues.has(queue)) continue;
      this.bytesOf.set(queue, bytes);
      if (before !== undefined && bytes < before) freed = true;
    }
    if (freed && this.waitingForBudget.size > 0) {
      const waiting = [...this.waitingForBudget];
      this.waitingForBudget.clear();
      for (const queue of waiting) this.serve(queue, false);
    }
    if (reply.nextDue !== undefined) this.armTimer(family, reply.nextDue);
    // The wake-ups it published, for this manager's own waiters (its subscriber skips them): after
    // the caller has taken the reply in, as a message would have come.
    if (reply.touched.length > 0) {
      queueMicrotask(() => {
        for (let i = 0; i + 1 < reply.touched.length; i += 2) this.wake(reply.touched[i]!, reply.touched[i + 1] === 'r');
      });
    }
    if (reply.events.length > 0) {
      const events = reply.events.map((tuple) => eventOf(tuple, reply.now, (holder) => this.sessionOf(holder)));
      for (const event of events) {
        fill?.(event);
        // A lease of this manager's that ended in a script (expiry): no longer held here.
        if ((event.kind === 'expired' || event.kind === 'released') && event.taskId !== undefined && event.session !== undefined) this.leases.get(event.session)?.delete(event.taskId);
      }
      this.emit(events);
    }
    // After the reply is taken in (its events are true: the change was made), the answer is an error.
    if (called.replicas !== undefined && called.replicas < this.wait!.replicas) throw notReplicated(this.address, this.wait!, called.replicas);
    return reply;
  }

  /** A command on the store; a connection failure becomes store_unavailable. */
  private async store<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw asEngineError(error, this.address);
    }
  }

  /** The queue is in the registry that queue/list reads (a plain command: global keys are never touched by a queue's script). */
  private async register(name: string): Promise<void> {
    if (this.known.has(name)) return;
    await this.store(() => this.redis.zadd(REGISTRY_KEY, 'NX', Date.now(), name));
    this.known.add(name);
  }

  private async subscribe(family: string): Promise<void> {
    let subscribed = this.subscriptions.get(family);
    if (!subscribed) {
      subscribed = this.store(() => this.subscriber.subscribe(wakeChannel(family)));
      this.subscriptions.set(family, subscribed);
      subscribed.catch(() => this.subscriptions.delete(family));
      this.confirm(family, subscribed);
    }
    await subscribed;
  }

  /** When Redis confirms a subscription (on the same subscriber connection): the scripts started after it can tell an empty queue. */
  private confirm(family: string, subscribed: Promise<unknown>): void {
    const epoch = this.subscriberEpoch;
    subscribed.then(
      () => {
        if (epoch === this.subscriberEpoch && !this.confirmedAt.has(family)) this.confirmedAt.set(family, this.scriptsStarted);
      },
      () => undefined,
    );
  }

  private async statsOf(name: string): Promise<QueueStats | undefined> {
    const reply = await this.run('stats', familyOf(name), [name]);
    if (reply.status === 'missing') return undefined;
    const [
      maxsize,
      maxBytes,
      ttr,
      maxAttempts,
      deadLetter,
      ready,
      leased,
      delayed,
      bytes,
      ,
      put,
      acked,
      nacked,
      expired,
      deadLettered,
      deadSize,
      released,
      paused,
      rate,
      keyRate,
      keyConcurrency,
      throttled,
    ] = reply.data as string[];
    let dead = deadSize === '' ? 0 : Number(deadSize);
    if (deadSize === '' && deadLetter !== '' && familyOf(deadLetter!) !== familyOf(name)) {
      const other = await this.run('stats', familyOf(deadLetter!), [deadLetter!]);
      if (other.status === 'ok') dead = (other.data as string[]).slice(5, 8).reduce((sum, n) => sum + Number(n), 0);
    }
    const queue = this.queues.get(name);
    const stats: QueueStats = {
      queue: name,
      ready: Number(ready),
      leased: Number(leased),
      delayed: Number(delayed),
      dead,
      maxsize: Number(maxsize),
      bytes: Number(bytes),
      maxBytes: Number(maxBytes),
      waitingGetters: queue ? queue.getters.filter((w) => w.active).length : 0,
      waitingPutters: queue ? queue.putters.filter((w) => w.active).length : 0,
      ttr: Number(ttr),
      maxAttempts: Number(maxAttempts),
      deadLetter: deadLetter === '' ? null : deadLetter!,
      paused: paused === '1',
      totals: { put: Number(put), acked: Number(acked), nacked: Number(nacked), expired: Number(expired), released: Number(released), deadLettered: Number(deadLettered) },
    };
    if (throttled !== undefined) {
      if (rate) stats.rate = rateOfField(rate);
      if (keyRate) stats.keyRate = rateOfField(keyRate);
      if (Number(keyConcurrency) > 0) stats.keyConcurrency = Number(keyConcurrency);
      stats.throttled = Number(throttled);
    }
    return stats;
  }

  /**
   * Moves a family's outbox entries (results for replyTo queues, dead letters for another
   * family) into their queues: the second step of a change that spans two slots. One drain per
   * family at a time here; several managers draining at once put each entry once (the marker in
   * deliverOutboxEntry).
   */
  private drain(family: string, session: SessionId | undefined): Promise<void> {
    const previous = this.drains.get(family) ?? Promise.resolve();
    const next = previous.then(() => this.drainNow(family, session));
    const settled = next.catch((error: unknown) => this.log.warn('could not yet move results to their queues; the next tick retries', { error: String(error) }));
    this.drains.set(family, settled);
    return settled;
  }

  private async drainNow(family: string, session: SessionId | undefined): Promise<void> {
    for (;;) {
      const entries = await this.store(() => this.redis.lrange(outboxKey(family), 0, 31));
      if (entries.length === 0) return;
      for (const entry of entries) {
        const newline = entry.indexOf('\n');
        const meta = JSON.parse(entry.slice(0, newline)) as { k: string; q: string };
        await this.register(meta.q);
        await this.run('deliverOutboxEntry', familyOf(meta.q), [entry, this.newId(), session ?? '']);
        await this.store(() => this.redis.lrem(outboxKey(family), 1, entry));
      }
    }
  }

  /** One timer per family, at the earliest deadline its scripts reported: then its queues are brought up to date. */
  private armTimer(family: string, dueAt: number): void {
    if (this.closed) return;
    const existing = this.familyTimers.get(family);
    if (existing && existing.at <= dueAt) return;
    if (existing) clearTimeout(existing.timer);
    const delay = Math.max(0, Math.min(dueAt - (Date.now() + this.clockOffset) + 2, 2 ** 31 - 1));
    const timer = setTimeout(() => {
      this.familyTimers.delete(family);
      void this.tickFamily(family).catch(() => undefined);
    }, delay);
    this.familyTimers.set(family, { at: dueAt, timer });
  }

  private async tickFamily(family: string): Promise<void> {
    const names = [...this.known].filter((name) => familyOf(name) === family);
    if (names.length === 0) return;
    await this.run('tick', family, names);
    for (const name of names) this.wake(name);
  }

  /**
   * The heartbeat of this manager's duties: deadlines no timer here covers (a lease another
   * manager handed out, which died), and outboxes a crash left between their two steps.
   */
  private async maintain(): Promise<void> {
    if (this.closed) return;
    try {
      const names = await this.store(() => this.redis.zrange(REGISTRY_KEY, 0, -1));
      for (const name of names) this.known.add(name);
      const families = new Set(names.map(familyOf));
      for (const family of families) {
        await this.tickFamily(family);
        if ((await this.store(() => this.redis.llen(outboxKey(family)))) > 0) await this.drain(family, undefined);
      }
    } catch (error) {
      this.log.debug('maintenance tick failed', { error: String(error) });
    }
  }

  /** Another manager is gone (heartbeat.ts decides when): the leases of its sessions come back, in every family. */
  private async reapManager(gone: string): Promise<void> {
    const names = await this.store(() => this.redis.zrange(REGISTRY_KEY, 0, -1));
    let released = 0;
    for (const family of new Set(names.map(familyOf))) {
      const reply = await this.run('reap', family, [gone]);
      released += Number(reply.data[0]);
      if (Number(reply.data[1]) > 0) await this.drain(family, undefined);
      for (const name of names) if (familyOf(name) === family) this.wake(name);
    }
    if (released > 0) this.log.info('released the leases of a manager that is gone', { manager: gone, tasks: released });
    await this.peers.managerGone(gone);
  }

  // ---- ids, holders, leases -------------------------------------------------------------

  private newId(): string {
    return `${this.managerId}-${(this.nextId++).toString(36)}`;
  }

  /** A get's arguments of the get script (scripts.ts), also of the puts and acks that take tasks for it. */
  private getArgs(request: GetRequest): string[] {
    return [request.queue, String(request.max), request.ttr === undefined ? '' : String(request.ttr), request.autoAck ? '1' : '0', this.holder(request.session)];
  }

  /** Who holds a lease in Redis: this manager and the session. */
  private holder(session: SessionId): string {
    return `${this.managerId}/${session}`;
  }

  private sessionOf(holder: string): string {
    const prefix = `${this.managerId}/`;
    return holder.startsWith(prefix) ? holder.slice(prefix.length) : holder;
  }

  /** The ids grouped by the family of their queue, as this manager handed them out; lease_unknown for ids it never did. */
  private heldGroups(session: SessionId, ids: string[]): Map<string, string[]> {
    const held = this.leases.get(session);
    const missing = ids.filter((id) => !held?.has(id));
    if (missing.length > 0) throw leaseUnknownError(missing);
    const groups = new Map<string, string[]>();
    for (const id of ids) {
      const family = familyOf(held!.get(id)!.queue);
      let group = groups.get(family);
      if (!group) groups.set(family, (group = []));
      group.push(id);
    }
    return groups;
  }

  /**
   * Ids of several families: each family's script is atomic, the whole is not; checking every
   * family first makes a refusal change nothing (a lease that expires between the check and
   * the change is the one gap: docs/redis.md).
   */
  private async checkFirst(name: 'ack' | 'nack', groups: Map<string, string[]>, args: (ids: string[], checkOnly: boolean, family: string) => string[]): Promise<void> {
    if (groups.size < 2) return;
    for (const [family, ids] of groups) {
      const reply = await this.run(name, family, args(ids, true, family));
      if (reply.status === 'unknown') throw leaseUnknownError(reply.data as string[]);
    }
  }

  private forget(session: SessionId, ids: string[]): void {
    const held = this.leases.get(session);
    if (!held) return;
    for (const id of ids) held.delete(id);
    if (held.size === 0) this.leases.delete(session);
  }

  private emit(events: EngineEvent[]): void {
    if (this.listeners.length === 0) return;
    for (const event of events) for (const listener of this.listeners) listener(event);
  }
}

/** A put's ids as its script answered them: a duplicate's is its key's holder's (spec §7.21). */
function withHolders(request: PutRequest, ids: string[], holders: string[]): [string[], boolean[] | undefined] {
  if (!request.tasks.some((task) => task.unique !== undefined)) return [ids, undefined];
  const duplicates = holders.map((holder) => holder !== '');
  return [ids.map((id, i) => holders[i] || id), duplicates];
}

/** A task's arguments of the put script (scripts.ts); the schedules' ticks use them too. */
export function putArgs(id: string, task: PutRequest['tasks'][number]): string[] {
  const opt = (value: number | string | undefined) => (value === undefined ? '' : String(value));
  const unique = task.unique;
  return [
    id,
    task.payload,
    String(task.priority ?? 0),
    opt(task.delay),
    opt(task.ttr),
    opt(task.replyTo),
    opt(task.maxAttempts),
    unique?.key ?? '',
    unique?.scope === 'active' ? 'a' : 'q',
    opt(unique?.ttl),
  ];
}

/** A rate limit as the queue's hash keeps it: 'max period [burst]', '' for none. */
function rateField(rate: RateLimit | null): string {
  if (rate === null) return '';
  return rate.burst === undefined ? `${rate.max} ${rate.period}` : `${rate.max} ${rate.period} ${rate.burst}`;
}

function rateOfField(field: string): RateLimit {
  const [max, period, burst] = field.split(' ');
  const rate: RateLimit = { max: Number(max), period: Number(period) };
  if (burst !== undefined && burst !== '') rate.burst = Number(burst);
  return rate;
}

/** The rate keys of a put, after its tasks' arguments (one per task), when any task has one; none otherwise (the put script of a plain queue's tasks is unchanged). */
function rateKeyArgs(tasks: PutRequest['tasks']): string[] {
  return tasks.some((task) => task.rateKey !== undefined) ? tasks.map((task) => task.rateKey ?? '') : [];
}

function undoArgs(tuple: TaskTuple): string[] {
  const [id, , payload, attempt, priority, enqueuedAt, , replyTo, lastError, deadLetteredFrom, ttr, maxAttempts, uniqueKey, uniqueScope, uniqueUntil, , rateKey] = tuple;
  return [
    id,
    payload,
    priority,
    enqueuedAt,
    attempt,
    replyTo ?? '',
    lastError ?? '',
    deadLetteredFrom ?? '',
    ttr ?? '',
    maxAttempts ?? '',
    uniqueKey ?? '',
    uniqueScope ?? '',
    uniqueUntil ?? '',
    rateKey ?? '',
  ];
}

function groupByFamily(held: Map<string, HeldLease>): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const [id, { queue }] of held) {
    const family = familyOf(queue);
    let group = groups.get(family);
    if (!group) groups.set(family, (group = []));
    group.push(id);
  }
  return groups;
}

function notFound(name: string): EngineError {
  return new EngineError('queue_not_found', `queue "${name}" does not exist`, { queue: name });
}
