/** setTimeout cannot wait longer than this; a later wake-up is reached in several hops. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * One real timer for the earliest of many due times (a store's schedule ticks): `wake(at)`
 * makes sure `fire` runs no later than `at`; fire re-arms it for whatever is due next. No
 * polling: between due times nothing runs.
 */
export class WakeTimer {
  private handle: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  private stopped = false;

  constructor(private readonly fire: () => void) {}

  readonly wake = (at: number | undefined): void => {
    if (at === undefined || this.stopped || at >= this.armedAt) return;
    if (this.handle) clearTimeout(this.handle);
    this.armedAt = at;
    this.handle = setTimeout(this.run, Math.min(Math.max(0, at - Date.now()), MAX_TIMEOUT_MS));
    // A manager with only schedules left still exits when it is told to stop.
    this.handle.unref?.();
  };

  stop(): void {
    this.stopped = true;
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    this.armedAt = Infinity;
  }

  private readonly run = (): void => {
    this.handle = undefined;
    this.armedAt = Infinity;
    this.fire();
  };
}
