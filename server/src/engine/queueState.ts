import type { QueueStats } from '../protocol/generated';
import { Deque } from './deque';
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
}

/** The state of one named queue. */
export class QueueState {
  readonly ready = new ReadyQueue<TaskRecord>();
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
  ) {}

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

  stats(dead: number): QueueStats {
    return {
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
  }
}
