import type { RateLimit } from '../protocol/generated';

export type { RateLimit };

/**
 * One rate limit as the generic cell rate algorithm (GCRA) keeps it: a single number per
 * limited thing, its theoretical arrival time (TAT). A delivery may go at `now` when
 * TAT - tolerance <= now; it then moves TAT to max(TAT, now) + interval. With burst 1 the
 * deliveries are spaced `interval` = period / max apart; with burst B up to B go at once after
 * a quiet spell. Chosen over a token bucket because its state is one number (one Redis field
 * per key on a shared store) and it needs no refill step.
 */
export class Gcra {
  /** ms between deliveries at the steady rate. */
  readonly interval: number;
  /** ms a delivery may run ahead of the steady schedule: (burst - 1) intervals. */
  readonly tolerance: number;

  constructor(readonly limit: RateLimit) {
    this.interval = (limit.period * 1000) / limit.max;
    this.tolerance = (Math.min(limit.burst ?? 1, limit.max) - 1) * this.interval;
  }

  /** The earliest time (ms) a delivery may go, for a TAT. */
  allowedAt(tat: number): number {
    return tat - this.tolerance;
  }

  /** The TAT after a delivery at `now`. */
  after(tat: number, now: number): number {
    return Math.max(tat, now) + this.interval;
  }
}

/** The wire form a CLI writes as `10/s`, `2/5s`, `100/m`, `1/h` (period units s, m, h; an optional count before the unit). */
export function parseRate(text: string): RateLimit {
  const match = /^([1-9][0-9]*)\/([0-9]*\.?[0-9]*)(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a rate: write MAX/PERIOD, e.g. 10/s, 2/5s, 100/m`);
  const max = Number(match[1]);
  const count = match[2] === '' ? 1 : Number(match[2]);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[match[3] as 'ms' | 's' | 'm' | 'h'];
  const period = count * unit;
  if (!(period > 0) || period > 86400) throw new Error(`"${text}" is not a rate: its period must be more than 0 and at most a day`);
  return { max, period };
}

/** A rate as a person reads it: `10/s`, `1/5s`, `100/m`, with ` burst N` when it has one. */
export function formatRate(rate: RateLimit): string {
  const period = rate.period === 1 ? 's' : rate.period === 60 ? 'm' : rate.period === 3600 ? 'h' : `${rate.period}s`;
  return `${rate.max}/${period}${rate.burst !== undefined && rate.burst > 1 ? ` burst ${rate.burst}` : ''}`;
}
