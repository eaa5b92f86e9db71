import type { Event as TaskwireEvent } from 'taskwire';
import * as vscode from 'vscode';
import type { ManagerConnection } from '../manager/connection';
import { Coalescer } from './coalescer';

/**
 * A list read from the manager (queues, clients) and read again after the events that change
 * it, coalesced so that a burst of events costs one request, never by polling. While the
 * connection is re-established the last list stays on show; once it is gone, so is the list.
 */
export abstract class LiveList<T> implements vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  protected readonly refresher: Coalescer;
  private readonly disposables: vscode.Disposable[] = [];
  protected visible = false;

  items: readonly T[] = [];
  /** When the list was read. */
  fetchedAt: Date | undefined;
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    protected readonly connection: ManagerConnection,
    delayMs: number,
  ) {
    this.refresher = new Coalescer(() => this.fetch(), delayMs);
    this.disposables.push(
      this.refresher,
      this.changeEmitter,
      connection.onEvent((event) => {
        if (this.changedBy(event)) this.refresher.trigger();
      }),
      connection.onDidChangeStatus(() => {
        if (connection.connected) void this.refresh();
        else if (connection.status !== 'connecting') this.clear();
      }),
    );
  }

  /** Whether `event` may have changed the list. */
  protected abstract changedBy(event: TaskwireEvent): boolean;

  /** Reads the list from the manager, in display order. */
  protected abstract load(): Promise<readonly T[]>;

  /** The view showing the list was shown or hidden; shown, it is read again at once. */
  setVisible(visible: boolean): void {
    if (visible === this.visible) return;
    this.visible = visible;
    this.visibilityChanged(visible);
    if (visible) void this.refresh();
  }

  protected visibilityChanged(_visible: boolean): void {}

  /** Reads now. */
  refresh(): Promise<void> {
    return this.refresher.flush();
  }

  /** Shows a list changed in place (from an event that says all there is to know). */
  protected replaceItems(items: readonly T[]): void {
    this.items = items;
    this.changeEmitter.fire();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  private async fetch(): Promise<void> {
    if (!this.connection.connected) return;
    const items = await this.load();
    if (!this.connection.connected) return;
    this.items = items;
    this.fetchedAt = new Date();
    this.changeEmitter.fire();
  }

  private clear(): void {
    this.refresher.cancel();
    if (this.items.length === 0) return;
    this.items = [];
    this.changeEmitter.fire();
  }
}
