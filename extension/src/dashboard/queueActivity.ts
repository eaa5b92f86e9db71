// The dashboard's memory: what each queue looked like, one sample a step, over a sliding window.
// Plain TypeScript (no `vscode` import), so the unit tests run it with a clock they choose.

/** A queue's task counts, as queue/list reports them. */
export interface QueueDepth {
  ready: number;
  leased: number;
  delayed: number;
  dead: number;
}

/** Events per second over one step. */
export interface QueueRates {
  puts: number;
  acks: number;
  /** Deliveries that ended without an ack: nacks, expired leases and released leases. */
  failures: number;
}

export const DEPTH_STATES = ['ready', 'leased', 'delayed', 'dead'] as const;
export const RATE_KINDS = ['puts', 'acks', 'failures'] as const;

/** Which rate an event kind counts towards; other kinds (get, dead, purge, client-…) count nowhere. */
const RATE_OF_EVENT: Readonly<Record<string, keyof QueueRates>> = {
  put: 'puts',
  ack: 'acks',
  nack: 'failures',
  expired: 'failures',
  released: 'failures',
};

/** The rates of a queue without events in a step, shared (sampled queues are mostly idle). */
const NO_EVENTS: QueueRates = Object.freeze({ puts: 0, acks: 0, failures: 0 });

/** One queue in one step: its last known depth (null before the first queue/list) and its rates. */
export interface QueueSample {
  depth: QueueDepth | null;
  rates: QueueRates;
}

/** One step: when it ended and every queue known then. */
interface Step {
  at: number;
  queues: Map<string, QueueSample>;
}

/** A queue's history, aligned with `ActivitySnapshot.times` (null where the queue was unknown). */
export interface QueueHistory {
  queue: string;
  samples: (QueueSample | null)[];
}

/** What the dashboard draws: every queue over the window, oldest step first. */
export interface ActivitySnapshot {
  windowMs: number;
  stepMs: number;
  /** When each step ended (ms since the epoch), oldest first. */
  times: number[];
  /** Sorted by name. */
  queues: QueueHistory[];
}

export interface ActivityOptions {
  /** How far back the history goes. */
  windowMs: number;
  /** How long one sample covers; `step()` is expected about this often. */
  stepMs: number;
}

/**
 * Samples every queue once per step into a ring of steps covering the window: the depth last
 * read from the manager (queue/list) and the puts, acks and failures counted from events since
 * the previous step, as rates over the time the step really took (a late timer does not inflate
 * them). Counting events in buckets is also what bounds the cost: a thousand events a second are
 * a thousand increments and one sample, whatever the dashboard does with it.
 */
export class QueueActivity {
  private steps: Step[] = [];
  /** Index of the oldest step in `steps` once the ring is full. */
  private oldest = 0;
  private capacity: number;
  private readonly counting = new Map<string, QueueRates>();
  private depths = new Map<string, QueueDepth>();
  private lastStepAt: number | undefined;
  readonly stepMs: number;

  constructor(options: ActivityOptions) {
    if (!(options.stepMs > 0)) throw new RangeError(`stepMs must be positive, not ${options.stepMs}`);
    this.stepMs = options.stepMs;
    this.capacity = QueueActivity.stepsIn(options.windowMs, options.stepMs);
  }

  get windowMs(): number {
    return this.capacity * this.stepMs;
  }

  /** Counts an event (any kind; those that are no rate are ignored). */
  countEvent(kind: string, queue: string | undefined): void {
    const rate = RATE_OF_EVENT[kind];
    if (rate === undefined || queue === undefined) return;
    let rates = this.counting.get(queue);
    if (!rates) this.counting.set(queue, (rates = { puts: 0, acks: 0, failures: 0 }));
    rates[rate] += 1;
  }

  /** The queues as the manager last listed them; a queue left out has gone (purged, or another manager). */
  setDepths(queues: readonly (QueueDepth & { queue: string })[]): void {
    this.depths = new Map(queues.map((q) => [q.queue, { ready: q.ready, leased: q.leased, delayed: q.delayed, dead: q.dead }]));
  }

  /**
   * Closes the current step at `now`: one sample per queue that is listed or had events in it.
   * The first step only starts the clock for rates (there is nothing to divide by yet), so its
   * rates are counted over one nominal step.
   */
  step(now: number): void {
    const seconds = Math.max(now - (this.lastStepAt ?? now - this.stepMs), 1) / 1000;
    this.lastStepAt = now;
    const queues = new Map<string, QueueSample>();
    for (const [queue, depth] of this.depths) queues.set(queue, { depth, rates: NO_EVENTS });
    for (const [queue, counts] of this.counting) {
      const rates = { puts: counts.puts / seconds, acks: counts.acks / seconds, failures: counts.failures / seconds };
      const sample = queues.get(queue);
      if (sample) sample.rates = rates;
      else queues.set(queue, { depth: null, rates });
    }
    this.counting.clear();
    this.push({ at: now, queues });
  }

  /** Changes how far back the history goes, keeping the newest steps. */
  setWindow(windowMs: number): void {
    const kept = this.ordered();
    this.capacity = QueueActivity.stepsIn(windowMs, this.stepMs);
    this.steps = kept.slice(-this.capacity);
    this.oldest = 0;
  }

  /** Forgets everything (another manager, or none). */
  clear(): void {
    this.steps = [];
    this.oldest = 0;
    this.counting.clear();
    this.depths = new Map();
    this.lastStepAt = undefined;
  }

  snapshot(): ActivitySnapshot {
    const steps = this.ordered();
    const names = new Set<string>();
    for (const step of steps) for (const queue of step.queues.keys()) names.add(queue);
    const queues = [...names].sort((a, b) => a.localeCompare(b)).map((queue) => ({ queue, samples: steps.map((step) => step.queues.get(queue) ?? null) }));
    return { windowMs: this.windowMs, stepMs: this.stepMs, times: steps.map((s) => s.at), queues };
  }

  private push(step: Step): void {
    if (this.steps.length < this.capacity) {
      this.steps.push(step);
      return;
    }
    this.steps[this.oldest] = step;
    this.oldest = (this.oldest + 1) % this.capacity;
  }

  private ordered(): Step[] {
    return [...this.steps.slice(this.oldest), ...this.steps.slice(0, this.oldest)];
  }

  private static stepsIn(windowMs: number, stepMs: number): number {
    if (!(windowMs >= stepMs)) throw new RangeError(`the window (${windowMs} ms) must hold at least one step of ${stepMs} ms`);
    return Math.floor(windowMs / stepMs);
  }
}
