import type { Unique } from '../protocol/generated';
import type { Clock } from './clock';
import { KeyTable } from './keyTable';
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

/**
 * A hold as a task record keeps it: the key alone for the common hold (scope queued, no ttl),
 * an object otherwise. A string costs no object per task: with 100,000 unique tasks queued, the
 * objects were a fifth of what the keys added to the garbage collector's work (bench/unique.mjs).
 */
export type KeptHold = string | UniqueHold;

/** The hold a put asks for, or undefined for a task without a key. */
export function holdOf(unique: Unique | undefined, now: number): KeptHold | undefined {
  if (unique === undefined) return undefined;
  const scope = unique.scope ?? 'queued';
  if (scope === 'queued' && unique.ttl === undefined) return unique.key;
  return { key: unique.key, scope, until: unique.ttl === undefined ? undefined : now + Math.round(unique.ttl * 1000) };
}

/** A kept hold as the journal and snapshots write it (one form, whatever the record keeps). */
export function holdImage(kept: KeptHold): UniqueHold {
  if (typeof kept !== 'string') {
    const { key, scope, until } = kept;
    return until === undefined ? { key, scope } : { key, scope, until };
  }
  return { key: kept, scope: 'queued' };
}

/** A hold read back from the journal, kept as holdOf keeps it. */
export function keptHold(image: UniqueHold): KeptHold {
  return image.scope === 'queued' && image.until === undefined ? image.key : { key: image.key, scope: image.scope, until: image.until };
}

const keyOf = (kept: KeptHold): string => (typeof kept === 'string' ? kept : kept.key);

/** The hold's end, or undefined for one held as long as its task is in scope. */
const untilOf = (kept: KeptHold): number | undefined => (typeof kept === 'string' ? undefined : kept.until);

/** The uniqueness keys of one queue: key → the task that holds it. */
export class UniqueKeys {
  /** Each holder's key is its record's own (keyTable.ts says why this is not a Map). */
  private readonly holders = new KeyTable<TaskRecord>((record) => keyOf(record.unique!));

  /** Keys held, counting ones whose ttl ran out and that no put has looked at since. */
  get size(): number {
    return this.holders.size;
  }

  /**
   * The task that holds `key` now (`at`: the time, or the clock to read it from), if any; a hold
   * whose ttl ran out is dropped here. The clock is read only for a hold with a ttl: a put's
   * lookup of a new key, the usual case, reads none.
   */
  holder(key: string, at: Clock | number): TaskRecord | undefined {
    const record = this.holders.get(key);
    if (record === undefined) return undefined;
    const until = untilOf(record.unique!);
    if (until === undefined || (typeof at === 'number' ? at : at.now()) < until) return record;
    this.holders.delete(key, record);
    return undefined;
  }

  /** A new task takes its key (the caller checked that it is free). */
  take(record: TaskRecord): void {
    this.holders.set(keyOf(record.unique!), record);
  }

  /** The task left its key's scope (leased in scope queued) or ended: its key is free again. */
  free(record: TaskRecord): void {
    const kept = record.unique;
    if (kept === undefined) return;
    this.holders.delete(keyOf(kept), record);
  }

  /** Freed when it was leased in scope queued, if it is leased no longer. */
  freeOnLease(record: TaskRecord): void {
    const kept = record.unique;
    if (typeof kept === 'string' || kept?.scope === 'queued') this.free(record);
  }

  /**
   * The task is back in the queue (a retry, a lease that ended, a restart): it holds its key
   * again unless another task took it meanwhile or its ttl ran out.
   */
  retake(record: TaskRecord, now: number): void {
    const kept = record.unique;
    if (kept === undefined) return;
    const until = untilOf(kept);
    if (until !== undefined && now >= until) return;
    const key = keyOf(kept);
    if (this.holder(key, now) === undefined) this.holders.set(key, record);
  }
}
