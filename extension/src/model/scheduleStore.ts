import type { Schedule, Event as TaskwireEvent } from 'taskwire';
import type { ManagerConnection } from '../manager/connection';
import { LiveList } from './liveList';

const DELAY_MS = 250;

/**
 * The manager's schedules (schedule/list, protocol 2026-12): read when the view is shown or
 * refreshed, and again after each `scheduled` event (a tick moves a schedule's next and last
 * runs). A manager of protocol 2026-11 has none: the list stays empty.
 */
export class ScheduleStore extends LiveList<Schedule> {
  constructor(connection: ManagerConnection) {
    super(connection, DELAY_MS);
  }

  get schedules(): readonly Schedule[] {
    return this.items;
  }

  protected changedBy(event: TaskwireEvent): boolean {
    return event.kind === 'scheduled';
  }

  protected async load(): Promise<readonly Schedule[]> {
    const client = this.connection.client;
    if (client.protocolVersion !== undefined && client.protocolVersion < '2026-12') return [];
    return client.schedules.list();
  }
}
