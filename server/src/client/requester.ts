import { QueueGetRequest, TaskAckRequest, TaskNackRequest, TaskProgressRequest, TaskTouchRequest, type RequestHandle } from '../protocol/generated';
import type { Capabilities, GetParams, Limits, Nack, ProgressParams, RequestMap, RequestMethod, SessionState, Task } from '../protocol/generated';

/**
 * What a queue handle and a received task need of a connection to the manager: a way to send a
 * request, the limits it announced, and whether a dropped connection will come back.
 * TaskwireClient implements it; nothing else in the client depends on the whole client.
 */
export interface Requester {
  /** Sends a request; waits for a reconnect in progress. */
  request<M extends RequestMethod>(method: RequestHandle<M>, params: RequestMap[M]['params'], signal?: AbortSignal): Promise<RequestMap[M]['result']>;
  /** The limits the manager announced (batch size, frame and payload sizes). */
  readonly limits: Limits;
  /** What the manager announced it can do (ackNext, …). */
  readonly capabilities: Capabilities;
  /** Closed for good: by the caller, or by an error no reconnect can fix. */
  readonly isClosed: boolean;
  /** True when a dropped connection will be re-established. */
  readonly willReconnect: boolean;
  /** Resolves when connected; rejects when the client is closed for good. */
  waitUntilConnected(): Promise<void>;
  /** Reports a task whose lease was gone when it was settled (it will be delivered again). */
  leaseLost(task: Task, error: Error): void;
  /** What an operator told the session: active, quiet (take no task) or stopping (finish, then close), spec §7.20. */
  readonly workState: SessionState;
  /** Calls `listener` with each change of workState; returns a function that stops it. */
  onWorkState(listener: (state: SessionState) => void): () => void;
  /** Aborted as soon as the session is told to take no task; a new one once a new session is active. */
  readonly workSignal: AbortSignal;
  /** Closes the client (after session/close): what a stopped worker loop does last. */
  close(): void;
  /** Resolves once the client is closed for good. */
  whenClosed(): Promise<void>;
}

// The settle requests, built in one place for QueueHandle and ReceivedTask.

/** Completes one task, with an optional result for its replyTo queue. */
export async function ackTask(requester: Requester, id: string, result?: unknown): Promise<void> {
  await requester.request(TaskAckRequest, { acks: [result === undefined ? { id } : { id, result }] });
}

/**
 * Completes one task and takes the next tasks: in one exchange when the manager can
 * (capabilities.ackNext, spec §5.9.1), otherwise with an ack and then a get, to the same effect.
 * An abort ends the wait for the next tasks; the ack stands and the answer is []. `acked` is
 * called once the ack is known to be applied (a get that fails after it does not undo it).
 */
export async function ackAndGetNext(requester: Requester, id: string, result: unknown, next: GetParams, signal?: AbortSignal, acked: () => void = () => {}): Promise<Task[]> {
  const acks = [result === undefined ? { id } : { id, result }];
  // Already aborted: the ack is still owed, the next tasks are not wanted.
  if (signal?.aborted) {
    await requester.request(TaskAckRequest, { acks });
    acked();
    return [];
  }
  if (requester.capabilities.ackNext === true) {
    const answer = await requester.request(TaskAckRequest, { acks, next }, signal);
    acked();
    return answer.tasks ?? [];
  }
  await requester.request(TaskAckRequest, { acks });
  acked();
  if (signal?.aborted) return [];
  try {
    return (await requester.request(QueueGetRequest, next, signal)).tasks;
  } catch (error) {
    if (signal?.aborted) return [];
    throw error;
  }
}

/** Gives one task back for a retry, or with `retry: false` to the dead-letter queue. */
export async function nackTask(requester: Requester, id: string, options: Omit<Nack, 'id'> = {}): Promise<void> {
  await requester.request(TaskNackRequest, { nacks: [{ id, ...options }] });
}

/** Extends leases by `ttr` seconds (default: each lease's own length); resolves with the earliest new lease end. */
export async function touchTasks(requester: Requester, ids: string[], ttr?: number): Promise<string> {
  return (await requester.request(TaskTouchRequest, ttr === undefined ? { ids } : { ids, ttr })).leaseUntil;
}

/**
 * Reports how far the holder got with a task (protocol 2026-12, spec §5.20); the manager renews
 * the lease as a touch does. Resolves with the new lease end.
 */
export async function reportProgress(requester: Requester, id: string, report: Omit<ProgressParams, 'id'>): Promise<string> {
  return (await requester.request(TaskProgressRequest, { id, ...report })).leaseUntil;
}
