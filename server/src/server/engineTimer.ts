import type { Engine } from '../engine';

/** setTimeout cannot wait longer than this; a longer deadline is reached in several hops. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Drives the engine's deadlines (delays, lease expiries, waiter timeouts) with one real timer. */
export class EngineTimer {
  private handle: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  private engine: Engine | undefined;

  attach(engine: Engine): void {
    this.engine = engine;
  }

  /** Engine's onWake: make sure the timer fires no later than `at`. */
  readonly wake = (at: number): void => {
    if (at >= this.armedAt) return;
    if (this.handle) clearTimeout(this.handle);
    this.armedAt = at;
    this.handle = setTimeout(this.fire, Math.min(Math.max(0, at - Date.now()), MAX_TIMEOUT_MS));
  };

  stop(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    this.armedAt = Infinity;
  }

  private readonly fire = (): void => {
    this.handle = undefined;
    this.armedAt = Infinity;
    const engine = this.engine!;
    engine.advance();
    const next = engine.nextDeadline();
    if (next !== undefined) this.wake(next);
  };
}
