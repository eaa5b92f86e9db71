import type { Nack, QueueStats } from '../protocol/generated';
import { Engine, systemClock, type Clock, type EngineDefaults, type EngineEvent, type QueueOptions, type SessionId, type Waiter } from '../engine';
import type { RestoreSummary } from '../engine/journal';
import { duplicateTickReason, ScheduleBook, skipReason, type ScheduleDefinition, type ScheduleImage, type ScheduleRunImage } from '../engine/schedules';
import type { QueueBackend } from '../engine/queueBackend';
import type { GetRequest, HeldTaskRef, PutDone, PutRequest, RawAck, RawTask } from '../engine/types';
import type { Deliver } from '../engine/waiters';
import type { TaskStore } from '../store/store';
import { EngineTimer } from './engineTimer';
import { WakeTimer } from './wakeTimer';
import type { QueueDeclaration } from './options';

export interface LocalQueuesOptions {
  defaults?: Partial<EngineDefaults>;
  /** Create queues on first use (default true). */
  autoCreate?: boolean;
  /** The budget for queued payload bytes; 0 or absent: none. */
  maxQueuedBytes?: number;
  /** Queues to declare at start (after a restore, so their options win). */
  queues?: QueueDeclaration[];
  /** Keeps the queues beyond the process (the journal of --data-dir); absent: in memory only. */
  store?: TaskStore;
  /** Called once if the store can no longer keep changes: the manager must stop. */
  onStoreFailure?: (error: Error) => void;
  clock?: Clock;
}

/**
 * The queues of one manager process: the engine, driven by a real timer, with its journal when
 * there is a store. Everything the server asks of queue state goes through QueueBackend; this
 * is the implementation that keeps it in this process.
 */
export class LocalQueues implements QueueBackend {
  readonly engine: Engine;
  /** What was restored from the store at start. */
  readonly restored: RestoreSummary | undefined;
  private readonly timer = new EngineTimer();
  private readonly store: TaskStore | undefined;
  private readonly clock: Clock;
  private readonly scheduleTimer = new WakeTimer(() => this.runDueSchedules());
  private readonly schedules: ScheduleBook;
  /** Observers of the events made here rather than by the engine (scheduled). */
  private readonly listeners: ((event: EngineEvent) => void)[] = [];

  constructor(options: LocalQueuesOptions = {}) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.schedules = new ScheduleBook(this.clock, this.scheduleTimer.wake);
    this.engine = new Engine({
      clock: this.clock,
      defaults: options.defaults,
      autoCreate: options.autoCreate ?? true,
      onWake: this.timer.wake,
      journal: this.store,
      maxQueuedBytes: options.maxQueuedBytes,
    });
    this.timer.attach(this.engine);
    this.restored = this.store ? this.engine.restore(this.store.recovered) : undefined;
    // A schedule whose tick passed while the manager was down is due at once: it runs once.
    for (const schedule of this.store?.recovered.schedules ?? []) this.schedules.keep(schedule);
    for (const { name, ...queueOptions } of options.queues ?? []) this.engine.declareQueue(name, queueOptions);
    this.store?.start(
      () => ({ ...this.engine.exportState(), schedules: this.schedules.images() }),
      (error) => options.onStoreFailure?.(error),
    );
  }

  declareQueue(name: string, options: QueueOptions): { queue: string; created: boolean } {
    return this.engine.declareQueue(name, options);
  }

  listQueues(): QueueStats[] {
    return this.engine.listQueues();
  }

  queueStats(name: string): QueueStats {
    return this.engine.queueStats(name);
  }

  pauseQueue(name: string, session?: SessionId): QueueStats {
    return this.engine.pauseQueue(name, session);
  }

  resumeQueue(name: string, session?: SessionId): QueueStats {
    return this.engine.resumeQueue(name, session);
  }

  put(request: PutRequest, done: PutDone): Waiter | undefined {
    return this.engine.put(request, done);
  }

  ensureQueue(name: string): void {
    this.engine.ensureQueue(name);
  }

  get(request: GetRequest, deliver: Deliver): Waiter | undefined {
    return this.engine.get(request, deliver);
  }

  join(queue: string, timeout: number | undefined, session: SessionId | undefined, done: (joined: boolean) => void): Waiter | undefined {
    return this.engine.join(queue, timeout, session, done);
  }

  ack(session: SessionId, acks: RawAck[]): number {
    return this.engine.ack(session, acks);
  }

  nack(session: SessionId, nacks: Nack[]): number {
    return this.engine.nack(session, nacks);
  }

  touch(session: SessionId, ids: string[], ttr?: number): number {
    return this.engine.touch(session, ids, ttr);
  }

  peek(queue: string, max: number): RawTask[] {
    return this.engine.peek(queue, max);
  }

  purge(queue: string, session?: SessionId): number {
    return this.engine.purge(queue, session);
  }

  leasedBy(session: SessionId): number {
    return this.engine.leasedBy(session);
  }

  heldTasks(session: SessionId): HeldTaskRef[] {
    return this.engine.heldTasks(session);
  }

  releaseSession(session: SessionId, reason: string, managerStopping = false): number {
    return this.engine.releaseSession(session, reason, managerStopping);
  }

  setSchedule(definition: ScheduleDefinition, session?: SessionId): { schedule: ScheduleImage; created: boolean } {
    const outcome = this.schedules.set(definition);
    this.store?.append({ op: 'schedule', schedule: outcome.schedule });
    this.emitScheduleChange('schedule-set', outcome.schedule.queue, definition.name, session);
    return outcome;
  }

  listSchedules(queue?: string): ScheduleImage[] {
    return this.schedules.list(queue);
  }

  deleteSchedule(name: string, session?: SessionId): boolean {
    const schedule = this.schedules.get(name);
    if (schedule === undefined) return false;
    this.schedules.delete(name);
    this.store?.append({ op: 'unschedule', name });
    this.emitScheduleChange('schedule-deleted', schedule.queue, name, session);
    return true;
  }

  /**
   * Puts the task of every schedule that is due, each once (however many ticks it missed), and
   * never waits: a full queue skips the tick. The put's records and the schedule's new state
   * are appended in the same turn, so one journal write holds both: after a crash the tick is
   * either done (task and schedule) or not done at all.
   */
  private runDueSchedules(): void {
    for (const due of this.schedules.due()) {
      let run: Omit<ScheduleRunImage, 'at'> = {};
      this.engine.put({ queue: due.queue, tasks: [due.task], timeout: 0 }, (outcome, duplicates) => {
        if (!Array.isArray(outcome)) run = { skipped: skipReason(outcome) };
        else run = duplicates?.[0] ? { skipped: duplicateTickReason(outcome[0]!) } : { taskId: outcome[0] };
      });
      const schedule = this.schedules.ran(due.name, run)!;
      this.store?.append({ op: 'schedule', schedule });
      this.emitScheduled(schedule);
    }
    this.scheduleTimer.wake(this.schedules.nextDue());
  }

  private emitScheduleChange(kind: 'schedule-set' | 'schedule-deleted', queue: string, name: string, session: SessionId | undefined): void {
    const event: EngineEvent = { kind, queue, schedule: name, at: this.clock.now() };
    if (session !== undefined) event.session = session;
    this.emit(event);
  }

  private emitScheduled(schedule: ScheduleImage): void {
    const run = schedule.lastRun!;
    const event: EngineEvent = { kind: 'scheduled', queue: schedule.queue, schedule: schedule.name, at: run.at };
    if (run.taskId !== undefined) event.taskId = run.taskId;
    if (run.skipped !== undefined) event.error = run.skipped;
    this.emit(event);
  }

  /** An event made here rather than by the engine, to every observer (a copy: one may stop observing). */
  private emit(event: EngineEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }

  onEvent(listener: (event: EngineEvent) => void): () => void {
    const stopEngine = this.engine.onEvent(listener);
    this.listeners.push(listener);
    return () => {
      stopEngine();
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  get queuedBytes(): number {
    return this.engine.queuedBytes;
  }

  get maxQueuedBytes(): number {
    return this.engine.maxQueuedBytes;
  }

  whenDurable(callback: (failure?: Error) => void): void {
    // In memory a change is as durable as it gets once made.
    if (this.store) this.store.onDurable(callback);
    else callback();
  }

  async close(): Promise<void> {
    this.timer.stop();
    this.scheduleTimer.stop();
    await this.store?.close();
  }
}
