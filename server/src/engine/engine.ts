import { randomBytes } from 'node:crypto';
import type { Ack, Nack, QueueStats, Task, TaskSpec } from '../protocol/generated';
import type { Clock } from './clock';
import type { Deque } from './deque';
import { EngineError, type QueueLimit } from './engineError';
import type { EngineState, JournalRecord, JournalSink, RestoreSummary, TaskImage } from './journal';
import { MinHeap } from './minHeap';
import { payloadBytes } from './payloadBytes';
import { QueueState, type ResolvedQueueOptions } from './queueState';
import { TaskRecord, TaskState } from './taskRecord';
import {
  DEFAULTS,
  type EngineDefaults,
  type EngineEvent,
  type GetRequest,
  type PutRequest,
  type QueueOptions,
  type SessionId,
  type Waiter,
} from './types';
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

interface TimerEntry {
  at: number;
  seq: number;
  task: TaskRecord | undefined;
  waiter: AnyWaiter | undefined;
}

const SECOND = 1000;

/**
 * Timers are dropped lazily: an acked task's lease timer stays in the heap until its deadline.
 * At a high rate that is rate × ttr entries, each holding its task record (100,000 tasks/s with
 * a 30 s ttr: three million), which the garbage collector must trace. So the heap is swept of
 * dead entries whenever it has doubled since the last sweep (and holds at least this many):
 * O(1) amortized per timer, and never more than about twice the live timers.
 */
const TIMER_SWEEP_MIN = 4096;

/**
 * The queue semantics of Taskwire: ready queues by priority, delays, leases, retries with
 * back-off, dead letters, bounded queues with blocking put, blocking get, join and events.
 * Deterministic: it reads time only from its clock and knows nothing of sockets or JSON-RPC.
 */
export class Engine {
  readonly defaults: EngineDefaults;
  private readonly clock: Clock;
  private readonly autoCreate: boolean;
  private readonly idPrefix: string;
  private journal: JournalSink | undefined;
  private readonly onWake: ((at: number) => void) | undefined;
  private readonly queues = new Map<string, QueueState>();
  /** Leased tasks by id: what ack, nack and touch look up. */
  private readonly leases = new Map<string, TaskRecord>();
  private readonly sessionLeases = new Map<SessionId, Set<TaskRecord>>();
  private readonly sessionWaiters = new Map<SessionId, Set<AnyWaiter>>();
  private readonly timers = new MinHeap<TimerEntry>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  /** The heap size that triggers the next sweep of dead timers. */
  private timerSweepAt = TIMER_SWEEP_MIN;
  private readonly listeners: ((event: EngineEvent) => void)[] = [];
  /** See EngineOptions.maxQueuedBytes; 0 = unlimited. */
  readonly maxQueuedBytes: number;
  private heldBytes = 0;
  /**
   * Queues whose first waiting put fits the queue's own bounds but not the byte budget, in
   * the order they started waiting: the budget admits them in turn, and no put overtakes them.
   */
  private readonly budgetLine = new Set<QueueState>();
  private servingBudgetLine = false;
  private nextId = 0;
  private timerSeq = 0;

  constructor(options: EngineOptions) {
    this.clock = options.clock;
    this.defaults = { ...DEFAULTS, ...options.defaults };
    this.autoCreate = options.autoCreate ?? true;
    this.idPrefix = options.idPrefix ?? randomBytes(3).toString('hex');
    this.onWake = options.onWake;
    this.journal = options.journal;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 0;
  }

  /** The payload bytes of every task held (ready, delayed, leased, dead-lettered): what maxQueuedBytes bounds. */
  get queuedBytes(): number {
    return this.heldBytes;
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
      existing.options = { ...existing.options, ...definedOnly(options) };
      if (this.journal) this.journal.append({ op: 'queue', queue: name, options: { ...existing.options } });
      // A larger maxsize or maxBytes may let blocked putters in.
      this.servePutters(existing);
      return { queue: name, created: false };
    }
    this.createQueue(name, options);
    return { queue: name, created: true };
  }

  listQueues(): QueueStats[] {
    return [...this.queues.values()].map((q) => q.stats(this.deadCount(q)));
  }

  queueStats(name: string): QueueStats {
    const queue = this.requireQueue(name);
    return queue.stats(this.deadCount(queue));
  }

  hasQueue(name: string): boolean {
    return this.queues.has(name);
  }

  // ---- put ------------------------------------------------------------------------------

  /**
   * Enqueues all the tasks or none. Completes at once (calling `done` before returning) when
   * there is room or timeout is 0; otherwise waits and returns a Waiter.
   */
  put(request: PutRequest, done: (outcome: string[] | EngineError) => void): Waiter | undefined {
    let queue: QueueState;
    try {
      queue = this.requireQueue(request.queue);
      for (const spec of request.tasks) if (spec.replyTo !== undefined) this.requireQueue(spec.replyTo);
    } catch (error) {
      done(error as EngineError);
      return undefined;
    }
    const count = request.tasks.length;
    const sizes = request.tasks.map((spec) => payloadBytes(spec.payload));
    let bytes = 0;
    for (const size of sizes) bytes += size;
    const never = this.neverFits(queue, count, bytes);
    if (never) {
      done(never);
      return undefined;
    }
    // FIFO fairness: a put may not overtake putters already waiting for room.
    if (queue.activePutters === 0 && queue.hasRoomFor(count, bytes) && this.budgetAdmits(queue, bytes)) {
      done(this.enqueue(queue, request.tasks, sizes, request.session));
      return undefined;
    }
    if (request.timeout === 0) {
      done(this.queueFull(queue, count, bytes));
      return undefined;
    }
    const waiter: PutWaiter = { kind: 'put', request, sizes, bytes, done, active: true, timeoutAt: undefined };
    queue.putters.push(waiter);
    queue.activePutters++;
    this.track(waiter, request.session, request.timeout);
    // At the head of its queue and waiting for the budget only: it takes its place in the line.
    if (this.maxQueuedBytes > 0 && queue.activePutters === 1 && queue.hasRoomFor(count, bytes)) this.budgetLine.add(queue);
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
    if (queue.ready.length > 0 && queue.activeGetters === 0) {
      this.deliverTo(queue, request, deliver);
      return undefined;
    }
    if (request.timeout === 0) {
      deliver([]);
      return undefined;
    }
    const waiter: GetWaiter = { kind: 'get', request, deliver, active: true, timeoutAt: undefined };
    queue.getters.push(waiter);
    queue.activeGetters++;
    this.track(waiter, request.session, request.timeout);
    return { cancel: () => this.withdraw(waiter) };
  }

  // ---- ack, nack, touch -----------------------------------------------------------------

  /** Completes leased tasks, all or none; routes results to replyTo queues. */
  ack(session: SessionId, acks: Ack[]): number {
    const records = this.heldBy(session, acks.map((a) => a.id));
    const now = this.clock.now();
    const touched = new Set<QueueState>();
    // Results bound for each reply queue, enqueued together: a getter waiting there receives
    // the results of one ack list in one delivery, not one task per delivery.
    let results: Map<string, TaskSpec[]> | undefined;
    acks.forEach((ack, i) => {
      const record = records[i]!;
      const queue = record.queue;
      this.endLease(record);
      record.state = TaskState.Gone;
      this.release(record);
      // The lease's timer stays in the heap until its deadline (timers are dropped lazily):
      // without this, every acked payload would stay in memory for up to its ttr.
      record.payload = undefined;
      queue.totals.acked++;
      touched.add(queue);
      if (this.listeners.length > 0) this.emit({ kind: 'ack', queue: queue.name, taskId: record.id, attempt: record.attempt, result: ack.result, session, at: now });
      if (record.replyTo !== undefined && ack.result !== undefined) {
        results ??= new Map();
        let specs = results.get(record.replyTo);
        if (!specs) results.set(record.replyTo, (specs = []));
        specs.push({ payload: { taskId: record.id, result: ack.result } });
      }
    });
    if (results) {
      for (const [name, specs] of results) {
        // Results bypass the reply queue's maxsize: a finished task's result is never dropped.
        const replyQueue = this.queues.get(name) ?? this.createQueue(name);
        this.enqueue(replyQueue, specs, specs.map((spec) => payloadBytes(spec.payload)), session);
      }
    }
    // After the results: a record cut off between the two redelivers a task (at least once)
    // rather than losing its result.
    if (this.journal) this.journal.append({ op: 'ack', ids: records.map((r) => r.id) });
    for (const queue of touched) this.afterRemoval(queue);
    return acks.length;
  }

  /** Gives leased tasks back for a retry or (retry: false, or attempts used up) to the dead-letter queue, all or none. */
  nack(session: SessionId, nacks: Nack[]): number {
    const records = this.heldBy(session, nacks.map((n) => n.id));
    const now = this.clock.now();
    const touched = new Set<QueueState>();
    nacks.forEach((nack, i) => {
      const record = records[i]!;
      this.endLease(record);
      record.queue.totals.nacked++;
      if (nack.error !== undefined) record.lastError = nack.error;
      this.emit({ kind: 'nack', queue: record.queue.name, taskId: record.id, attempt: record.attempt, error: nack.error, session, at: now });
      touched.add(record.queue);
      if (nack.retry === false) this.bury(record, session);
      else this.retryOrBury(record, nack.delay ?? this.backoff(record.attempt), session);
    });
    for (const queue of touched) this.afterRemoval(queue);
    return nacks.length;
  }

  /** Extends leases this session holds, all or none; returns the earliest new lease end (ms). */
  touch(session: SessionId, ids: string[], ttr?: number): number {
    const records = this.heldBy(session, ids);
    const now = this.clock.now();
    let earliest = Infinity;
    for (const record of records) {
      const seconds = ttr ?? record.leaseTtr;
      record.leaseTtr = seconds;
      record.leaseUntil = now + seconds * SECOND;
      this.addTimer(record.leaseUntil, record, undefined);
      earliest = Math.min(earliest, record.leaseUntil);
    }
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
    this.track(waiter, session, timeout);
    return { cancel: () => this.withdraw(waiter) };
  }

  /** The next ready tasks in delivery order; nothing is leased or removed. */
  peek(queueName: string, max: number): Task[] {
    return this.requireQueue(queueName).ready.peek(max).map((r) => r.toTask());
  }

  /** Removes every ready and delayed task; leased tasks stay with their holders. */
  purge(queueName: string, session?: SessionId): number {
    const queue = this.requireQueue(queueName);
    const removed = queue.ready.clear();
    for (const record of removed) {
      record.state = TaskState.Gone;
      this.release(record);
    }
    // Delayed tasks sit in the timer heap; marking them gone makes their timers no-ops. A task
    // held back by a nack also has its old lease timer there: count tasks, not timers.
    const delayedTimers = this.timers.removeWhere((t) => t.task !== undefined && t.task.queue === queue && t.task.state === TaskState.Delayed);
    const delayed = new Set(delayedTimers.map((timer) => timer.task!));
    for (const record of delayed) {
      record.state = TaskState.Gone;
      this.release(record);
    }
    const count = removed.length + delayed.size;
    queue.delayed = 0;
    if (count > 0 && this.journal) this.journal.append({ op: 'drop', ids: [...removed, ...delayed].map((r) => r.id) });
    this.emit({ kind: 'purge', queue: queue.name, count, session, at: this.clock.now() });
    this.afterRemoval(queue);
    return count;
  }

  // ---- sessions -------------------------------------------------------------------------

  /** How many tasks the session holds. */
  leasedBy(session: SessionId): number {
    return this.sessionLeases.get(session)?.size ?? 0;
  }

  /**
   * Ends a session: withdraws its waiters (without calling them) and puts every task it
   * holds back at once with attempt + 1 (or into the dead-letter queue when that was its last
   * attempt, unless `managerStopping`: a manager's shutdown is no fault of the task's).
   */
  releaseSession(session: SessionId, reason = 'session closed', managerStopping = false): number {
    const waiters = this.sessionWaiters.get(session);
    if (waiters) for (const waiter of [...waiters]) this.withdraw(waiter);
    this.sessionWaiters.delete(session);
    const held = this.sessionLeases.get(session);
    if (!held) return 0;
    const records = [...held];
    const touched = new Set<QueueState>();
    for (const record of records) {
      // Before loseLease: dead-lettering moves the record to another queue, and it is this
      // queue that may now have room for putters or be idle for joiners.
      touched.add(record.queue);
      this.loseLease(record, reason, managerStopping);
    }
    this.sessionLeases.delete(session);
    for (const queue of touched) this.afterRemoval(queue);
    return records.length;
  }

  // ---- time -----------------------------------------------------------------------------

  /** Timer entries held, dead ones not yet swept included (diagnostics; bounded by the sweep). */
  get timerCount(): number {
    return this.timers.size;
  }

  /** The earliest pending deadline (ms), if any. */
  nextDeadline(): number | undefined {
    return this.timers.peek()?.at;
  }

  /** Processes everything due as of the clock's now: delays, lease expiries, waiter timeouts. */
  advance(): void {
    const now = this.clock.now();
    const touched = new Set<QueueState>();
    for (let timer = this.timers.peek(); timer && timer.at <= now; timer = this.timers.peek()) {
      this.timers.pop();
      if (!timerIsLive(timer)) continue;
      const { task, waiter } = timer;
      if (task) {
        if (task.state === TaskState.Delayed) {
          task.queue.delayed--;
          task.state = TaskState.Ready;
          task.queue.ready.push(task, task.priority);
          if (this.journal) this.journal.append({ op: 'due', ids: [task.id] });
          touched.add(task.queue);
        } else {
          touched.add(task.queue);
          this.loseLease(task, 'lease expired');
        }
      } else if (waiter) {
        this.timeOut(waiter);
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
    const delayed = new Map<QueueState, TimerEntry[]>();
    const seen = new Set<TaskRecord>();
    for (const timer of this.timers.values()) {
      const task = timer.task;
      // A task also has stale timers (an old lease end): only its current due time counts.
      if (!task || task.state !== TaskState.Delayed || !timerIsLive(timer) || seen.has(task)) continue;
      seen.add(task);
      let list = delayed.get(task.queue);
      if (!list) delayed.set(task.queue, (list = []));
      list.push(timer);
    }
    const leased = new Map<QueueState, TaskRecord[]>();
    for (const record of this.leases.values()) {
      let list = leased.get(record.queue);
      if (!list) leased.set(record.queue, (list = []));
      list.push(record);
    }
    const state: EngineState = { queues: [], tasks: [] };
    for (const queue of this.queues.values()) {
      state.queues.push({ name: queue.name, options: { ...queue.options } });
      for (const record of queue.ready.peek(Infinity)) state.tasks.push(imageOf(record));
      const timers = (delayed.get(queue) ?? []).sort((a, b) => a.at - b.at || a.seq - b.seq);
      for (const timer of timers) state.tasks.push(imageOf(timer.task!));
      for (const record of leased.get(queue) ?? []) state.tasks.push(imageOf(record));
    }
    return state;
  }

  /**
   * Loads what a store recovered, into a new engine before any other call. Tasks that were
   * leased (the manager crashed: a clean stop releases every lease first) come back with
   * attempt + 1, see returnAfterCrash; delayed ones keep their due time. Nothing is journaled:
   * the store snapshots the state once restored.
   */
  restore(state: EngineState): RestoreSummary {
    const journal = this.journal;
    this.journal = undefined;
    try {
      for (const { name, options } of state.queues) {
        const existing = this.queues.get(name);
        // A journal written before an option existed lacks it: the default fills in.
        if (existing) existing.options = { ...existing.options, ...definedOnly(options) };
        else this.createQueue(name, options);
      }
      const idPattern = new RegExp(`^${this.idPrefix.replace(/[^0-9A-Za-z]/g, '\\$&')}-([0-9a-z]+)$`);
      const leased: TaskRecord[] = [];
      for (const image of state.tasks) {
        const queue = this.queues.get(image.queue) ?? this.createQueue(image.queue);
        const record = new TaskRecord(image.id, queue, image.payload, image.priority, image.enqueuedAt, image.ttr, image.replyTo, image.maxAttempts, payloadBytes(image.payload));
        this.hold(record);
        record.attempt = image.attempt;
        record.lastError = image.lastError;
        record.deadLetteredFrom = image.deadLetteredFrom;
        record.crashes = image.crashes ?? 0;
        // New ids must not repeat a restored one.
        const counter = idPattern.exec(image.id)?.[1];
        if (counter !== undefined) this.nextId = Math.max(this.nextId, parseInt(counter, 36) + 1);
        if (image.leased) leased.push(record);
        else if (image.readyAt !== undefined) this.delay(record, image.readyAt);
        else queue.ready.push(record, record.priority);
      }
      for (const record of leased) this.returnAfterCrash(record);
      return { queues: state.queues.length, tasks: state.tasks.length, leasesReturned: leased.length };
    } finally {
      this.journal = journal;
    }
  }

  // ---- internals ------------------------------------------------------------------------

  private createQueue(name: string, options: QueueOptions = {}): QueueState {
    // A `<queue>.dead` queue is a dead-letter queue however it comes to exist (a monitor may
    // look at it before the first death): unlimited attempts and no dead-letter queue of its own.
    const isDeadLetterQueue = name.endsWith('.dead');
    const resolved: ResolvedQueueOptions = {
      maxsize: 0,
      maxBytes: 0,
      ttr: this.defaults.ttr,
      maxAttempts: isDeadLetterQueue ? 0 : this.defaults.maxAttempts,
      deadLetter: isDeadLetterQueue ? null : `${name}.dead`,
      ...definedOnly(options),
    };
    const queue = new QueueState(name, resolved);
    this.queues.set(name, queue);
    if (this.journal) this.journal.append({ op: 'queue', queue: name, options: { ...resolved } });
    return queue;
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

  /** queue_full at once for a put that no amount of waiting would let in. */
  private neverFits(queue: QueueState, count: number, bytes: number): EngineError | undefined {
    const { maxsize, maxBytes } = queue.options;
    if (maxsize > 0 && count > maxsize) return this.fullError(queue, 'maxsize', maxsize, `"${queue.name}" has more tasks than its maxsize (maxsize ${maxsize})`);
    const what = `${tasks(count)} of ${bytes} bytes`;
    if (maxBytes > 0 && bytes > maxBytes) return this.fullError(queue, 'maxBytes', maxBytes, `"${queue.name}" can never take ${what} (maxBytes ${maxBytes})`);
    if (this.maxQueuedBytes > 0 && bytes > this.maxQueuedBytes) {
      return this.fullError(queue, 'maxQueuedBytes', this.maxQueuedBytes, `the manager can never hold ${what} (maxQueuedBytes ${this.maxQueuedBytes})`);
    }
    return undefined;
  }

  /** queue_full for a put that found no room (timeout 0) or waited in vain, naming the bound in the way. */
  private queueFull(queue: QueueState, count: number, bytes: number): EngineError {
    // A put that fits, but waits behind others on the queue, waits for what the first of them does.
    const head = this.headPutter(queue);
    const limit = this.boundInTheWay(queue, count, bytes) ?? (head && this.boundInTheWay(queue, head.request.tasks.length, head.bytes)) ?? 'maxsize';
    const { maxsize, maxBytes } = queue.options;
    switch (limit) {
      case 'maxsize':
        return this.fullError(queue, limit, maxsize, `"${queue.name}" has no room for ${tasks(count)} (maxsize ${maxsize})`);
      case 'maxBytes':
        return this.fullError(queue, limit, maxBytes, `"${queue.name}" has no room for ${tasks(count)} of ${bytes} bytes (maxBytes ${maxBytes}, ${queue.bytes} held)`);
      case 'maxQueuedBytes':
        return this.fullError(
          queue,
          limit,
          this.maxQueuedBytes,
          `the manager has no room for ${tasks(count)} of ${bytes} bytes in "${queue.name}" (maxQueuedBytes ${this.maxQueuedBytes}, ${this.heldBytes} held)`,
        );
    }
  }

  /** The first bound that keeps a put of `count` tasks of `bytes` out of the queue now, if any. */
  private boundInTheWay(queue: QueueState, count: number, bytes: number): QueueLimit | undefined {
    const { maxsize, maxBytes } = queue.options;
    if (maxsize > 0 && queue.size + count > maxsize) return 'maxsize';
    if (maxBytes > 0 && queue.bytes + bytes > maxBytes) return 'maxBytes';
    if (!this.budgetAdmits(queue, bytes)) return 'maxQueuedBytes';
    return undefined;
  }

  private fullError(queue: QueueState, limit: QueueLimit, max: number, message: string): EngineError {
    return new EngineError('queue_full', message, { queue: queue.name, maxsize: queue.options.maxsize, limit, max });
  }

  // ---- the byte budget ------------------------------------------------------------------

  /** A task enters the manager's holdings (put, result, restore): its bytes count until it leaves. */
  private hold(record: TaskRecord): void {
    record.queue.bytes += record.bytes;
    this.heldBytes += record.bytes;
  }

  /** A task left for good (acked, purged, dropped): its bytes no longer count. */
  private release(record: TaskRecord): void {
    record.queue.bytes -= record.bytes;
    this.heldBytes -= record.bytes;
  }

  /**
   * True when the budget lets a put of `bytes` into `queue` now: there is room, and no other
   * queue's put is ahead of it in the line.
   */
  private budgetAdmits(queue: QueueState, bytes: number): boolean {
    if (this.maxQueuedBytes === 0) return true;
    const first = this.lineHead();
    return (first === undefined || first === queue) && this.heldBytes + bytes <= this.maxQueuedBytes;
  }

  /** The first queue of the budget line whose head put still waits for the budget (others leave the line). */
  private lineHead(): QueueState | undefined {
    for (const queue of this.budgetLine) {
      const head = this.headPutter(queue);
      if (head && queue.hasRoomFor(head.request.tasks.length, head.bytes)) return queue;
      this.budgetLine.delete(queue);
    }
    return undefined;
  }

  /** The first active waiting put of the queue (withdrawn ones ahead of it are dropped). */
  private headPutter(queue: QueueState): PutWaiter | undefined {
    while (queue.activePutters > 0) {
      const waiter = queue.putters.peekAt(0)!;
      if (waiter.active) return waiter;
      queue.putters.shift();
    }
    return undefined;
  }

  /** Bytes were freed or the line changed: admits waiting puts in the line's order while they fit. */
  private serveBudgetLine(): void {
    // Admitting a put can free bytes again (a getter with autoAck takes it at once): the loop
    // below sees them, so a nested call has nothing to add.
    if (this.budgetLine.size === 0 || this.servingBudgetLine) return;
    this.servingBudgetLine = true;
    try {
      for (let first = this.lineHead(); first !== undefined; ) {
        this.admitPutters(first);
        const next = this.lineHead();
        if (next === first) return; // its head still waits for the budget: nobody overtakes it
        first = next;
      }
    } finally {
      this.servingBudgetLine = false;
    }
  }

  private enqueue(queue: QueueState, specs: TaskSpec[], sizes: number[], session: SessionId | undefined): string[] {
    const now = this.clock.now();
    const ids = new Array<string>(specs.length);
    const images: TaskImage[] | undefined = this.journal ? new Array(specs.length) : undefined;
    let readyAdded = false;
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const id = `${this.idPrefix}-${(this.nextId++).toString(36)}`;
      const record = new TaskRecord(id, queue, spec.payload, spec.priority ?? 0, now, spec.ttr, spec.replyTo, spec.maxAttempts, sizes[i]!);
      ids[i] = id;
      queue.totals.put++;
      this.hold(record);
      if (spec.delay !== undefined && spec.delay > 0) {
        this.delay(record, now + spec.delay * SECOND);
      } else {
        queue.ready.push(record, record.priority);
        readyAdded = true;
      }
      if (images) images[i] = imageOf(record);
      if (this.listeners.length > 0) this.emit({ kind: 'put', queue: queue.name, taskId: id, attempt: 1, payload: spec.payload, session, at: now });
    }
    if (images) this.journal!.append({ op: 'put', tasks: images });
    if (readyAdded) this.serveGetters(queue);
    return ids;
  }

  /** Holds a task back until `readyAt`. */
  private delay(record: TaskRecord, readyAt: number): void {
    record.state = TaskState.Delayed;
    record.readyAt = readyAt;
    record.queue.delayed++;
    this.addTimer(readyAt, record, undefined);
  }

  /** Hands ready tasks to waiting getters, in arrival order, while both remain. */
  private serveGetters(queue: QueueState): void {
    while (queue.ready.length > 0 && queue.activeGetters > 0) {
      const waiter = queue.getters.shift()!;
      if (!waiter.active) continue;
      waiter.active = false;
      queue.activeGetters--;
      this.untrack(waiter, waiter.request.session);
      this.deliverTo(queue, waiter.request, waiter.deliver);
    }
  }

  /** Leases (or with autoAck removes) up to max ready tasks and delivers them; undoes it if delivery fails. */
  private deliverTo(queue: QueueState, request: GetRequest, deliver: Deliver): void {
    const now = this.clock.now();
    const records: TaskRecord[] = [];
    while (records.length < request.max) {
      const record = queue.ready.shift();
      if (!record) break;
      records.push(record);
    }
    const tasks = new Array<Task>(records.length);
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      if (request.autoAck) {
        record.state = TaskState.Gone;
      } else {
        this.lease(record, request.session, request.ttr ?? record.ttr ?? queue.options.ttr, now);
      }
      tasks[i] = record.toTask();
    }
    if (!deliver(tasks)) {
      // The session is gone: the tasks go back where they were, as if never handed out.
      for (let i = records.length - 1; i >= 0; i--) {
        const record = records[i]!;
        if (record.state === TaskState.Leased) this.endLease(record);
        record.state = TaskState.Ready;
        queue.ready.pushFront(record, record.priority);
      }
      this.serveGetters(queue);
      return;
    }
    if (records.length > 0 && this.journal) this.journal.append({ op: request.autoAck ? 'ack' : 'lease', ids: records.map((r) => r.id) });
    if (this.listeners.length > 0) {
      for (const record of records) this.emit({ kind: 'get', queue: queue.name, taskId: record.id, attempt: record.attempt, payload: record.payload, session: request.session, at: now });
    }
    if (request.autoAck) {
      for (const record of records) this.release(record);
      queue.totals.acked += records.length;
      this.afterRemoval(queue);
    }
  }

  private lease(record: TaskRecord, session: SessionId, ttr: number, now: number): void {
    record.state = TaskState.Leased;
    record.leaseSession = session;
    record.leaseTtr = ttr;
    record.leaseUntil = now + ttr * SECOND;
    record.queue.leased++;
    this.leases.set(record.id, record);
    let held = this.sessionLeases.get(session);
    if (!held) this.sessionLeases.set(session, (held = new Set()));
    held.add(record);
    this.addTimer(record.leaseUntil, record, undefined);
  }

  /** Drops the lease bookkeeping; the caller decides where the task goes next. */
  private endLease(record: TaskRecord): void {
    record.queue.leased--;
    this.leases.delete(record.id);
    const held = this.sessionLeases.get(record.leaseSession!);
    if (held) {
      held.delete(record);
      if (held.size === 0) this.sessionLeases.delete(record.leaseSession!);
    }
    record.leaseSession = undefined;
    record.state = TaskState.Ready;
  }

  /**
   * A lease that ended without ack or nack (expiry, disconnect): back at once, attempt + 1.
   * `managerStopping`: the manager itself is shutting down, which is no fault of the task: it
   * comes back even when that was its last attempt.
   */
  private loseLease(record: TaskRecord, reason: string, managerStopping = false): void {
    const session = record.leaseSession;
    this.endLease(record);
    record.queue.totals.expired++;
    this.emit({ kind: 'expired', queue: record.queue.name, taskId: record.id, attempt: record.attempt, error: reason, session, at: this.clock.now() });
    if (managerStopping) this.requeue(record);
    else this.retryOrBury(record, 0, session);
    this.serveGetters(record.queue);
  }

  /**
   * A task that was leased when the manager crashed. The worker received it and may have done
   * part of it, so it comes back with attempt + 1; but a crash is the manager's failure, not
   * the task's, so it never uses up the task's last attempt (five crashes must not dead-letter
   * the innocent tasks that were merely leased at each). A task leased through `maxCrashes`
   * crashes is dead-lettered instead: it may be what kills the manager (a poison task), and
   * would otherwise kill every manager that hands it out.
   */
  private returnAfterCrash(record: TaskRecord): void {
    record.crashes++;
    const limit = this.defaults.maxCrashes;
    if (limit > 0 && record.crashes >= limit) {
      record.lastError = `leased when the manager crashed, ${record.crashes} times: dead-lettered as a possible poison task`;
      this.bury(record, undefined);
      return;
    }
    this.requeue(record);
  }

  /** Back to the ready queue at once with attempt + 1, whatever its attempts so far. */
  private requeue(record: TaskRecord): void {
    record.attempt++;
    record.state = TaskState.Ready;
    record.queue.ready.push(record, record.priority);
    if (this.journal) this.journal.append(retryRecord(record));
  }

  /** After a failed attempt: retry after `delay` seconds with attempt + 1, or dead-letter. */
  private retryOrBury(record: TaskRecord, delay: number, session: SessionId | undefined): void {
    const queue = record.queue;
    // A task's own maxAttempts was given for the queue it was put in; once dead-lettered, the
    // dead-letter queue's policy applies (unlimited by default), or a dead task could be dropped.
    const ownLimit = record.deadLetteredFrom === undefined ? record.maxAttempts : undefined;
    const maxAttempts = ownLimit ?? queue.options.maxAttempts;
    if (maxAttempts > 0 && record.attempt >= maxAttempts) {
      this.bury(record, session);
      return;
    }
    record.attempt++;
    if (delay > 0) {
      this.delay(record, this.clock.now() + delay * SECOND);
      if (this.journal) this.journal.append(retryRecord(record));
    } else {
      record.state = TaskState.Ready;
      queue.ready.push(record, record.priority);
      if (this.journal) this.journal.append(retryRecord(record));
      this.serveGetters(queue);
    }
  }

  /** Moves a task that used up its attempts to the dead-letter queue (or drops it when there is none). */
  private bury(record: TaskRecord, session: SessionId | undefined): void {
    const from = record.queue;
    from.totals.deadLettered++;
    this.emit({ kind: 'dead', queue: from.name, taskId: record.id, attempt: record.attempt, payload: record.payload, error: record.lastError, session, at: this.clock.now() });
    const target = from.options.deadLetter;
    if (target === null || target === from.name) {
      record.state = TaskState.Gone;
      this.release(record);
      if (this.journal) this.journal.append({ op: 'drop', ids: [record.id] });
      return;
    }
    const dlq = this.queues.get(target) ?? this.createQueue(target, { maxAttempts: 0, deadLetter: null });
    // Still held, now by the dead-letter queue: the manager's total does not change.
    from.bytes -= record.bytes;
    dlq.bytes += record.bytes;
    record.queue = dlq;
    record.deadLetteredFrom = from.name;
    record.state = TaskState.Ready;
    dlq.ready.push(record, record.priority);
    dlq.totals.put++;
    if (this.journal) {
      const dead: JournalRecord = { op: 'dead', id: record.id, queue: dlq.name, from: from.name };
      if (record.lastError !== undefined) dead.lastError = record.lastError;
      this.journal.append(dead);
    }
    this.serveGetters(dlq);
  }

  /** Throws lease_unknown unless the session holds every id (each once). */
  private heldBy(session: SessionId, ids: string[]): TaskRecord[] {
    const records: TaskRecord[] = [];
    let missing: string[] | undefined;
    const seen = ids.length > 1 ? new Set<string>() : undefined;
    for (const id of ids) {
      const record = this.leases.get(id);
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

  private backoff(attempt: number): number {
    return Math.min(this.defaults.retryBackoffBase * 2 ** (attempt - 1), this.defaults.retryBackoffCap);
  }

  /** Room may have appeared and the queue may have emptied: serve putters, then joiners. */
  private afterRemoval(queue: QueueState): void {
    this.servePutters(queue);
    if (queue.idle && queue.joiners.size > 0) {
      const joiners = [...queue.joiners];
      queue.joiners.clear();
      for (const waiter of joiners) {
        waiter.active = false;
        this.untrack(waiter, waiter.session);
        waiter.done(true);
      }
    }
  }

  /** Room may have appeared in the queue or in the budget: admits its waiting puts, then the budget line's. */
  private servePutters(queue: QueueState): void {
    this.admitPutters(queue);
    this.serveBudgetLine();
  }

  /** Admits the queue's waiting puts in order while they fit; a head that waits for the budget joins its line. */
  private admitPutters(queue: QueueState): void {
    for (let waiter = this.headPutter(queue); waiter !== undefined; waiter = this.headPutter(queue)) {
      if (!queue.hasRoomFor(waiter.request.tasks.length, waiter.bytes)) return;
      if (!this.budgetAdmits(queue, waiter.bytes)) {
        this.budgetLine.add(queue);
        return;
      }
      // Its turn is used: the queue's next put, if it must wait for the budget, queues up behind the others.
      this.budgetLine.delete(queue);
      queue.putters.shift();
      waiter.active = false;
      queue.activePutters--;
      this.untrack(waiter, waiter.request.session);
      waiter.done(this.enqueue(queue, waiter.request.tasks, waiter.sizes, waiter.request.session));
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
    const full = waiter.kind === 'put' ? this.queueFull(queue, waiter.request.tasks.length, waiter.bytes) : undefined;
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
      this.untrack(waiter, waiter.request.session);
      // Withdrawn getters leave the deque only when serving passes them, which never happens
      // on an idle queue: without this, a worker polling it with a timeout piles them up.
      if (queue.getters.length > 2 * queue.activeGetters + 16) dropWithdrawn(queue.getters);
    } else if (waiter.kind === 'put') {
      const queue = this.queues.get(waiter.request.queue)!;
      queue.activePutters--;
      this.untrack(waiter, waiter.request.session);
      if (queue.putters.length > 2 * queue.activePutters + 16) dropWithdrawn(queue.putters);
      // The head putter leaving may let the next one in.
      this.servePutters(queue);
    } else {
      this.queues.get(waiter.queue)!.joiners.delete(waiter);
      this.untrack(waiter, waiter.session);
    }
  }

  private track(waiter: AnyWaiter, session: SessionId | undefined, timeout: number | undefined): void {
    if (session !== undefined) {
      let set = this.sessionWaiters.get(session);
      if (!set) this.sessionWaiters.set(session, (set = new Set()));
      set.add(waiter);
    }
    if (timeout !== undefined) {
      waiter.timeoutAt = this.clock.now() + timeout * SECOND;
      this.addTimer(waiter.timeoutAt, undefined, waiter);
    }
  }

  private untrack(waiter: AnyWaiter, session: SessionId | undefined): void {
    if (session === undefined) return;
    const set = this.sessionWaiters.get(session);
    if (set) {
      set.delete(waiter);
      if (set.size === 0) this.sessionWaiters.delete(session);
    }
  }

  private addTimer(at: number, task: TaskRecord | undefined, waiter: AnyWaiter | undefined): void {
    const earliest = this.timers.peek()?.at;
    this.timers.push({ at, seq: this.timerSeq++, task, waiter });
    if (this.onWake && (earliest === undefined || at < earliest)) this.onWake(at);
    // A sweep only removes entries, so the wake-up already asked for is early at worst.
    if (this.timers.size >= this.timerSweepAt) {
      this.timers.retain(timerIsLive);
      this.timerSweepAt = Math.max(TIMER_SWEEP_MIN, 2 * this.timers.size);
    }
  }

  private emit(event: EngineEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** True while a timer still means something: the task's current due time or lease end, or a waiter's timeout. */
function timerIsLive(timer: TimerEntry): boolean {
  const { task, waiter } = timer;
  if (task) return (task.state === TaskState.Delayed && task.readyAt === timer.at) || (task.state === TaskState.Leased && task.leaseUntil === timer.at);
  return waiter !== undefined && waiter.active && waiter.timeoutAt === timer.at;
}

/** A lease ended without an ack: the task is back, ready or (readyAt) delayed. */
function retryRecord(record: TaskRecord): JournalRecord {
  const retry: JournalRecord = { op: 'retry', id: record.id, attempt: record.attempt };
  if (record.state === TaskState.Delayed) retry.readyAt = record.readyAt;
  if (record.lastError !== undefined) retry.lastError = record.lastError;
  return retry;
}

/** The stored form of a task; fields that are not set are left out. */
function imageOf(record: TaskRecord): TaskImage {
  const image: TaskImage = {
    id: record.id,
    queue: record.queue.name,
    payload: record.payload,
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
  return image;
}

/** Removes withdrawn waiters, keeping the order of the rest; amortized O(1) by the callers' threshold. */
function dropWithdrawn<W extends { active: boolean }>(waiters: Deque<W>): void {
  for (const waiter of waiters.clear()) if (waiter.active) waiters.push(waiter);
}

function tasks(count: number): string {
  return `${count} task${count === 1 ? '' : 's'}`;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
