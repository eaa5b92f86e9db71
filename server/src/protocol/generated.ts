// Generated from spec/protocol.json by server/scripts/generateProtocol.mjs. Do not edit.
// Run `npm run generate -w server` after changing the spec.
/* eslint-disable */

/** Protocol versions this implementation speaks, newest last. */
export const PROTOCOL_VERSIONS = ["2026-11","2026-12"] as const;

/**
 * A queue name: 1 to 195 characters of letters, digits and . _ - : /
 */
export type QueueName = string;
/**
 * A task id assigned by the server, unique for the manager's lifetime.
 */
export type TaskId = string;
/**
 * A duration in seconds (fractions allowed).
 */
export type Seconds = number;
/**
 * An ISO-8601 UTC timestamp.
 */
export type Timestamp = string;
/**
 * Any JSON value.
 */
export type JsonValue = unknown;
/**
 * Labels the connection in the worker registry only.
 */
export type ClientRole = 'worker' | 'producer' | 'monitor';
/**
 * Since 2026-12: a rate key, 1 to 256 characters.
 */
export type RateKey = string;
/**
 * How much of the task is done, from 0 to 100 (fractions allowed).
 */
export type ProgressPercent = number;
/**
 * A short text saying what the holder is doing, at most 200 characters.
 */
export type ProgressMessage = string;
/**
 * Since 2026-12: a session's state as an operator set it (§7.20): active (the default), quiet (handed no task), stopping (handed no task, asked to finish and leave).
 */
export type SessionState = 'active' | 'quiet' | 'stopping';
/**
 * Since 2026-12: progress, a progress report of a task's holder (task/progress; never sent to sessions of 2026-11). Since 2026-12: released, a lease given back because its holder's session closed, the client stopped or a manager shut down or is gone (sessions of 2026-11 see these as expired). Since 2026-12: paused and resumed, a queue was paused or resumed (§7.19); sent to sessions of 2026-12 or later only. Since 2026-12: scheduled, a tick of a schedule (§5.25): the task it put (taskId; the task also has its put event) or, with error, why the tick was skipped (the queue was full or is gone). Since 2026-12: schedule-set and schedule-deleted, a schedule was created or replaced (schedule/set) or deleted (schedule/delete), so that a view of the schedules stays current (§5.25, §5.27); sent to sessions of 2026-12 or later only.
 */
export type EventKind =
  | 'put'
  | 'get'
  | 'ack'
  | 'nack'
  | 'expired'
  | 'released'
  | 'dead'
  | 'purge'
  | 'paused'
  | 'resumed'
  | 'client-connected'
  | 'client-disconnected'
  | 'progress'
  | 'scheduled'
  | 'schedule-set'
  | 'schedule-deleted';
/**
 * A schedule name: 1 to 195 characters of letters, digits and . _ - : /
 */
export type ScheduleName = string;
export type JsonRpcResponse = JsonRpcResponse1 & JsonRpcResponse2;
export type JsonRpcResponse1 =
  | {
      result: unknown;
    }
  | {
      error: unknown;
    };
/**
 * A cron expression of 5 fields (minute hour day-of-month month day-of-week), 6 (seconds first) or 7 (a year last), as croner reads it: ranges, lists, steps, names such as MON and JAN, L, W, #, and the nicknames @hourly, @daily, @weekly, @monthly, @yearly. When day-of-month and day-of-week are both restricted, either matches (the classic cron rule).
 */
export type CronExpression = string;

/**
 * No parameters: an empty object (or params omitted).
 */
export interface EmptyParams {}
export interface EmptyResult {}
/**
 * Who is connecting; shown in the worker registry.
 */
export interface ClientDescription {
  name: string;
  version?: string;
  language?: string;
  host?: string;
  pid?: number;
  role?: ClientRole;
  labels?: {
    [k: string]: string | undefined;
  };
}
export interface HelloParams {
  /**
   * The versions the client speaks.
   *
   * @minItems 1
   * @maxItems 32
   */
  protocolVersions: string[];
  /**
   * 32 bytes from a cryptographic RNG, base64.
   */
  nonce: string;
  client: ClientDescription;
}
export interface HelloResult {
  /**
   * The newest version both sides know.
   */
  protocolVersion: string;
  /**
   * The server's fresh 32 bytes, base64.
   */
  nonce: string;
  server: {
    name: string;
    version: string;
  };
  /**
   * Since 2026-12: the id of the manager process that answers (§7.18), unique among the managers that serve the same store, the same in every session of that process; sent in every session that negotiated 2026-12 or later, absent in 2026-11.
   */
  managerId?: string;
}
export interface AuthenticateParams {
  /**
   * Lowercase hex HMAC-SHA256(authkey, "taskwire-client\n" + serverNonce + "\n" + clientNonce + "\n" + protocolVersion).
   */
  proof: string;
}
export interface Capabilities {
  /**
   * events/subscribe is served.
   */
  events: boolean;
  /**
   * The framings the server accepts.
   */
  framings: ('ndjson' | 'content-length')[];
  /**
   * Queues are created on first use.
   */
  autoCreateQueues: boolean;
  /**
   * task/ack takes next: an ack that also takes the next tasks (§5.9.1). Optional; absent means false.
   */
  ackNext?: boolean;
}
export interface Limits {
  /**
   * The largest frame the server reads.
   */
  maxFrameBytes: number;
  /**
   * The largest payload or result: its JSON text as sent, without insignificant whitespace, in UTF-8 (§7.17).
   */
  maxPayloadBytes: number;
  /**
   * The most tasks, acks, nacks or ids in one request, and the largest get max.
   */
  maxBatch: number;
  /**
   * The most subscriptions one session may hold.
   */
  maxSubscriptions: number;
  /**
   * The manager's budget for the payload bytes (their JSON text as sent, §7.17) of all its queued tasks: ready, delayed, leased and dead-lettered; 0 means unlimited. Optional.
   */
  maxQueuedBytes?: number;
}
export interface AuthenticateResult {
  sessionId: string;
  /**
   * Lowercase hex HMAC-SHA256(authkey, "taskwire-server\n" + serverNonce + "\n" + clientNonce + "\n" + protocolVersion).
   */
  serverProof: string;
  capabilities: Capabilities;
  limits: Limits;
}
export interface PingResult {
  time: Timestamp;
}
export interface DeclareParams {
  queue: QueueName;
  /**
   * Bound on ready + delayed + leased; 0 means unbounded.
   */
  maxsize?: number;
  /**
   * Bound on the payload bytes (their JSON text as sent, §7.17) of ready + delayed + leased tasks; 0 means unbounded.
   */
  maxBytes?: number;
  ttr?: Seconds;
  /**
   * Deliveries before a task is dead-lettered; 0 means unlimited.
   */
  maxAttempts?: number;
  /**
   * The dead-letter queue's name; null keeps dead tasks nowhere (they are dropped with a dead event). Default <queue>.dead.
   */
  deadLetter?: QueueName | null;
  /**
   * Since 2026-12: a limit on all deliveries of the queue, shared by every worker (and every manager on one shared store), §7.22; null removes it. Default none.
   */
  rate?: RateLimit | null;
  /**
   * Since 2026-12: a limit on the deliveries of each rate key (TaskSpec.rateKey), §7.22; tasks without a rateKey are only held to rate. null removes it. Default none.
   */
  keyRate?: RateLimit | null;
  /**
   * Since 2026-12: at most this many tasks of one rate key leased at once, §7.22; 0 means unlimited (the default).
   */
  keyConcurrency?: number;
}
/**
 * Since 2026-12: at most max deliveries per period seconds, spaced evenly (one every period/max seconds) with up to burst of them at once after a quiet spell: the generic cell rate algorithm (GCRA), §7.22.
 */
export interface RateLimit {
  /**
   * Deliveries per period.
   */
  max: number;
  /**
   * The period in seconds.
   */
  period: number;
  /**
   * Deliveries allowed at once after a quiet spell (at most max); default 1: evenly spaced.
   */
  burst?: number;
}
export interface DeclareResult {
  queue: QueueName;
  created: boolean;
}
export interface QueueParams {
  queue: QueueName;
}
/**
 * Counters since the manager started.
 */
export interface QueueTotals {
  put: number;
  acked: number;
  nacked: number;
  expired: number;
  /**
   * Since 2026-12: how many of expired were releases (the holder's session closed or a manager shut down or is gone) rather than expiries. Sent to sessions of 2026-12 or later.
   */
  released?: number;
  deadLettered: number;
}
export interface QueueStats {
  queue: QueueName;
  ready: number;
  leased: number;
  delayed: number;
  /**
   * Tasks waiting in this queue's dead-letter queue.
   */
  dead: number;
  /**
   * 0 means unbounded.
   */
  maxsize: number;
  /**
   * The payload bytes (their JSON text as sent, §7.17) of its ready, delayed and leased tasks. Optional.
   */
  bytes?: number;
  /**
   * Bound on bytes; 0 means unbounded. Optional.
   */
  maxBytes?: number;
  waitingGetters: number;
  waitingPutters?: number;
  ttr?: Seconds;
  maxAttempts?: number;
  deadLetter?: QueueName | null;
  /**
   * Since 2026-12: true while the queue is paused (§7.19): gets deliver nothing from it. Sent to sessions of 2026-12 or later.
   */
  paused?: boolean;
  totals: QueueTotals;
  rate?: RateLimit;
  keyRate?: RateLimit;
  /**
   * Since 2026-12: the cap on leased tasks per rate key, when the queue has one.
   */
  keyConcurrency?: number;
  /**
   * Since 2026-12, on a queue with limits: how many of its ready tasks wait for budget (their key, or the queue, is over its rate or its key at keyConcurrency) rather than for a worker.
   */
  throttled?: number;
}
export interface ListResult {
  queues: QueueStats[];
}
export interface TaskSpec {
  payload: JsonValue;
  /**
   * Higher first; default 0.
   */
  priority?: number;
  delay?: Seconds;
  ttr?: Seconds;
  replyTo?: QueueName;
  /**
   * Overrides the queue's maxAttempts; 0 means unlimited.
   */
  maxAttempts?: number;
  unique?: Unique;
  rateKey?: RateKey;
}
/**
 * Since 2026-12: a task's uniqueness key (§7.21). The key is held in its queue from the put while the task is within its scope, and at most ttl seconds after the put when ttl is given; it is freed when the task ends (ack, dead letter, purge).
 */
export interface Unique {
  /**
   * The key, unique per queue: 1 to 256 characters.
   */
  key: string;
  /**
   * queued (default): held while the task is ready or delayed, and again when a retry brings it back if no other task took the key meanwhile; active: held while the task is ready, delayed or leased, through retries, until it ends.
   */
  scope?: 'queued' | 'active';
  ttl?: Seconds;
}
export interface PutParams {
  queue: QueueName;
  /**
   * @minItems 1
   */
  tasks: TaskSpec[];
  timeout?: Seconds;
}
export interface PutResult {
  ids: TaskId[];
  /**
   * Since 2026-12: one entry per task spec, in order: true when the spec's unique key was held and its id in ids is the existing task's (no task was added for it). Present when at least one spec of the put carried unique.
   */
  duplicates?: boolean[];
}
export interface GetParams {
  queue: QueueName;
  /**
   * Up to this many tasks (default 1), returned as soon as one is ready.
   */
  max?: number;
  timeout?: Seconds;
  ttr?: Seconds;
  /**
   * Remove the tasks on delivery (at-most-once).
   */
  autoAck?: boolean;
}
export interface Task {
  id: TaskId;
  queue: QueueName;
  payload: JsonValue;
  /**
   * 1 on the first delivery, plus one for every lease that ended without an ack.
   */
  attempt: number;
  priority: number;
  enqueuedAt: Timestamp;
  leaseUntil?: Timestamp;
  replyTo?: QueueName;
  /**
   * The error of the last nack, if any.
   */
  lastError?: string;
  deadLetteredFrom?: QueueName;
}
export interface GetResult {
  tasks: Task[];
}
export interface Ack {
  id: TaskId;
  result?: JsonValue;
}
export interface AckParams {
  /**
   * @minItems 1
   */
  acks: Ack[];
  next?: GetParams;
}
export interface AckResult {
  acked: number;
  /**
   * With next: the tasks taken (as queue/get's result), possibly none (timeout, cancel).
   */
  tasks?: Task[];
}
export interface Nack {
  id: TaskId;
  /**
   * Why the task failed; kept as the task's lastError.
   */
  error?: string;
  delay?: Seconds;
  /**
   * false: the failure is permanent, so the task goes to the dead-letter queue at once instead of being retried (default true).
   */
  retry?: boolean;
}
export interface NackParams {
  /**
   * @minItems 1
   */
  nacks: Nack[];
}
export interface NackResult {
  nacked: number;
}
export interface TouchParams {
  /**
   * @minItems 1
   */
  ids: TaskId[];
  ttr?: Seconds;
}
export interface TouchResult {
  leaseUntil: Timestamp;
}
/**
 * Since 2026-12: a progress report of a task this session holds; percent or message (or both) is required.
 */
export interface ProgressParams {
  id: TaskId;
  percent?: ProgressPercent;
  message?: ProgressMessage;
  detail?: JsonValue;
}
/**
 * Since 2026-12: the last progress reported for a held task.
 */
export interface TaskProgress {
  percent?: ProgressPercent;
  message?: ProgressMessage;
  detail?: JsonValue;
  at: Timestamp;
}
/**
 * Since 2026-12: a task a session holds, on its manager/clients entry.
 */
export interface HeldTask {
  id: TaskId;
  queue: QueueName;
  leaseUntil?: Timestamp;
  progress?: TaskProgress;
}
export interface JoinParams {
  queue: QueueName;
  timeout?: Seconds;
}
export interface JoinResult {
  done: boolean;
}
export interface PeekParams {
  queue: QueueName;
  /**
   * Default 1.
   */
  max?: number;
}
export interface PeekResult {
  tasks: Task[];
}
export interface PurgeResult {
  removed: number;
}
export interface ClientInfo {
  sessionId: string;
  /**
   * Since 2026-12: the id of the manager the session is connected to (its managerId, §5.1). Sent to sessions that negotiated 2026-12 or later.
   */
  manager?: string;
  name: string;
  role: ClientRole;
  version?: string;
  language?: string;
  host?: string;
  pid?: number;
  /**
   * The peer's address and port as the server sees it.
   */
  address: string;
  connectedAt: Timestamp;
  lastSeenAt: Timestamp;
  /**
   * Tasks this session holds now.
   */
  leased: number;
  acked: number;
  nacked: number;
  labels?: {
    [k: string]: string | undefined;
  };
  /**
   * Since 2026-12: the tasks the session holds now, each with its last progress report (task/progress). Sent to sessions that negotiated 2026-12 or later.
   */
  tasks?: HeldTask[];
  state?: SessionState;
}
export interface ClientsResult {
  clients: ClientInfo[];
}
/**
 * Since 2026-12: the params of client/quiet and client/stop.
 */
export interface ControlParams {
  /**
   * The target session's id, as manager/clients lists it (its sessionId); a session of any manager of the store.
   */
  session: string;
}
/**
 * Since 2026-12: the result of client/quiet and client/stop.
 */
export interface ControlResult {
  /**
   * The target session.
   */
  session: string;
  /**
   * The id of the manager the session is on (§7.18).
   */
  manager: string;
  state: SessionState;
  /**
   * True when the session was sent session/state: it negotiated 2026-12 or later. False for a 2026-11 session, which cannot be told; the manager enforces quiet on it all the same, and closes it once it holds nothing when it is stopping (§7.20).
   */
  notified: boolean;
}
/**
 * Since 2026-12: the params of the session/state notification.
 */
export interface SessionStateParams {
  /**
   * quiet: take no new task (the manager hands none), finish those held. stopping: finish the tasks held, ack them, then send session/close, close the connection and exit.
   */
  state: 'quiet' | 'stopping';
}
/**
 * The result of manager/stats: counters since the manager started, and the state of its queues now.
 */
export interface ManagerStats {
  /**
   * The server software's version.
   */
  version: string;
  startedAt: Timestamp;
  /**
   * Seconds since the manager started.
   */
  uptime: number;
  connections: ConnectionCounters;
  /**
   * Failed session/authenticate requests.
   */
  authFailures: number;
  frames: TrafficCounters;
  bytes: TrafficCounters;
  events: EventCounters;
  leases: LeaseCounters;
  memory: MemoryUsage;
  /**
   * Seconds the queues' rates were measured over: about the last minute, less while the manager is younger than that.
   */
  rateWindow: number;
  /**
   * The payload bytes (their JSON text as sent, §7.17) of every task the manager holds: ready, delayed, leased and dead-lettered. Optional.
   */
  queuedBytes?: number;
  /**
   * The budget for queuedBytes (limits.maxQueuedBytes); 0 means unlimited. Optional.
   */
  maxQueuedBytes?: number;
  queues: QueueActivity[];
}
/**
 * Connections of the manager.
 */
export interface ConnectionCounters {
  /**
   * Open connections, authenticated or not.
   */
  current: number;
  /**
   * Open connections that have authenticated.
   */
  sessions: number;
  /**
   * Connections accepted since the manager started (refused ones not included).
   */
  total: number;
  /**
   * Connections refused over a connection limit.
   */
  refused: number;
  /**
   * Connections the server closed because of a limit: the hello or handshake deadline, room made for a newer connection, a frame left unfinished, output the peer did not read.
   */
  dropped: number;
  /**
   * TLS handshakes that failed (0 without TLS).
   */
  tlsFailures: number;
}
/**
 * Frames or bytes since the manager started, after TLS.
 */
export interface TrafficCounters {
  received: number;
  sent: number;
}
/**
 * events/event notifications since the manager started.
 */
export interface EventCounters {
  /**
   * Notifications written to subscribers.
   */
  sent: number;
  /**
   * Notifications dropped because the subscriber's connection was too far behind (§6.1).
   */
  dropped: number;
}
/**
 * Leases of every queue.
 */
export interface LeaseCounters {
  /**
   * Leases held now.
   */
  held: number;
  /**
   * Leases that ended because their ttr ran out, since the manager started.
   */
  expired: number;
  /**
   * Leases given back because their session closed or the manager shut down, since the manager started.
   */
  released: number;
}
/**
 * The manager process's memory, in bytes.
 */
export interface MemoryUsage {
  /**
   * Resident set size.
   */
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /**
   * Memory outside the JavaScript heap, such as buffers.
   */
  external: number;
}
/**
 * One queue's depth now and its rates over rateWindow.
 */
export interface QueueActivity {
  queue: QueueName;
  ready: number;
  leased: number;
  delayed: number;
  /**
   * Tasks that entered the queue per second (QueueTotals.put).
   */
  putsPerSecond: number;
  /**
   * Tasks acked per second (QueueTotals.acked).
   */
  acksPerSecond: number;
}
export interface SubscribeParams {
  /**
   * Only events of these queues (client events always pass); absent: all.
   *
   * @maxItems 1000
   */
  queues?: QueueName[];
  /**
   * Only these kinds; absent: all.
   */
  kinds?: EventKind[];
  /**
   * Carry task payloads on put, get and dead events (results on ack events are always carried).
   */
  includePayload?: boolean;
}
export interface SubscribeResult {
  subscription: string;
}
export interface UnsubscribeParams {
  subscription: string;
}
export interface Event {
  subscription: string;
  kind: EventKind;
  queue?: QueueName;
  taskId?: TaskId;
  attempt?: number;
  payload?: JsonValue;
  result?: JsonValue;
  /**
   * On nack: the nack's error. On expired: why the lease ended (lease expired). Since 2026-12, on released: why it was given back (client disconnected, client stopped, manager shut down, manager gone).
   */
  error?: string;
  /**
   * On purge: how many tasks were removed.
   */
  count?: number;
  percent?: ProgressPercent;
  message?: ProgressMessage;
  detail?: JsonValue;
  schedule?: ScheduleName;
  client?: EventClient;
  /**
   * Since 2026-12: the id of the manager the event's client session is on (§7.18). Sent to subscriptions of sessions that negotiated 2026-12 or later, on every event that has a client.
   */
  manager?: string;
  at: Timestamp;
}
export interface EventClient {
  sessionId: string;
  name: string;
  role?: ClientRole;
  address?: string;
}
export interface CancelParams {
  id: number | string;
}
/**
 * The data member of an error response. Application errors (1000-1999) always carry reason.
 */
export interface ErrorData {
  reason?: string;
  /**
   * -32602: JSON Pointer of the offending field.
   */
  field?: string;
  /**
   * -32004, 1004, 1005: the limit's name or size; 1002: the bound the put did not fit (maxsize, maxBytes or maxQueuedBytes).
   */
  limit?: string | number;
  /**
   * 1005, 1002: the value of the limit named by limit.
   */
  max?: number;
  /**
   * 1005 with limit "authFailureBackoff": seconds until proofs from the client's address are checked again. 1006: a hint, in seconds, of when the store may be back.
   */
  retryAfter?: number;
  /**
   * -32003: the versions the server speaks.
   */
  supported?: string[];
  /**
   * 1003: the task ids not held.
   */
  ids?: string[];
  queue?: string;
  /**
   * 1002: the queue's maxsize.
   */
  maxsize?: number;
  /**
   * 1007: the session id that was not found.
   */
  session?: string;
  /**
   * Since 2026-12, 1010: the schedule name that was not found.
   */
  schedule?: string;
}
export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: number | string;
  method: string;
  params?: {} | unknown[];
}
export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: {} | unknown[];
}
export interface JsonRpcError {
  code: number;
  message: string;
  data?: ErrorData;
}
export interface JsonRpcResponse2 {
  jsonrpc: '2.0';
  id: number | string | null;
  result?: unknown;
  error?: JsonRpcError;
}
/**
 * Since 2026-12: a schedule. Exactly one of cron and every; timezone only with cron.
 */
export interface ScheduleSetParams {
  name: ScheduleName;
  queue: QueueName;
  task: TaskSpec;
  cron?: CronExpression;
  /**
   * The IANA time zone the cron expression is read in (e.g. Europe/Berlin); default UTC.
   */
  timezone?: string;
  /**
   * A fixed interval in seconds (at least 1): ticks at startAt (or the set time + every) and every `every` seconds after it.
   */
  every?: number;
  startAt?: Timestamp;
}
export interface ScheduleSetResult {
  schedule: Schedule;
  /**
   * false when a schedule of that name was replaced.
   */
  created: boolean;
}
/**
 * Since 2026-12: a schedule as the manager keeps it.
 */
export interface Schedule {
  name: ScheduleName;
  queue: QueueName;
  task: TaskSpec;
  cron?: CronExpression;
  timezone?: string;
  every?: number;
  startAt?: Timestamp;
  nextRun: Timestamp;
  lastRun?: ScheduleRun;
}
/**
 * A tick that ran: when, and the task it put or why it was skipped.
 */
export interface ScheduleRun {
  at: Timestamp;
  taskId?: TaskId;
  /**
   * Why no task was put (the queue was full, or does not exist).
   */
  skipped?: string;
}
export interface ScheduleListParams {
  queue?: QueueName;
}
export interface ScheduleListResult {
  schedules: Schedule[];
}
export interface ScheduleDeleteParams {
  name: ScheduleName;
}

/** The `error` member of a JSON-RPC response, as both ends send and receive it. */
export type WireError = JsonRpcError;

/** Every request: its params and result types. */
export interface RequestMap {
  /** First message of every connection: offers protocol versions and a client nonce; the server answers with the chosen version and its own nonce. */
  'session/hello': { params: HelloParams; result: HelloResult };
  /** Proves knowledge of the authkey; the server answers with its own proof, the session id, capabilities and limits. */
  'session/authenticate': { params: AuthenticateParams; result: AuthenticateResult };
  /** Liveness check; answers the server's clock. */
  'session/ping': { params: EmptyParams; result: PingResult };
  /** Creates a queue with options, or updates the options of an existing one. */
  'queue/declare': { params: DeclareParams; result: DeclareResult };
  /** Statistics of every queue. */
  'queue/list': { params: EmptyParams; result: ListResult };
  /** Statistics of one queue. */
  'queue/stats': { params: QueueParams; result: QueueStats };
  /** Enqueues one or more tasks, all or none; blocks while the queue has no room for all of them, up to timeout. */
  'queue/put': { params: PutParams; result: PutResult };
  /** Leases up to max ready tasks to this session; blocks until one is ready, up to timeout. */
  'queue/get': { params: GetParams; result: GetResult };
  /** Completes leased tasks, optionally with results that are routed to each task's replyTo queue; with next, also takes the next tasks in the same exchange. */
  'task/ack': { params: AckParams; result: AckResult };
  /** Gives leased tasks back for a retry (after delay, or an exponential back-off), or to the dead-letter queue once maxAttempts is reached or when retry is false. */
  'task/nack': { params: NackParams; result: NackResult };
  /** Extends the leases of tasks this session holds by ttr seconds from now. */
  'task/touch': { params: TouchParams; result: TouchResult };
  /** Waits until the queue has nothing ready, delayed or leased (Python's Queue.join), up to timeout. */
  'queue/join': { params: JoinParams; result: JoinResult };
  /** The next ready tasks in delivery order, without leasing or removing anything. */
  'queue/peek': { params: PeekParams; result: PeekResult };
  /** Removes every ready and delayed task; leased tasks stay with their holders. */
  'queue/purge': { params: QueueParams; result: PurgeResult };
  /** The worker registry: every authenticated connection, what it holds and what it has done. */
  'manager/clients': { params: EmptyParams; result: ClientsResult };
  /** Starts a stream of events/event notifications, filtered by queue and kind. */
  'events/subscribe': { params: SubscribeParams; result: SubscribeResult };
  /** Ends a subscription of this session. */
  'events/unsubscribe': { params: UnsubscribeParams; result: EmptyResult };
  /** Shuts the manager down gracefully: answers, releases every lease, closes every connection, stops listening. */
  'manager/shutdown': { params: EmptyParams; result: EmptyResult };
  /** Manager-wide counters (connections, authentication failures, traffic, events, leases, memory) and each queue's depth and put and ack rates over the last minute. */
  'manager/stats': { params: EmptyParams; result: ManagerStats };
  /** Since 2026-12: the holder of a lease reports how far it got (a percentage and/or a short message, optionally a JSON detail); the report renews the lease like task/touch and goes out as a progress event, at most one per task per interval. */
  'task/progress': { params: ProgressParams; result: TouchResult };
  /** Since 2026-12: pauses a queue: puts are still accepted, gets deliver nothing until queue/resume; leases already out run on (§7.19). Creates the queue like any method naming one (§7.12). Answers the queue's stats. */
  'queue/pause': { params: QueueParams; result: QueueStats };
  /** Since 2026-12: resumes a paused queue: its ready tasks are delivered again, first to the gets that waited (§7.19). Answers the queue's stats. */
  'queue/resume': { params: QueueParams; result: QueueStats };
  /** Since 2026-12: tells one session to go quiet: the manager hands it no task from then on (its gets answer empty), while its leases run on and its acks work; the session is sent session/state. */
  'client/quiet': { params: ControlParams; result: ControlResult };
  /** Since 2026-12: tells one session to stop: quiet, and the client finishes the tasks it holds, closes (session/close) and exits; the manager closes the connection itself once the session holds nothing and a grace period passed. */
  'client/stop': { params: ControlParams; result: ControlResult };
  /** Since 2026-12: creates or replaces a schedule by name: the task spec to put on a queue at each tick of a cron expression (in a time zone) or a fixed interval. */
  'schedule/set': { params: ScheduleSetParams; result: ScheduleSetResult };
  /** Since 2026-12: the schedules (of one queue, or all), by name, each with its next run time and its last run. */
  'schedule/list': { params: ScheduleListParams; result: ScheduleListResult };
  /** Since 2026-12: deletes a schedule by name; tasks it already put stay queued. */
  'schedule/delete': { params: ScheduleDeleteParams; result: EmptyResult };
}

/** Every notification: its params type. */
export interface NotificationMap {
  /** One observation for a subscription of this session. */
  'events/event': Event;
  /** Cancels a blocked queue/get, queue/put or queue/join of this session, which then answers -32800. */
  '$/cancelRequest': CancelParams;
  /** Since 2026-12: the client is stopping; the server releases the session's leases with reason "client stopped" (not "client disconnected") and closes the connection. */
  'session/close': EmptyParams;
  /** Since 2026-12: the manager tells a session the state an operator put it in (client/quiet, client/stop): quiet (take no new task) or stopping (finish the tasks held, then close and exit). */
  'session/state': SessionStateParams;
}

export type RequestMethod = keyof RequestMap;
export type NotificationMethod = keyof NotificationMap;

/** A request by handle: its wire name, carrying its params and result types. Callers use these, not the strings. */
export interface RequestHandle<M extends RequestMethod = RequestMethod> {
  readonly kind: 'request';
  readonly method: M;
}

/** A notification by handle: its wire name, carrying its params type. */
export interface NotificationHandle<M extends NotificationMethod = NotificationMethod> {
  readonly kind: 'notification';
  readonly method: M;
}

/** First message of every connection: offers protocol versions and a client nonce; the server answers with the chosen version and its own nonce. */
export const SessionHelloRequest: RequestHandle<'session/hello'> = { kind: 'request', method: 'session/hello' };
/** Proves knowledge of the authkey; the server answers with its own proof, the session id, capabilities and limits. */
export const SessionAuthenticateRequest: RequestHandle<'session/authenticate'> = { kind: 'request', method: 'session/authenticate' };
/** Liveness check; answers the server's clock. */
export const SessionPingRequest: RequestHandle<'session/ping'> = { kind: 'request', method: 'session/ping' };
/** Creates a queue with options, or updates the options of an existing one. */
export const QueueDeclareRequest: RequestHandle<'queue/declare'> = { kind: 'request', method: 'queue/declare' };
/** Statistics of every queue. */
export const QueueListRequest: RequestHandle<'queue/list'> = { kind: 'request', method: 'queue/list' };
/** Statistics of one queue. */
export const QueueStatsRequest: RequestHandle<'queue/stats'> = { kind: 'request', method: 'queue/stats' };
/** Enqueues one or more tasks, all or none; blocks while the queue has no room for all of them, up to timeout. */
export const QueuePutRequest: RequestHandle<'queue/put'> = { kind: 'request', method: 'queue/put' };
/** Leases up to max ready tasks to this session; blocks until one is ready, up to timeout. */
export const QueueGetRequest: RequestHandle<'queue/get'> = { kind: 'request', method: 'queue/get' };
/** Completes leased tasks, optionally with results that are routed to each task's replyTo queue; with next, also takes the next tasks in the same exchange. */
export const TaskAckRequest: RequestHandle<'task/ack'> = { kind: 'request', method: 'task/ack' };
/** Gives leased tasks back for a retry (after delay, or an exponential back-off), or to the dead-letter queue once maxAttempts is reached or when retry is false. */
export const TaskNackRequest: RequestHandle<'task/nack'> = { kind: 'request', method: 'task/nack' };
/** Extends the leases of tasks this session holds by ttr seconds from now. */
export const TaskTouchRequest: RequestHandle<'task/touch'> = { kind: 'request', method: 'task/touch' };
/** Waits until the queue has nothing ready, delayed or leased (Python's Queue.join), up to timeout. */
export const QueueJoinRequest: RequestHandle<'queue/join'> = { kind: 'request', method: 'queue/join' };
/** The next ready tasks in delivery order, without leasing or removing anything. */
export const QueuePeekRequest: RequestHandle<'queue/peek'> = { kind: 'request', method: 'queue/peek' };
/** Removes every ready and delayed task; leased tasks stay with their holders. */
export const QueuePurgeRequest: RequestHandle<'queue/purge'> = { kind: 'request', method: 'queue/purge' };
/** The worker registry: every authenticated connection, what it holds and what it has done. */
export const ManagerClientsRequest: RequestHandle<'manager/clients'> = { kind: 'request', method: 'manager/clients' };
/** Starts a stream of events/event notifications, filtered by queue and kind. */
export const EventsSubscribeRequest: RequestHandle<'events/subscribe'> = { kind: 'request', method: 'events/subscribe' };
/** Ends a subscription of this session. */
export const EventsUnsubscribeRequest: RequestHandle<'events/unsubscribe'> = { kind: 'request', method: 'events/unsubscribe' };
/** Shuts the manager down gracefully: answers, releases every lease, closes every connection, stops listening. */
export const ManagerShutdownRequest: RequestHandle<'manager/shutdown'> = { kind: 'request', method: 'manager/shutdown' };
/** Manager-wide counters (connections, authentication failures, traffic, events, leases, memory) and each queue's depth and put and ack rates over the last minute. */
export const ManagerStatsRequest: RequestHandle<'manager/stats'> = { kind: 'request', method: 'manager/stats' };
/** Since 2026-12: the holder of a lease reports how far it got (a percentage and/or a short message, optionally a JSON detail); the report renews the lease like task/touch and goes out as a progress event, at most one per task per interval. */
export const TaskProgressRequest: RequestHandle<'task/progress'> = { kind: 'request', method: 'task/progress' };
/** Since 2026-12: pauses a queue: puts are still accepted, gets deliver nothing until queue/resume; leases already out run on (§7.19). Creates the queue like any method naming one (§7.12). Answers the queue's stats. */
export const QueuePauseRequest: RequestHandle<'queue/pause'> = { kind: 'request', method: 'queue/pause' };
/** Since 2026-12: resumes a paused queue: its ready tasks are delivered again, first to the gets that waited (§7.19). Answers the queue's stats. */
export const QueueResumeRequest: RequestHandle<'queue/resume'> = { kind: 'request', method: 'queue/resume' };
/** Since 2026-12: tells one session to go quiet: the manager hands it no task from then on (its gets answer empty), while its leases run on and its acks work; the session is sent session/state. */
export const ClientQuietRequest: RequestHandle<'client/quiet'> = { kind: 'request', method: 'client/quiet' };
/** Since 2026-12: tells one session to stop: quiet, and the client finishes the tasks it holds, closes (session/close) and exits; the manager closes the connection itself once the session holds nothing and a grace period passed. */
export const ClientStopRequest: RequestHandle<'client/stop'> = { kind: 'request', method: 'client/stop' };
/** Since 2026-12: creates or replaces a schedule by name: the task spec to put on a queue at each tick of a cron expression (in a time zone) or a fixed interval. */
export const ScheduleSetRequest: RequestHandle<'schedule/set'> = { kind: 'request', method: 'schedule/set' };
/** Since 2026-12: the schedules (of one queue, or all), by name, each with its next run time and its last run. */
export const ScheduleListRequest: RequestHandle<'schedule/list'> = { kind: 'request', method: 'schedule/list' };
/** Since 2026-12: deletes a schedule by name; tasks it already put stay queued. */
export const ScheduleDeleteRequest: RequestHandle<'schedule/delete'> = { kind: 'request', method: 'schedule/delete' };
/** One observation for a subscription of this session. */
export const EventsEventNotification: NotificationHandle<'events/event'> = { kind: 'notification', method: 'events/event' };
/** Cancels a blocked queue/get, queue/put or queue/join of this session, which then answers -32800. */
export const CancelRequestNotification: NotificationHandle<'$/cancelRequest'> = { kind: 'notification', method: '$/cancelRequest' };
/** Since 2026-12: the client is stopping; the server releases the session's leases with reason "client stopped" (not "client disconnected") and closes the connection. */
export const SessionCloseNotification: NotificationHandle<'session/close'> = { kind: 'notification', method: 'session/close' };
/** Since 2026-12: the manager tells a session the state an operator put it in (client/quiet, client/stop): quiet (take no new task) or stopping (finish the tasks held, then close and exit). */
export const SessionStateNotification: NotificationHandle<'session/state'> = { kind: 'notification', method: 'session/state' };

/** One row of the method table. */
export interface MethodDescriptor {
  readonly method: string;
  readonly kind: 'request' | 'notification';
  readonly direction: 'clientToServer' | 'serverToClient';
  readonly since: string;
  /** The $defs name of the params schema. */
  readonly params: string;
  /** The $defs name of the result schema (requests only). */
  readonly result?: string;
  /** Error codes the method may answer besides the generic ones. */
  readonly errors: readonly number[];
  /** True when the request may wait (and so may be cancelled). */
  readonly blocking: boolean;
}

/** The method table, keyed by wire name: each method string is written here once. */
export const METHODS = {
  'session/hello': {"method":"session/hello","kind":"request","direction":"clientToServer","since":"2026-11","params":"HelloParams","result":"HelloResult","errors":[-32602,-32003,-32005],"blocking":false},
  'session/authenticate': {"method":"session/authenticate","kind":"request","direction":"clientToServer","since":"2026-11","params":"AuthenticateParams","result":"AuthenticateResult","errors":[-32001,-32002],"blocking":false},
  'session/ping': {"method":"session/ping","kind":"request","direction":"clientToServer","since":"2026-11","params":"EmptyParams","result":"PingResult","errors":[-32602],"blocking":false},
  'queue/declare': {"method":"queue/declare","kind":"request","direction":"clientToServer","since":"2026-11","params":"DeclareParams","result":"DeclareResult","errors":[-32602],"blocking":false},
  'queue/list': {"method":"queue/list","kind":"request","direction":"clientToServer","since":"2026-11","params":"EmptyParams","result":"ListResult","errors":[-32602],"blocking":false},
  'queue/stats': {"method":"queue/stats","kind":"request","direction":"clientToServer","since":"2026-11","params":"QueueParams","result":"QueueStats","errors":[-32602,1001],"blocking":false},
  'queue/put': {"method":"queue/put","kind":"request","direction":"clientToServer","since":"2026-11","params":"PutParams","result":"PutResult","errors":[-32602,-32800,1001,1002,1004,1005],"blocking":true},
  'queue/get': {"method":"queue/get","kind":"request","direction":"clientToServer","since":"2026-11","params":"GetParams","result":"GetResult","errors":[-32602,-32800,1001,1005],"blocking":true},
  'task/ack': {"method":"task/ack","kind":"request","direction":"clientToServer","since":"2026-11","params":"AckParams","result":"AckResult","errors":[-32602,1001,1003,1004,1005],"blocking":true},
  'task/nack': {"method":"task/nack","kind":"request","direction":"clientToServer","since":"2026-11","params":"NackParams","result":"NackResult","errors":[-32602,1003,1005],"blocking":false},
  'task/touch': {"method":"task/touch","kind":"request","direction":"clientToServer","since":"2026-11","params":"TouchParams","result":"TouchResult","errors":[-32602,1003,1005],"blocking":false},
  'queue/join': {"method":"queue/join","kind":"request","direction":"clientToServer","since":"2026-11","params":"JoinParams","result":"JoinResult","errors":[-32602,-32800,1001],"blocking":true},
  'queue/peek': {"method":"queue/peek","kind":"request","direction":"clientToServer","since":"2026-11","params":"PeekParams","result":"PeekResult","errors":[-32602,1001,1005],"blocking":false},
  'queue/purge': {"method":"queue/purge","kind":"request","direction":"clientToServer","since":"2026-11","params":"QueueParams","result":"PurgeResult","errors":[-32602,1001],"blocking":false},
  'manager/clients': {"method":"manager/clients","kind":"request","direction":"clientToServer","since":"2026-11","params":"EmptyParams","result":"ClientsResult","errors":[-32602],"blocking":false},
  'events/subscribe': {"method":"events/subscribe","kind":"request","direction":"clientToServer","since":"2026-11","params":"SubscribeParams","result":"SubscribeResult","errors":[-32602,1005],"blocking":false},
  'events/unsubscribe': {"method":"events/unsubscribe","kind":"request","direction":"clientToServer","since":"2026-11","params":"UnsubscribeParams","result":"EmptyResult","errors":[-32602],"blocking":false},
  'manager/shutdown': {"method":"manager/shutdown","kind":"request","direction":"clientToServer","since":"2026-11","params":"EmptyParams","result":"EmptyResult","errors":[-32602,-32005],"blocking":false},
  'manager/stats': {"method":"manager/stats","kind":"request","direction":"clientToServer","since":"2026-11","params":"EmptyParams","result":"ManagerStats","errors":[-32602],"blocking":false},
  'task/progress': {"method":"task/progress","kind":"request","direction":"clientToServer","since":"2026-12","params":"ProgressParams","result":"TouchResult","errors":[-32602,1003],"blocking":false},
  'queue/pause': {"method":"queue/pause","kind":"request","direction":"clientToServer","since":"2026-12","params":"QueueParams","result":"QueueStats","errors":[-32602,1001],"blocking":false},
  'queue/resume': {"method":"queue/resume","kind":"request","direction":"clientToServer","since":"2026-12","params":"QueueParams","result":"QueueStats","errors":[-32602,1001],"blocking":false},
  'client/quiet': {"method":"client/quiet","kind":"request","direction":"clientToServer","since":"2026-12","params":"ControlParams","result":"ControlResult","errors":[-32602,1007],"blocking":false},
  'client/stop': {"method":"client/stop","kind":"request","direction":"clientToServer","since":"2026-12","params":"ControlParams","result":"ControlResult","errors":[-32602,1007],"blocking":false},
  'schedule/set': {"method":"schedule/set","kind":"request","direction":"clientToServer","since":"2026-12","params":"ScheduleSetParams","result":"ScheduleSetResult","errors":[-32602,1001],"blocking":false},
  'schedule/list': {"method":"schedule/list","kind":"request","direction":"clientToServer","since":"2026-12","params":"ScheduleListParams","result":"ScheduleListResult","errors":[-32602],"blocking":false},
  'schedule/delete': {"method":"schedule/delete","kind":"request","direction":"clientToServer","since":"2026-12","params":"ScheduleDeleteParams","result":"EmptyResult","errors":[-32602,1010],"blocking":false},
  'events/event': {"method":"events/event","kind":"notification","direction":"serverToClient","since":"2026-11","params":"Event","errors":[],"blocking":false},
  '$/cancelRequest': {"method":"$/cancelRequest","kind":"notification","direction":"clientToServer","since":"2026-11","params":"CancelParams","errors":[],"blocking":false},
  'session/close': {"method":"session/close","kind":"notification","direction":"clientToServer","since":"2026-12","params":"EmptyParams","errors":[],"blocking":false},
  'session/state': {"method":"session/state","kind":"notification","direction":"serverToClient","since":"2026-12","params":"SessionStateParams","errors":[],"blocking":false},
} as const satisfies Record<RequestMethod | NotificationMethod, MethodDescriptor>;

/** Error codes from the spec's error registry. */
export const ErrorCodes = {
  /** The frame is not valid JSON (or not UTF-8). NDJSON: the connection survives. Content-Length: the connection is closed. */
  ParseError: -32700,
  /** Not a JSON-RPC 2.0 request object; batches (arrays) are refused with this code. */
  InvalidRequest: -32600,
  /** No such method. */
  MethodNotFound: -32601,
  /** The params violate the method's schema; the message names the field and data.field holds its JSON Pointer. */
  InvalidParams: -32602,
  /** An unexpected server failure. The message may carry a short detail (e.g. internal error: store unavailable) but never a stack trace; no data. */
  InternalError: -32603,
  /** Bad or malformed proof. Sent after a short delay with no detail; the connection is then closed. */
  AuthenticationFailed: -32001,
  /** A method other than session/hello and session/authenticate before a successful authenticate, or authenticate before hello; the connection is then closed. */
  NotAuthenticated: -32002,
  /** No version in common; data.supported lists the server's. The connection is then closed. */
  UnsupportedProtocolVersion: -32003,
  /** A frame exceeds the server's frame limit; data.limit holds it. The connection is then closed. */
  FrameTooLarge: -32004,
  /** The manager is shutting down and accepts no new work. */
  ShuttingDown: -32005,
  /** A blocked request was cancelled by $/cancelRequest. */
  RequestCancelled: -32800,
  /** The queue does not exist and the server does not create queues on first use. */
  QueueNotFound: 1001,
  /** The queue had no room for all the tasks before the timeout (timeout 0: at once), or the tasks can never fit: within the queue's maxsize and maxBytes and the manager's maxQueuedBytes. data.limit names the bound (maxsize, maxBytes or maxQueuedBytes) and data.max holds its value. */
  QueueFull: 1002,
  /** ack, nack or touch of a task this session does not hold (never leased, expired, released, or held by another session); data.ids lists them. Nothing in the request is applied. */
  LeaseUnknown: 1003,
  /** A task payload or result exceeds the server's payload limit; data.limit holds it. */
  PayloadTooLarge: 1004,
  /** A server limit (connections, subscriptions, batch size) is exceeded; data.limit names it and data.max holds its value. */
  LimitExceeded: 1005,
  /** The manager could not reach the store that holds the queues (a shared store such as Redis that is down or unreachable, §7.18): the request failed and changed nothing, unless §7.18 says otherwise; the session stays open and later requests may succeed. data.retryAfter, when present, is a hint in seconds. Only sessions that negotiated 2026-12 or later receive it; a 2026-11 session gets -32603 for the same failure. */
  StoreUnavailable: 1006,
  /** client/quiet or client/stop named a session that no manager of the store has connected now (it never existed, or it ended: a client that reconnects has a new session id). data.session holds the id. */
  SessionNotFound: 1007,
  /** schedule/delete of a name no schedule has; data.schedule holds the name. */
  ScheduleNotFound: 1010,
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * The registry row of each code: default message, for application errors the stable reason, and
 * `since`, the protocol version that introduced the code (a session of an older version never gets it).
 */
export const ERROR_REGISTRY: Readonly<Record<ErrorCode, { readonly name: string; readonly message: string; readonly reason?: string; readonly since: string }>> = {
  [-32700]: {"name":"ParseError","message":"parse error","since":"2026-11"},
  [-32600]: {"name":"InvalidRequest","message":"invalid request","since":"2026-11"},
  [-32601]: {"name":"MethodNotFound","message":"method not found","since":"2026-11"},
  [-32602]: {"name":"InvalidParams","message":"invalid params","since":"2026-11"},
  [-32603]: {"name":"InternalError","message":"internal error","since":"2026-11"},
  [-32001]: {"name":"AuthenticationFailed","message":"authentication failed","since":"2026-11"},
  [-32002]: {"name":"NotAuthenticated","message":"not authenticated","since":"2026-11"},
  [-32003]: {"name":"UnsupportedProtocolVersion","message":"unsupported protocol version","since":"2026-11"},
  [-32004]: {"name":"FrameTooLarge","message":"frame too large","since":"2026-11"},
  [-32005]: {"name":"ShuttingDown","message":"shutting down","since":"2026-11"},
  [-32800]: {"name":"RequestCancelled","message":"request cancelled","since":"2026-11"},
  [1001]: {"name":"QueueNotFound","message":"queue not found","reason":"queue_not_found","since":"2026-11"},
  [1002]: {"name":"QueueFull","message":"queue full","reason":"queue_full","since":"2026-11"},
  [1003]: {"name":"LeaseUnknown","message":"unknown or expired lease","reason":"lease_unknown","since":"2026-11"},
  [1004]: {"name":"PayloadTooLarge","message":"payload too large","reason":"payload_too_large","since":"2026-11"},
  [1005]: {"name":"LimitExceeded","message":"limit exceeded","reason":"limit_exceeded","since":"2026-11"},
  [1006]: {"name":"StoreUnavailable","message":"store unavailable","reason":"store_unavailable","since":"2026-12"},
  [1007]: {"name":"SessionNotFound","message":"session not found","reason":"session_not_found","since":"2026-12"},
  [1010]: {"name":"ScheduleNotFound","message":"schedule not found","reason":"schedule_not_found","since":"2026-12"},
};
