import type { TaskImage } from '../engine/journal';
import { stringifyWithTexts } from '../protocol/jsonText';
import { keptText, memberTexts, valueText } from '../protocol/rawJson';
import type { StoredRecord } from './records';

// Records that carry tasks ('put' in a journal, 'task' in a snapshot) hold each payload as its
// JSON text (spec §7.17): written into the record as the JSON value it is, not as a string of
// it, and read back as the very text it was. The records look as they always have (a payload
// is a JSON value inside the record), so a data dir written before payloads were kept as text
// loads unchanged, its payloads then as compact as the serializer that wrote them made them.

/** A record's body: JSON, with task payloads written as their texts. */
export function recordText(record: object): string {
  const tagged = record as { op?: unknown; tasks?: TaskImage[]; task?: TaskImage };
  if (tagged.op === 'put' && Array.isArray(tagged.tasks)) {
    const { tasks, ...rest } = tagged;
    let text = `${JSON.stringify(rest).slice(0, -1)},"tasks":[`;
    for (let i = 0; i < tasks.length; i++) text += (i > 0 ? ',' : '') + imageText(tasks[i]!);
    return `${text}]}`;
  }
  if (tagged.op === 'task' && tagged.task !== undefined) {
    const { task, ...rest } = tagged;
    return `${JSON.stringify(rest).slice(0, -1)},"task":${imageText(task)}}`;
  }
  return JSON.stringify(record);
}

function imageText(image: TaskImage): string {
  const { payload, ...rest } = image;
  return stringifyWithTexts(rest, [['payload', payload]]);
}

/**
 * Gives a record decoded from `body` its payloads back as texts: JSON.parse read them as
 * values, and the text of each is found in the body.
 */
export function restorePayloadTexts(record: StoredRecord, body: string): void {
  if (record.op === 'put' && Array.isArray(record.tasks)) {
    const tasks = record.tasks as { payload: unknown }[];
    const sources = memberTexts(body, ['tasks'], 'payload') ?? [];
    tasks.forEach((task, i) => {
      const source = sources[i];
      if (task !== null && typeof task === 'object' && source !== undefined) task.payload = keptText(source, task.payload, body.length);
    });
  } else if (record.op === 'task' && record.task !== null && typeof record.task === 'object') {
    const task = record.task as { payload: unknown };
    const source = valueText(body, ['task', 'payload']);
    if (source !== undefined) task.payload = keptText(source, task.payload, body.length);
  }
}
