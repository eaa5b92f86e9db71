import type { QueueStats } from 'taskwire';
import * as vscode from 'vscode';
import type { ManagerConnection } from '../manager/connection';
import { Coalescer } from './coalescer';

/** Event kinds that change a queue's counts. */
const COUNT_CHANGES = new Set(['put', 'get', 'ack', 'nack', 'expired', 'dead', 'purge']);

/** While the Queues view is shown: one queue/list per 250 ms burst of events. */
const VISIBLE_DELAY_MS = 250;
/** While it is hidden only the status bar's ready count needs them: at most every 5 s. */
const HIDDEN_DELAY_MS = 5000;

/**
 * Every queue's counts (queue/list), refreshed after events rather than by polling: a burst
 * of events costs one request. Counts are fetched only while someone shows them.
 */
export class QueueStore implements vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  private readonly refresher: Coalescer;
  private readonly disposables: vscode.Disposable[] = [];
  private visible = false;

  queues: readonly QueueStats[] = [];
  /** When the counts were fetched. */
  fetchedAt: Date | undefined;
  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly connection: ManagerConnection) {
    this.refresher = new Coalescer(() => this.fetch(), HIDDEN_DELAY_MS);
    this.disposables.push(
      this.refresher,
      this.changeEmitter,
      connection.onEvent((event) => {
        if (COUNT_CHANGES.has(event.kind)) this.refresher.trigger();
      }),
      // Connected (at first, or again after a drop): fetch. While reconnecting, the last
      // counts stay on show; once the connection is gone, they go.
      connection.onDidChangeStatus(() => {
        if (connection.connected) void this.refresh();
        else if (connection.status !== 'connecting') this.clear();
      }),
    );
  }

  /** The Queues view was shown or hidden: fast updates while shown, a fresh fetch on showing. */
  setVisible(visible: boolean): void {
    if (visible === this.visible) return;
    this.visible = visible;
    this.refresher.delayMs = visible ? VISIBLE_DELAY_MS : HIDDEN_DELAY_MS;
    if (visible) void this.refresh();
  }

  /** Fetches now. */
  refresh(): Promise<void> {
    return this.refresher.flush();
  }

  /** Tasks ready on every queue (for the status bar). */
  get totalReady(): number {
    return this.queues.reduce((sum, q) => sum + q.ready, 0);
  }

  find(name: string): QueueStats | undefined {
    return this.queues.find((q) => q.queue === name);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  private async fetch(): Promise<void> {
    if (!this.connection.connected) return;
    const queues = await this.connection.client.queues();
    if (!this.connection.connected) return;
    this.queues = [...queues].sort((a, b) => a.queue.localeCompare(b.queue));
    this.fetchedAt = new Date();
    this.changeEmitter.fire();
  }

  private clear(): void {
    this.refresher.cancel();
    if (this.queues.length === 0) return;
    this.queues = [];
    this.changeEmitter.fire();
  }
}
