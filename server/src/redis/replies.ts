import { EngineError } from '../engine/engineError';
import { isoTime } from '../engine/isoTime';
import type { EngineEvent, RawTask } from '../engine/types';
import type { JsonText } from '../protocol/jsonText';

// What the scripts answer (luaCommon.ts: {status, now, nextDue, events, data}), read into the
// engine's types. Payloads stay the strings Redis returns: never parsed.

export interface ScriptReply {
  status: string;
  /** Redis's clock (ms) when the script ran. */
  now: number;
  /** The earliest delay or lease end among the queues the script touched, if any. */
  nextDue: number | undefined;
  events: EventTuple[];
  data: unknown[];
  /** Each queue the script touched, with its payload bytes, ready tasks and ready version after it. */
  bytes: QueueAfter[];
  /** The queues it changed (and published a wake-up for). */
  touched: string[];
}

/** {kind, queue, id, attempt, payload, error, holder, count}; null where absent. */
export type EventTuple = [string, string, string | null, string | null, string | null, string | null, string | null, string | null];

/** {id, queue, payload, attempt, priority, enqueuedAt, leaseUntil, replyTo, lastError, deadLetteredFrom, ttr, maxAttempts}. */
export type TaskTuple = [string, string, string, string, string, string, string | null, string | null, string | null, string | null, string | null, string | null, ...UniqueFields];

/**
 * A task taken by `get` also carries its uniqueness key, scope and hold end (or nulls), for `undo`
 * to put back, when it became ready (ms), for the wait-time metric, and its rate key (or null),
 * for `undo` again.
 */
type UniqueFields = [] | [string | null, string | null, string | null, string, string | null];

/** A queue as a script left it: its payload bytes, how many tasks are ready, and its ready version (luaCommon.ts, finish). */
export type QueueAfter = [queue: string, bytes: number, ready: number, version: number];

export function readReply(raw: unknown): ScriptReply {
  const [status, now, nextDue, events, data, bytesList, touched] = raw as [string, string, string, EventTuple[], unknown[], string[], string[]];
  const bytes: QueueAfter[] = [];
  for (let i = 0; i + 3 < bytesList.length; i += 4) bytes.push([bytesList[i]!, Number(bytesList[i + 1]), Number(bytesList[i + 2]), Number(bytesList[i + 3])]);
  return { status, now: Number(now), nextDue: nextDue === '' ? undefined : Number(nextDue), events, data, bytes, touched };
}

export function taskOf(tuple: TaskTuple): RawTask {
  const [id, queue, payload, attempt, priority, enqueuedAt, leaseUntil, replyTo, lastError, deadLetteredFrom] = tuple;
  const task: RawTask = { id, queue, payload: payload as JsonText, attempt: Number(attempt), priority: Number(priority), enqueuedAt: isoTime(Number(enqueuedAt)) };
  if (leaseUntil !== null) task.leaseUntil = isoTime(Number(leaseUntil));
  if (replyTo !== null) task.replyTo = replyTo;
  if (lastError !== null) task.lastError = lastError;
  if (deadLetteredFrom !== null) task.deadLetteredFrom = deadLetteredFrom;
  return task;
}

/** The event of a tuple; `sessionOf` turns a lease holder (`<manager>/<session>`) into the session the server knows. */
export function eventOf(tuple: EventTuple, at: number, sessionOf: (holder: string) => string): EngineEvent {
  const [kind, queue, id, attempt, payload, error, holder, count] = tuple;
  const event: EngineEvent = { kind: kind as EngineEvent['kind'], queue, at };
  if (id !== null) event.taskId = id;
  if (attempt !== null) event.attempt = Number(attempt);
  if (payload !== null) event.payload = payload as JsonText;
  if (error !== null) event.error = error;
  if (holder !== null && holder !== '') event.session = sessionOf(holder);
  if (count !== null) event.count = Number(count);
  return event;
}

function tasks(count: number): string {
  return `${count} task${count === 1 ? '' : 's'}`;
}

/** queue_full from a put script's {limit, maxsize, maxBytes, held, bytes}, in the engine's words (bounds.ts). */
export function queueFullError(queue: string, data: unknown[], count: number, never: boolean): EngineError {
  const [limit, maxsizeText, maxBytesText, heldText, bytesText] = data as string[];
  const maxsize = Number(maxsizeText);
  const maxBytes = Number(maxBytesText);
  const bytes = Number(bytesText);
  const isBytes = limit === 'maxBytes';
  const max = isBytes ? maxBytes : maxsize;
  let message: string;
  if (never) message = isBytes ? `"${queue}" can never take ${tasks(count)} of ${bytes} bytes (maxBytes ${maxBytes})` : `"${queue}" has more tasks than its maxsize (maxsize ${maxsize})`;
  else message = isBytes ? `"${queue}" has no room for ${tasks(count)} of ${bytes} bytes (maxBytes ${maxBytes}, ${heldText} held)` : `"${queue}" has no room for ${tasks(count)} (maxsize ${maxsize})`;
  return new EngineError('queue_full', message, { queue, maxsize, limit: isBytes ? 'maxBytes' : 'maxsize', max });
}

/** lease_unknown for the ids a session does not hold, in the engine's words (leaseTable.ts). */
export function leaseUnknownError(missing: string[]): EngineError {
  const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ', ...' : '');
  return new EngineError('lease_unknown', `this session does not hold ${missing.length === 1 ? 'task' : 'tasks'} ${shown}`, { ids: missing });
}
