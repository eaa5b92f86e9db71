/**
 * The semantic reasons the engine refuses an operation; the server maps each to one wire code.
 * store_unavailable: a backend on a shared store (Redis) cannot reach it; nothing was changed
 * that the answer would report.
 */
export type EngineErrorReason = 'queue_not_found' | 'queue_full' | 'lease_unknown' | 'store_unavailable';

/** The bound a put did not fit (queue_full): the queue's maxsize or maxBytes, or the manager's maxQueuedBytes. */
export type QueueLimit = 'maxsize' | 'maxBytes' | 'maxQueuedBytes';

/** An expected refusal by the engine, with a reason and details; never an unexpected failure. */
export class EngineError extends Error {
  constructor(
    readonly reason: EngineErrorReason,
    message: string,
    readonly details: { queue?: string; ids?: string[]; maxsize?: number; limit?: QueueLimit; max?: number } = {},
  ) {
    super(message);
    this.name = 'EngineError';
  }
}
