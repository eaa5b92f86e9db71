import type { ClientInfo } from 'taskwire';
import * as vscode from 'vscode';
import type { ManagerConnection } from '../manager/connection';
import { Coalescer } from './coalescer';

/** Event kinds after which a client's held/done counts changed. */
const WORK_CHANGES = new Set(['get', 'ack', 'nack', 'expired']);
const DELAY_MS = 250;

/**
 * The worker registry (manager/clients): refreshed when a client connects or disconnects,
 * and — while the Workers view is shown — when tasks are taken or acknowledged.
 */
export class WorkerStore implements vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  private readonly refresher: Coalescer;
  private readonly disposables: vscode.Disposable[] = [];
  private visible = false;

  clients: readonly ClientInfo[] = [];
  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly connection: ManagerConnection) {
    this.refresher = new Coalescer(() => this.fetch(), DELAY_MS);
    this.disposables.push(
      this.refresher,
      this.changeEmitter,
      connection.onEvent((event) => {
        if (event.kind === 'client-connected' || event.kind === 'client-disconnected' || (this.visible && WORK_CHANGES.has(event.kind))) {
          this.refresher.trigger();
        }
      }),
      // Connected (at first, or again after a drop): fetch. While reconnecting, the last
      // counts stay on show; once the connection is gone, they go.
      connection.onDidChangeStatus(() => {
        if (connection.connected) void this.refresh();
        else if (connection.status !== 'connecting') this.clear();
      }),
    );
  }

  setVisible(visible: boolean): void {
    if (visible === this.visible) return;
    this.visible = visible;
    if (visible) void this.refresh();
  }

  refresh(): Promise<void> {
    return this.refresher.flush();
  }

  /** True for this window's own connection (a `monitor` client). */
  isSelf(client: ClientInfo): boolean {
    return client.sessionId === this.connection.sessionId;
  }

  /** Connected clients with the role `worker`. */
  get workerCount(): number {
    return this.clients.filter((c) => c.role === 'worker').length;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  private async fetch(): Promise<void> {
    if (!this.connection.connected) return;
    const clients = await this.connection.client.clients();
    if (!this.connection.connected) return;
    this.clients = [...clients].sort((a, b) => a.connectedAt.localeCompare(b.connectedAt) || a.name.localeCompare(b.name));
    this.changeEmitter.fire();
  }

  private clear(): void {
    this.refresher.cancel();
    if (this.clients.length === 0) return;
    this.clients = [];
    this.changeEmitter.fire();
  }
}
