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

/** Stands for a payload in the one JSON.stringify of a result's tasks; replaced by the payload's text. */
const PLACEHOLDER = '"payload":0';

/**
 * The result of queue/get and queue/peek (`{"tasks":[...]}`, after the members of `others` if
 * given: an answer that also leases tasks), written with each payload's text as it is, in one
 * JSON.stringify of the tasks:
 *
 * - a short payload that is a string without a backslash goes in as its value: JSON.stringify
 *   writes such a string back as the very same text (nothing in it needs an escape: the text is
 *   valid JSON, so it holds no quote or control character, and no lone surrogate, having been
 *   decoded from UTF-8 or written by JSON.stringify). Only short ones: JSON.stringify looks at
 *   every character (116 µs for a 64 KiB string), which is what keeping texts avoids;
 * - any other payload goes in as a placeholder, then each placeholder is replaced by its text.
 *   `"payload":0` can appear only where a task's payload is (inside a string its quotes would
 *   be escaped, and a Task has no other member named payload); if it ever appeared elsewhere,
 *   the count shows it and the tasks are written one by one.
 *
 * For a getMany of small payloads this costs about what serializing parsed values did.
 */
export function tasksResult(tasks: RawTask[], others: object = {}): SerializedJson {
  // Each task's payload is swapped for what stands for it while JSON.stringify runs, and put
  // back after: no copy of every task (the tasks were made for this answer, and nothing else
  // runs meanwhile).
  const texts = new Array<JsonText>(tasks.length);
  let placeholders = 0;
  let json: string;
  try {
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i] as { payload: unknown };
      const payload = (texts[i] = tasks[i]!.payload);
      if (writtenAsValue(payload)) {
        task.payload = payload.slice(1, -1);
      } else {
        task.payload = 0;
        placeholders++;
      }
    }
    json = JSON.stringify(Object.keys(others).length === 0 ? { tasks } : { ...others, tasks });
  } finally {
    for (let i = 0; i < tasks.length; i++) if (texts[i] !== undefined) tasks[i]!.payload = texts[i]!;
  }
  if (placeholders === 0) return new SerializedJson(json);
  const parts = json.split(PLACEHOLDER);
  if (parts.length !== placeholders + 1) {
    const head = JSON.stringify(others).slice(0, -1);
    return new SerializedJson(`${head}${head.length > 1 ? ',' : ''}"tasks":[${tasks.map(taskText).join(',')}]}`);
  }
  let text = parts[0]!;
  let part = 1;
  for (const payload of texts) {
    if (!writtenAsValue(payload)) text += `"payload":${payload}${parts[part++]!}`;
  }
  return new SerializedJson(text);
}

const QUOTE = 0x22;

/** A short string without a backslash: JSON.stringify of its value gives back its text. */
function writtenAsValue(payload: JsonText): boolean {
  return payload.length <= SHORT_STRING && payload.charCodeAt(0) === QUOTE && payload.indexOf('\\') < 0;
}
/** Up to this length a string payload is cheaper to write as its value than to splice in. */
const SHORT_STRING = 256;

/** One task as the wire's Task object. */
export function taskText(task: RawTask): string {
  const { payload, ...rest } = task;
  return stringifyWithTexts(rest, [['payload', payload]]);
}
