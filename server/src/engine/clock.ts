/** Where the engine reads the time: injected so leases, delays and retries are testable without sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to; for deterministic tests. */
export class ManualClock implements Clock {
  constructor(private time = Date.UTC(2026, 10, 1)) {}
  now(): number {
    return this.time;
  }
  set(ms: number): void {
    this.time = ms;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}
