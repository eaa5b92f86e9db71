import type { GetRequest, PutDone, PutRequest, SessionId } from '../engine/types';
import type { Deliver } from '../engine/waiters';

// What a manager keeps of its own on a Redis store: the requests of its sessions that wait
// (per queue, in the order they came) and the leases its sessions hold.

export interface GetWaiter {
  kind: 'get';
  request: GetRequest;
  deliver: Deliver;
  active: boolean;
  timer?: NodeJS.Timeout;
}

export interface PutWaiter {
  kind: 'put';
  request: PutRequest;
  done: PutDone;
  active: boolean;
  /** Its script is running: a timeout then waits for its answer instead of answering queue_full. */
  running: boolean;
  timedOut: boolean;
  timer?: NodeJS.Timeout;
}

export interface JoinWaiter {
  kind: 'join';
  queue: string;
  timeout: number | undefined;
  session: SessionId | undefined;
  done: (joined: boolean) => void;
  active: boolean;
  /** The queue's emptiness counter when the wait began: a larger one means it was empty since. */
  emptied?: number;
  timer?: NodeJS.Timeout;
}

export type AnyWaiter = GetWaiter | PutWaiter | JoinWaiter;

export interface HeldLease {
  queue: string;
  /** When the lease ends (ms, Redis's clock), as of its get or last touch. */
  until: number;
  /** The task's replyTo: its ack may put the result there in the same script (redisQueues.ts). */
  replyTo?: string;
  /** When the lease began (ms, Redis's clock): the ack event carries it, for the processing-time metric. */
  since?: number;
}

/** The waiting requests of one queue on this manager, served in the order they came, one pass at a time. */
export interface LocalQueue {
  name: string;
  family: string;
  getters: GetWaiter[];
  putters: PutWaiter[];
  joiners: JoinWaiter[];
  serving: boolean;
  /** A wake-up came while serving: serve again. */
  again: boolean;
  /** The queue may have ready tasks again: its waiting gets look too (a put or a wake-up of kind 'f' serves only puts and joins). */
  getsToo: boolean;
  /** The highest ready version of the queue this manager has seen (luaCommon.ts, finish), from replies and wake-ups. */
  seenVersion: number;
  /** A version at which the queue had no ready task, seen while this manager was subscribed to its wake-ups. */
  emptyAt?: number;
}

/**
 * No ready task in the queue, as far as a wake-up could have said otherwise: its last news (a
 * reply or a wake-up of the newest version seen) found none. A get that may wait then waits for
 * a wake-up without a script; one that may not (timeout 0) still looks.
 */
export function knownEmpty(queue: LocalQueue): boolean {
  return queue.emptyAt !== undefined && queue.emptyAt === queue.seenVersion;
}

export function firstActive<W extends { active: boolean }>(waiters: W[]): W | undefined {
  while (waiters.length > 0 && !waiters[0]!.active) waiters.shift();
  return waiters[0];
}
