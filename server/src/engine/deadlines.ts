import { MinHeap } from './minHeap';
import { TaskState, type TaskRecord } from './taskRecord';
import type { AnyWaiter } from './waiters';
import type { QueueState } from './queueState';

/** One deadline: a task's due time or lease end, or a waiter's timeout (ms since the epoch). */
export interface Deadline {
  at: number;
  /** Arrival order, for deadlines at the same instant. */
  seq: number;
  task: TaskRecord | undefined;
  waiter: AnyWaiter | undefined;
  /** A queue with limits whose budget returns then (its LimitedReady's wakeAt): its getters are served again. */
  queue: QueueState | undefined;
}

/**
 * Deadlines are dropped lazily: an acked task's lease deadline stays in the heap until it is
 * due. At a high rate that is rate × ttr entries, each holding its task record (100,000 tasks/s
 * with a 30 s ttr: three million), which the garbage collector must trace. So the heap is swept
 * of dead entries whenever it has doubled since the last sweep (and holds at least this many):
 * O(1) amortized per deadline, and never more than about twice the live ones.
 */
const SWEEP_MIN = 4096;

/**
 * Every pending deadline of the engine in one heap: when tasks come due, when leases end, when
 * waiting requests time out. It reads no clock: the engine asks what is due as of a time it
 * passes in, and `onWake` tells the host when the earliest deadline moved earlier.
 */
export class Deadlines {
  private readonly heap = new MinHeap<Deadline>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  /** The heap size that triggers the next sweep of dead entries. */
  private sweepAt = SWEEP_MIN;
  private seq = 0;

  constructor(private readonly onWake: ((at: number) => void) | undefined) {}

  /** Entries held, dead ones not yet swept included (diagnostics; bounded by the sweep). */
  get size(): number {
    return this.heap.size;
  }

  /** The earliest pending deadline (ms), if any. */
  next(): number | undefined {
    return this.heap.peek()?.at;
  }

  /** Adds a deadline; the entry returned is what drop() takes when it no longer applies. */
  add(at: number, task: TaskRecord | undefined, waiter: AnyWaiter | undefined, queue?: QueueState): Deadline {
    const earliest = this.heap.peek()?.at;
    const deadline: Deadline = { at, seq: this.seq++, task, waiter, queue };
    this.heap.push(deadline);
    if (this.onWake && (earliest === undefined || at < earliest)) this.onWake(at);
    // A sweep only removes entries, so the wake-up already asked for is early at worst.
    if (this.heap.size >= this.sweepAt) {
      this.heap.retain(deadlineIsLive);
      this.sweepAt = Math.max(SWEEP_MIN, 2 * this.heap.size);
    }
    return deadline;
  }

  /**
   * A deadline that no longer applies (the lease ended, the waiter was served): it stays in the
   * heap until popped or swept, but lets go of its task and waiter at once. Otherwise every
   * request of the last ttr would stay reachable from the heap, and each young-generation
   * collection would copy them all (it was 2 ms per collection, the p99 of a round trip).
   */
  drop(deadline: Deadline | undefined): void {
    if (deadline === undefined) return;
    deadline.task = undefined;
    deadline.queue = undefined;
    deadline.waiter = undefined;
  }

  /** Takes the earliest live deadline due at or before `now`; undefined when none is. */
  popDue(now: number): Deadline | undefined {
    for (let next = this.heap.peek(); next !== undefined && next.at <= now; next = this.heap.peek()) {
      this.heap.pop();
      if (deadlineIsLive(next)) return next;
    }
    return undefined;
  }

  /** Removes and returns the entries that match, live or not. */
  removeWhere(matches: (deadline: Deadline) => boolean): Deadline[] {
    return this.heap.removeWhere(matches);
  }

  /** Every entry, in no particular order. */
  values(): readonly Deadline[] {
    return this.heap.values();
  }
}

/** True while a deadline still means something: the task's current due time or lease end, or a waiter's timeout (a dropped one has neither). */
export function deadlineIsLive(deadline: Deadline): boolean {
  const { task, waiter, queue } = deadline;
  if (queue) return queue.limited !== undefined && queue.limited.wakeAt === deadline.at;
  if (task) return (task.state === TaskState.Delayed && task.readyAt === deadline.at) || (task.state === TaskState.Leased && task.leaseUntil === deadline.at);
  return waiter !== undefined && waiter.active && waiter.timeoutAt === deadline.at;
}
