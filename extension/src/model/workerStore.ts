import type { ClientInfo, Event as TaskwireEvent } from 'taskwire';
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
    return event.kind === 'client-connected' || event.kind === 'client-disconnected' || (this.visible && WORK_CHANGES.has(event.kind));
  }

  protected async load(): Promise<readonly ClientInfo[]> {
    const clients = await this.connection.client.clients();
    return [...clients].sort((a, b) => a.connectedAt.localeCompare(b.connectedAt) || a.name.localeCompare(b.name));
  }
}
