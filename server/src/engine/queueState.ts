import type { QueueStats } from '../protocol/generated';
import { Deque } from './deque';
import { ReadyQueue } from './readyQueue';
import type { TaskRecord } from './taskRecord';
import type { GetWaiter, JoinWaiter, PutWaiter } from './waiters';

/** Options of a queue with every default filled in. */
export interface ResolvedQueueOptions {
  maxsize: number;
  ttr: number;
  maxAttempts: number;
  deadLetter: string | null;
}

/** The state of one named queue. */
export class QueueState {
  readonly ready = new ReadyQueue<TaskRecord>();
  delayed = 0;
  leased = 0;
  readonly getters = new Deque<GetWaiter>();
  readonly putters = new Deque<PutWaiter>();
  readonly joiners = new Set<JoinWaiter>();
  /** Active (not cancelled, not served) waiters in the deques, which drop cancelled ones lazily. */
  activeGetters = 0;
  activePutters = 0;
  readonly totals = { put: 0, acked: 0, nacked: 0, expired: 0, deadLettered: 0 };

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

  hasRoomFor(count: number): boolean {
    return this.options.maxsize === 0 || this.size + count <= this.options.maxsize;
  }

  stats(dead: number): QueueStats {
    return {
      queue: this.name,
      ready: this.ready.length,
      leased: this.leased,
      delayed: this.delayed,
      dead,
      maxsize: this.options.maxsize,
      waitingGetters: this.activeGetters,
      waitingPutters: this.activePutters,
      ttr: this.options.ttr,
      maxAttempts: this.options.maxAttempts,
      deadLetter: this.options.deadLetter,
      totals: { ...this.totals },
    };
  }
}
