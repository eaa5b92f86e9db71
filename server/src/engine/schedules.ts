import { Cron } from 'croner';
import type { Clock } from './clock';
import type { EngineError } from './engineError';
import type { RawTaskSpec } from './types';

// Schedules (spec §5.25): a task spec put on a queue at each tick of a cron expression (read in
// an IANA time zone) or of a fixed interval. Cron expressions are parsed and stepped by croner
// (time zones and daylight-saving changes included), never by hand. This module is pure like
// the engine: it reads time only from the Clock it is given, and every store keeps its
// schedules with it (LocalQueues in memory and in the journal, RedisQueues in Redis).

/** A schedule as set: what to put where, and when. Times are ms since the epoch. */
export interface ScheduleDefinition {
  name: string;
  queue: string;
  task: RawTaskSpec;
  cron?: string;
  /** IANA zone of the cron expression; absent: UTC. */
  timezone?: string;
  /** Interval in seconds. */
  every?: number;
  startAt?: number;
}

/** A tick that ran: when, and the task it put or why it put none. */
export interface ScheduleRunImage {
  at: number;
  taskId?: string;
  skipped?: string;
}

/** A schedule as a store keeps it. */
export interface ScheduleImage extends ScheduleDefinition {
  /** When it was set: the anchor of an interval without startAt. */
  setAt: number;
  /** When the next tick is due. */
  nextRunAt: number;
  lastRun?: ScheduleRunImage;
}

/** Why a tick put no task, as its last run and its scheduled event say it: "queue full: ...". */
export function skipReason(error: EngineError): string {
  return `${error.reason.replace(/_/g, ' ')}: ${error.message}`;
}

/**
 * Why a tick put nothing because its task's uniqueness key (spec §7.21) is held: the run before
 * is still queued (or, in scope active, still running), so it is not queued twice.
 */
export function duplicateTickReason(holder: string): string {
  return `duplicate: task ${holder} holds the task's uniqueness key`;
}

/** A schedule that cannot be: the member at fault (a JSON Pointer) and why, for -32602. */
export class ScheduleInvalid extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ScheduleInvalid';
  }
}

const UTC = 'UTC';

/** Checks what the schema cannot: exactly one of cron and every, a cron croner reads, a zone the runtime knows. */
export function checkSchedule(definition: ScheduleDefinition): void {
  const { cron, every, timezone } = definition;
  if (cron === undefined && every === undefined) throw new ScheduleInvalid('', 'a schedule needs "cron" or "every"');
  if (cron !== undefined && every !== undefined) throw new ScheduleInvalid('/every', 'a schedule takes "cron" or "every", not both');
  if (timezone !== undefined) {
    if (cron === undefined) throw new ScheduleInvalid('/timezone', '"timezone" applies to "cron" only');
    if (!knownZone(timezone)) throw new ScheduleInvalid('/timezone', `"timezone" ${JSON.stringify(timezone)} is not an IANA time zone this manager knows`);
  }
  if (every !== undefined && !(every >= 1)) throw new ScheduleInvalid('/every', '"every" must be at least 1 second');
  if (cron !== undefined) {
    try {
      cronOf(cron, timezone);
    } catch (error) {
      throw new ScheduleInvalid('/cron', `"cron" ${JSON.stringify(cron)} is not a valid cron expression: ${cronReason(error)}`);
    }
  }
}

function knownZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** croner's message without its class prefix ("CronPattern: Invalid value for minute: 61"). */
function cronReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^Cron\w*: /, '');
}

/** croner's stepping of a cron expression, paused (it never runs a timer of its own). */
function cronOf(expression: string, timezone: string | undefined): Cron {
  // domAndDow false: with both day fields restricted, either matches, as in Vixie cron.
  return new Cron(expression, { timezone: timezone ?? UTC, paused: true, domAndDow: false });
}

/**
 * The first tick strictly after `after` (ms). An interval ticks at its anchor (startAt, else one
 * interval after it was set) and every interval after; a cron expression at its next match in
 * its zone, and not before startAt. A wall-clock time the spring change skips runs at the first
 * instant after the gap; one the autumn change repeats runs once (croner's rules).
 */
export function nextTickAfter(schedule: ScheduleDefinition & { setAt: number }, after: number): number {
  if (schedule.every !== undefined) {
    const period = schedule.every * 1000;
    const anchor = schedule.startAt ?? schedule.setAt + period;
    if (after < anchor) return anchor;
    return anchor + (Math.floor((after - anchor) / period) + 1) * period;
  }
  const from = schedule.startAt !== undefined ? Math.max(after, schedule.startAt - 1) : after;
  const next = cronOf(schedule.cron!, schedule.timezone).nextRun(new Date(from));
  // An expression that never matches again (a date past): no tick in this millennium.
  return next ? next.getTime() : Number.MAX_SAFE_INTEGER;
}

/** A new or replaced schedule, its first tick after `now`; a replaced one keeps its last run. */
export function newScheduleImage(definition: ScheduleDefinition, now: number, replaced?: ScheduleImage): ScheduleImage {
  const image: ScheduleImage = { ...definition, setAt: now, nextRunAt: 0 };
  image.nextRunAt = nextTickAfter(image, now);
  if (replaced?.lastRun) image.lastRun = replaced.lastRun;
  return image;
}

/**
 * The schedule after a tick ran at `now`: its last run, and its next tick after now. Ticks
 * missed while no manager ran (or while this one was stopped) are not run one by one: the run
 * at `now` stands for the latest of them, and the next tick is the first one still ahead.
 */
export function afterRun(image: ScheduleImage, run: ScheduleRunImage, now: number): ScheduleImage {
  return { ...image, lastRun: run, nextRunAt: nextTickAfter(image, now) };
}

/**
 * The schedules of one manager's in-process store, with the earliest tick to wake for. Pure:
 * the host asks what is due as of its clock and arms one timer for `nextDue()`; `onWake` tells
 * it when that moved earlier.
 */
export class ScheduleBook {
  private readonly schedules = new Map<string, ScheduleImage>();

  constructor(
    private readonly clock: Clock,
    private readonly onWake?: (at: number) => void,
  ) {}

  get size(): number {
    return this.schedules.size;
  }

  get(name: string): ScheduleImage | undefined {
    return this.schedules.get(name);
  }

  /** Creates or replaces the schedule (checked first: ScheduleInvalid). */
  set(definition: ScheduleDefinition): { schedule: ScheduleImage; created: boolean } {
    checkSchedule(definition);
    const replaced = this.schedules.get(definition.name);
    const schedule = newScheduleImage(definition, this.clock.now(), replaced);
    this.keep(schedule);
    return { schedule, created: replaced === undefined };
  }

  /** Keeps a schedule as it is (a restore, a tick's outcome); the host wakes for it. */
  keep(schedule: ScheduleImage): void {
    this.schedules.set(schedule.name, schedule);
    this.onWake?.(schedule.nextRunAt);
  }

  delete(name: string): boolean {
    return this.schedules.delete(name);
  }

  /** By name; only those of `queue` when given. */
  list(queue?: string): ScheduleImage[] {
    const all = [...this.schedules.values()].filter((schedule) => queue === undefined || schedule.queue === queue);
    return all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The earliest tick (ms), if any schedule is kept. */
  nextDue(): number | undefined {
    let earliest: number | undefined;
    for (const schedule of this.schedules.values()) if (earliest === undefined || schedule.nextRunAt < earliest) earliest = schedule.nextRunAt;
    return earliest;
  }

  /** The schedules whose tick is due now, each once however many ticks it missed. */
  due(): ScheduleImage[] {
    const now = this.clock.now();
    return this.list().filter((schedule) => schedule.nextRunAt <= now);
  }

  /** Records the run of a due schedule at the clock's now; returns the schedule as it is now. */
  ran(name: string, run: Omit<ScheduleRunImage, 'at'>): ScheduleImage | undefined {
    const schedule = this.schedules.get(name);
    if (!schedule) return undefined;
    const now = this.clock.now();
    const next = afterRun(schedule, { at: now, ...run }, now);
    this.schedules.set(name, next);
    return next;
  }

  /** Every schedule, for a snapshot. */
  images(): ScheduleImage[] {
    return [...this.schedules.values()];
  }
}
