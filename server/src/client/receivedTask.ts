import type { Nack, Task } from '../protocol/generated';
import type { TaskwireClient } from './client';

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
    private readonly client: TaskwireClient,
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
    await this.client.request('task/ack', { acks: [result === undefined ? { id: this.id } : { id: this.id, result }] });
    this.settled = true;
  }

  /**
   * Gives the task back for a retry (after `delay` seconds, or the manager's back-off), or with
   * `retry: false` straight to the dead-letter queue (a permanent failure).
   */
  async nack(options: Omit<Nack, 'id'> = {}): Promise<void> {
    await this.client.request('task/nack', { nacks: [{ id: this.id, ...options }] });
    this.settled = true;
  }

  /** Extends the lease by `ttr` seconds from now (default: the lease's own length). */
  async touch(ttr?: number): Promise<void> {
    const { leaseUntil } = await this.client.request('task/touch', ttr === undefined ? { ids: [this.id] } : { ids: [this.id], ttr });
    this.leaseUntil = leaseUntil;
  }

  toJSON(): Task {
    const { client: _client, settled: _settled, ...task } = this as unknown as Task & { client: unknown; settled: unknown };
    return task;
  }
}
