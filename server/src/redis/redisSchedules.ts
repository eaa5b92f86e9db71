import type { EngineEvent, RawTaskSpec, SessionId } from '../engine/types';
import { checkSchedule, duplicateTickReason, newScheduleImage, nextTickAfter, skipReason, type ScheduleDefinition, type ScheduleImage, type ScheduleRunImage } from '../engine/schedules';
import type { Logger } from '../server/logger';
import { WakeTimer } from '../server/wakeTimer';
import { familyOf, familyPrefix } from './keys';
import { queueFullError, type ScriptReply } from './replies';
import type { Connection } from './connection';
import type { ScriptName } from './scripts';
import { putArgs } from './redisQueues';

// Schedules on Redis (docs/redis.md, spec §5.25). Each schedule is a hash in its queue's family,
// `tw:{family}:s:<name>`: `def` (the definition as JSON, its task's payload as its text), `rev`
// (bumped by each set), `next` (the next tick, Redis ms) and its last run (`lastAt`, `lastTask`
// or `lastSkipped`). The global hash `tw:schedules` maps each name to its queue, for list and
// delete. Every manager keeps a copy of the schedules and one timer for the earliest tick; at a
// tick it runs the scheduleTick script, which claims the tick (compare-and-set of rev and next)
// and puts the task in one step, so one manager puts it whichever wake first. Set and delete
// are announced on `tw:schedules` (pub/sub) so every manager re-reads that schedule; a claim
// that finds the schedule changed re-reads it too, so a missed announcement costs nothing.

/** The global index of schedules: name → queue (a plain hash, no hash tag). */
export const SCHEDULES_KEY = 'tw:schedules';
/** The channel set and delete announce a schedule's name on. */
export const SCHEDULES_CHANNEL = 'tw:schedules';

export function scheduleKey(queue: string, name: string): string {
  return `${familyPrefix(familyOf(queue))}s:${name}`;
}

/** What the schedules need of RedisQueues. */
export interface ScheduleHost {
  readonly redis: Connection;
  readonly log: Logger;
  run(name: ScriptName, family: string, args: string[], fill?: (event: EngineEvent) => void): Promise<ScriptReply>;
  /** A command on the store; a connection failure becomes store_unavailable. */
  store<T>(command: () => Promise<T>): Promise<T>;
  newId(): string;
  /** Redis's clock (ms), as of the last script. */
  redisNow(): number;
  emit(event: EngineEvent): void;
  /** A queue the tick put a task on: registered, and its waiting getters served. */
  afterPut(queue: string): Promise<void>;
}

interface KeptSchedule {
  image: ScheduleImage;
  rev: string;
  /** `next` as stored: the compare-and-set compares strings. */
  next: string;
}

/** The definition as stored in `def`: a definition plus when it was set. */
type StoredDefinition = ScheduleDefinition & { setAt: number };

export class RedisSchedules {
  private readonly kept = new Map<string, KeptSchedule>();
  private readonly timer = new WakeTimer(() => void this.runDue());
  private running = false;
  private again = false;
  private closed = false;

  constructor(private readonly host: ScheduleHost) {}

  /** Reads every schedule and arms the timer for the earliest tick. */
  async loadAll(): Promise<void> {
    const index = await this.host.store(() => this.host.redis.hgetall(SCHEDULES_KEY));
    const names = new Set(Object.keys(index));
    for (const name of [...this.kept.keys()]) if (!names.has(name)) this.kept.delete(name);
    for (const [name, queue] of Object.entries(index)) await this.reload(name, queue);
    this.arm();
  }

  /** An announcement from a manager (this one included): re-read that schedule. */
  changed(name: string): void {
    void this.host
      .store(() => this.host.redis.hget(SCHEDULES_KEY, name))
      .then((queue) => this.reload(name, queue ?? undefined))
      .then(() => this.arm())
      .catch((error: unknown) => this.host.log.debug('a schedule could not be read', { schedule: name, error: String(error) }));
  }

  async set(definition: ScheduleDefinition, session?: SessionId): Promise<{ schedule: ScheduleImage; created: boolean }> {
    checkSchedule(definition);
    const { redis } = this.host;
    const previousQueue = await this.host.store(() => redis.hget(SCHEDULES_KEY, definition.name));
    const image = newScheduleImage(definition, this.host.redisNow());
    const stored: StoredDefinition = { ...definition, setAt: image.setAt };
    const reply = await this.host.run('scheduleSet', familyOf(definition.queue), [definition.name, JSON.stringify(stored), String(image.nextRunAt)]);
    let created = reply.data[0] === '1';
    // Moved to a queue of another family: the old hash goes (its last run stays with the name).
    if (previousQueue !== null && familyOf(previousQueue) !== familyOf(definition.queue)) {
      await this.host.store(() => redis.del(scheduleKey(previousQueue, definition.name)));
      created = false;
    }
    await this.host.store(() => redis.hset(SCHEDULES_KEY, definition.name, definition.queue));
    await this.announce(definition.name);
    const kept = await this.reload(definition.name, definition.queue);
    this.arm();
    this.emitChange('schedule-set', definition.queue, definition.name, session);
    return { schedule: kept?.image ?? image, created };
  }

  async list(queue?: string): Promise<ScheduleImage[]> {
    const index = await this.host.store(() => this.host.redis.hgetall(SCHEDULES_KEY));
    const images: ScheduleImage[] = [];
    for (const [name, of] of Object.entries(index)) {
      if (queue !== undefined && of !== queue) continue;
      const kept = await this.read(name, of);
      if (kept) images.push(kept.image);
    }
    return images.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(name: string, session?: SessionId): Promise<boolean> {
    const { redis } = this.host;
    const queue = await this.host.store(() => redis.hget(SCHEDULES_KEY, name));
    if (queue === null) return false;
    await this.host.store(() => redis.del(scheduleKey(queue, name)));
    const removed = await this.host.store(() => redis.hdel(SCHEDULES_KEY, name));
    this.kept.delete(name);
    await this.announce(name);
    // Two deletes at once on two managers: the one whose HDEL removed the name reports it.
    if (removed === 1) this.emitChange('schedule-deleted', queue, name, session);
    return removed === 1;
  }

  /** A set or delete through this manager, as an event (the event relay takes it to the other managers' subscribers). */
  private emitChange(kind: 'schedule-set' | 'schedule-deleted', queue: string, name: string, session: SessionId | undefined): void {
    const event: EngineEvent = { kind, queue, schedule: name, at: this.host.redisNow() };
    if (session !== undefined) event.session = session;
    this.host.emit(event);
  }

  close(): void {
    this.closed = true;
    this.timer.stop();
  }

  private async announce(name: string): Promise<void> {
    await this.host.store(() => this.host.redis.publish(SCHEDULES_CHANNEL, name));
  }

  /** Reads one schedule into the copy (or drops it when it is gone). */
  private async reload(name: string, queue: string | undefined): Promise<KeptSchedule | undefined> {
    const kept = queue === undefined ? undefined : await this.read(name, queue);
    if (kept) this.kept.set(name, kept);
    else this.kept.delete(name);
    return kept;
  }

  private async read(name: string, queue: string): Promise<KeptSchedule | undefined> {
    const fields = await this.host.store(() => this.host.redis.hgetall(scheduleKey(queue, name)));
    if (fields.def === undefined || fields.next === undefined || fields.rev === undefined) return undefined;
    const stored = JSON.parse(fields.def) as StoredDefinition;
    const image: ScheduleImage = { ...stored, task: stored.task as RawTaskSpec, nextRunAt: Number(fields.next) };
    if (fields.lastAt !== undefined) {
      const run: ScheduleRunImage = { at: Number(fields.lastAt) };
      if (fields.lastTask !== undefined) run.taskId = fields.lastTask;
      if (fields.lastSkipped !== undefined) run.skipped = fields.lastSkipped === 'full' || fields.lastSkipped === 'never' ? 'queue full' : fields.lastSkipped;
      image.lastRun = run;
    }
    return { image, rev: fields.rev, next: fields.next };
  }

  /** Arms the one timer for the earliest tick of the schedules kept (Redis time, read as this machine's). */
  private arm(): void {
    let earliest: number | undefined;
    for (const { image } of this.kept.values()) if (earliest === undefined || image.nextRunAt < earliest) earliest = image.nextRunAt;
    if (earliest !== undefined) this.timer.wake(earliest - (this.host.redisNow() - Date.now()));
  }

  private async runDue(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        const now = this.host.redisNow();
        for (const kept of [...this.kept.values()]) {
          if (this.closed) return;
          if (kept.image.nextRunAt <= now) await this.claim(kept);
        }
      } while (this.again && !this.closed);
    } catch (error) {
      this.host.log.debug('a schedule tick failed; it is tried again', { error: String(error) });
      // The store is away: try again in a second rather than spin.
      if (!this.closed) setTimeout(() => void this.runDue(), 1000).unref();
    } finally {
      this.running = false;
      if (!this.closed) this.arm();
    }
  }

  /** Claims and runs one due tick; whatever the outcome, the copy is brought up to date. */
  private async claim(kept: KeptSchedule): Promise<void> {
    const { image } = kept;
    const id = this.host.newId();
    const task = image.task;
    const newNext = nextTickAfter(image, Math.max(this.host.redisNow(), image.nextRunAt));
    // The put's arguments with its rate key always given ('' for none), so that the claim's four,
    // read from the end, never stand in for it.
    const args = [image.queue, '', 'put', '1', ...putArgs(id, task), task.rateKey ?? '', image.name, kept.rev, kept.next, String(newNext)];
    const reply = await this.host.run('scheduleTick', familyOf(image.queue), args, (event) => {
      if (event.kind === 'put' && event.taskId === id) event.payload = task.payload;
    });
    if (reply.status === 'early') return; // this machine's clock ran ahead of Redis's: re-armed by Redis's
    if (reply.status !== 'lost') {
      const event: EngineEvent = { kind: 'scheduled', queue: image.queue, schedule: image.name, at: reply.now };
      // A put answers each task's key holder ('' for a task it added): a held key skips the tick.
      const holder = reply.status === 'ok' ? reply.data[0] : undefined;
      if (reply.status === 'ok' && !holder) event.taskId = id;
      else {
        event.error = typeof holder === 'string' && holder !== '' ? duplicateTickReason(holder) : skipReason(queueFullError(image.queue, reply.data, 1, reply.status === 'never'));
        // The script noted the status; the words a person reads replace it.
        await this.host.store(() => this.host.redis.hset(scheduleKey(image.queue, image.name), 'lastSkipped', event.error!));
      }
      this.host.emit(event);
      if (event.taskId !== undefined) await this.host.afterPut(image.queue);
    }
    // Ran here, by another manager, or replaced: read what the store holds now.
    await this.reload(image.name, image.queue);
  }
}
