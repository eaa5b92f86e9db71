import type { RawAck, RawTask, RawTaskSpec } from '../engine';
import type { Ack, TaskSpec } from '../protocol/generated';
import { SerializedJson, stringifyWithTexts, type JsonText } from '../protocol/jsonText';
import { memberTexts } from '../protocol/rawJson';

// The handlers' side of opaque payloads (spec §7.17): params arrive parsed and validated, and
// the payloads and results in them are replaced by their texts in the frame; answers that carry
// payloads are written with those texts as they are. Strings, not Buffers: a frame arrives as
// one string (the transport decodes it once, which JSON.parse needs anyway) and leaves as part
// of one string per turn (the transport encodes a turn's frames in one Buffer.from), so a
// Buffer per payload would add an encode on the way in and a copy on the way out, and cost
// about 100 bytes per queued task besides.

/** The tasks of a queue/put whose frame is `frame`, each with its payload's text. */
export function rawTaskSpecs(specs: TaskSpec[], frame: string): RawTaskSpec[] {
  const texts = textsFor(frame, 'tasks', 'payload', specs.length);
  return specs.map((spec, i) => {
    const payload = texts[i];
    if (payload === undefined) throw new Error(`the payload of task ${i} was not found in its frame`);
    return { ...spec, payload };
  });
}

/** The acks of a task/ack whose frame is `frame`, each with its result's text (if it has one). */
export function rawAcks(acks: Ack[], frame: string): RawAck[] {
  const texts = textsFor(frame, 'acks', 'result', acks.length);
  return acks.map((ack, i) => {
    const result = texts[i];
    if ((result === undefined) !== (ack.result === undefined)) throw new Error(`the result of ack ${i} was not found in its frame`);
    // Without a result, the ack is already what the backend takes.
    return result === undefined ? (ack as RawAck) : { ...ack, result };
  });
}

/** The texts of `member` in each element of params[list]: as many as the parsed params have. */
function textsFor(frame: string, list: string, member: string, count: number): (JsonText | undefined)[] {
  const texts = memberTexts(frame, ['params', list], member);
  // The scanner reads the frame JSON.parse accepted: a disagreement is a bug, answered -32603.
  if (texts === undefined || texts.length !== count) throw new Error(`params.${list} was not found in its frame as parsed`);
  return texts;
}

/** The result of queue/get and queue/peek, written with each payload's text as it is. */
export function tasksResult(tasks: RawTask[]): SerializedJson {
  let text = '{"tasks":[';
  for (let i = 0; i < tasks.length; i++) {
    if (i > 0) text += ',';
    text += taskText(tasks[i]!);
  }
  return new SerializedJson(`${text}]}`);
}

/** One task as the wire's Task object. */
export function taskText(task: RawTask): string {
  const { payload, ...rest } = task;
  return stringifyWithTexts(rest, [['payload', payload]]);
}
