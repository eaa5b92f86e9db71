import type { GetRequest, PutDone, PutRequest, RawTask } from './types';

/**
 * Delivers tasks to a waiting getter's session. Returns false when the session is gone,
 * so the engine takes the tasks back: a dead waiter never swallows a task.
 */
export type Deliver = (tasks: RawTask[]) => boolean;

export interface GetWaiter {
  readonly kind: 'get';
  readonly request: GetRequest;
  readonly deliver: Deliver;
  active: boolean;
  timeoutAt: number | undefined;
}

export interface PutWaiter {
  readonly kind: 'put';
  readonly request: PutRequest;
  /** The payload bytes of each task, and their sum: what the put needs of the byte bounds. */
  readonly sizes: number[];
  readonly bytes: number;
  readonly done: PutDone;
  active: boolean;
  timeoutAt: number | undefined;
}

export interface JoinWaiter {
  readonly kind: 'join';
  readonly queue: string;
  readonly session: string | undefined;
  readonly done: (joined: boolean) => void;
  active: boolean;
  timeoutAt: number | undefined;
}

export type AnyWaiter = GetWaiter | PutWaiter | JoinWaiter;
