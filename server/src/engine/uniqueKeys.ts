import type { Unique } from '../protocol/generated';
import type { TaskRecord } from './taskRecord';

// Unique tasks (spec §7.21): a put whose uniqueness key is held in its queue answers the
// holder's id instead of adding a task. A key belongs to one task and never outlives it, so the
// keys of a queue are bounded by its tasks: no sweeper is needed.

/** Where a key is held: `queued` while ready or delayed, `active` also while leased. */
export type UniqueScope = 'queued' | 'active';

/** A task's uniqueness key as the engine keeps it: its ttl made a deadline (ms) at the put. */
export interface UniqueHold {
  key: string;
  scope: UniqueScope;
  /** The key is no longer held from this time on (ms since the epoch), whatever the task's state. */
  until?: number;
}

/** The hold a put asks for, or undefined for a task without a key. */
export function holdOf(unique: Unique | undefined, now: number): UniqueHold | undefined {
  if (unique === undefined) return undefined;
  const hold: UniqueHold = { key: unique.key, scope: unique.scope ?? 'queued' };
  if (unique.ttl !== undefined) hold.until = now + Math.round(unique.ttl * 1000);
  return hold;
}

/** The uniqueness keys of one queue: key → the task that holds it. */
export class UniqueKeys {
  private readonly holders = new Map<string, TaskRecord>();

  /** Keys held, counting ones whose ttl ran out and that no put has looked at since. */
  get size(): number {
    return this.holders.size;
  }

  /** The task that holds `key` at `now`, if any; a hold whose ttl ran out is dropped here. */
  holder(key: string, now: number): TaskRecord | undefined {
    const record = this.holders.get(key);
    if (record === undefined) return undefined;
    const until = record.unique!.until;
    if (until !== undefined && now >= until) {
      this.holders.delete(key);
      return undefined;
    }
    return record;
  }

  /** A new task takes its key (the caller checked that it is free). */
  take(record: TaskRecord): void {
    this.holders.set(record.unique!.key, record);
  }

  /** The task left its key's scope (leased in scope queued) or ended: its key is free again. */
  free(record: TaskRecord): void {
    const unique = record.unique;
    if (unique !== undefined && this.holders.get(unique.key) === record) this.holders.delete(unique.key);
  }

  /** Freed when it was leased in scope queued, if it is leased no longer. */
  freeOnLease(record: TaskRecord): void {
    if (record.unique?.scope === 'queued') this.free(record);
  }

  /**
   * The task is back in the queue (a retry, a lease that ended, a restart): it holds its key
   * again unless another task took it meanwhile or its ttl ran out.
   */
  retake(record: TaskRecord, now: number): void {
    const unique = record.unique;
    if (unique === undefined || (unique.until !== undefined && now >= unique.until)) return;
    if (this.holder(unique.key, now) === undefined) this.holders.set(unique.key, record);
  }
}
