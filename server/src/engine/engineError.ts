/** The semantic reasons the engine refuses an operation; the server maps each to one wire code. */
export type EngineErrorReason = 'queue_not_found' | 'queue_full' | 'lease_unknown';

/** An expected refusal by the engine, with a reason and details; never an unexpected failure. */
export class EngineError extends Error {
  constructor(
    readonly reason: EngineErrorReason,
    message: string,
    readonly details: { queue?: string; ids?: string[]; maxsize?: number } = {},
  ) {
    super(message);
    this.name = 'EngineError';
  }
}
