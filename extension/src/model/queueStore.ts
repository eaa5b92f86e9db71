import type { Event as TaskwireEvent, QueueStats } from 'taskwire';
import type { ManagerConnection } from '../manager/connection';
import { LiveList } from './liveList';

/** Event kinds that change what a queue's item shows (its counts, or paused). */
const COUNT_CHANGES = new Set(['put', 'get', 'ack', 'nack', 'expired', 'released', 'dead', 'purge', 'paused', 'resumed']);

/** While the Queues view is shown: one queue/list per 250 ms burst of events. */
const VISIBLE_DELAY_MS = 250;
/** While it is hidden only the status bar's ready count needs them: at most every 5 s. */
const HIDDEN_DELAY_MS = 5000;

/** Every queue's counts (queue/list), sorted by name. */
export class QueueStore extends LiveList<QueueStats> {
  constructor(connection: ManagerConnection) {
    super(connection, HIDDEN_DELAY_MS);
  }

  get queues(): readonly QueueStats[] {
    return this.items;
  }

  /** Tasks ready on every queue (for the status bar). */
  get totalReady(): number {
    return this.items.reduce((sum, q) => sum + q.ready, 0);
  }

  find(name: string): QueueStats | undefined {
    return this.items.find((q) => q.queue === name);
  }

  protected changedBy(event: TaskwireEvent): boolean {
    return COUNT_CHANGES.has(event.kind);
  }

  protected override visibilityChanged(visible: boolean): void {
    this.refresher.delayMs = visible ? VISIBLE_DELAY_MS : HIDDEN_DELAY_MS;
  }

  protected async load(): Promise<readonly QueueStats[]> {
    const queues = await this.connection.client.queues();
    return [...queues].sort((a, b) => a.queue.localeCompare(b.queue));
  }
}
