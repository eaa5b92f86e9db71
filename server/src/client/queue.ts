import { QueueDeclareRequest, QueuePutRequest, QueueGetRequest, TaskAckRequest, QueueJoinRequest, QueueStatsRequest, QueuePeekRequest, QueuePurgeRequest } from '../protocol/generated';
import { QueuePauseRequest, QueueResumeRequest } from '../protocol/generated';
import type { DeclareParams, GetParams, Nack, PutParams as QueuePutParams, QueueStats, Task, TaskSpec, Unique } from '../protocol/generated';
import { ackTask, nackTask, touchTasks, type Requester } from './requester';
import { AbortedError, ConnectionClosedError, LeaseUnknownError, QueueEmptyError, ShuttingDownError } from './errors';
import { ReceivedTask, type NextOptions } from './receivedTask';

export interface PutOptions {
  priority?: number;
  /** Seconds to hold the task back. */
  delay?: number;
  /** Lease length in seconds for whoever takes it. */
  ttr?: number;
  /** Queue that receives `{taskId, result}` when the task is acked with a result. */
  replyTo?: string;
  maxAttempts?: number;
  /**
   * A uniqueness key (protocol 2026-12, spec §7.21): when a task of the queue holds it, no task
   * is added and the id is that task's (putUnique also says it was a duplicate). A string is
   * the key with the default scope (held while the task is queued).
   */
  unique?: string | Unique;
  /** Since protocol 2026-12: the task's rate key (e.g. a URL's host), for the queue's keyRate and keyConcurrency (spec §7.22). */
  rateKey?: string;
  /** Seconds to wait for room in a bounded queue; default: as long as it takes. */
  timeout?: number;
  signal?: AbortSignal;
}

/** What putUnique answers: the task's id, and whether the key was held (the id is then the holder's). */
export interface UniquePutResult {
  id: string;
  duplicate: boolean;
}

export interface GetOptions {
  /** Seconds to wait; default: until a task arrives. 0: never wait. */
  timeout?: number;
  /** Lease length in seconds. */
  ttr?: number;
  /** Remove on delivery (at-most-once); for result queues. */
  autoAck?: boolean;
  signal?: AbortSignal;
}

export interface ConsumeOptions {
  /** Tasks per request (default 1). */
  prefetch?: number;
  ttr?: number;
  /** Stop after the queue stays empty this many seconds (default: never). */
  idleTimeout?: number;
  signal?: AbortSignal;
}

export interface WorkOptions extends ConsumeOptions {
  /** Tasks handled at once (default 1). */
  concurrency?: number;
  /** Called when a handler throws (after the nack). */
  onError?: (error: unknown, task: ReceivedTask) => void;
}

/** A named queue on the manager. Handles are cheap; make as many as you like. */
export class QueueHandle<P = unknown> {
  constructor(
    readonly name: string,
    private readonly requester: Requester,
  ) {}

  /** Creates the queue with options, or changes the options of the existing queue. */
  async declare(options: Omit<DeclareParams, 'queue'> = {}): Promise<{ created: boolean }> {
    const { created } = await this.requester.request(QueueDeclareRequest, { queue: this.name, ...options });
    return { created };
  }

  /** Enqueues one task; resolves with its id. */
  async put(payload: P, options?: PutOptions): Promise<string> {
    // One task, one request: the params built directly (this is the hot path of a producer).
    const params: QueuePutParams = { queue: this.name, tasks: [options === undefined ? { payload } : taskSpec(payload, options)] };
    if (options?.timeout !== undefined) params.timeout = options.timeout;
    const { ids } = await this.requester.request(QueuePutRequest, params, options?.signal);
    return ids[0]!;
  }

  /**
   * Enqueues one task unless a task of the queue holds its uniqueness key (spec §7.21): then
   * resolves with that task's id and `duplicate: true`, and adds nothing.
   */
  async putUnique(payload: P, unique: string | Unique, options: Omit<PutOptions, 'unique'> = {}): Promise<UniquePutResult> {
    const params: QueuePutParams = { queue: this.name, tasks: [taskSpec(payload, { ...options, unique })] };
    if (options.timeout !== undefined) params.timeout = options.timeout;
    const { ids, duplicates } = await this.requester.request(QueuePutRequest, params, options.signal);
    return { id: ids[0]!, duplicate: duplicates?.[0] === true };
  }

  /**
   * Enqueues many tasks in as few requests as the manager's batch limit allows. Each request
   * is all-or-nothing; a list longer than the limit is split.
   */
  async putMany(tasks: (TaskSpec & { payload: P })[], options: { timeout?: number; signal?: AbortSignal } = {}): Promise<string[]> {
    const ids: string[] = [];
    const batch = this.requester.limits.maxBatch;
    for (let i = 0; i < tasks.length; i += batch) {
      const params = { queue: this.name, tasks: tasks.slice(i, i + batch), ...(options.timeout !== undefined ? { timeout: options.timeout } : {}) };
      const result = await this.requester.request(QueuePutRequest, params, options.signal);
      ids.push(...result.ids);
    }
    return ids;
  }

  /** Takes one task; with a timeout, throws QueueEmptyError when none came (like Python's queue.Empty). */
  async get(options: GetOptions = {}): Promise<ReceivedTask<P>> {
    const [task] = await this.getMany(1, options);
    if (!task) throw new QueueEmptyError(this.name, options.timeout);
    return task;
  }

  /** Takes up to `max` tasks as soon as one is ready; [] when the timeout passes. */
  async getMany(max: number, options: GetOptions = {}): Promise<ReceivedTask<P>[]> {
    const params: GetParams = { queue: this.name, max };
    if (options.timeout !== undefined) params.timeout = options.timeout;
    if (options.ttr !== undefined) params.ttr = options.ttr;
    if (options.autoAck !== undefined) params.autoAck = options.autoAck;
    const { tasks } = await this.requester.request(QueueGetRequest, params, options.signal);
    return tasks.map((task) => new ReceivedTask<P>(task, this.requester));
  }

  /** Completes a task (by id or object), with an optional result. */
  async ack(task: string | Task, result?: unknown): Promise<void> {
    await ackTask(this.requester, typeof task === 'string' ? task : task.id, result);
  }

  /** Completes many tasks in one request. */
  async ackMany(acks: { id: string; result?: unknown }[]): Promise<number> {
    return (await this.requester.request(TaskAckRequest, { acks })).acked;
  }

  /** Gives a task back for a retry, or with `retry: false` to the dead-letter queue. */
  async nack(task: string | Task, options: Omit<Nack, 'id'> = {}): Promise<void> {
    await nackTask(this.requester, typeof task === 'string' ? task : task.id, options);
  }

  /** Extends leases; resolves with the earliest new lease end. */
  async touch(tasks: string | Task | (string | Task)[], ttr?: number): Promise<string> {
    return touchTasks(
      this.requester,
      (Array.isArray(tasks) ? tasks : [tasks]).map((t) => (typeof t === 'string' ? t : t.id)),
      ttr,
    );
  }

  /** Waits until nothing is ready, delayed or leased; false when the timeout passed first. */
  async join(options: { timeout?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    const params = options.timeout === undefined ? { queue: this.name } : { queue: this.name, timeout: options.timeout };
    return (await this.requester.request(QueueJoinRequest, params, options.signal)).done;
  }

  async stats(): Promise<QueueStats> {
    return this.requester.request(QueueStatsRequest, { queue: this.name });
  }

  /** The next ready tasks, untouched. */
  async peek(max = 1): Promise<Task[]> {
    return (await this.requester.request(QueuePeekRequest, { queue: this.name, max })).tasks;
  }

  /** Removes every ready and delayed task; resolves with how many. */
  async purge(): Promise<number> {
    return (await this.requester.request(QueuePurgeRequest, { queue: this.name })).removed;
  }

  /**
   * Pauses the queue (protocol 2026-12, spec §7.19): puts are still accepted, gets deliver
   * nothing until resume(); tasks already taken run on. Creates the queue if it does not exist
   * yet, so a pause can come before the first put. Resolves with its stats (`paused: true`).
   * A manager of protocol 2026-11 answers MethodNotFoundError.
   */
  async pause(): Promise<QueueStats> {
    return this.requester.request(QueuePauseRequest, { queue: this.name });
  }

  /** Resumes a paused queue: gets waiting on it, on any manager of a shared store, are served. Resolves with its stats. */
  async resume(): Promise<QueueStats> {
    return this.requester.request(QueueResumeRequest, { queue: this.name });
  }

  /**
   * Tasks as they come. Each task is acked when the loop asks for the next one, unless the
   * body settled it itself: the ack of a batch's last task also takes the next batch, in one
   * exchange (spec §5.9.1). Leaving the loop early (break, return or a throw) nacks the task
   * in hand, so nothing is lost. Survives reconnects; ends on idleTimeout or abort.
   *
   * Obeys the operator (spec §7.20): told `quiet`, it takes no new task and waits (a reconnect,
   * a new session, resumes it); told `stopping`, it ends after the tasks in hand are settled
   * and closes the client, so the program can exit.
   */
  async *consume(options: ConsumeOptions = {}): AsyncGenerator<ReceivedTask<P>, void, undefined> {
    let inHand: ReceivedTask<P> | undefined;
    let finished = false;
    try {
      let batch = await this.nextBatch(options);
      while (batch !== undefined) {
        let taken: ReceivedTask<P>[] | undefined;
        for (let i = 0; i < batch.length; i++) {
          const task = batch[i]!;
          inHand = task;
          yield task;
          if (!task.settled) {
            if (i === batch.length - 1 && this.requester.workState === 'active') taken = await this.settleQuietly(task, () => this.ackAndTakeNext(task, undefined, options));
            else await this.settleQuietly(task, () => task.ack());
          }
          inHand = undefined;
        }
        batch = await this.afterBatch(taken, options);
      }
      this.closeIfStopping();
    } catch (error) {
      finished = true;
      if (inHand && !inHand.settled) await this.settleQuietly(inHand, () => inHand!.nack({ error: describe(error) }));
      throw error;
    } finally {
      if (!finished && inHand && !inHand.settled) {
        // A throw in the loop body also arrives here (for-await calls return(), not throw()),
        // so the retry keeps the manager's back-off: a task that always fails cannot spin.
        await this.settleQuietly(inHand, () => inHand!.nack({ error: 'the consumer stopped before acknowledging the task' }));
      }
    }
  }

  /**
   * Runs `handler` for each task, `concurrency` at a time: its return value is the ack's
   * result (routed to replyTo), a throw nacks with the error's message. Resolves with the
   * number of tasks handled once idleTimeout passes with nothing to do, or on abort.
   *
   * Obeys the operator (spec §7.20): told `quiet`, it takes no new task (the tasks in hand are
   * finished and acked) and waits; told `stopping`, it finishes and acks the tasks in hand,
   * closes the client (session/close) and resolves, so the program can exit with 0.
   */
  async work(handler: (task: ReceivedTask<P>) => unknown | Promise<unknown>, options: WorkOptions = {}): Promise<number> {
    const concurrency = Math.max(1, options.concurrency ?? 1);
    let handled = 0;
    // Each loop acks a batch's last task with the next batch's get (spec §5.9.1): one
    // exchange per task when tasks are taken one at a time.
    const loop = async () => {
      let batch = await this.nextBatch(options);
      while (batch !== undefined) {
        let taken: ReceivedTask<P>[] | undefined;
        for (let i = 0; i < batch.length; i++) {
          const task = batch[i]!;
          try {
            const result = await handler(task);
            if (!task.settled) {
              if (i === batch.length - 1 && this.requester.workState === 'active') taken = await this.settleQuietly(task, () => this.ackAndTakeNext(task, result, options));
              else await this.settleQuietly(task, () => task.ack(result));
            }
          } catch (error) {
            if (!task.settled) await this.settleQuietly(task, () => task.nack({ error: describe(error) }));
            options.onError?.(error, task);
          }
          handled++;
        }
        batch = await this.afterBatch(taken, options);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    this.closeIfStopping();
    return handled;
  }

  /** A loop told to stop has settled what it held: the session ends (session/close). */
  private closeIfStopping(): void {
    if (this.requester.workState === 'stopping' && !this.requester.isClosed) this.requester.close();
  }

  /**
   * A signal for one request of consume()/work(): the caller's, and aborted as soon as the
   * session is told to take no task, so that a get in flight ends at once rather than at its
   * timeout (the manager answers it empty, or -32800 for the cancel: tasks it had already
   * handed out still arrive). `quieted`: that is why it ended.
   */
  private loopTurn(signal: AbortSignal | undefined): { signal: AbortSignal; readonly quieted: boolean } {
    const work = this.requester.workSignal;
    return {
      signal: signal ? AbortSignal.any([signal, work]) : work,
      get quieted() {
        return work.aborted;
      },
    };
  }

  /** While quiet: true once the session takes tasks again (a new session), false once it must stop, is closed or aborted. */
  private async untilActive(signal: AbortSignal | undefined): Promise<boolean> {
    if (this.requester.workState === 'active') return true;
    if (this.requester.workState === 'stopping') return false;
    let stop = () => {};
    let onAbort = () => {};
    const changed = new Promise<boolean>((resolve) => {
      stop = this.requester.onWorkState((state) => {
        if (state !== 'quiet') resolve(state === 'active');
      });
      onAbort = () => resolve(false);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([changed, this.requester.whenClosed().then(() => false)]);
    } finally {
      stop();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Acks a batch's last task and takes the next batch, unless the session is told to take no task meanwhile. */
  private async ackAndTakeNext(task: ReceivedTask<P>, result: unknown, options: ConsumeOptions): Promise<ReceivedTask<P>[]> {
    return task.ackAndGetNext(result, { ...this.nextOptions(options), signal: this.loopTurn(options.signal).signal });
  }

  /** What consume/work take with the ack of a batch's last task: what nextBatch would get. */
  private nextOptions(options: ConsumeOptions): NextOptions {
    return {
      queue: this.name,
      max: options.prefetch ?? 1,
      ...(options.idleTimeout !== undefined ? { timeout: options.idleTimeout } : {}),
      ...(options.ttr !== undefined ? { ttr: options.ttr } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
  }

  /**
   * The batch after one whose last ack took `taken` with it: those tasks; or, when none came,
   * the end (idleTimeout passed in that wait, or an abort) or a get as at the start (the last
   * task was settled otherwise, or its ack failed).
   */
  private async afterBatch(taken: ReceivedTask<P>[] | undefined, options: ConsumeOptions): Promise<ReceivedTask<P>[] | undefined> {
    if (taken !== undefined && taken.length > 0) return taken;
    // An empty next because the session was told to take no task is no idle timeout.
    if (taken !== undefined && this.requester.workState === 'active' && (options.idleTimeout !== undefined || options.signal?.aborted)) return undefined;
    return this.nextBatch(options);
  }

  /** The next tasks for consume/work; undefined when it is time to stop. */
  private async nextBatch(options: ConsumeOptions): Promise<ReceivedTask<P>[] | undefined> {
    for (;;) {
      if (options.signal?.aborted || this.requester.isClosed) return undefined;
      // Told to take no task: wait for a new session (go on) or the order to stop (end).
      if (this.requester.workState !== 'active') {
        if (!(await this.untilActive(options.signal))) return undefined;
        continue;
      }
      const turn = this.loopTurn(options.signal);
      try {
        const tasks = await this.getMany(options.prefetch ?? 1, {
          ...(options.idleTimeout !== undefined ? { timeout: options.idleTimeout } : {}),
          ...(options.ttr !== undefined ? { ttr: options.ttr } : {}),
          signal: turn.signal,
        });
        if (tasks.length > 0) return tasks;
        if (turn.quieted) continue;
        if (options.idleTimeout !== undefined) return undefined;
      } catch (error) {
        if (error instanceof AbortedError) {
          if (turn.quieted && !options.signal?.aborted) continue;
          return undefined;
        }
        // A dropped connection: the manager gave our leases back; carry on once reconnected.
        if ((error instanceof ConnectionClosedError || error instanceof ShuttingDownError) && this.requester.willReconnect) {
          await this.requester.waitUntilConnected();
          continue;
        }
        throw error;
      }
    }
  }

  /** Settling fails harmlessly when the lease is already gone (expired or the connection dropped): undefined then. */
  private async settleQuietly<T>(task: ReceivedTask<P>, settle: () => Promise<T>): Promise<T | undefined> {
    try {
      return await settle();
    } catch (error) {
      // The ack applied, then the connection dropped while waiting for the next task: nothing was lost.
      if (task.settled && (error instanceof ConnectionClosedError || error instanceof ShuttingDownError)) return undefined;
      // The manager released the lease (expiry, disconnect, shutdown): the task is redelivered.
      if (error instanceof LeaseUnknownError || error instanceof ConnectionClosedError || error instanceof ShuttingDownError) {
        this.requester.leaseLost(task, error);
        return undefined;
      }
      throw error;
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The TaskSpec of one put: the payload and the options that are set. */
function taskSpec(payload: unknown, options: PutOptions): TaskSpec {
  const spec: TaskSpec = { payload };
  if (options.priority !== undefined) spec.priority = options.priority;
  if (options.delay !== undefined) spec.delay = options.delay;
  if (options.ttr !== undefined) spec.ttr = options.ttr;
  if (options.replyTo !== undefined) spec.replyTo = options.replyTo;
  if (options.maxAttempts !== undefined) spec.maxAttempts = options.maxAttempts;
  if (options.unique !== undefined) spec.unique = typeof options.unique === 'string' ? { key: options.unique } : options.unique;
  if (options.rateKey !== undefined) spec.rateKey = options.rateKey;
  return spec;
}
