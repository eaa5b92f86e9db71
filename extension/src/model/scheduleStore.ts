import type { Schedule, Event as TaskwireEvent } from 'taskwire';
import type { ManagerConnection } from '../manager/connection';
import { LiveList } from './liveList';

const DELAY_MS = 250;

/** Events after which the list may differ: a tick moves a schedule's next and last runs; a set or a delete, by any client on any manager of the store, changes the list itself. */
const CHANGING_KINDS: ReadonlySet<string> = new Set(['scheduled', 'schedule-set', 'schedule-deleted']);

/**
 * The manager's schedules (schedule/list, protocol 2026-12): read when the view is shown or
 * refreshed, and again after each event that may change them (CHANGING_KINDS), so the view
 * follows another client's schedule/set and schedule/delete. A manager of protocol 2026-11 has
 * none: the list stays empty.
 */
export class ScheduleStore extends LiveList<Schedule> {
  constructor(connection: ManagerConnection) {
    super(connection, DELAY_MS);
  }

  get schedules(): readonly Schedule[] {
    return this.items;
  }

  protected changedBy(event: TaskwireEvent): boolean {
    return CHANGING_KINDS.has(event.kind);
  }

  protected async load(): Promise<readonly Schedule[]> {
    const client = this.connection.client;
    if (client.protocolVersion !== undefined && client.protocolVersion < '2026-12') return [];
    return client.schedules.list();
  }
}
