import type { EngineEvent } from '../engine';
import type { MaybePromise } from '../engine/queueBackend';
import type { ManagerStats, QueueActivity, QueueStats } from '../protocol/generated';
import { packageVersion } from '../version';
import type { SessionCounters } from './session';

/** Rates are measured over this window. */
export const RATE_WINDOW_MS = 60_000;
/** How often queue totals are sampled for the rates. */
const SAMPLE_INTERVAL_MS = 5_000;

/** What the counters read from the engine (a backend on a remote store answers later). */
export interface CountedEngine {
  listQueues(): MaybePromise<QueueStats[]>;
  onEvent(listener: (event: EngineEvent) => void): () => void;
}

interface Sample {
  at: number;
  /** Per queue: [totals.put, totals.acked]. */
  totals: Map<string, [number, number]>;
}

/**
 * Manager-wide counters for `manager/stats`. Sessions, the server and the event hub bump the
 * plain fields; queue rates come from samples of the queues' totals every few seconds, so the
 * hot paths (put, get, ack) do no extra work.
 */
export class ManagerCounters implements SessionCounters {
  readonly startedAt: number;
  connectionsTotal = 0;
  connectionsRefused = 0;
  connectionsDropped = 0;
  tlsFailures = 0;
  authFailures = 0;
  framesReceived = 0;
  framesSent = 0;
  bytesReceived = 0;
  bytesSent = 0;
  eventsSent = 0;
  eventsDropped = 0;
  /** Leases given back by releaseSession (disconnect, shutdown). */
  leasesReleased = 0;
  /** Every lease that ended without ack or nack: expired, or released. */
  private leaseEnds = 0;
  private samples: Sample[] = [];
  /** The queues as last listed, for a backend whose listQueues answers later. */
  private lastListed: QueueStats[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: CountedEngine,
    /** Milliseconds since the epoch (injectable for tests). */
    private readonly clock: () => number = Date.now,
  ) {
    this.startedAt = clock();
    engine.onEvent((event) => {
      if (event.kind === 'expired' || event.kind === 'released') this.leaseEnds++;
    });
  }

  /** Starts sampling queue totals (at listen). */
  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  snapshot(connections: { current: number; sessions: number }): ManagerStats {
    const now = this.clock();
    const listed = this.engine.listQueues();
    // A backend that answers later: the queues as of the last sample (at most a few seconds old).
    const queues = Array.isArray(listed) ? listed : this.lastListed;
    const baseline = this.baseline(now);
    const window = Math.max(0, now - baseline.at) / 1000;
    const rate = (now: number, then: number) => (window > 0 ? round(Math.max(0, now - then) / window) : 0);
    let held = 0;
    const activity: QueueActivity[] = queues.map((q) => {
      held += q.leased;
      const [put, acked] = baseline.totals.get(q.queue) ?? [0, 0];
      return {
        queue: q.queue,
        ready: q.ready,
        leased: q.leased,
        delayed: q.delayed,
        putsPerSecond: rate(q.totals.put, put),
        acksPerSecond: rate(q.totals.acked, acked),
      };
    });
    const memory = process.memoryUsage();
    return {
      version: packageVersion,
      startedAt: new Date(this.startedAt).toISOString(),
      uptime: round(Math.max(0, now - this.startedAt) / 1000),
      connections: {
        current: connections.current,
        sessions: connections.sessions,
        total: this.connectionsTotal,
        refused: this.connectionsRefused,
        dropped: this.connectionsDropped,
        tlsFailures: this.tlsFailures,
      },
      authFailures: this.authFailures,
      frames: { received: this.framesReceived, sent: this.framesSent },
      bytes: { received: this.bytesReceived, sent: this.bytesSent },
      events: { sent: this.eventsSent, dropped: this.eventsDropped },
      leases: { held, expired: Math.max(0, this.leaseEnds - this.leasesReleased), released: this.leasesReleased },
      memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external },
      rateWindow: round(window),
      queues: activity,
    };
  }

  /** Records every queue's totals now (every few seconds once started). */
  sample(): void {
    const now = this.clock();
    const listed = this.engine.listQueues();
    if (Array.isArray(listed)) this.record(now, listed);
    // A failure (the store away) skips this sample; the next one comes in a few seconds.
    else
      listed.then(
        (queues) => this.record(now, queues),
        () => {},
      );
  }

  private record(now: number, queues: QueueStats[]): void {
    this.lastListed = queues;
    const totals = new Map<string, [number, number]>();
    for (const q of queues) totals.set(q.queue, [q.totals.put, q.totals.acked]);
    this.samples.push({ at: now, totals });
    // Keep the newest sample at or before the window's start, and every one after it.
    while (this.samples.length > 1 && this.samples[1]!.at <= now - RATE_WINDOW_MS) this.samples.shift();
  }

  /** The oldest sample within the window (before the first sample: the start, with nothing counted). */
  private baseline(now: number): Sample {
    const inWindow = this.samples.find((s) => s.at >= now - RATE_WINDOW_MS);
    return inWindow ?? this.samples.at(-1) ?? { at: this.startedAt, totals: new Map() };
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
