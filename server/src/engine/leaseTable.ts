import { EngineError } from './engineError';
import type { Deadline, Deadlines } from './deadlines';
import { TaskState, type TaskRecord } from './taskRecord';
import type { SessionId } from './types';

const SECOND = 1000;

/** Who holds which task, until when: what ack, nack, touch and a session's end look up. */
export class LeaseTable {
  /** Leased tasks by id. */
  private readonly byId = new Map<string, TaskRecord>();
  private readonly bySession = new Map<SessionId, Set<TaskRecord>>();
  /**
   * The deadline of each lease, dropped when the lease ends or is renewed (deadlines.ts says
   * why). Here rather than on the record: only leased tasks need it, and a queued task's
   * record must stay small.
   */
  private readonly deadlineOf = new Map<TaskRecord, Deadline>();

  constructor(private readonly deadlines: Deadlines) {}

  /** Leases a ready task to `session` for `ttr` seconds from `now`. */
  lease(record: TaskRecord, session: SessionId, ttr: number, now: number): void {
    record.state = TaskState.Leased;
    record.leaseSession = session;
    record.leaseTtr = ttr;
    record.leaseUntil = now + ttr * SECOND;
    record.queue.leased++;
    this.byId.set(record.id, record);
    let held = this.bySession.get(session);
    if (!held) this.bySession.set(session, (held = new Set()));
    held.add(record);
    this.deadlines.drop(this.deadlineOf.get(record));
    this.deadlineOf.set(record, this.deadlines.add(record.leaseUntil, record, undefined));
  }

  /** Moves the end of a lease to `ttr` seconds from `now` (default: the lease's own length); returns the new end. */
  extend(record: TaskRecord, ttr: number | undefined, now: number): number {
    const seconds = ttr ?? record.leaseTtr;
    record.leaseTtr = seconds;
    record.leaseUntil = now + seconds * SECOND;
    this.deadlines.drop(this.deadlineOf.get(record));
    this.deadlineOf.set(record, this.deadlines.add(record.leaseUntil, record, undefined));
    return record.leaseUntil;
  }

  /** Drops the lease's bookkeeping; the caller decides where the task goes next. */
  end(record: TaskRecord): void {
    record.queue.leased--;
    record.queue.limited?.leaseEnded(record);
    this.byId.delete(record.id);
    const held = this.bySession.get(record.leaseSession!);
    if (held) {
      held.delete(record);
      if (held.size === 0) this.bySession.delete(record.leaseSession!);
    }
    record.leaseSession = undefined;
    record.state = TaskState.Ready;
    this.deadlines.drop(this.deadlineOf.get(record));
    this.deadlineOf.delete(record);
  }

  /** The leased tasks of `ids`, in order; throws lease_unknown unless the session holds every one (each once). */
  heldBy(session: SessionId, ids: string[]): TaskRecord[] {
    const records: TaskRecord[] = [];
    let missing: string[] | undefined;
    const seen = ids.length > 1 ? new Set<string>() : undefined;
    for (const id of ids) {
      const record = this.byId.get(id);
      const duplicate = seen !== undefined && (seen.has(id) || (seen.add(id), false));
      if (!record || record.leaseSession !== session || duplicate) (missing ??= []).push(id);
      else records.push(record);
    }
    if (missing) {
      const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ', ...' : '');
      throw new EngineError('lease_unknown', `this session does not hold ${missing.length === 1 ? 'task' : 'tasks'} ${shown}`, { ids: missing });
    }
    return records;
  }

  /** How many tasks the session holds. */
  countFor(session: SessionId): number {
    return this.bySession.get(session)?.size ?? 0;
  }

  /** The tasks the session holds, as a list of their own (ending those leases changes the table). */
  tasksOf(session: SessionId): TaskRecord[] {
    const held = this.bySession.get(session);
    return held ? [...held] : [];
  }

  /** Every leased task, in lease order. */
  values(): IterableIterator<TaskRecord> {
    return this.byId.values();
  }
}
