import type { RawAck, RawTask, RawTaskSpec } from '../engine';
import type { Ack, TaskSpec } from '../protocol/generated';
import { SerializedJson, stringifyWithTexts, type JsonText } from '../protocol/jsonText';
import { keptText, memberTexts } from '../protocol/rawJson';

// The handlers' side of opaque payloads (spec §7.17): params arrive parsed and validated, and
// the payloads and results in them are replaced by their texts in the frame; answers that carry
// payloads are written with those texts as they are.
//
// Strings, not Buffers (measured on Node 20, a 64 KiB ASCII payload): a frame arrives as one
// string (the transport decodes it once, 8 µs, which JSON.parse needs anyway) and leaves as
// part of one string per turn (the transport encodes a turn's frames in one Buffer.from: 9 to
// 21 µs). A Buffer per payload would add an encode on the way in (Buffer.from of the text: 9 to
// 21 µs again) and save the encode on the way out only if the transport wrote Buffers beside
// strings; and a small Buffer costs about 80 bytes per queued task more than a string (a view
// object on a pooled slab), which a million 20-byte tasks cannot afford (the bench's memory
// workload: about 290 bytes a task with strings, against a target of 300).

/**
 * Whether the values (payloads or results) are all strings in a frame without a backslash.
 * Then each one's source text is its characters between quotes (a JSON string holds no raw
 * quote or control character, and a frame decoded from UTF-8 no lone surrogate), and the scan
 * for the sources can be skipped: the common small task, a URL or an id. Not for numbers (1.0
 * and 1e400 would be written back otherwise) nor objects (JSON.parse puts integer-like keys first).
 */
function allPlainStrings(values: readonly unknown[], frame: string): values is string[] {
  for (const value of values) if (typeof value !== 'string') return false;
  return frame.indexOf('\\') < 0;
}

const quoted = (text: string): JsonText => `"${text}"` as JsonText;

/** The tasks of a queue/put whose frame is `frame`, each given its payload's text, in place. */
export function rawTaskSpecs(specs: TaskSpec[], frame: string): RawTaskSpec[] {
  // The common small task, a string such as a URL or an id: its text without a scan.
  const payloads = specs.map((spec) => spec.payload);
  if (allPlainStrings(payloads, frame)) {
    specs.forEach((spec, i) => (spec.payload = quoted(payloads[i]!)));
    return specs as RawTaskSpec[];
  }
  const sources = sourcesIn(frame, 'tasks', 'payload', specs.length);
  // In place: the params were parsed for this request alone, and a putMany of 10,000 tasks
  // need not make 10,000 more objects (nor their garbage) to swap values for texts.
  for (let i = 0; i < specs.length; i++) {
    const source = sources[i];
    if (source === undefined) throw new Error(`the payload of task ${i} was not found in its frame`);
    const spec = specs[i]!;
    spec.payload = keptText(source, spec.payload, frame.length);
  }
  return specs as RawTaskSpec[];
}

/** The acks of a task/ack whose frame is `frame`, each given its result's text (if it has one), in place. */
export function rawAcks(acks: Ack[], frame: string): RawAck[] {
  // Most acks carry no result (or the results go nowhere): then there is nothing to find.
  if (acks.every((ack) => ack.result === undefined)) return acks as RawAck[];
  if (
    allPlainStrings(
      acks.filter((ack) => ack.result !== undefined).map((ack) => ack.result),
      frame,
    )
  ) {
    for (const ack of acks) if (ack.result !== undefined) ack.result = quoted(ack.result as string);
    return acks as RawAck[];
  }
  const sources = sourcesIn(frame, 'acks', 'result', acks.length);
  acks.forEach((ack, i) => {
    const source = sources[i];
    if ((source === undefined) !== (ack.result === undefined)) throw new Error(`the result of ack ${i} was not found in its frame`);
    if (source !== undefined) ack.result = keptText(source, ack.result, frame.length);
  });
  return acks as RawAck[];
}

/** The source texts of `member` in each element of params[list]: as many as the parsed params have. */
function sourcesIn(frame: string, list: string, member: string, count: number): (string | undefined)[] {
  const sources = memberTexts(frame, ['params', list], member);
  // The scanner reads the frame JSON.parse accepted: a disagreement is a bug, answered -32603.
  if (sources === undefined || sources.length !== count) throw new Error(`params.${list} was not found in its frame as parsed`);
  return sources;
}

/**
 * The result of queue/get and queue/peek (`{"tasks":[...]}`, after the members of `others` if
 * given: an answer that also leases tasks), with each payload's text written as it is.
 *
 * Each task is written member by member (taskJson): no object is built for JSON.stringify, no
 * payload is swapped out and back, and no value is looked at twice. A task is one of the
 * hottest answers (every get, every ack with next): measured alone, a one-task answer took
 * 1.2 µs with one JSON.stringify of the tasks (2.1 µs with `others`), and about 0.4 µs so.
 */
export function tasksResult(tasks: RawTask[], others: object = {}): SerializedJson {
  const head = JSON.stringify(others);
  let text = head === '{}' ? '{"tasks":[' : `${head.slice(0, -1)},"tasks":[`;
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i]!;
    if (i > 0) text += ',';
    text += hasOnlyTaskMembers(task) ? taskJson(task) : taskText(task);
  }
  return new SerializedJson(`${text}]}`);
}

/**
 * The result of queue/put, `{"ids":[...]}` and, when a task had a uniqueness key,
 * `"duplicates":[...]` (spec §7.21), written member by member: every put answers with it, and
 * one JSON.stringify of the result object cost about twice as much (a put with a key, measured
 * in bench/unique.mjs's profile).
 */
export function putResult(ids: readonly string[], duplicates: readonly boolean[] | undefined): SerializedJson {
  let text = '{"ids":[';
  for (let i = 0; i < ids.length; i++) text += i === 0 ? jsonString(ids[i]!) : `,${jsonString(ids[i]!)}`;
  if (duplicates === undefined) return new SerializedJson(`${text}]}`);
  text += '],"duplicates":[';
  for (let i = 0; i < duplicates.length; i++) text += i === 0 ? String(duplicates[i] === true) : `,${duplicates[i] === true}`;
  return new SerializedJson(`${text}]}`);
}

/** The members of the wire's Task (spec: additionalProperties false), which taskJson writes. */
const TASK_MEMBERS = new Set(['id', 'queue', 'payload', 'attempt', 'priority', 'enqueuedAt', 'leaseUntil', 'replyTo', 'lastError', 'deadLetteredFrom']);

/** True when taskJson writes every member of `task`; anything else goes through taskText, which misses none. */
function hasOnlyTaskMembers(task: RawTask): boolean {
  for (const key in task) if (!TASK_MEMBERS.has(key)) return false;
  return true;
}

/**
 * One task as the wire's Task object, members in the spec's order, the payload as its text.
 * The same JSON as taskText's for the tasks the engine makes (which have their members in this
 * order). attempt and priority are integers (the engine counts them; the schema says so).
 */
function taskJson(task: RawTask): string {
  let text = `{"id":${jsonString(task.id)},"queue":${jsonString(task.queue)},"payload":${task.payload},"attempt":${task.attempt},"priority":${task.priority},"enqueuedAt":${jsonString(task.enqueuedAt)}`;
  if (task.leaseUntil !== undefined) text += `,"leaseUntil":${jsonString(task.leaseUntil)}`;
  if (task.replyTo !== undefined) text += `,"replyTo":${jsonString(task.replyTo)}`;
  if (task.lastError !== undefined) text += `,"lastError":${JSON.stringify(task.lastError)}`;
  if (task.deadLetteredFrom !== undefined) text += `,"deadLetteredFrom":${jsonString(task.deadLetteredFrom)}`;
  return `${text}}`;
}

/**
 * A string as JSON text. Ids, queue names and timestamps need no escape (names match the
 * spec's pattern, timestamps are the ISO form): written between quotes after a look at each
 * character, which is cheaper than JSON.stringify's call; anything else through JSON.stringify.
 */
function jsonString(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    // What JSON writes escaped: a control character, a quote, a backslash, a (lone) surrogate.
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return JSON.stringify(value);
  }
  return `"${value}"`;
}

/** One task as the wire's Task object. */
export function taskText(task: RawTask): string {
  const { payload, ...rest } = task;
  return stringifyWithTexts(rest, [['payload', payload]]);
}
