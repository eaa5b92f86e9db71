import type { EngineEvent, ProgressReport, SessionId } from '../engine';
import type { TaskProgress } from '../protocol/generated';

export type { ProgressReport };

/**
 * Progress events of one task are published at most once per this many milliseconds; the
 * last report of a burst goes out when the interval has passed (spec §5.20).
 */
export const PROGRESS_EVENT_INTERVAL_MS = 250;

/** The largest `detail` a report may carry: its compact JSON text in UTF-8 bytes. */
export const MAX_PROGRESS_DETAIL_BYTES = 4096;

interface TaskEntry {
  session: SessionId;
  progress: TaskProgress;
  /** When an event of this task was last published (ms). */
  sentAt: number;
  /** The latest report not yet published, waiting for the interval to pass. */
  pending?: EngineEvent;
  timer?: NodeJS.Timeout;
}

/**
 * The last progress of each held task, and the rate limit of progress events: a worker that
 * reports a thousand times a second costs its subscribers a few events a second, and the last
 * value of every burst still reaches them (the trailing event of the interval, or at once when
 * the lease ends, before the event that ends it).
 *
 * Progress lives here beside the leases, not in the queues: it is not journaled (a lease does
 * not survive a restart, spec/durability.md, so neither does what was said about it), and an
 * entry goes when its lease ends or its session does.
 */
export class ProgressBoard {
  private readonly tasks = new Map<string, TaskEntry>();

  constructor(
    private readonly publish: (event: EngineEvent) => void,
    private readonly intervalMs = PROGRESS_EVENT_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Keeps a report of a task the session holds on `queue`, and publishes it now or when the interval has passed. */
  record(session: SessionId, taskId: string, queue: string, report: ProgressReport): void {
    const at = this.now();
    const progress: TaskProgress = { ...definedMembers(report), at: new Date(at).toISOString() };
    let entry = this.tasks.get(taskId);
    if (!entry || entry.session !== session) {
      if (entry) this.drop(taskId, entry);
      entry = { session, progress, sentAt: -Infinity };
      this.tasks.set(taskId, entry);
    }
    entry.progress = progress;
    const event: EngineEvent = { kind: 'progress', queue, taskId, progress: definedMembers(report), session, at };
    const wait = entry.sentAt + this.intervalMs - at;
    if (wait <= 0 && !entry.timer) {
      entry.sentAt = at;
      this.publish(event);
      return;
    }
    entry.pending = event;
    if (!entry.timer) {
      const held = entry;
      held.timer = setTimeout(() => this.flush(held), Math.max(0, wait));
      held.timer.unref();
    }
  }

  /** The last progress of a task, when `session` reported one during its lease. */
  progressOf(session: SessionId, taskId: string): TaskProgress | undefined {
    const entry = this.tasks.get(taskId);
    return entry?.session === session ? entry.progress : undefined;
  }

  /** The task's lease ended: its last report goes out now (before the event that ended it), and its progress is forgotten. */
  leaseEnded(taskId: string): void {
    const entry = this.tasks.get(taskId);
    if (!entry) return;
    this.flush(entry);
    this.drop(taskId, entry);
  }

  /**
   * Forgets the progress of the session's tasks that are no longer among `held`: leases whose
   * end this manager did not observe as an event (on a shared store, another manager may be
   * the one that finds a lease expired).
   */
  retainHeld(session: SessionId, held: ReadonlySet<string>): void {
    for (const [taskId, entry] of this.tasks) {
      if (entry.session === session && !held.has(taskId) && !entry.pending) this.drop(taskId, entry);
    }
  }

  /** The session ended: its reports still waiting go out, and its tasks' progress is forgotten. */
  sessionEnded(session: SessionId): void {
    for (const [taskId, entry] of this.tasks) {
      if (entry.session !== session) continue;
      this.flush(entry);
      this.drop(taskId, entry);
    }
  }

  /** Publishes every waiting report and stops the timers (the manager is stopping). */
  close(): void {
    for (const [taskId, entry] of this.tasks) {
      this.flush(entry);
      this.drop(taskId, entry);
    }
  }

  private flush(entry: TaskEntry): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    const pending = entry.pending;
    if (!pending) return;
    entry.pending = undefined;
    entry.sentAt = this.now();
    this.publish(pending);
  }

  private drop(taskId: string, entry: TaskEntry): void {
    clearTimeout(entry.timer);
    this.tasks.delete(taskId);
  }
}

/** The report's members that were given (an absent one is not sent as undefined). */
function definedMembers(report: ProgressReport): ProgressReport {
  const members: ProgressReport = {};
  if (report.percent !== undefined) members.percent = report.percent;
  if (report.message !== undefined) members.message = report.message;
  if (report.detail !== undefined) members.detail = report.detail;
  return members;
}
