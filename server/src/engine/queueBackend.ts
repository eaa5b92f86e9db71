import type { Nack, QueueStats } from '../protocol/generated';
import type { EngineEvent, GetRequest, HeldTaskRef, PutDone, PutRequest, QueueOptions, RawAck, RawTask, SessionId, Waiter } from './types';
import type { ManagerPeers } from './peers';
import type { ScheduleDefinition, ScheduleImage } from './schedules';
import type { Deliver } from './waiters';

/** A value now (the in-process engine), or later (a backend on a remote store). */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Queue state as the server sees it: the one interface between the server's handlers and
 * wherever the queues live. The in-process engine (with or without its journal: LocalQueues)
 * implements it; a backend on a shared store implements it the same way, and the server holds
 * no branch for either.
 *
 * The contract, for every implementation (tested by one behavioural suite,
 * server/test/backend/queueBackendContract.ts, that any implementation runs):
 *
 * - **Refusals** are EngineErrors (queue_not_found, queue_full, lease_unknown, and
 *   store_unavailable when a shared store cannot be reached), thrown or rejected by the
 *   MaybePromise methods and passed to `done` by put; anything else thrown is a failure of the
 *   backend itself.
 * - **All or none**: a put of several tasks enqueues them all or none; an ack, nack or touch of
 *   several ids applies to all (every id held by the session, each once) or fails with
 *   lease_unknown and changes nothing.
 * - **Order**: within a queue, higher priority first, then the order tasks became ready. A
 *   task whose lease ended (expiry, release, retry) becomes ready again at the tail.
 * - **Waiting**: put (on a full queue), get (on an empty one) and join return a Waiter when
 *   they wait, and then call back exactly once: when served, or on their timeout (put:
 *   queue_full; get: []; join: false). cancel() withdraws a waiter without calling it back.
 *   Waiting requests are served in the order they started waiting.
 * - **Leases**: a get without autoAck leases each task to the session for its ttr; the lease
 *   ends by ack, nack, expiry (the task comes back with attempt + 1), or releaseSession. A
 *   task whose attempts are used up goes to the queue's dead-letter queue.
 * - **Delivery**: `deliver` returns false when the session is gone; the backend then takes the
 *   tasks back as if never handed out.
 * - **Payloads are opaque** (spec §7.17): a task's payload and an ack's result arrive as JSON
 *   text (JsonText, already checked to be JSON and compacted) and are handed back as that very
 *   text, character for character — by get, peek, the events and, after a restart, a durable
 *   store. A result routed to replyTo is the text `{"taskId":<id as a JSON string>,"result":<the
 *   result's text>}`. A backend stores the text as it is (a Redis backend: the string) and never
 *   parses it; a payload's bytes (maxBytes, maxQueuedBytes) are its text's length in UTF-8.
 * - **Pause** (spec §7.19): a paused queue accepts puts and delivers nothing; resume serves the
 *   gets that waited, in order.
 * - **Durability**: whenDurable calls back once every change made so far is as durable as the
 *   backend promises; an answer that reports a change is sent only then.
 */
export interface QueueBackend {
  /**
   * The id of this manager among the managers that share the backend's store (its heartbeat,
   * the holder of its leases), shown on the wire since protocol 2026-12 (spec §7.18). Absent
   * (the in-process queues): the server mints a random id for the process.
   */
  readonly managerId?: string;
  /** The other managers of the shared store, for the registry and events across managers; absent on one manager. */
  readonly peers?: ManagerPeers;
  /** Creates the queue with options, or changes the options of the existing one. */
  declareQueue(name: string, options: QueueOptions): MaybePromise<{ queue: string; created: boolean }>;
  listQueues(): MaybePromise<QueueStats[]>;
  queueStats(name: string): MaybePromise<QueueStats>;
  /**
   * Pauses the queue (spec §7.19), creating it as ensureQueue would: puts are still accepted,
   * gets (and the get of an ack with next) deliver nothing until resumeQueue, and waiting gets
   * wait for it or their timeout; leases already out run on; delayed tasks still come due. The
   * pause is kept as durably as the queue (a data dir, the shared store) and holds for every
   * manager of a shared store. A change emits a `paused` event; pausing a paused queue changes
   * nothing. Resolves with the queue's stats.
   */
  pauseQueue(name: string, session?: SessionId): MaybePromise<QueueStats>;
  /** Resumes a paused queue (a `resumed` event): waiting gets, on every manager, are served again. Resolves with its stats. */
  resumeQueue(name: string, session?: SessionId): MaybePromise<QueueStats>;
  /**
   * Makes sure a queue can be used before a request changes anything: creates it when queues
   * are created on first use, otherwise refuses with queue_not_found if it does not exist
   * (an ack that also takes the next task checks its queue before applying the acks).
   */
  ensureQueue(name: string): MaybePromise<void>;

  /**
   * Enqueues all the tasks or none; `done` gets the new ids or a queue_full/queue_not_found error.
   * A spec whose uniqueness key is held in the queue (by a task, or by an earlier spec of the same
   * put) adds no task: its id is the holder's and `duplicates` says so (spec §7.21). Room is needed
   * only for the specs that add a task; a put of duplicates only never waits.
   */
  put(request: PutRequest, done: PutDone): Waiter | undefined;
  /** Leases (or with autoAck removes) up to `max` ready tasks; waits up to the timeout for one. */
  get(request: GetRequest, deliver: Deliver): Waiter | undefined;
  /** Calls back true once nothing is ready, delayed or leased; false on timeout. */
  join(queue: string, timeout: number | undefined, session: SessionId | undefined, done: (joined: boolean) => void): Waiter | undefined;

  /** Completes leased tasks; results go to their replyTo queues. Resolves with how many. */
  ack(session: SessionId, acks: RawAck[]): MaybePromise<number>;
  /**
   * An ack that also takes the session's next tasks (task/ack with next), for a backend whose
   * every call is a round trip to a shared store: the ack's own round trip may take them
   * (RedisQueues). Applies the acks as ack does (and fails as it does, taking nothing); then
   * either the tasks it took have gone to `deliver` (true), or it took none (false) and the
   * caller makes the get as after a plain ack, waiting if it may. A backend without it: ack, then get.
   */
  ackThenTake?(session: SessionId, acks: RawAck[], next: GetRequest, deliver: Deliver): Promise<boolean>;
  /** Gives leased tasks back for a retry (after a delay or the back-off), or with retry: false to the dead-letter queue. */
  nack(session: SessionId, nacks: Nack[]): MaybePromise<number>;
  /** Extends leases by `ttr` seconds (default: each lease's own length); resolves with the earliest new end (ms). */
  touch(session: SessionId, ids: string[], ttr?: number): MaybePromise<number>;
  /** The next ready tasks in delivery order, untouched. */
  peek(queue: string, max: number): MaybePromise<RawTask[]>;
  /** Removes every ready and delayed task; leased ones stay with their holders. Resolves with how many. */
  purge(queue: string, session?: SessionId): MaybePromise<number>;

  /** How many tasks the session holds (for the worker registry). */
  leasedBy(session: SessionId): number;
  /** The tasks the session holds now, in no particular order (manager/clients since 2026-12, spec §5.15). */
  heldTasks(session: SessionId): HeldTaskRef[];
  /**
   * The session ended: withdraws its waiters and gives back every task it holds, with
   * attempt + 1 (`managerStopping`: the manager's own shutdown, which never uses up a last attempt).
   */
  releaseSession(session: SessionId, reason: string, managerStopping?: boolean): MaybePromise<number>;

  /**
   * Creates or replaces a schedule (spec §5.25; protocol 2026-12). A definition that cannot be
   * is refused with ScheduleInvalid (-32602). From then on the backend puts the schedule's task
   * once per tick (with a `scheduled` event), exactly once across the managers of a shared store
   * and across restarts of a durable one; ticks missed while no manager ran collapse into one
   * run; a tick whose put cannot be made at once (queue full or gone) is skipped, never waited on.
   * Reported by a `schedule-set` event naming `session`, as a delete is by `schedule-deleted`.
   */
  setSchedule(definition: ScheduleDefinition, session?: SessionId): MaybePromise<{ schedule: ScheduleImage; created: boolean }>;
  /** The schedules by name (only those of `queue` when given). */
  listSchedules(queue?: string): MaybePromise<ScheduleImage[]>;
  /** Deletes a schedule; false when there is none of that name. */
  deleteSchedule(name: string, session?: SessionId): MaybePromise<boolean>;

  /** Observes every change (put, get, ack, nack, expired, dead, purge, scheduled, schedule-set, ...); returns a function that stops observing. */
  onEvent(listener: (event: EngineEvent) => void): () => void;
  /** The payload bytes of every task held, and their budget (0: none). */
  readonly queuedBytes: number;
  readonly maxQueuedBytes: number;

  /** Calls back once every change made so far is as durable as the backend promises (with the error if it can no longer keep them). */
  whenDurable(callback: (failure?: Error) => void): void;
  /** Stops timers and writes what is pending; the backend is not used afterwards. */
  close(): Promise<void>;
}
