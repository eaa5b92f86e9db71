import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineEvent } from '../engine';
import type { MaybePromise } from '../engine/queueBackend';
import type { ClientInfo, ClientRole, QueueStats } from '../protocol/generated';
import type { ManagerCounters } from '../server/counters';
import { packageVersion } from '../version';
import { BucketHistogram, type HistogramSeries } from './bucketHistogram';

// The manager's Prometheus metrics (docs/metrics.md), in a registry of their own: several
// managers in one process (tests, embedders) never share or collide on prom-client's global one.
//
// Where each value comes from, so that nothing here keeps a second count that could drift:
// - queue gauges: the backend's queue stats, read when Prometheus scrapes (on Redis, the shared
//   queues as every manager sees them);
// - per-queue counters and the two task histograms: the backend's events (onEvent), the same
//   stream `taskwire tail` shows; the counters and histograms add up in plain numbers per queue
//   and reach prom-client when scraped, so a task costs a few increments and allocates nothing;
// - sessions, connections, authentication failures: the server's own counters (counters.ts)
//   and session list, read when scraped.

/** What the metrics read from the manager (TaskwireServer has all of it). */
export interface MetricsSource {
  readonly managerId: string;
  readonly queues: {
    listQueues(): MaybePromise<QueueStats[]>;
    onEvent(listener: (event: EngineEvent) => void): () => void;
  };
  readonly counters: Pick<ManagerCounters, 'authFailures' | 'connectionsTotal' | 'connectionsRefused' | 'eventsDropped'>;
  readonly connectionCount: number;
  readonly listening: boolean;
  readonly storeFailure: Error | undefined;
  clients(): ClientInfo[];
}

/** Which store the manager runs on, for taskwire_manager_info. */
export type StoreKind = 'memory' | 'journal' | 'redis';

export const METRIC_PREFIX = 'taskwire_';
const ROLES: readonly ClientRole[] = ['worker', 'producer', 'monitor'];
const QUEUE_STATES = ['ready', 'leased', 'delayed', 'dead'] as const;
/** From a millisecond to an hour: tasks wait and run anywhere in between. */
const TASK_SECONDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** A fsync or a Redis round trip: a tenth of a millisecond to a second. */
const IO_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/** How long /readyz and a scrape wait for the store before calling it unreachable. */
const STORE_TIMEOUT_MS = 2000;

/** One queue's event counts since the manager started, and its histograms' children. */
class QueueCounts {
  puts = 0;
  deliveries = 0;
  acks = 0;
  nacks = 0;
  expiries = 0;
  releases = 0;
  deadLetters = 0;
  constructor(
    readonly wait: HistogramSeries,
    readonly processing: HistogramSeries,
  ) {}
}

/** The gauges read from the queue stats at each scrape. */
interface QueueGauges {
  tasks: Gauge<'queue' | 'state'>;
  getters: Gauge<'queue'>;
  paused: Gauge<'queue'>;
  storeUp: Gauge;
}

type CountName = 'puts' | 'deliveries' | 'acks' | 'nacks' | 'expiries' | 'releases' | 'deadLetters';

export class ManagerMetrics {
  readonly registry = new Registry();
  private readonly counts = new Map<string, QueueCounts>();
  private readonly waitSeconds: BucketHistogram;
  private readonly processingSeconds: BucketHistogram;
  private readonly stopObserving: () => void;

  constructor(
    private readonly source: MetricsSource,
    store: StoreKind,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    new Gauge({
      name: 'taskwire_manager_info',
      help: 'Always 1: this manager, its version and its store (join on manager to tell managers apart).',
      labelNames: ['manager', 'version', 'store'],
      registers,
    }).set({ manager: source.managerId, version: packageVersion, store }, 1);

    // The gauges of the queue stats share one read of them per scrape (prom-client collects every
    // metric of a scrape at once).
    let pending: Promise<void> | undefined;
    const collectQueues = (): Promise<void> => (pending ??= this.readQueues({ tasks, getters, paused, storeUp }).finally(() => setImmediate(() => (pending = undefined))));
    const tasks: Gauge<'queue' | 'state'> = new Gauge({
      name: 'taskwire_queue_tasks',
      help: 'Tasks in the queue by state (dead: in its dead-letter queue), from the queue stats when scraped; on Redis, the shared queue.',
      labelNames: ['queue', 'state'],
      registers,
      collect: collectQueues,
    });
    const getters: Gauge<'queue'> = new Gauge({
      name: 'taskwire_queue_waiting_getters',
      help: 'Blocked gets waiting on the queue, as its stats report them.',
      labelNames: ['queue'],
      registers,
      collect: collectQueues,
    });
    const paused: Gauge<'queue'> = new Gauge({
      name: 'taskwire_queue_paused',
      help: '1 while the queue is paused (queue/pause: puts accepted, nothing delivered), else 0; on Redis, for every manager.',
      labelNames: ['queue'],
      registers,
      collect: collectQueues,
    });
    const storeUp: Gauge = new Gauge({ name: 'taskwire_store_up', help: '1 when the queue stats could be read when scraped, 0 when the store did not answer.', registers, collect: collectQueues });

    this.perQueueCounter('taskwire_puts_total', 'Tasks put into the queue through this manager (results routed to it included).', 'puts');
    this.perQueueCounter('taskwire_deliveries_total', 'Tasks of the queue delivered by gets through this manager (each attempt counts).', 'deliveries');
    this.perQueueCounter('taskwire_acks_total', 'Leases of the queue acked through this manager (autoAck gets are deliveries only).', 'acks');
    this.perQueueCounter('taskwire_nacks_total', 'Leases of the queue nacked through this manager.', 'nacks');
    this.perQueueCounter('taskwire_expiries_total', 'Leases of the queue that ran out (ttr passed without ack, nack or touch), noticed by this manager.', 'expiries');
    this.perQueueCounter('taskwire_releases_total', "Leases of the queue given back because the holder's session ended or its manager stopped or went away.", 'releases');
    this.perQueueCounter('taskwire_dead_letters_total', 'Tasks of the queue that used up their attempts (or were nacked with retry: false) and went to its dead-letter queue.', 'deadLetters');

    this.waitSeconds = new BucketHistogram(
      'taskwire_queue_wait_seconds',
      'Time from a task becoming ready (put, due after a delay, back after a failed attempt) to its delivery, per queue.',
      'queue',
      TASK_SECONDS,
      this.registry,
    );
    this.processingSeconds = new BucketHistogram('taskwire_task_processing_seconds', 'Time from a delivery to its ack, per queue.', 'queue', TASK_SECONDS, this.registry);

    new Gauge({
      name: 'taskwire_sessions',
      help: 'Authenticated sessions on this manager by the role they announced in session/hello (multiprocessing clients count as workers).',
      labelNames: ['role'],
      registers,
      collect() {
        const byRole = new Map<string, number>(ROLES.map((role) => [role, 0]));
        for (const client of source.clients()) byRole.set(client.role, (byRole.get(client.role) ?? 0) + 1);
        for (const [role, n] of byRole) this.set({ role }, n);
      },
    });
    new Gauge({
      name: 'taskwire_connections',
      help: 'Open connections to this manager, authenticated or not.',
      registers,
      collect() {
        this.set(source.connectionCount);
      },
    });
    this.serverCounter('taskwire_connections_total', 'Connections accepted by this manager.', () => source.counters.connectionsTotal);
    this.serverCounter('taskwire_connections_refused_total', 'Connections refused (maxConnections, shutting down).', () => source.counters.connectionsRefused);
    this.serverCounter('taskwire_auth_failures_total', 'Failed authentications (a wrong key) on this manager, on every listener.', () => source.counters.authFailures);
    this.serverCounter('taskwire_events_dropped_total', 'Events not sent to subscribers too slow to take them.', () => source.counters.eventsDropped);

    this.stopObserving = source.queues.onEvent((event) => this.observe(event));
  }

  /** Fills the queue gauges from one read of the queue stats. */
  private async readQueues({ tasks, getters, paused, storeUp }: QueueGauges): Promise<void> {
    tasks.reset();
    getters.reset();
    paused.reset();
    let queues: QueueStats[];
    try {
      queues = await withTimeout(Promise.resolve(this.source.queues.listQueues()));
    } catch {
      storeUp.set(0);
      return;
    }
    storeUp.set(1);
    for (const q of queues) {
      this.countsOf(q.queue);
      for (const state of QUEUE_STATES) tasks.set({ queue: q.queue, state }, q[state]);
      getters.set({ queue: q.queue }, q.waitingGetters);
      paused.set({ queue: q.queue }, q.paused === true ? 1 : 0);
    }
  }

  /** Records the journal's fsync times (the journal store, --data-dir). */
  observeJournal(journal: { onSynced: ((seconds: number) => void) | undefined }): void {
    const fsync = new Histogram({ name: 'taskwire_journal_fsync_seconds', help: 'Time each fdatasync of the journal took (--data-dir).', buckets: IO_SECONDS, registers: [this.registry] });
    journal.onSynced = (seconds) => fsync.observe(seconds);
  }

  /** Records the Redis store's round trips, per script (--store). */
  observeRedis(redis: { onRoundTrip: ((script: string, seconds: number) => void) | undefined }): void {
    const roundTrip = new Histogram({
      name: 'taskwire_store_round_trip_seconds',
      help: 'Time from sending a script to Redis to its reply, per script (--store).',
      labelNames: ['script'],
      buckets: IO_SECONDS,
      registers: [this.registry],
    });
    const children = new Map<string, Histogram.Internal<'script'>>();
    redis.onRoundTrip = (script, seconds) => {
      let child = children.get(script);
      if (!child) children.set(script, (child = roundTrip.labels(script)));
      child.observe(seconds);
    };
  }

  /**
   * Why the manager is not ready, or undefined when it is: its port is open and its store
   * answers (the journal can be written; Redis replies to a read of the queue list).
   */
  async unready(): Promise<string | undefined> {
    if (!this.source.listening) return 'not listening: the manager is starting or shutting down';
    if (this.source.storeFailure) return `the data dir can no longer be written: ${this.source.storeFailure.message}`;
    try {
      await withTimeout(Promise.resolve(this.source.queues.listQueues()));
      return undefined;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return message.startsWith('store unavailable') ? message : `store unavailable: ${message}`;
    }
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  close(): void {
    this.stopObserving();
    this.registry.clear();
  }

  /** One event: a few increments, and an observation on a get or an ack. */
  private observe(event: EngineEvent): void {
    const counts = this.countsOf(event.queue);
    switch (event.kind) {
      case 'put':
        counts.puts++;
        break;
      case 'get':
        counts.deliveries++;
        if (event.since !== undefined) counts.wait.observe(seconds(event.at, event.since));
        break;
      case 'ack':
        counts.acks++;
        if (event.since !== undefined) counts.processing.observe(seconds(event.at, event.since));
        break;
      case 'nack':
        counts.nacks++;
        break;
      case 'expired':
        counts.expiries++;
        break;
      case 'released':
        counts.releases++;
        break;
      case 'dead':
        counts.deadLetters++;
        break;
      default:
        break;
    }
  }

  private countsOf(queue: string): QueueCounts {
    let counts = this.counts.get(queue);
    if (!counts) this.counts.set(queue, (counts = new QueueCounts(this.waitSeconds.labels(queue), this.processingSeconds.labels(queue))));
    return counts;
  }

  /** A counter per queue whose values are the event counts, handed to prom-client when scraped. */
  private perQueueCounter(name: string, help: string, field: CountName): void {
    const counts = this.counts;
    new Counter({
      name,
      help,
      labelNames: ['queue'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [queue, c] of counts) this.inc({ queue }, c[field]);
      },
    });
  }

  /** A counter whose value is one of the server's own counters, read when scraped. */
  private serverCounter(name: string, help: string, read: () => number): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }
}

function seconds(at: number, since: number): number {
  return Math.max(0, at - since) / 1000;
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`store unavailable: no answer in ${STORE_TIMEOUT_MS / 1000} s`)), STORE_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
