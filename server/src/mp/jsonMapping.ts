// Python values ⇄ the JSON texts the queues hold (docs/multiprocessing.md has the table):
//   None ⇄ null · bool ⇄ true/false · int ⇄ an integer number (within ±(2^53 − 1) from Python)
//   float ⇄ a number with a fraction or exponent (1.0 is written "1.0") · str ⇄ string
//   bytes ⇄ {"$bytes": "<base64>"} · tuple, list, set → array → list · dict (str keys) ⇄ object
// A JSON number without a fraction or exponent comes to Python as an int (of any size), one
// with them as a float, so int and float survive a round trip through the queue.
import type { JsonText } from '../protocol/jsonText';
import { PyException, PySet, PyToken, PyTuple, pyTypeName, type PyDict, type PyValue } from './pyValue';

/** A Python value that has no JSON form here; the message is what the client sees. */
export class JsonMappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonMappingError';
  }
}

/** The member that marks bytes in JSON: `{"$bytes": "aGk="}`. */
export const BYTES_KEY = '$bytes';

export interface ToJsonLimits {
  /** Longest text, in UTF-8 bytes (maxPayloadBytes): also bounds a pickle whose memo shares one part many times. */
  maxBytes: number;
  /** Deepest nesting of arrays and objects, the value itself at level 1 (maxNestingDepth): also ends a list that contains itself. */
  maxDepth: number;
}

/** The JSON text of a Python value, as a queue holds it; throws JsonMappingError for what has none. */
export function toJsonText(value: PyValue, limits: ToJsonLimits): JsonText {
  // The common item, a str, without the writer.
  if (typeof value === 'string') {
    const text = quotedAsIs(value) ?? JSON.stringify(value);
    if (text.length <= limits.maxBytes && (text.length * 3 <= limits.maxBytes || Buffer.byteLength(text, 'utf8') <= limits.maxBytes)) return text as JsonText;
  }
  const writer = new JsonWriter(limits);
  writer.value(value, 1);
  return writer.text() as JsonText;
}

/** Below this length JSON.stringify is as fast as quotedAsIs's check. */
const LONG_STR = 256;

/**
 * `"value"` when that is already value's JSON text, else undefined: for a long str, which
 * JSON.stringify escapes character by character (98 µs for 64 KiB) while JSON.parse reads the
 * quoted text at once (26 µs). JSON.parse refuses a raw control character or quote and decodes
 * a backslash into something shorter, so it gives back the very same string exactly when
 * nothing in it needs escaping. (JSON.stringify would also escape a lone surrogate, which a
 * str from the pickle reader cannot hold: it refuses invalid UTF-8.)
 */
function quotedAsIs(value: string): string | undefined {
  if (value.length < LONG_STR) return undefined;
  const text = `"${value}"`;
  try {
    return JSON.parse(text) === value ? text : undefined;
  } catch {
    return undefined;
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

class JsonWriter {
  private readonly parts: string[] = [];
  /** UTF-16 units so far: a lower bound of the UTF-8 bytes, checked exactly at the end. */
  private length = 0;

  constructor(private readonly limits: ToJsonLimits) {}

  text(): string {
    const text = this.parts.join('');
    if (Buffer.byteLength(text, 'utf8') > this.limits.maxBytes) this.tooLarge();
    return text;
  }

  value(value: PyValue, depth: number): void {
    if (value === null) return this.put('null');
    if (typeof value === 'boolean') return this.put(value ? 'true' : 'false');
    if (typeof value === 'bigint') {
      if (value > MAX_SAFE || value < -MAX_SAFE)
        throw new JsonMappingError(`int ${value.toString().slice(0, 40)} is too large: a JSON number holds integers up to ±(2**53 - 1) exactly (send it as a str)`);
      return this.put(value.toString());
    }
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new JsonMappingError(`float ${value} has no JSON form (NaN and infinities are not JSON numbers)`);
      const text = Object.is(value, -0) ? '-0.0' : JSON.stringify(value);
      return this.put(/[.eE]/.test(text) ? text : `${text}.0`);
    }
    if (typeof value === 'string') return this.put(JSON.stringify(value));
    if (Buffer.isBuffer(value)) return this.put(`{"${BYTES_KEY}":"${value.toString('base64')}"}`);
    if (depth > this.limits.maxDepth) throw new JsonMappingError(`nested deeper than ${this.limits.maxDepth} levels (or a container that contains itself)`);
    if (value instanceof PyTuple || value instanceof PySet || Array.isArray(value)) {
      const items = Array.isArray(value) ? value : value.items;
      this.put('[');
      items.forEach((item, i) => {
        if (i > 0) this.put(',');
        this.value(item, depth + 1);
      });
      return this.put(']');
    }
    if (value instanceof Map) {
      this.put('{');
      let first = true;
      for (const [key, item] of value) {
        if (!first) this.put(',');
        first = false;
        this.put(JSON.stringify(key));
        this.put(':');
        this.value(item, depth + 1);
      }
      return this.put('}');
    }
    if (value instanceof PyException || value instanceof PyToken)
      throw new JsonMappingError(`a ${pyTypeName(value)} cannot be put on a queue: only None, bool, int, float, str, bytes, tuple, list, dict, set`);
    throw new JsonMappingError('not a Python value');
  }

  private put(text: string): void {
    this.length += text.length;
    if (this.length > this.limits.maxBytes) this.tooLarge();
    this.parts.push(text);
  }

  private tooLarge(): never {
    throw new JsonMappingError(`the item's JSON text is larger than maxPayloadBytes (${this.limits.maxBytes} bytes)`);
  }
}

/** The Python value of a JSON text a queue holds (a task's payload, put by any client). */
export function fromJsonText(text: string): PyValue {
  const parser = new JsonParser(text);
  const value = parser.value();
  parser.end();
  return value;
}

const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;

class JsonParser {
  private pos = 0;
  /** The first backslash at or after `pos` as of the last string read (text.length: none), so that finding out whether a string has escapes costs one scan of the text in all. */
  private nextBackslash = -1;

  constructor(private readonly text: string) {}

  end(): void {
    this.space();
    if (this.pos !== this.text.length) this.fail('text after the value');
  }

  value(): PyValue {
    this.space();
    const c = this.text[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === 't' && this.text.startsWith('true', this.pos)) return ((this.pos += 4), true);
    if (c === 'f' && this.text.startsWith('false', this.pos)) return ((this.pos += 5), false);
    if (c === 'n' && this.text.startsWith('null', this.pos)) return ((this.pos += 4), null);
    return this.number();
  }

  private object(): PyValue {
    this.pos++;
    const dict: PyDict = new Map();
    this.space();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return dict;
    }
    for (;;) {
      this.space();
      if (this.text[this.pos] !== '"') this.fail('a key');
      const key = this.string();
      this.space();
      if (this.text[this.pos++] !== ':') this.fail('":"');
      dict.set(key, this.value());
      this.space();
      const c = this.text[this.pos++];
      if (c === '}') break;
      if (c !== ',') this.fail('"," or "}"');
    }
    const bytes = dict.size === 1 ? dict.get(BYTES_KEY) : undefined;
    if (typeof bytes === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(bytes)) return Buffer.from(bytes, 'base64');
    return dict;
  }

  private array(): PyValue[] {
    this.pos++;
    const items: PyValue[] = [];
    this.space();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return items;
    }
    for (;;) {
      items.push(this.value());
      this.space();
      const c = this.text[this.pos++];
      if (c === ']') return items;
      if (c !== ',') this.fail('"," or "]"');
    }
  }

  /** The string whose opening quote is at pos. Found with indexOf, natively: a JS loop over a 64 KiB payload took 160 µs. */
  private string(): string {
    const start = this.pos;
    let quote = this.text.indexOf('"', start + 1);
    for (;;) {
      if (quote < 0) this.fail('the end of a string');
      let backslash = quote - 1;
      while (this.text.charCodeAt(backslash) === 0x5c) backslash--;
      // An even run of backslashes escapes itself, not the quote.
      if ((quote - 1 - backslash) % 2 === 0) break;
      quote = this.text.indexOf('"', quote + 1);
    }
    this.pos = quote + 1;
    if (this.nextBackslash < start) {
      const found = this.text.indexOf('\\', start);
      this.nextBackslash = found < 0 ? this.text.length : found;
    }
    // Without escapes the text between the quotes is the string itself.
    return this.nextBackslash < quote ? (JSON.parse(this.text.slice(start, quote + 1)) as string) : this.text.slice(start + 1, quote);
  }

  private number(): PyValue {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail('a value');
    this.pos += match[0].length;
    if (match[2] === undefined && match[3] === undefined) return BigInt(match[0]);
    return Number(match[0]);
  }

  private space(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos]!)) this.pos++;
  }

  private fail(expected: string): never {
    throw new JsonMappingError(`invalid JSON at ${this.pos}: expected ${expected}`);
  }
}
