import type { Event as TaskwireEvent, QueueStats } from 'taskwire';
import type * as vscode from 'vscode';
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
  /** Others than the Queues view that draw the counts while shown (the dashboard). */
  private watchers = 0;

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

  /**
   * Keeps the counts as fresh as while the Queues view is shown, until disposed: for a view
   * that draws them (the dashboard) whether or not the Queues view is open.
   */
  watch(): vscode.Disposable {
    this.watchers += 1;
    this.visibilityChanged(this.visible);
    let disposed = false;
    return {
      dispose: () => {
        if (disposed) return;
        disposed = true;
        this.watchers -= 1;
        this.visibilityChanged(this.visible);
      },
    };
  }

  protected override visibilityChanged(visible: boolean): void {
    this.refresher.delayMs = visible || this.watchers > 0 ? VISIBLE_DELAY_MS : HIDDEN_DELAY_MS;
  }

  protected async load(): Promise<readonly QueueStats[]> {
    const queues = await this.connection.client.queues();
    return [...queues].sort((a, b) => a.queue.localeCompare(b.queue));
  }
}
