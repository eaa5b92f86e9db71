// Payloads and results are opaque to the manager (spec/protocol.md §7.17): it keeps the JSON
// text a client sent and forwards that text, never a value parsed from it and serialized
// again. Re-serializing costs more than parsing (JSON.stringify of a 64 KiB payload took 126 µs
// where JSON.parse of its frame took 40 µs), and it changes what a client sent: numbers past
// 2^53, 1.0 against 1, escapes, the order of duplicate keys.

declare const jsonTextBrand: unique symbol;

/**
 * The text of one JSON value as a client sent it, without insignificant whitespace: a task's
 * payload or an ack's result as the manager holds, stores and forwards it. The brand keeps an
 * arbitrary string (which might not be JSON) from passing for one: texts come from the frame
 * scanner (rawJson.ts), from jsonTextOf, or from a store that wrote them.
 */
export type JsonText = string & { readonly [jsonTextBrand]: true };

/** The JSON text of a value the manager itself makes (a test's payload, say). */
export function jsonTextOf(value: unknown): JsonText {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`${typeof value} is not a JSON value`);
  return text as JsonText;
}

/** What a task's payload costs against maxPayloadBytes, maxBytes and maxQueuedBytes: its text's length in UTF-8. */
export function jsonTextBytes(text: JsonText): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * `value` serialized with `members` added after its own, each written as its JSON text: how a
 * message that carries payloads is written without serializing them again. Members whose text
 * is undefined are left out, as JSON.stringify leaves out undefined.
 */
export function stringifyWithTexts(value: object, members: readonly (readonly [string, JsonText | undefined])[]): string {
  let text = JSON.stringify(value);
  for (const [key, member] of members) {
    if (member === undefined) continue;
    const head = text.length === 2 ? '{' : `${text.slice(0, -1)},`;
    text = `${head}${JSON.stringify(key)}:${member}}`;
  }
  return text;
}

/**
 * A result already serialized: Session.respond writes its text as the response's `result`, and
 * Session.notify as a notification's `params`, as they are.
 */
export class SerializedJson {
  constructor(readonly text: string) {}
}
