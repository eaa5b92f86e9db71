import type { QueueStats } from '../protocol/generated';
import type { EngineEvent } from '../engine/types';
import type { QueueBackend } from '../engine/queueBackend';
import type { CountedEngine } from './counters';

const REFRESH_MS = 2000;

/**
 * The queue list of a backend that answers later (a shared store), kept fresh in the background
 * for what must answer at once: manager/stats' activity and its rate samples. A few seconds
 * old at most, like those rates themselves.
 */
export class QueueListCache implements CountedEngine {
  private listed: QueueStats[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly backend: QueueBackend) {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  listQueues(): QueueStats[] {
    return this.listed;
  }

  onEvent(listener: (event: EngineEvent) => void): () => void {
    return this.backend.onEvent(listener);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads the list now; resolves once read (or, the store being away, with the last list kept). */
  refresh(): Promise<void> {
    return Promise.resolve()
      .then(() => this.backend.listQueues())
      .then(
        (queues) => void (this.listed = queues),
        () => undefined,
      );
  }
}
