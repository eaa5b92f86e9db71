import { ScheduleDeleteRequest, ScheduleListRequest, ScheduleSetRequest, type RequestHandle, type RequestMap, type RequestMethod, type Schedule, type ScheduleSetParams } from '../protocol/generated';

/** What a schedule is set with (spec §5.25): `startAt` may be a Date. */
export type ScheduleOptions = Omit<ScheduleSetParams, 'startAt'> & { startAt?: Date | string };

interface ScheduleRequester {
  request<M extends RequestMethod>(method: RequestHandle<M>, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']>;
}

/**
 * The manager's schedules (protocol 2026-12): a task put on a queue at each tick of a cron
 * expression or an interval, by the manager, whether or not this client stays connected.
 * ```ts
 * await client.schedules.set({ name: 'recrawl', queue: 'crawl', task: { payload: 'https://example.com/' }, cron: '0 * * * *', timezone: 'Europe/Berlin' });
 * for (const s of await client.schedules.list()) console.log(s.name, s.nextRun);
 * await client.schedules.delete('recrawl');
 * ```
 */
export class Schedules {
  constructor(private readonly requester: ScheduleRequester) {}

  /** Creates or replaces the schedule named `options.name`; resolves with it (its next run included) and whether it is new. */
  async set(options: ScheduleOptions): Promise<{ schedule: Schedule; created: boolean }> {
    const { startAt, ...rest } = options;
    const params: ScheduleSetParams = startAt === undefined ? rest : { ...rest, startAt: startAt instanceof Date ? startAt.toISOString() : startAt };
    return this.requester.request(ScheduleSetRequest, params);
  }

  /** The schedules by name (only those of `queue` when given). */
  async list(queue?: string): Promise<Schedule[]> {
    return (await this.requester.request(ScheduleListRequest, queue === undefined ? {} : { queue })).schedules;
  }

  /** Deletes a schedule; rejects with ScheduleNotFoundError when there is none of that name. */
  async delete(name: string): Promise<void> {
    await this.requester.request(ScheduleDeleteRequest, { name });
  }
}
