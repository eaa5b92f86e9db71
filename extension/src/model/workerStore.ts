import type { ClientInfo, Event as TaskwireEvent, TaskProgress } from 'taskwire';
import type { ManagerConnection } from '../manager/connection';
import { LiveList } from './liveList';

/** Event kinds after which a client's held/done counts changed. */
const WORK_CHANGES = new Set(['get', 'ack', 'nack', 'expired', 'released']);
const DELAY_MS = 250;

/**
 * The worker registry (manager/clients): read again when a client connects or disconnects,
 * and — while the Workers view is shown — when tasks are taken or acknowledged.
 */
export class WorkerStore extends LiveList<ClientInfo> {
  constructor(connection: ManagerConnection) {
    super(connection, DELAY_MS);
  }

  get clients(): readonly ClientInfo[] {
    return this.items;
  }

  /** True for this window's own connection (a `monitor` client). */
  isSelf(client: ClientInfo): boolean {
    return client.sessionId === this.connection.sessionId;
  }

  /** The manager of a client on another manager of the same store than this window's; undefined on this one (or an older manager). */
  otherManager(client: ClientInfo): string | undefined {
    return client.manager !== undefined && client.manager !== this.connection.managerId ? client.manager : undefined;
  }

  /** Connected clients with the role `worker`. */
  get workerCount(): number {
    return this.items.filter((c) => c.role === 'worker').length;
  }

  protected changedBy(event: TaskwireEvent): boolean {
    // A progress report changes one held task: shown at once, without reading the registry again.
    if (event.kind === 'progress') return !this.applyProgress(event);
    return event.kind === 'client-connected' || event.kind === 'client-disconnected' || (this.visible && WORK_CHANGES.has(event.kind));
  }

  /**
   * Puts a progress event's report on the held task it is about; false when the list does not
   * show that task yet (it was taken since the list was read), so the list is read again.
   */
  private applyProgress(event: TaskwireEvent): boolean {
    const client = this.items.find((c) => c.sessionId === event.client?.sessionId);
    const task = client?.tasks?.find((t) => t.id === event.taskId);
    if (!client || !task) return false;
    const progress: TaskProgress = { at: event.at };
    if (event.percent !== undefined) progress.percent = event.percent;
    if (event.message !== undefined) progress.message = event.message;
    if (event.detail !== undefined) progress.detail = event.detail;
    const tasks = client.tasks!.map((t) => (t === task ? { ...t, progress } : t));
    this.replaceItems(this.items.map((c) => (c === client ? { ...c, tasks } : c)));
    return true;
  }

  protected async load(): Promise<readonly ClientInfo[]> {
    const clients = await this.connection.client.clients();
    return [...clients].sort((a, b) => a.connectedAt.localeCompare(b.connectedAt) || a.name.localeCompare(b.name));
  }
}
