import type { JournalRecord, JournalSink, TaskImage } from './journal';
import type { ResolvedQueueOptions } from './queueState';
import { TaskState, type TaskRecord } from './taskRecord';
import { holdImage } from './uniqueKeys';

/**
 * Every journal record the engine writes, from one place: each change of durable state has its
 * method here, and without a sink (the in-memory store) each is a no-op that builds nothing.
 */
export class JournalWriter {
  constructor(private sink: JournalSink | undefined) {}

  /** False without a sink: callers skip building what only a record would need. */
  get enabled(): boolean {
    return this.sink !== undefined;
  }

  /** Runs `change` without journaling it (a restore: the store snapshots the restored state instead). */
  paused<T>(change: () => T): T {
    const sink = this.sink;
    this.sink = undefined;
    try {
      return change();
    } finally {
      this.sink = sink;
    }
  }

  /** A queue was created or its options changed. */
  queue(name: string, options: ResolvedQueueOptions): void {
    this.sink?.append({ op: 'queue', queue: name, options: { ...options } });
  }

  /** A queue was paused or resumed. */
  pause(name: string, paused: boolean): void {
    this.sink?.append({ op: 'pause', queue: name, paused });
  }

  /** Tasks entered a queue, as they are now (ready, or delayed until readyAt). */
  put(records: readonly TaskRecord[]): void {
    this.sink?.append({ op: 'put', tasks: records.map(imageOf) });
  }

  /** Ready tasks were leased. */
  lease(records: readonly TaskRecord[]): void {
    this.sink?.append({ op: 'lease', ids: records.map((record) => record.id) });
  }

  /** Tasks left for good: acked, or delivered with autoAck. */
  ack(records: readonly TaskRecord[]): void {
    this.sink?.append({ op: 'ack', ids: records.map((record) => record.id) });
  }

  /** A lease ended without an ack: the task is back with its new attempt, ready or delayed (`atHead`: first of its priority level). */
  retry(record: TaskRecord, atHead = false): void {
    if (!this.sink) return;
    const retry: JournalRecord = { op: 'retry', id: record.id, attempt: record.attempt };
    if (record.state === TaskState.Delayed) retry.readyAt = record.readyAt;
    if (record.lastError !== undefined) retry.lastError = record.lastError;
    if (atHead) retry.head = true;
    this.sink.append(retry);
  }

  /** A delayed task became ready. */
  due(record: TaskRecord): void {
    this.sink?.append({ op: 'due', ids: [record.id] });
  }

  /** A task moved from queue `from` to its dead-letter queue (where it is now). */
  dead(record: TaskRecord, from: string): void {
    if (!this.sink) return;
    const dead: JournalRecord = { op: 'dead', id: record.id, queue: record.queue.name, from };
    if (record.lastError !== undefined) dead.lastError = record.lastError;
    this.sink.append(dead);
  }

  /** Tasks left for good: purged, or dead with no dead-letter queue to go to. */
  drop(records: readonly TaskRecord[]): void {
    if (records.length > 0) this.sink?.append({ op: 'drop', ids: records.map((record) => record.id) });
  }
}

/** The stored form of a task; fields that are not set are left out. */
export function imageOf(record: TaskRecord): TaskImage {
  const image: TaskImage = {
    id: record.id,
    queue: record.queue.name,
    payload: record.payload!,
    priority: record.priority,
    enqueuedAt: record.enqueuedAt,
    attempt: record.attempt,
  };
  if (record.ttr !== undefined) image.ttr = record.ttr;
  if (record.replyTo !== undefined) image.replyTo = record.replyTo;
  if (record.maxAttempts !== undefined) image.maxAttempts = record.maxAttempts;
  if (record.lastError !== undefined) image.lastError = record.lastError;
  if (record.deadLetteredFrom !== undefined) image.deadLetteredFrom = record.deadLetteredFrom;
  if (record.state === TaskState.Delayed) image.readyAt = record.readyAt;
  if (record.state === TaskState.Leased) image.leased = true;
  if (record.crashes > 0) image.crashes = record.crashes;
  if (record.unique !== undefined) image.unique = holdImage(record.unique);
  if (record.rateKey !== undefined) image.rateKey = record.rateKey;
  return image;
}
