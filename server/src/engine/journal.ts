import type { JsonText } from '../protocol/jsonText';
import type { ResolvedQueueOptions } from './queueState';
import type { UniqueHold } from './uniqueKeys';
import type { ScheduleImage } from './schedules';

/**
 * The engine ↔ store boundary. The engine stays free of I/O: it reports every change of its
 * durable state as one of these records to an optional sink, and a store keeps them (the file
 * journal in ../store) and hands back an EngineState to restore() after a restart.
 *
 * Records describe results, not requests: a replay needs no clock, no defaults and no engine,
 * so a record written by one version of the rules replays the same under another.
 */

/** A task as a store keeps it. Times are ms since the epoch. */
export interface TaskImage {
  id: string;
  /** The queue it is on now (a dead-letter queue after dead-lettering). */
  queue: string;
  /** Its JSON text, as the client sent it (a store writes it into its records as it is). */
  payload: JsonText;
  priority: number;
  enqueuedAt: number;
  attempt: number;
  ttr?: number;
  replyTo?: string;
  maxAttempts?: number;
  lastError?: string;
  deadLetteredFrom?: string;
  /** Set while the task is delayed: when it becomes ready. */
  readyAt?: number;
  /** Set while the task is leased (only in an EngineState: leases do not survive a restart). */
  leased?: true;
  /** Manager crashes the task was leased through (absent: none). */
  crashes?: number;
  /** Its uniqueness key (spec §7.21), its ttl as a deadline; absent in journals written before keys existed. */
  unique?: UniqueHold;
  /** Its rate key (spec §7.22), when it has one. */
  rateKey?: string;
}

/** A queue and its options with every default filled in. */
export interface QueueImage {
  name: string;
  options: ResolvedQueueOptions;
  /** Set while the queue is paused (spec §7.19); absent: it delivers. */
  paused?: true;
}

/**
 * Everything a store keeps: the queues in creation order, and per queue its tasks — ready ones
 * in delivery order, then delayed ones by due time, then leased ones in lease order.
 */
export interface EngineState {
  queues: QueueImage[];
  tasks: TaskImage[];
  /** Since protocol 2026-12 (absent in what older versions wrote): the schedules, each as it is now. */
  schedules?: ScheduleImage[];
}

/** One change of durable state, in the order the engine made it. */
export type JournalRecord =
  /** A queue was created or its options changed. */
  | { op: 'queue'; queue: string; options: ResolvedQueueOptions }
  /** A queue was paused (true) or resumed (false): spec §7.19. Absent from journals written before 0.1.0's pause. */
  | { op: 'pause'; queue: string; paused: boolean }
  /** Tasks entered a queue (queue/put or a routed result): ready, or delayed until readyAt. */
  | { op: 'put'; tasks: TaskImage[] }
  /** Ready tasks were leased to a session. */
  | { op: 'lease'; ids: string[] }
  /**
   * A lease ended without an ack (nack, expiry, release): the task is back with this attempt,
   * ready or delayed until readyAt; with `head` (a release, spec §7.3) at the head of its
   * priority level, else at its tail.
   */
  | { op: 'retry'; id: string; attempt: number; readyAt?: number; lastError?: string; head?: true }
  /** Delayed tasks became ready. */
  | { op: 'due'; ids: string[] }
  /** A task moved to a dead-letter queue, where it is ready. */
  | { op: 'dead'; id: string; queue: string; from: string; lastError?: string }
  /** Tasks left for good: acked, or delivered with autoAck. */
  | { op: 'ack'; ids: string[] }
  /** Tasks left for good: purged, or dead with no dead-letter queue to go to. */
  | { op: 'drop'; ids: string[] }
  /** A schedule was set, or one of its ticks ran (its last run and next tick): the schedule as it is now. */
  | { op: 'schedule'; schedule: ScheduleImage }
  /** A schedule was deleted. */
  | { op: 'unschedule'; name: string };

/** Where the engine reports its changes; append must not throw (a store that fails reports it elsewhere). */
export interface JournalSink {
  append(record: JournalRecord): void;
}

/** What restore() put back. */
export interface RestoreSummary {
  queues: number;
  tasks: number;
  /** Tasks that were leased when the manager crashed: back with attempt + 1 (or dead-lettered after maxCrashes). */
  leasesReturned: number;
}
