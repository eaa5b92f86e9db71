import type { QueueStats } from '../protocol/generated';
import { Deque } from './deque';
import { hasLimits, LimitedReady, type QueueLimits } from './limitedReady';
import type { RateLimit } from './rateLimit';
import { ReadyQueue } from './readyQueue';
import type { TaskRecord } from './taskRecord';
import { UniqueKeys } from './uniqueKeys';
import type { GetWaiter, JoinWaiter, PutWaiter } from './waiters';

/** Options of a queue with every default filled in. */
export interface ResolvedQueueOptions {
  maxsize: number;
  /** Bound on the payload bytes of ready + delayed + leased tasks; 0 = unbounded. */
  maxBytes: number;
  ttr: number;
  maxAttempts: number;
  deadLetter: string | null;
  /** Limits on deliveries (spec §7.22); absent when the queue has none (so a plain queue's journal records are as before). */
  rate?: RateLimit;
  keyRate?: RateLimit;
  keyConcurrency?: number;
}

/** The state of one named queue. */
export class QueueState {
  /** Its ready tasks: one ReadyQueue, or on a queue with limits its LimitedReady (also in `limited`). */
  ready: ReadyQueue<TaskRecord> | LimitedReady;
  /** Set when the queue has limits: takes then go through it. Undefined keeps the unlimited path as it was. */
  limited: LimitedReady | undefined;
  delayed = 0;
  leased = 0;
  /** The payload bytes (payloadBytes.ts) of its ready, delayed and leased tasks: what maxBytes bounds. */
  bytes = 0;
  readonly getters = new Deque<GetWaiter>();
  readonly putters = new Deque<PutWaiter>();
  readonly joiners = new Set<JoinWaiter>();
  /** The uniqueness keys its tasks hold (spec §7.21). */
  readonly uniqueKeys = new UniqueKeys();
  /** Active (not cancelled, not served) waiters in the deques, which drop cancelled ones lazily. */
  activeGetters = 0;
  activePutters = 0;
  /**
   * Paused (queue/pause, spec §7.19): puts are accepted, gets deliver nothing; waiting gets
   * wait for resume or their timeout. Leases already out run on.
   */
  paused = false;
  /** `released`: how many of `expired` were releases (spec QueueTotals, since 2026-12). */
  readonly totals = { put: 0, acked: 0, nacked: 0, expired: 0, released: 0, deadLettered: 0 };

  constructor(
    readonly name: string,
    public options: ResolvedQueueOptions,
  ) {
    this.limited = hasLimits(limitsOf(options)) ? new LimitedReady(limitsOf(options)) : undefined;
    this.ready = this.limited ?? new ReadyQueue<TaskRecord>();
  }

  /**
   * Options changed: when the limits did, the ready tasks move to a ready queue built for the
   * new ones (limiter state starts afresh); `leased` are the queue's leased tasks, counted
   * against a new keyConcurrency.
   */
  relimit(leased: Iterable<TaskRecord>): void {
    const before = this.limited?.limits;
    const after = limitsOf(this.options);
    if (before !== undefined && JSON.stringify(before) === JSON.stringify(after)) return;
    if (before === undefined && !hasLimits(after)) return;
    const tasks = this.ready.peek(Infinity);
    this.ready.clear();
    this.limited = hasLimits(after) ? new LimitedReady(after) : undefined;
    this.ready = this.limited ?? new ReadyQueue<TaskRecord>();
    // Leases first: a key already at its cap must not join the line with its ready tasks.
    if (this.limited) for (const record of leased) if (record.queue === this) this.limited.adoptLease(record);
    for (const record of tasks) this.ready.push(record, record.priority);
  }

  /** What maxsize bounds. */
  get size(): number {
    return this.ready.length + this.delayed + this.leased;
  }

  get idle(): boolean {
    return this.size === 0;
  }

  /** The first active waiting put (withdrawn ones ahead of it are dropped). */
  headPutter(): PutWaiter | undefined {
    while (this.activePutters > 0) {
      const waiter = this.putters.peekAt(0)!;
      if (waiter.active) return waiter;
      this.putters.shift();
    }
    return undefined;
  }

  /** Room for `count` more tasks of `bytes` payload bytes in all, within maxsize and maxBytes. */
  hasRoomFor(count: number, bytes: number): boolean {
    const { maxsize, maxBytes } = this.options;
    return (maxsize === 0 || this.size + count <= maxsize) && (maxBytes === 0 || this.bytes + bytes <= maxBytes);
  }

  stats(dead: number, now: number): QueueStats {
    const stats: QueueStats = {
      queue: this.name,
      ready: this.ready.length,
      leased: this.leased,
      delayed: this.delayed,
      dead,
      maxsize: this.options.maxsize,
      bytes: this.bytes,
      maxBytes: this.options.maxBytes,
      waitingGetters: this.activeGetters,
      waitingPutters: this.activePutters,
      ttr: this.options.ttr,
      maxAttempts: this.options.maxAttempts,
      deadLetter: this.options.deadLetter,
      paused: this.paused,
      totals: { ...this.totals },
    };
    if (this.limited) {
      const { rate, keyRate, keyConcurrency } = this.options;
      if (rate) stats.rate = { ...rate };
      if (keyRate) stats.keyRate = { ...keyRate };
      if (keyConcurrency !== undefined && keyConcurrency > 0) stats.keyConcurrency = keyConcurrency;
      stats.throttled = this.limited.throttled(now);
    }
    return stats;
  }
}

function limitsOf(options: ResolvedQueueOptions): QueueLimits {
  return { rate: options.rate ?? null, keyRate: options.keyRate ?? null, keyConcurrency: options.keyConcurrency ?? 0 };
}
