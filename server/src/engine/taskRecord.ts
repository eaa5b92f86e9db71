import type { JsonText } from '../protocol/jsonText';
import { isoTime } from './isoTime';
import type { QueueState } from './queueState';
import type { RawTask, SessionId } from './types';
import type { KeptHold } from './uniqueKeys';

export const enum TaskState {
  Ready,
  Delayed,
  Leased,
  Gone,
}

/**
 * One task inside the engine. Every field is set in the constructor so all records share one
 * hidden class: a million queued tasks must stay small.
 */
export class TaskRecord {
  state = TaskState.Ready;
  attempt = 1;
  lastError: string | undefined = undefined;
  deadLetteredFrom: string | undefined = undefined;
  /**
   * When the task entered its present state (ms): ready since (put, came due, back after a
   * lease ended; 0 for a task restored from a data dir), due at (delayed: when it will be
   * ready), leased at (leased). One field for the three, so a queued task stays small; the
   * metrics' queue-wait and processing times read it from the get and ack events.
   */
  readyAt = 0;
  leaseSession: SessionId | undefined = undefined;
  /** When the lease ends (ms). */
  leaseUntil = 0;
  /** The lease length in force (s), reused by touch without ttr. */
  leaseTtr = 0;
  /** Manager crashes this task was leased through: see Engine.restore. */
  crashes = 0;
  /** Its uniqueness key, when the put gave one (uniqueKeys.ts); dropped when it is dead-lettered. */
  unique: KeptHold | undefined = undefined;

  constructor(
    readonly id: string,
    public queue: QueueState,
    /** Its JSON text as the client sent it (types.ts); dropped (undefined) once the task is acked: see Engine.ack. */
    public payload: JsonText | undefined,
    readonly priority: number,
    /** ms since the epoch. */
    readonly enqueuedAt: number,
    readonly ttr: number | undefined,
    readonly replyTo: string | undefined,
    readonly maxAttempts: number | undefined,
    /** Its payload's size in bytes (payloadBytes.ts), counted against the byte bounds until it leaves. */
    readonly bytes: number,
    /** Its rate key (spec §7.22), if it has one. */
    readonly rateKey: string | undefined,
  ) {}

  /** The wire form, its payload still as text (the server writes it into the answer as it is). */
  toTask(): RawTask {
    const task: RawTask = {
      id: this.id,
      queue: this.queue.name,
      payload: this.payload!,
      attempt: this.attempt,
      priority: this.priority,
      enqueuedAt: isoTime(this.enqueuedAt),
    };
    if (this.state === TaskState.Leased) task.leaseUntil = isoTime(this.leaseUntil);
    if (this.replyTo !== undefined) task.replyTo = this.replyTo;
    if (this.lastError !== undefined) task.lastError = this.lastError;
    if (this.deadLetteredFrom !== undefined) task.deadLetteredFrom = this.deadLetteredFrom;
    return task;
  }
}
