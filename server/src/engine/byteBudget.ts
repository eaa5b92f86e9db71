import type { QueueState } from './queueState';
import type { TaskRecord } from './taskRecord';

/**
 * The manager-wide budget for the payload bytes (payloadBytes.ts) of every task held — ready,
 * delayed, leased and dead-lettered — and the line of queues whose first waiting put fits the
 * queue's own bounds but not the budget: the budget admits them in the order they started
 * waiting, and no put overtakes them. Each queue's own count (QueueState.bytes) is kept here too.
 */
export class ByteBudget {
  private heldBytes = 0;
  private readonly line = new Set<QueueState>();
  private serving = false;

  /** 0 = unlimited. */
  constructor(readonly max: number) {}

  /** The payload bytes of every task held: what `max` bounds. */
  get held(): number {
    return this.heldBytes;
  }

  /** A task enters the manager's holdings (put, result, restore): its bytes count until it leaves. */
  hold(record: TaskRecord): void {
    record.queue.bytes += record.bytes;
    this.heldBytes += record.bytes;
  }

  /** A task left for good (acked, purged, dropped): its bytes no longer count. */
  release(record: TaskRecord): void {
    record.queue.bytes -= record.bytes;
    this.heldBytes -= record.bytes;
  }

  /** A task moves to another queue (dead-lettered): still held, so the manager's total does not change. */
  move(record: TaskRecord, from: QueueState, to: QueueState): void {
    from.bytes -= record.bytes;
    to.bytes += record.bytes;
  }

  /** True when the budget lets a put of `bytes` into `queue` now: there is room, and no other queue's put is ahead of it in the line. */
  admits(queue: QueueState, bytes: number): boolean {
    if (this.max === 0) return true;
    const first = this.lineHead();
    return (first === undefined || first === queue) && this.heldBytes + bytes <= this.max;
  }

  /** The queue's head put waits for the budget only: it takes its place in the line (once). */
  joinLine(queue: QueueState): void {
    if (this.max > 0) this.line.add(queue);
  }

  /** Its turn is used: the queue's next put, if it must wait for the budget, queues up behind the others. */
  leaveLine(queue: QueueState): void {
    this.line.delete(queue);
  }

  /**
   * Bytes were freed or the line changed: `admit` each queue in the line's order while its head
   * put fits. `admit` lets in what it can and rejoins the line if its head still waits.
   */
  serveLine(admit: (queue: QueueState) => void): void {
    // Admitting a put can free bytes again (a getter with autoAck takes it at once): the loop
    // below sees them, so a nested call has nothing to add.
    if (this.line.size === 0 || this.serving) return;
    this.serving = true;
    try {
      for (let first = this.lineHead(); first !== undefined;) {
        admit(first);
        const next = this.lineHead();
        if (next === first) return; // its head still waits for the budget: nobody overtakes it
        first = next;
      }
    } finally {
      this.serving = false;
    }
  }

  /** The first queue of the line whose head put still waits for the budget (others leave the line). */
  private lineHead(): QueueState | undefined {
    for (const queue of this.line) {
      const head = queue.headPutter();
      if (head && queue.hasRoomFor(head.request.tasks.length, head.bytes)) return queue;
      this.line.delete(queue);
    }
    return undefined;
  }
}
