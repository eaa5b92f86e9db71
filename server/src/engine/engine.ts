import { randomBytes } from 'node:crypto';
import type { Nack, QueueStats } from '../protocol/generated';
import type { JsonText } from '../protocol/jsonText';
import type { Clock } from './clock';
import { neverFits, queueFull } from './bounds';
import { ByteBudget } from './byteBudget';
import { Deadlines } from './deadlines';
import type { Deque } from './deque';
import { EngineError } from './engineError';
import type { EngineState, JournalSink, RestoreSummary } from './journal';
import { JournalWriter } from './journalWriter';
import { LeaseTable } from './leaseTable';
import { payloadBytes } from './payloadBytes';
import { attemptsUsedUp, backoffSeconds, poisonVerdict } from './retryPolicy';
import { exportState } from './snapshot';
import { QueueState, type ResolvedQueueOptions } from './queueState';
import type { ReadyQueue } from './readyQueue';
import { TaskRecord, TaskState } from './taskRecord';
import {
  DEFAULTS,
  type EngineDefaults,
  type EngineEvent,
  type GetRequest,
  type HeldTaskRef,
  type PutDone,
  type PutRequest,
  type QueueOptions,
  type RawAck,
  type RawTask,
  type RawTaskSpec,
  type SessionId,
  type Waiter,
} from './types';
import { holdOf, keptHold } from './uniqueKeys';
import { WaiterRegistry } from './waiterRegistry';
import type { AnyWaiter, Deliver, GetWaiter, JoinWaiter, PutWaiter } from './waiters';

export interface EngineOptions {
  clock: Clock;
  defaults?: Partial<EngineDefaults>;
  /** Create queues on first use (default true); otherwise unknown queues are queue_not_found. */
  autoCreate?: boolean;
  /** Prefix of task ids; random by default so ids from different runs do not collide. */
  idPrefix?: string;
  /**
   * Called when the earliest pending deadline moves earlier, with that time (ms): the host
   * arranges to call advance() then. Time is passed in, never read behind the host's back.
   */
  onWake?: (at: number) => void;
  /**
   * Receives every change of durable state as a record, in order (a durable store; see
   * journal.ts). Without it the engine is purely in memory.
   */
  journal?: JournalSink;
  /**
   * The manager-wide budget for the payload bytes (payloadBytes.ts) of every task held —
   * ready, delayed, leased and dead-lettered; 0 or absent = unlimited. Puts beyond it wait
   * like puts on a full queue (see put).
   */
  maxQueuedBytes?: number;
}

const SECOND = 1000;

/**
 * The queue semantics of Taskwire: ready queues by priority, delays, leases, retries with
 * back-off, dead letters, bounded queues with blocking put, blocking get, join and events.
 * Deterministic: it reads time only from its clock and knows nothing of sockets or JSON-RPC.
 *
 * This class is the facade and the moves between a task's states (put, lease, retry, bury,
 * ack); each kind of state it keeps is owned by a part of its own: the deadlines (deadlines.ts),
 * the lease table (leaseTable.ts), the waiting requests of each session (waiterRegistry.ts), the
 * byte budget (byteBudget.ts, with the queue_full wording in bounds.ts), the retry and poison
 * rules (retryPolicy.ts), the journal records (journalWriter.ts) and the snapshot (snapshot.ts).
 * It is longer than the other modules because the moves serve waiters as they go (a task put
 * wakes a getter, an ack makes room for a putter): split further, those calls would cross files
 * back and forth.
 */
export class Engine {
  readonly defaults: EngineDefaults;
  private readonly clock: Clock;
  private readonly autoCreate: boolean;
  private readonly idPrefix: string;
  private readonly journal: JournalWriter;
  private readonly queues = new Map<string, QueueState>();
  private readonly deadlines: Deadlines;
  private readonly leases: LeaseTable;
  private readonly waiters: WaiterRegistry;
  private readonly budget: ByteBudget;
  private readonly listeners: ((event: EngineEvent) => void)[] = [];
  private nextId = 0;

  constructor(options: EngineOptions) {
    this.clock = options.clock;
    this.defaults = { ...DEFAULTS, ...options.defaults };
    this.autoCreate = options.autoCreate ?? true;
    this.idPrefix = options.idPrefix ?? randomBytes(3).toString('hex');
    this.journal = new JournalWriter(options.journal);
    this.deadlines = new Deadlines(options.onWake);
    this.leases = new LeaseTable(this.deadlines);
    this.waiters = new WaiterRegistry(this.clock, this.deadlines);
    this.budget = new ByteBudget(options.maxQueuedBytes ?? 0);
  }

  /** See EngineOptions.maxQueuedBytes; 0 = unlimited. */
  get maxQueuedBytes(): number {
    return this.budget.max;
  }

  /** The payload bytes of every task held (ready, delayed, leased, dead-lettered): what maxQueuedBytes bounds. */
  get queuedBytes(): number {
    return this.budget.held;
  }

  /** Observes every engine event; returns a function that stops observing. */
  onEvent(listener: (event: EngineEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  // ---- queues ---------------------------------------------------------------------------

  declareQueue(name: string, options: QueueOptions = {}): { queue: string; created: boolean } {
    const existing = this.queues.get(name);
    if (existing) {
      existing.options = withoutRemovedLimits({ ...existing.options, ...definedOnly(options) });
      existing.relimit(this.leases.values());
      this.journal.queue(name, existing.options);
      // New limits may let waiting getters in (or hold them back until budget returns).
      if (existing.activeGetters > 0) this.serveGetters(existing);
      // A larger maxsize or maxBytes may let blocked putters in.
      this.servePutters(existing);
      return { queue: name, created: false };
    }
    this.createQueue(name, options);
    return { queue: name, created: true };
  }

  listQueues(): QueueStats[] {
    const now = this.clock.now();
    return [...this.queues.values()].map((q) => q.stats(this.deadCount(q), now));
  }

  queueStats(name: string): QueueStats {
    const queue = this.requireQueue(name);
    return queue.stats(this.deadCount(queue), this.clock.now());
  }

  hasQueue(name: string): boolean {
    return this.queues.has(name);
  }

  /**
   * Pauses the queue (spec §7.19), creating it like any method naming a queue: puts are still
   * accepted, gets deliver nothing until resumeQueue; leases already out run on. Pausing a
   * paused queue changes nothing (no record, no event). Returns the queue's stats.
   */
  pauseQueue(name: string, session?: SessionId): QueueStats {
    return this.setPaused(this.requireQueue(name), true, session);
  }

  /** Resumes a paused queue: its ready tasks go to the gets that waited, in the order they came. */
  resumeQueue(name: string, session?: SessionId): QueueStats {
    return this.setPaused(this.requireQueue(name), false, session);
  }

  /** Creates the queue if queues are created on first use; otherwise throws queue_not_found when it does not exist. */
  ensureQueue(name: string): void {
    this.requireQueue(name);
  }

  // ---- put ------------------------------------------------------------------------------

  /**
   * Enqueues all the tasks or none. Completes at once (calling `done` before returning) when
   * there is room or timeout is 0; otherwise waits and returns a Waiter.
   */
  put(request: PutRequest, done: PutDone): Waiter | undefined {
    let queue: QueueState;
    try {
      queue = this.requireQueue(request.queue);
      for (const spec of request.tasks) if (spec.replyTo !== undefined) this.requireQueue(spec.replyTo);
    } catch (error) {
      done(error as EngineError);
      return undefined;
    }
    const sizes = request.tasks.map((spec) => payloadBytes(spec.payload));
    // Only the specs that add a task need room: duplicates of held keys add none (§7.21).
    const { count, bytes, holders } = this.needed(queue, request.tasks, sizes);
    if (count === 0) {
      done(...this.enqueue(queue, request.tasks, sizes, request.session, holders));
      return undefined;
    }
    const never = neverFits(queue, count, bytes, this.budget);
    if (never) {
      done(never);
      return undefined;
    }
    // FIFO fairness: a put may not overtake putters already waiting for room.
    if (queue.activePutters === 0 && queue.hasRoomFor(count, bytes) && this.budget.admits(queue, bytes)) {
      done(...this.enqueue(queue, request.tasks, sizes, request.session, holders));
      return undefined;
    }
    if (request.timeout === 0) {
      done(queueFull(queue, count, bytes, this.budget));
      return undefined;
    }
    const waiter: PutWaiter = { kind: 'put', request, sizes, bytes, done, active: true, timeoutAt: undefined };
    queue.putters.push(waiter);
    queue.activePutters++;
    this.waiters.track(waiter, request.session, request.timeout);
    // At the head of its queue and waiting for the budget only: it takes its place in the line.
    if (queue.activePutters === 1 && queue.hasRoomFor(count, bytes)) this.budget.joinLine(queue);
    return { cancel: () => this.withdraw(waiter) };
  }

  // ---- get ------------------------------------------------------------------------------

  /**
   * Leases up to `max` ready tasks to the session. When some are ready, delivers at once;
   * with timeout 0 delivers [] at once; otherwise waits and returns a Waiter. `deliver` is
   * called exactly once unless the waiter is cancelled.
   */
  get(request: GetRequest, deliver: Deliver): Waiter | undefined {
    const queue = this.requireQueue(request.queue);
    if (queue.ready.length > 0 && queue.activeGetters === 0 && !queue.paused) {
      if (queue.limited === undefined) {
        this.deliverTo(queue, request, deliver);
        return undefined;
      }
      // A queue with limits: the first task with budget, if any (one look, not a check and a take).
      const first = queue.limited.take(this.clock.now(), !request.autoAck);
      if (first !== undefined) {
        this.deliverTo(queue, request, deliver, first);
        return undefined;
      }
    }
    if (request.timeout === 0) {
      deliver([]);
      return undefined;
    }
    const waiter: GetWaiter = { kind: 'get', request, deliver, active: true, timeoutAt: undefined };
    queue.getters.push(waiter);
    queue.activeGetters++;
    this.waiters.track(waiter, request.session, request.timeout);
    // Tasks that wait for budget: wake when it returns (no polling).
    if (queue.limited !== undefined) this.wakeForBudget(queue);
    return { cancel: () => this.withdraw(waiter) };
  }

  // ---- ack, nack, touch -----------------------------------------------------------------

  /** Completes leased tasks, all or none; routes results to replyTo queues. */
  ack(session: SessionId, acks: RawAck[]): number {
    const records = this.leases.heldBy(
      session,
      acks.map((a) => a.id),
    );
    const now = this.clock.now();
    const touched = new Set<QueueState>();
    // Results bound for each reply queue, enqueued together: a getter waiting there receives
    // the results of one ack list in one delivery, not one task per delivery.
    let results: Map<string, RawTaskSpec[]> | undefined;
    acks.forEach((ack, i) => {
      const record = records[i]!;
      const queue = record.queue;
      this.leases.end(record);
      record.state = TaskState.Gone;
      this.budget.release(record);
      queue.uniqueKeys.free(record);
      // The lease's timer stays in the heap until its deadline (timers are dropped lazily):
      // without this, every acked payload would stay in memory for up to its ttr.
      record.payload = undefined;
      queue.totals.acked++;
      touched.add(queue);
      if (this.listeners.length > 0) this.emit({ kind: 'ack', queue: queue.name, taskId: record.id, attempt: record.attempt, result: ack.result, session, at: now, since: record.readyAt });
      if (record.replyTo !== undefined && ack.result !== undefined) {
        results ??= new Map();
        let specs = results.get(record.replyTo);
        if (!specs) results.set(record.replyTo, (specs = []));
        specs.push({ payload: resultPayload(record.id, ack.result) });
      }
    });
    if (results) {
      for (const [name, specs] of results) {
        // Results bypass the reply queue's maxsize: a finished task's result is never dropped.
        const replyQueue = this.queues.get(name) ?? this.createQueue(name);
        this.enqueue(
          replyQueue,
          specs,
          specs.map((spec) => payloadBytes(spec.payload)),
          session,
        );
      }
    }
    // After the results: a record cut off between the two redelivers a task (at least once)
    // rather than losing its result.
    this.journal.ack(records);
    for (const queue of touched) {
      this.afterRemoval(queue);
      // A lease's end may free a key held at keyConcurrency.
      if (queue.limited !== undefined) this.serveGetters(queue);
    }
    return acks.length;
  }

  /** Gives leased tasks back for a retry or (retry: false, or attempts used up) to the dead-letter queue, all or none. */
  nack(session: SessionId, nacks: Nack[]): number {
    const records = this.leases.heldBy(
      session,
      nacks.map((n) => n.id),
    );
    const now = this.clock.now();
    const touched = new Set<QueueState>();
    nacks.forEach((nack, i) => {
      const record = records[i]!;
      this.leases.end(record);
      record.queue.totals.nacked++;
      if (nack.error !== undefined) record.lastError = nack.error;
      this.emit({ kind: 'nack', queue: record.queue.name, taskId: record.id, attempt: record.attempt, error: nack.error, session, at: now });
      touched.add(record.queue);
      if (nack.retry === false) this.bury(record, session);
      else this.retryOrBury(record, nack.delay ?? backoffSeconds(record.attempt, this.defaults), session);
    });
    for (const queue of touched) {
      this.afterRemoval(queue);
      if (queue.limited !== undefined) this.serveGetters(queue);
    }
    return nacks.length;
  }

  /** Extends leases this session holds, all or none; returns the earliest new lease end (ms). */
  touch(session: SessionId, ids: string[], ttr?: number): number {
    const records = this.leases.heldBy(session, ids);
    const now = this.clock.now();
    let earliest = Infinity;
    for (const record of records) earliest = Math.min(earliest, this.leases.extend(record, ttr, now));
    return earliest;
  }

  // ---- join, peek, purge ----------------------------------------------------------------

  /** Resolves true when the queue has nothing ready, delayed or leased; false on timeout. */
  join(queueName: string, timeout: number | undefined, session: SessionId | undefined, done: (joined: boolean) => void): Waiter | undefined {
    const queue = this.requireQueue(queueName);
    if (queue.idle || timeout === 0) {
      done(queue.idle);
      return undefined;
    }
    const waiter: JoinWaiter = { kind: 'join', queue: queueName, session, done, active: true, timeoutAt: undefined };
    queue.joiners.add(waiter);
    this.waiters.track(waiter, session, timeout);
    return { cancel: () => this.withdraw(waiter) };
  }

  /** The next ready tasks in delivery order; nothing is leased or removed. */
  peek(queueName: string, max: number): RawTask[] {
    return this.requireQueue(queueName)
      .ready.peek(max)
      .map((r) => r.toTask());
  }

  /** Removes every ready and delayed task; leased tasks stay with their holders. */
  purge(queueName: string, session?: SessionId): number {
    const queue = this.requireQueue(queueName);
    const removed = queue.ready.clear();
    for (const record of removed) {
      record.state = TaskState.Gone;
      this.budget.release(record);
      queue.uniqueKeys.free(record);
    }
    // Delayed tasks sit among the deadlines; marking them gone makes their deadlines no-ops. A
    // task held back by a nack also has its old lease deadline there: count tasks, not deadlines.
    const delayedDeadlines = this.deadlines.removeWhere((d) => d.task !== undefined && d.task.queue === queue && d.task.state === TaskState.Delayed);
    const delayed = new Set(delayedDeadlines.map((deadline) => deadline.task!));
    for (const record of delayed) {
      record.state = TaskState.Gone;
      this.budget.release(record);
      queue.uniqueKeys.free(record);
    }
    const count = removed.length + delayed.size;
    queue.delayed = 0;
    this.journal.drop([...removed, ...delayed]);
    this.emit({ kind: 'purge', queue: queue.name, count, session, at: this.clock.now() });
    this.afterRemoval(queue);
    return count;
  }

  // ---- sessions -------------------------------------------------------------------------

  /** How many tasks the session holds. */
  leasedBy(session: SessionId): number {
    return this.leases.countFor(session);
  }

  /** The tasks the session holds now. */
  heldTasks(session: SessionId): HeldTaskRef[] {
    return this.leases.tasksOf(session).map((record) => ({ id: record.id, queue: record.queue.name, leaseUntil: record.leaseUntil }));
  }

  /**
   * Ends a session: withdraws its waiters (without calling them) and puts every task it
   * holds back at once with attempt + 1, at the head of its priority level (spec §7.3: a
   * released task was the oldest ready one when it was taken, and was taken by no fault of its
   * own), or into the dead-letter queue when that was its last attempt, unless
   * `managerStopping`: a manager's shutdown is no fault of the task's. Each lease end is a
   * `released` event with `reason` (spec §6.1).
   */
  releaseSession(session: SessionId, reason = 'client disconnected', managerStopping = false): number {
    for (const waiter of this.waiters.take(session)) this.withdraw(waiter);
    const records = this.leases.tasksOf(session);
    if (records.length === 0) return 0;
    const touched = new Set<QueueState>();
    // Last first: each goes to the head, so the session's tasks end up in the order it took them.
    for (const record of records.reverse()) {
      // Before loseLease: dead-lettering moves the record to another queue, and it is this
      // queue that may now have room for putters or be idle for joiners.
      touched.add(record.queue);
      this.loseLease(record, 'released', reason, managerStopping);
    }
    for (const queue of touched) this.afterRemoval(queue);
    return records.length;
  }

  // ---- time -----------------------------------------------------------------------------

  /** Deadline entries held, dead ones not yet swept included (diagnostics; bounded by the sweep). */
  get timerCount(): number {
    return this.deadlines.size;
  }

  /** The earliest pending deadline (ms), if any. */
  nextDeadline(): number | undefined {
    return this.deadlines.next();
  }

  /** Processes everything due as of the clock's now: delays, lease expiries, waiter timeouts. */
  advance(): void {
    const now = this.clock.now();
    const touched = new Set<QueueState>();
    for (let deadline = this.deadlines.popDue(now); deadline !== undefined; deadline = this.deadlines.popDue(now)) {
      const { task, waiter } = deadline;
      if (task) {
        if (task.state === TaskState.Delayed) {
          task.queue.delayed--;
          task.state = TaskState.Ready;
          task.queue.ready.push(task, task.priority);
          this.journal.due(task);
          touched.add(task.queue);
        } else {
          touched.add(task.queue);
          this.loseLease(task, 'expired', 'lease expired');
        }
      } else if (waiter) {
        this.timeOut(waiter);
      } else if (deadline.queue) {
        // Budget returned on a queue with limits.
        deadline.queue.limited!.wakeAt = undefined;
        touched.add(deadline.queue);
      }
    }
    for (const queue of touched) {
      this.serveGetters(queue);
      this.afterRemoval(queue);
    }
  }

  // ---- durable state ---------------------------------------------------------------------

  /**
   * The durable state, as a store snapshots it: queues in creation order and, per queue, the
   * ready tasks in delivery order, the delayed ones by due time and the leased ones in lease order.
   */
  exportState(): EngineState {
    return exportState(this.queues.values(), this.deadlines, this.leases);
  }

  /**
   * Loads what a store recovered, into a new engine before any other call. Tasks that were
   * leased (the manager crashed: a clean stop releases every lease first) come back with
   * attempt + 1, see returnAfterCrash; delayed ones keep their due time. Nothing is journaled:
   * the store snapshots the state once restored.
   */
  restore(state: EngineState): RestoreSummary {
    return this.journal.paused(() => {
      for (const { name, options, paused } of state.queues) {
        const existing = this.queues.get(name);
        // A journal written before an option existed lacks it: the default fills in.
        if (existing) {
          existing.options = withoutRemovedLimits({ ...existing.options, ...definedOnly(options) });
          existing.relimit([]);
        }
        const queue = existing ?? this.createQueue(name, options);
        queue.paused = paused === true;
      }
      const idPattern = new RegExp(`^${this.idPrefix.replace(/[^0-9A-Za-z]/g, '\\$&')}-([0-9a-z]+)$`);
      const leased: TaskRecord[] = [];
      for (const image of state.tasks) {
        const queue = this.queues.get(image.queue) ?? this.createQueue(image.queue);
        const record = new TaskRecord(image.id, queue, image.payload, image.priority, image.enqueuedAt, image.ttr, image.replyTo, image.maxAttempts, payloadBytes(image.payload), image.rateKey);
        this.budget.hold(record);
        record.attempt = image.attempt;
        record.lastError = image.lastError;
        record.deadLetteredFrom = image.deadLetteredFrom;
        record.crashes = image.crashes ?? 0;
        record.unique = image.unique === undefined ? undefined : keptHold(image.unique);
        // A leased one takes its key back when it is returned (returnAfterCrash), after these.
        if (!image.leased) queue.uniqueKeys.retake(record, this.clock.now());
        // New ids must not repeat a restored one.
        const counter = idPattern.exec(image.id)?.[1];
        if (counter !== undefined) this.nextId = Math.max(this.nextId, parseInt(counter, 36) + 1);
        if (image.leased) leased.push(record);
        else if (image.readyAt !== undefined) this.delay(record, image.readyAt);
        else queue.ready.push(record, record.priority);
      }
      for (const record of leased) this.returnAfterCrash(record);
      return { queues: state.queues.length, tasks: state.tasks.length, leasesReturned: leased.length };
    });
  }

  // ---- internals ------------------------------------------------------------------------

  private createQueue(name: string, options: QueueOptions = {}): QueueState {
    // A `<queue>.dead` queue is a dead-letter queue however it comes to exist (a monitor may
    // look at it before the first death): unlimited attempts and no dead-letter queue of its own.
    const isDeadLetterQueue = name.endsWith('.dead');
    const resolved = withoutRemovedLimits({
      maxsize: 0,
      maxBytes: 0,
      ttr: this.defaults.ttr,
      maxAttempts: isDeadLetterQueue ? 0 : this.defaults.maxAttempts,
      deadLetter: isDeadLetterQueue ? null : `${name}.dead`,
      ...definedOnly(options),
    });
    const queue = new QueueState(name, resolved);
    this.queues.set(name, queue);
    this.journal.queue(name, resolved);
    return queue;
  }

  private setPaused(queue: QueueState, paused: boolean, session: SessionId | undefined): QueueStats {
    if (queue.paused !== paused) {
      queue.paused = paused;
      this.journal.pause(queue.name, paused);
      this.emit({ kind: paused ? 'paused' : 'resumed', queue: queue.name, session, at: this.clock.now() });
      // Resumed: what became ready meanwhile goes to the gets that waited for it.
      if (!paused) this.serveGetters(queue);
    }
    return queue.stats(this.deadCount(queue), this.clock.now());
  }

  private requireQueue(name: string): QueueState {
    const queue = this.queues.get(name);
    if (queue) return queue;
    if (!this.autoCreate) throw new EngineError('queue_not_found', `queue "${name}" does not exist`, { queue: name });
    return this.createQueue(name);
  }

  private deadCount(queue: QueueState): number {
    const deadLetter = queue.options.deadLetter;
    const dlq = deadLetter === null ? undefined : this.queues.get(deadLetter);
    return dlq ? dlq.size : 0;
  }

  /**
   * How many of the specs would add a task now, and their payload bytes: the others are
   * duplicates of held keys. `holders` (when a spec's key is held): per spec, the task that holds
   * its key, null for a key an earlier spec of the put takes, undefined for a spec that adds a task;
   * valid until the engine changes (enqueue takes it in the same turn, so keys are looked up once).
   */
  private needed(queue: QueueState, specs: RawTaskSpec[], sizes: number[]): { count: number; bytes: number; holders?: (TaskRecord | null | undefined)[] } {
    let count = 0;
    let bytes = 0;
    // Made at the first duplicate: a put whose keys are all new (the usual case) makes none.
    let holders: (TaskRecord | null | undefined)[] | undefined;
    let keys: Set<string> | undefined;
    for (let i = 0; i < specs.length; i++) {
      const key = specs[i]!.unique?.key;
      if (key !== undefined) {
        const holder = queue.uniqueKeys.holder(key, this.clock);
        if (holder !== undefined) {
          (holders ??= new Array<TaskRecord | null | undefined>(specs.length))[i] = holder;
          continue;
        }
        // A second key in one put: the put's own keys are remembered (one spec needs no set).
        if (specs.length > 1) {
          keys ??= new Set();
          if (keys.has(key)) {
            (holders ??= new Array<TaskRecord | null | undefined>(specs.length))[i] = null;
            continue;
          }
          keys.add(key);
        }
      }
      count++;
      bytes += sizes[i]!;
    }
    return { count, bytes, holders };
  }

  /** `holders`: what needed() found in this same turn (results routed by an ack carry no keys). */
  private enqueue(queue: QueueState, specs: RawTaskSpec[], sizes: number[], session: SessionId | undefined, holders?: (TaskRecord | null | undefined)[]): [string[], boolean[] | undefined] {
    const now = this.clock.now();
    const ids = new Array<string>(specs.length);
    let duplicates: boolean[] | undefined;
    const records: TaskRecord[] | undefined = this.journal.enabled ? [] : undefined;
    let readyAdded = false;
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      if (spec.unique !== undefined) {
        duplicates ??= new Array<boolean>(specs.length).fill(false);
        // A held key (by a task, or by an earlier spec of this put): the holder's id, no task.
        const found = holders?.[i];
        const holder = found === null ? queue.uniqueKeys.holder(spec.unique.key, now) : found;
        if (holder !== undefined) {
          ids[i] = holder.id;
          duplicates[i] = true;
          continue;
        }
      }
      const id = `${this.idPrefix}-${(this.nextId++).toString(36)}`;
      const record = new TaskRecord(id, queue, spec.payload, spec.priority ?? 0, now, spec.ttr, spec.replyTo, spec.maxAttempts, sizes[i]!, spec.rateKey);
      if (spec.unique !== undefined) {
        record.unique = holdOf(spec.unique, now);
        queue.uniqueKeys.take(record);
      }
      ids[i] = id;
      queue.totals.put++;
      this.budget.hold(record);
      if (spec.delay !== undefined && spec.delay > 0) {
        this.delay(record, now + spec.delay * SECOND);
      } else {
        record.readyAt = now;
        queue.ready.push(record, record.priority);
        readyAdded = true;
      }
      if (records) records.push(record);
      if (this.listeners.length > 0) this.emit({ kind: 'put', queue: queue.name, taskId: id, attempt: 1, payload: spec.payload, session, at: now });
    }
    if (records && records.length > 0) this.journal.put(records);
    if (readyAdded) this.serveGetters(queue);
    return [ids, duplicates];
  }

  /** Holds a task back until `readyAt`. */
  private delay(record: TaskRecord, readyAt: number): void {
    record.state = TaskState.Delayed;
    record.readyAt = readyAt;
    record.queue.delayed++;
    this.deadlines.add(readyAt, record, undefined);
  }

  /** Hands ready tasks to waiting getters, in arrival order, while both remain. */
  private serveGetters(queue: QueueState): void {
    if (queue.paused) return;
    if (queue.limited !== undefined) {
      this.serveLimitedGetters(queue);
      return;
    }
    while (queue.ready.length > 0 && queue.activeGetters > 0) this.serveFirstGetter(queue);
  }

  /** Delivers to the getter that has waited longest, or drops it when it is no longer waiting. */
  private serveFirstGetter(queue: QueueState): void {
    const waiter = queue.getters.shift()!;
    if (!waiter.active) return;
    waiter.active = false;
    queue.activeGetters--;
    this.waiters.untrack(waiter, waiter.request.session);
    this.deliverTo(queue, waiter.request, waiter.deliver);
  }

  /** serveGetters on a queue with limits: while a task has budget; then a wake-up for when budget returns. */
  private serveLimitedGetters(queue: QueueState): void {
    const limited = queue.limited!;
    const now = this.clock.now();
    while (queue.activeGetters > 0 && limited.canTake(now)) this.serveFirstGetter(queue);
    if (queue.activeGetters > 0) this.wakeForBudget(queue);
  }

  /** Asks to be woken (advance) when budget returns for the ready tasks of a queue with limits, unless an earlier wake-up is pending. */
  private wakeForBudget(queue: QueueState): void {
    const limited = queue.limited!;
    const now = this.clock.now();
    const at = limited.budgetAt(now);
    if (at === undefined || at <= now) return;
    if (limited.wakeAt !== undefined && limited.wakeAt > now && limited.wakeAt <= at) return;
    limited.wakeAt = at;
    this.deadlines.add(at, undefined, undefined, queue);
  }

  /** Leases (or with autoAck removes) up to max ready tasks and delivers them; undoes it if delivery fails. */
  private deliverTo(queue: QueueState, request: GetRequest, deliver: Deliver, first?: TaskRecord): void {
    const now = this.clock.now();
    const records: TaskRecord[] = first === undefined ? [] : [first];
    const limited = queue.limited;
    while (records.length < request.max) {
      const record = limited === undefined ? (queue.ready as ReadyQueue<TaskRecord>).shift() : limited.take(now, !request.autoAck);
      if (!record) break;
      records.push(record);
    }
    const tasks = new Array<RawTask>(records.length);
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      if (request.autoAck) {
        record.state = TaskState.Gone;
      } else {
        this.leases.lease(record, request.session, request.ttr ?? record.ttr ?? queue.options.ttr, now);
      }
      tasks[i] = record.toTask();
    }
    if (!deliver(tasks)) {
      // The session is gone: the tasks go back where they were, as if never handed out.
      for (let i = records.length - 1; i >= 0; i--) {
        const record = records[i]!;
        if (record.state === TaskState.Leased) this.leases.end(record);
        record.state = TaskState.Ready;
        queue.ready.pushFront(record, record.priority);
      }
      this.serveGetters(queue);
      return;
    }
    if (records.length > 0) {
      if (request.autoAck) this.journal.ack(records);
      else this.journal.lease(records);
      for (const record of records) {
        if (request.autoAck) queue.uniqueKeys.free(record);
        else queue.uniqueKeys.freeOnLease(record);
      }
    }
    if (this.listeners.length > 0) {
      for (let i = 0; i < records.length; i++) {
        const record = records[i]!;
        const since = record.readyAt > 0 ? record.readyAt : record.enqueuedAt;
        // The delivered task's text: a large payload held as bytes is decoded once (taskRecord.ts).
        this.emit({ kind: 'get', queue: queue.name, taskId: record.id, attempt: record.attempt, payload: tasks[i]!.payload, session: request.session, at: now, since });
      }
    }
    // From here readyAt is when the lease began (the ack event's since).
    if (!request.autoAck) for (const record of records) record.readyAt = now;
    if (request.autoAck) {
      for (const record of records) this.budget.release(record);
      queue.totals.acked += records.length;
      this.afterRemoval(queue);
    }
  }

  /**
   * A lease that ended without ack or nack: back at once, attempt + 1. After an expiry the task
   * goes to the tail of its priority level (its holder may be stuck on it: it waits its turn);
   * after a release to the head (spec §7.3). `managerStopping`: the manager itself is shutting
   * down, which is no fault of the task: it comes back even when that was its last attempt.
   */
  private loseLease(record: TaskRecord, end: 'expired' | 'released', reason: string, managerStopping = false): void {
    const session = record.leaseSession;
    const atHead = end === 'released';
    this.leases.end(record);
    record.queue.totals.expired++;
    if (atHead) record.queue.totals.released++;
    this.emit({ kind: end, queue: record.queue.name, taskId: record.id, attempt: record.attempt, error: reason, session, at: this.clock.now() });
    if (managerStopping) this.requeue(record, atHead);
    else this.retryOrBury(record, 0, session, atHead);
    this.serveGetters(record.queue);
  }

  /**
   * A task that was leased when the manager crashed: the worker received it and may have done
   * part of it, so it comes back with attempt + 1, or, leased through maxCrashes crashes, is
   * dead-lettered as a possible poison task (retryPolicy.ts says why).
   */
  private returnAfterCrash(record: TaskRecord): void {
    record.crashes++;
    const poison = poisonVerdict(record, this.defaults.maxCrashes);
    if (poison !== undefined) {
      record.lastError = poison;
      this.bury(record, undefined);
      return;
    }
    this.requeue(record);
  }

  /** Back to the ready queue at once with attempt + 1, whatever its attempts so far. */
  private requeue(record: TaskRecord, atHead = false): void {
    record.attempt++;
    record.queue.uniqueKeys.retake(record, this.clock.now());
    record.state = TaskState.Ready;
    record.readyAt = this.clock.now();
    if (atHead) record.queue.ready.pushFront(record, record.priority);
    else record.queue.ready.push(record, record.priority);
    this.journal.retry(record, atHead);
  }

  /** After a failed attempt: retry after `delay` seconds with attempt + 1, or dead-letter. */
  private retryOrBury(record: TaskRecord, delay: number, session: SessionId | undefined, atHead = false): void {
    const queue = record.queue;
    if (attemptsUsedUp(record)) {
      this.bury(record, session);
      return;
    }
    record.attempt++;
    queue.uniqueKeys.retake(record, this.clock.now());
    if (delay > 0) {
      this.delay(record, this.clock.now() + delay * SECOND);
      this.journal.retry(record);
    } else {
      record.state = TaskState.Ready;
      record.readyAt = this.clock.now();
      if (atHead) queue.ready.pushFront(record, record.priority);
      else queue.ready.push(record, record.priority);
      this.journal.retry(record, atHead);
      this.serveGetters(queue);
    }
  }

  /** Moves a task that used up its attempts to the dead-letter queue (or drops it when there is none). */
  private bury(record: TaskRecord, session: SessionId | undefined): void {
    const from = record.queue;
    from.totals.deadLettered++;
    // Its key is freed: a dead-lettered task holds none, in its old queue or the dead-letter queue.
    from.uniqueKeys.free(record);
    record.unique = undefined;
    this.emit({ kind: 'dead', queue: from.name, taskId: record.id, attempt: record.attempt, payload: record.payload, error: record.lastError, session, at: this.clock.now() });
    const target = from.options.deadLetter;
    if (target === null || target === from.name) {
      record.state = TaskState.Gone;
      this.budget.release(record);
      this.journal.drop([record]);
      return;
    }
    const dlq = this.queues.get(target) ?? this.createQueue(target, { maxAttempts: 0, deadLetter: null });
    this.budget.move(record, from, dlq);
    record.queue = dlq;
    record.deadLetteredFrom = from.name;
    record.state = TaskState.Ready;
    record.readyAt = this.clock.now();
    dlq.ready.push(record, record.priority);
    dlq.totals.put++;
    this.journal.dead(record, from.name);
    this.serveGetters(dlq);
  }

  /** Room may have appeared and the queue may have emptied: serve putters, then joiners. */
  private afterRemoval(queue: QueueState): void {
    this.servePutters(queue);
    if (queue.idle && queue.joiners.size > 0) {
      const joiners = [...queue.joiners];
      queue.joiners.clear();
      for (const waiter of joiners) {
        waiter.active = false;
        this.waiters.untrack(waiter, waiter.session);
        waiter.done(true);
      }
    }
  }

  /** Room may have appeared in the queue or in the budget: admits its waiting puts, then the budget line's. */
  private servePutters(queue: QueueState): void {
    this.admitPutters(queue);
    this.budget.serveLine((first) => this.admitPutters(first));
  }

  /** Admits the queue's waiting puts in order while they fit; a head that waits for the budget joins its line. */
  private admitPutters(queue: QueueState): void {
    for (let waiter = queue.headPutter(); waiter !== undefined; waiter = queue.headPutter()) {
      // Keys may have been taken or freed while it waited: what it needs is counted again.
      const { count, bytes, holders } = this.needed(queue, waiter.request.tasks, waiter.sizes);
      if (!queue.hasRoomFor(count, bytes)) return;
      if (!this.budget.admits(queue, bytes)) {
        this.budget.joinLine(queue);
        return;
      }
      this.budget.leaveLine(queue);
      queue.putters.shift();
      waiter.active = false;
      queue.activePutters--;
      this.waiters.untrack(waiter, waiter.request.session);
      waiter.done(...this.enqueue(queue, waiter.request.tasks, waiter.sizes, waiter.request.session, holders));
    }
  }

  private timeOut(waiter: AnyWaiter): void {
    // advance() settles the queues its timers touched only after the whole batch; settle this
    // waiter's queue first, so that a late advance() gives the outcome an on-time one would
    // (a task that came due, room that appeared or the queue emptying before this deadline).
    const queue = this.queues.get(waiter.kind === 'join' ? waiter.queue : waiter.request.queue)!;
    this.serveGetters(queue);
    this.afterRemoval(queue);
    if (!waiter.active) return;
    // Before it leaves: those behind it may go in at once, and the error tells what kept it out.
    const full = waiter.kind === 'put' ? queueFull(queue, waiter.request.tasks.length, waiter.bytes, this.budget) : undefined;
    this.withdraw(waiter);
    if (waiter.kind === 'get') waiter.deliver([]);
    else if (waiter.kind === 'put') waiter.done(full!);
    else waiter.done(false);
  }

  /** Deactivates a waiter without calling it. */
  private withdraw(waiter: AnyWaiter): void {
    if (!waiter.active) return;
    waiter.active = false;
    if (waiter.kind === 'get') {
      const queue = this.queues.get(waiter.request.queue)!;
      queue.activeGetters--;
      this.waiters.untrack(waiter, waiter.request.session);
      // Withdrawn getters leave the deque only when serving passes them, which never happens
      // on an idle queue: without this, a worker polling it with a timeout piles them up.
      if (queue.getters.length > 2 * queue.activeGetters + 16) dropWithdrawn(queue.getters);
    } else if (waiter.kind === 'put') {
      const queue = this.queues.get(waiter.request.queue)!;
      queue.activePutters--;
      this.waiters.untrack(waiter, waiter.request.session);
      if (queue.putters.length > 2 * queue.activePutters + 16) dropWithdrawn(queue.putters);
      // The head putter leaving may let the next one in.
      this.servePutters(queue);
    } else {
      this.queues.get(waiter.queue)!.joiners.delete(waiter);
      this.waiters.untrack(waiter, waiter.session);
    }
  }

  private emit(event: EngineEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/**
 * The payload of the task that carries a result to its replyTo queue (spec §7.11), written with
 * the result's text as it is.
 */
function resultPayload(taskId: string, result: JsonText): JsonText {
  return `{"taskId":${JSON.stringify(taskId)},"result":${result}}` as JsonText;
}

/** Removes withdrawn waiters, keeping the order of the rest; amortized O(1) by the callers' threshold. */
function dropWithdrawn<W extends { active: boolean }>(waiters: Deque<W>): void {
  for (const waiter of waiters.clear()) if (waiter.active) waiters.push(waiter);
}

/** A limit declared null (or keyConcurrency 0) is no limit: the option is left out, as on a queue that never had it. */
function withoutRemovedLimits(options: Omit<ResolvedQueueOptions, 'rate' | 'keyRate'> & QueueOptions): ResolvedQueueOptions {
  const { rate, keyRate, keyConcurrency, ...rest } = options;
  const resolved: ResolvedQueueOptions = rest;
  if (rate) resolved.rate = rate;
  if (keyRate) resolved.keyRate = keyRate;
  if (keyConcurrency !== undefined && keyConcurrency > 0) resolved.keyConcurrency = keyConcurrency;
  return resolved;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
