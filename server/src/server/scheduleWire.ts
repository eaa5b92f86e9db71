import type { RawTaskSpec } from '../engine';
import { ScheduleInvalid, type ScheduleDefinition, type ScheduleImage } from '../engine/schedules';
import { invalidParams } from '../protocol/errors';
import type { RequestMap } from '../protocol/generated';
import { SerializedJson, stringifyWithTexts, type JsonText } from '../protocol/jsonText';
import { keptText, valueText } from '../protocol/rawJson';

// Schedules on the wire (spec §5.25). A schedule's task payload is opaque like any other
// (§7.17): kept as the text the client sent in schedule/set, and written back as that text by
// schedule/list and by every put of a tick.

/** The schedule of a schedule/set whose frame is `frame`, its task's payload as its text. */
export function scheduleDefinition(params: RequestMap['schedule/set']['params'], frame: string): ScheduleDefinition {
  const source = valueText(frame, ['params', 'task', 'payload']);
  if (source === undefined) throw new Error('params.task.payload was not found in its frame as parsed');
  const task = { ...params.task, payload: keptText(source, params.task.payload, frame.length) } as RawTaskSpec;
  const definition: ScheduleDefinition = { name: params.name, queue: params.queue, task };
  if (params.cron !== undefined) definition.cron = params.cron;
  if (params.timezone !== undefined) definition.timezone = params.timezone;
  if (params.every !== undefined) definition.every = params.every;
  if (params.startAt !== undefined) {
    const startAt = Date.parse(params.startAt);
    if (Number.isNaN(startAt)) throw invalidParams(`"startAt" ${JSON.stringify(params.startAt)} is not a date-time`, '/startAt');
    definition.startAt = startAt;
  }
  return definition;
}

/** Runs a backend call that may refuse a schedule, as -32602 naming the member at fault. */
export function refusingInvalid<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof ScheduleInvalid) throw invalidParams(error.message, error.field);
    throw error;
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** One schedule as the wire's Schedule object, its task's payload written as its text. */
export function scheduleText(schedule: ScheduleImage): JsonText {
  const { payload, ...taskRest } = schedule.task;
  const wire: Record<string, unknown> = { name: schedule.name, queue: schedule.queue };
  const rest: Record<string, unknown> = {};
  if (schedule.cron !== undefined) rest.cron = schedule.cron;
  if (schedule.timezone !== undefined) rest.timezone = schedule.timezone;
  if (schedule.every !== undefined) rest.every = schedule.every;
  if (schedule.startAt !== undefined) rest.startAt = iso(schedule.startAt);
  rest.nextRun = iso(schedule.nextRunAt);
  if (schedule.lastRun) {
    const { at, ...outcome } = schedule.lastRun;
    rest.lastRun = { at: iso(at), ...outcome };
  }
  const task = stringifyWithTexts(taskRest, [['payload', payload]]) as JsonText;
  // Members in the order of the spec's Schedule: name, queue, task, then the timetable.
  const head = stringifyWithTexts(wire, [['task', task]]);
  const tail = JSON.stringify(rest);
  return `${head.slice(0, -1)},${tail.slice(1)}` as JsonText;
}

export function scheduleSetResult(outcome: { schedule: ScheduleImage; created: boolean }): SerializedJson {
  return new SerializedJson(`{"schedule":${scheduleText(outcome.schedule)},"created":${outcome.created}}`);
}

export function scheduleListResult(schedules: ScheduleImage[]): SerializedJson {
  return new SerializedJson(`{"schedules":[${schedules.map(scheduleText).join(',')}]}`);
}
