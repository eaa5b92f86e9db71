import type { Ack, EventKind, QueueName, RateLimit, Task, TaskSpec } from '../protocol/generated';
import type { JsonText } from '../protocol/jsonText';
import type { EngineError } from './engineError';

// Payloads are opaque (../protocol/jsonText.ts): the engine, and every QueueBackend, holds a
// task's payload and an ack's result as the JSON text the client sent, and hands that text
// back; it never parses them.

/** A task to put: a TaskSpec whose payload is its JSON text. */
export type RawTaskSpec = Omit<TaskSpec, 'payload'> & { payload: JsonText };

/** An ack: its result (if any) is its JSON text. */
export type RawAck = Omit<Ack, 'result'> & { result?: JsonText };

/** A task as delivered (get, peek): its payload is the JSON text it was put with, unchanged. */
export type RawTask = Omit<Task, 'payload'> & { payload: JsonText };

/** Engine-wide defaults; every one can be overridden per queue (and some per task). */
export interface EngineDefaults {
  /** Lease length in seconds. */
  ttr: number;
  /** Deliveries before dead-lettering; 0 = unlimited. */
  maxAttempts: number;
  /** First retry delay after a nack without delay, in seconds; doubles per attempt. */
  retryBackoffBase: number;
  /** Longest retry back-off, in seconds. */
  retryBackoffCap: number;
  /**
   * Manager crashes a task may be leased through before a restart dead-letters it as a
   * possible poison task (one that kills the manager); 0 = never. A crash never uses up a
   * task's maxAttempts: see Engine.restore.
   */
  maxCrashes: number;
}

export const DEFAULTS: EngineDefaults = {
  ttr: 60,
  maxAttempts: 5,
  retryBackoffBase: 1,
  retryBackoffCap: 300,
  maxCrashes: 3,
};

/** Options of one queue as declared. */
export interface QueueOptions {
  /** 0 = unbounded. */
  maxsize?: number;
  /** Bound on the queue's payload bytes (payloadBytes.ts); 0 = unbounded. */
  maxBytes?: number;
  ttr?: number;
  maxAttempts?: number;
  /** null: dead tasks are dropped. */
  deadLetter?: QueueName | null;
  /** Limits on deliveries (spec §7.22): null removes one, keyConcurrency 0 removes the cap. */
  rate?: RateLimit | null;
  keyRate?: RateLimit | null;
  keyConcurrency?: number;
}

/** An opaque session identity: leases and waiters belong to one. */
export type SessionId = string;

/** What the holder of a lease reports with task/progress (spec §5.20): a percent and/or a message, and any JSON detail. */
export interface ProgressReport {
  percent?: number;
  message?: string;
  detail?: unknown;
}

/** A task a session holds, as manager/clients lists it (spec §5.15); `leaseUntil` in ms. */
export interface HeldTaskRef {
  id: string;
  queue: QueueName;
  leaseUntil: number;
}

/** An observation the engine reports; the server turns it into events/event notifications. */
export interface EngineEvent {
  kind: Exclude<EventKind, 'client-connected' | 'client-disconnected'>;
  queue: QueueName;
  taskId?: string;
  attempt?: number;
  payload?: JsonText;
  result?: JsonText;
  error?: string;
  count?: number;
  /** On `progress`: what the holder reported (spec §5.20). */
  progress?: ProgressReport;
  /** On `scheduled`: the schedule that ticked (spec §5.25). */
  schedule?: string;
  /** The session that caused it, when one did. */
  session?: SessionId;
  /** Milliseconds since the epoch. */
  at: number;
  /**
   * For the metrics, never sent on the wire (ms since the epoch): on a get, when the task became
   * ready; on an ack, when its lease began.
   */
  since?: number;
}

/**
 * How a put ends: the ids, one per task spec, or the refusal. `duplicates` (present when a spec
 * carried a uniqueness key, spec §7.21): per spec, true when its key was held and its id is the
 * holder's, no task added.
 */
export type PutDone = (outcome: string[] | EngineError, duplicates?: boolean[]) => void;

export interface PutRequest {
  queue: QueueName;
  tasks: RawTaskSpec[];
  /** Seconds; undefined waits as long as it takes, 0 never waits. */
  timeout?: number;
  session?: SessionId;
}

export interface GetRequest {
  queue: QueueName;
  max: number;
  timeout?: number;
  ttr?: number;
  autoAck: boolean;
  session: SessionId;
}

/** A request that is waiting; cancel() withdraws it without calling its callback. */
export interface Waiter {
  cancel(): void;
}
