import type { JsonText } from './jsonText';

// Finds the source text of values inside a frame that JSON.parse has already accepted, so the
// manager can keep a payload as the bytes it arrived as (jsonText.ts says why). JSON.parse stays
// the validator: this scanner trusts its input to be valid JSON and only locates values in it.
//
// It walks the structure the way JSON.parse reads it — any member order, any whitespace, keys
// with escapes decoded, and, for a key given twice, the last one, as JSON.parse keeps the last —
// but skips what it does not need without looking at each character: a string with indexOf('"')
// (plus a look at the backslashes before the quote found), an array or object with a global
// regular expression that stops only at brackets, braces and quotes. It is iterative: no depth
// of nesting can overflow its stack.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/** Where a container's structure can change: brackets, braces and the quotes that open strings. */
const STRUCTURE = /[{}[\]"]/g;
/** Insignificant whitespace, and the quotes that open strings (inside which whitespace is data). */
const WHITESPACE_OR_QUOTE = /[ \t\n\r"]/g;

/**
 * The source texts of `member` in each element of the array at `path` (object keys from the
 * top-level object), e.g. (frame, ['params', 'tasks'], 'payload') → the payload of every task,
 * in order, exactly as written (see keptText for what to keep). An element without the member
 * (or that is not an object) gives undefined; no array at `path` gives undefined.
 */
export function memberTexts(frame: string, path: readonly string[], member: string): (string | undefined)[] | undefined {
  return collect(frame, skipWhitespace(frame, 0), path, 0, member);
}

/** Set by collect: where the value it read ends. */
let collectedEnd = 0;

/**
 * memberTexts from the value at `at`, which path[level] names, in one pass: each value is read
 * once, those on the path by descending into them (the frame of a putMany is mostly its tasks,
 * and skipping them to look for a later duplicate key, then reading them again, would cost
 * twice). Sets collectedEnd. Recursion is as deep as the path, not as the frame.
 */
function collect(text: string, at: number, path: readonly string[], level: number, member: string): (string | undefined)[] | undefined {
  const first = text.charCodeAt(at);
  if (level === path.length) {
    if (first !== OPEN_BRACKET) {
      collectedEnd = valueEnd(text, at);
      return undefined;
    }
    return elementMembers(text, at, member);
  }
  if (first !== OPEN_BRACE) {
    collectedEnd = valueEnd(text, at);
    return undefined;
  }
  const key = path[level]!;
  let found: (string | undefined)[] | undefined;
  at = skipWhitespace(text, at + 1);
  if (text.charCodeAt(at) === CLOSE_BRACE) {
    collectedEnd = at + 1;
    return undefined;
  }
  for (;;) {
    at = skipWhitespace(text, at);
    const keyEnd = stringEnd(text, at);
    const valueStart = skipWhitespace(text, skipWhitespace(text, keyEnd) + 1); // past the colon
    let end: number;
    if (keyIs(text, at, keyEnd, key)) {
      // A later member with the same key replaces this one, as in JSON.parse.
      found = collect(text, valueStart, path, level + 1, member);
      end = collectedEnd;
    } else {
      end = valueEnd(text, valueStart);
    }
    at = skipWhitespace(text, end);
    if (text.charCodeAt(at) !== COMMA) {
      collectedEnd = at + 1; // past the closing brace
      return found;
    }
    at++;
  }
}

/** The source text of `member` in each element of the array at `at`; sets collectedEnd. */
function elementMembers(text: string, at: number, member: string): (string | undefined)[] {
  const texts: (string | undefined)[] = [];
  at = skipWhitespace(text, at + 1);
  if (text.charCodeAt(at) === CLOSE_BRACKET) {
    collectedEnd = at + 1;
    return texts;
  }
  for (;;) {
    at = skipWhitespace(text, at);
    let end: number;
    if (text.charCodeAt(at) === OPEN_BRACE) {
      const start = lastMember(text, at, member);
      end = objectEnd;
      texts.push(start === undefined ? undefined : text.slice(start, memberEnd));
    } else {
      end = valueEnd(text, at);
      texts.push(undefined);
    }
    at = skipWhitespace(text, end);
    if (text.charCodeAt(at) !== COMMA) {
      collectedEnd = at + 1; // past the closing bracket
      return texts;
    }
    at++;
  }
}

/** The source text of the value at `path` (object keys from the top-level object), or undefined. */
export function valueText(text: string, path: readonly string[]): string | undefined {
  const at = valueAt(text, path);
  return at === undefined ? undefined : text.slice(at, valueEnd(text, at));
}

/** Where the value at `path` starts, or undefined. */
function valueAt(text: string, path: readonly string[]): number | undefined {
  let at = skipWhitespace(text, 0);
  for (const key of path) {
    if (text.charCodeAt(at) !== OPEN_BRACE) return undefined;
    const found = lastMember(text, at, key);
    if (found === undefined) return undefined;
    at = found;
  }
  return at;
}

/** Below this length, serializing the parsed value is the cheapest way to a copy (see keptText). */
const SMALL_TEXT = 256;

/**
 * What to keep of a value's source text (found in a frame of `frameLength` characters, and
 * parsed by JSON.parse as `value`): the text without insignificant whitespace, as a string of
 * its own rather than a view of the frame.
 *
 * A slice of a string in V8 is a view that keeps the whole frame alive: fine when the value is
 * most of the frame (one large payload), but a task of a putMany of 10,000 would keep its
 * 10,000 neighbours in memory until it leaves. So a value shorter than half its frame is
 * copied: a small one by serializing its parsed value, kept only if that gives the very same
 * text (about 0.1 µs for a 20-byte string, and no garbage; a payload with escapes or 1.0 does
 * not match and takes the next way), a larger one by an UTF-8 round trip (0.8 µs for 1 KiB;
 * exact, the frame having been decoded from UTF-8).
 */
export function keptText(source: string, value: unknown, frameLength: number): JsonText {
  const copy = 2 * source.length < frameLength;
  if (copy && source.length <= SMALL_TEXT) {
    const serialized = JSON.stringify(value);
    if (serialized === source) return serialized as JsonText;
  }
  if (hasInsignificantWhitespace(source)) return compactJson(source) as JsonText; // joined: a copy
  return (copy ? Buffer.from(source, 'utf8').toString('utf8') : source) as JsonText;
}

/** Set by lastMember: where the object it read ends, and where the member it found ends. */
let objectEnd = 0;
let memberEnd = 0;

/**
 * The start of the value of the last member named `key` of the object at `at`, or undefined;
 * sets objectEnd (and memberEnd when found) rather than allocating a result per element.
 */
function lastMember(text: string, at: number, key: string): number | undefined {
  let found: number | undefined;
  at = skipWhitespace(text, at + 1);
  if (text.charCodeAt(at) === CLOSE_BRACE) {
    objectEnd = at + 1;
    return undefined;
  }
  for (;;) {
    at = skipWhitespace(text, at);
    const keyEnd = stringEnd(text, at);
    const valueStart = skipWhitespace(text, skipWhitespace(text, keyEnd) + 1); // past the colon
    const end = valueEnd(text, valueStart);
    if (keyIs(text, at, keyEnd, key)) {
      found = valueStart;
      memberEnd = end;
    }
    at = skipWhitespace(text, end);
    if (text.charCodeAt(at) !== COMMA) {
      objectEnd = at + 1; // past the closing brace
      return found;
    }
    at++;
  }
}

/** Whether the string token text[start, end) decodes to `key`. */
function keyIs(text: string, start: number, end: number, key: string): boolean {
  const length = end - start - 2;
  if (length === key.length) return text.startsWith(key, start + 1);
  if (length < key.length) return false; // escapes only make the text longer
  const raw = text.slice(start + 1, end - 1);
  return raw.indexOf('\\') >= 0 && JSON.parse(text.slice(start, end)) === key;
}

function skipWhitespace(text: string, at: number): number {
  for (;;) {
    const c = text.charCodeAt(at);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return at;
    at++;
  }
}

/** The end (past the closing quote) of the string whose opening quote is at `at`. */
function stringEnd(text: string, at: number): number {
  let from = at + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) throw new SyntaxError('rawJson: an unterminated string (the text was not valid JSON)');
    let backslash = quote - 1;
    while (text.charCodeAt(backslash) === BACKSLASH) backslash--;
    // An even run of backslashes escapes itself, not the quote.
    if ((quote - 1 - backslash) % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** The end of the value that starts at `at` (no whitespace before it). */
function valueEnd(text: string, at: number): number {
  const first = text.charCodeAt(at);
  if (first === QUOTE) return stringEnd(text, at);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    STRUCTURE.lastIndex = at;
    for (;;) {
      const match = STRUCTURE.exec(text);
      if (match === null) throw new SyntaxError('rawJson: an unclosed array or object (the text was not valid JSON)');
      const c = text.charCodeAt(match.index);
      if (c === QUOTE) STRUCTURE.lastIndex = stringEnd(text, match.index);
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (--depth === 0) return match.index + 1;
    }
  }
  // A number, true, false or null: a few characters, up to a delimiter.
  let end = at + 1;
  for (;;) {
    const c = text.charCodeAt(end);
    if (c !== c || c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) return end; // c !== c: NaN, past the end
    end++;
  }
}

/** Whether a JSON text has whitespace outside its strings. */
export function hasInsignificantWhitespace(text: string): boolean {
  WHITESPACE_OR_QUOTE.lastIndex = 0;
  for (;;) {
    const match = WHITESPACE_OR_QUOTE.exec(text);
    if (match === null) return false;
    if (text.charCodeAt(match.index) !== QUOTE) return true;
    WHITESPACE_OR_QUOTE.lastIndex = stringEnd(text, match.index);
  }
}

/**
 * A JSON text without its insignificant whitespace, every other character kept: numbers,
 * escapes and member order stay as they were written.
 */
export function compactJson(text: string): string {
  const parts: string[] = [];
  let copiedTo = 0;
  WHITESPACE_OR_QUOTE.lastIndex = 0;
  for (;;) {
    const match = WHITESPACE_OR_QUOTE.exec(text);
    if (match === null) break;
    const at = match.index;
    if (text.charCodeAt(at) === QUOTE) {
      WHITESPACE_OR_QUOTE.lastIndex = stringEnd(text, at);
      continue;
    }
    parts.push(text.slice(copiedTo, at));
    copiedTo = skipWhitespace(text, at);
    WHITESPACE_OR_QUOTE.lastIndex = copiedTo;
  }
  parts.push(text.slice(copiedTo));
  return parts.join('');
}
