import type { Nack, ProgressParams, Task } from '../protocol/generated';
import { ackAndGetNext, ackTask, nackTask, reportProgress, touchTasks, type Requester } from './requester';

/** A progress report (spec §5.20): a percent from 0 to 100 and/or a short message, and any JSON detail. */
export type ProgressReport = Omit<ProgressParams, 'id'>;

/** Which tasks ackAndGetNext takes: a queue/get's params, the queue defaulting to the task's own. */
export interface NextOptions {
  /** The queue to take from; default: the queue this task came from. */
  queue?: string;
  /** Up to this many tasks (default 1). */
  max?: number;
  /** Seconds to wait for one; default: until one arrives. 0: never wait. */
  timeout?: number;
  /** Lease length in seconds. */
  ttr?: number;
  /** Ends the wait (the ack stands; the answer is then []). */
  signal?: AbortSignal;
}

/** A task this client holds a lease on (or took with autoAck), with the calls that settle it. */
export class ReceivedTask<P = unknown> implements Task {
  readonly id: string;
  readonly queue: string;
  readonly payload: P;
  readonly attempt: number;
  readonly priority: number;
  readonly enqueuedAt: string;
  leaseUntil?: string;
  readonly replyTo?: string;
  readonly lastError?: string;
  readonly deadLetteredFrom?: string;
  /** Set once ack or nack succeeded. */
  settled = false;

  constructor(
    task: Task,
    private readonly requester: Requester,
  ) {
    this.id = task.id;
    this.queue = task.queue;
    this.payload = task.payload as P;
    this.attempt = task.attempt;
    this.priority = task.priority;
    this.enqueuedAt = task.enqueuedAt;
    if (task.leaseUntil !== undefined) this.leaseUntil = task.leaseUntil;
    if (task.replyTo !== undefined) this.replyTo = task.replyTo;
    if (task.lastError !== undefined) this.lastError = task.lastError;
    if (task.deadLetteredFrom !== undefined) this.deadLetteredFrom = task.deadLetteredFrom;
  }

  /** Completes the task; a result goes to the task's replyTo queue. */
  async ack(result?: unknown): Promise<void> {
    await ackTask(this.requester, this.id, result);
    this.settled = true;
  }

  /**
   * Completes the task and takes the next ones in the same exchange (spec §5.9.1), so a worker's
   * loop costs one round trip per task; [] when none came within the timeout. Against a manager
   * without capabilities.ackNext it acks, then gets: the same effect in two round trips.
   */
  async ackAndGetNext(result?: unknown, options: NextOptions = {}): Promise<ReceivedTask<P>[]> {
    const { signal, queue = this.queue, max = 1, timeout, ttr } = options;
    const next = { queue, max, ...(timeout !== undefined ? { timeout } : {}), ...(ttr !== undefined ? { ttr } : {}) };
    const tasks = await ackAndGetNext(this.requester, this.id, result, next, signal, () => (this.settled = true));
    return tasks.map((task) => new ReceivedTask<P>(task, this.requester));
  }

  /**
   * Gives the task back for a retry (after `delay` seconds, or the manager's back-off), or with
   * `retry: false` straight to the dead-letter queue (a permanent failure).
   */
  async nack(options: Omit<Nack, 'id'> = {}): Promise<void> {
    await nackTask(this.requester, this.id, options);
    this.settled = true;
  }

  /** Extends the lease by `ttr` seconds from now (default: the lease's own length). */
  async touch(ttr?: number): Promise<void> {
    this.leaseUntil = await touchTasks(this.requester, [this.id], ttr);
  }

  /**
   * Reports how far the work got, for `taskwire tail`, `taskwire workers` and the sidebar:
   * `task.progress(40, 'fetching page 2')` or `task.progress({ percent, message, detail })`.
   * Needs a manager of protocol 2026-12. The report also renews the lease, as touch() does;
   * the manager passes on at most a few reports a second per task, so report as often as is
   * convenient.
   */
  async progress(percent: number, message?: string, detail?: unknown): Promise<void>;
  async progress(report: ProgressReport): Promise<void>;
  async progress(percentOrReport: number | ProgressReport, message?: string, detail?: unknown): Promise<void> {
    const report: ProgressReport = typeof percentOrReport === 'number' ? { percent: percentOrReport } : { ...percentOrReport };
    if (typeof percentOrReport === 'number') {
      if (message !== undefined) report.message = message;
      if (detail !== undefined) report.detail = detail;
    }
    this.leaseUntil = await reportProgress(this.requester, this.id, report);
  }

  toJSON(): Task {
    const { requester: _requester, settled: _settled, ...task } = this as unknown as Task & { requester: unknown; settled: unknown };
    return task;
  }
}
