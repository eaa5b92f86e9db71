// The pattern language of conformance cases: how a case writes the message it expects
// ("partial object, any string here, remember this id") and the values it sends ("the task id
// captured earlier", "a fresh nonce", "the client proof for this handshake"). Documented in
// spec/conformance/README.md; kept free of sockets so it is testable on its own.
import { clientProof, newNonce, serverProof } from '../protocol/auth';

/** Values captured or set while a case runs, addressed as `${name}` in later steps. */
export type Variables = Map<string, unknown>;

/** What a computed value needs that a case file cannot hold: the key under test. */
export interface ComputeContext {
  variables: Variables;
  authkey: Buffer;
}

/** A failed match: where (a JSON Pointer into the actual message) and why. */
export interface Mismatch {
  path: string;
  reason: string;
}

const TYPE_MARKERS: Readonly<Record<string, (value: unknown) => boolean>> = {
  $any: () => true,
  $present: () => true,
  $string: (v) => typeof v === 'string',
  $integer: (v) => typeof v === 'number' && Number.isInteger(v),
  $number: (v) => typeof v === 'number',
  $boolean: (v) => typeof v === 'boolean',
  $null: (v) => v === null,
  $object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  $array: (v) => Array.isArray(v),
  $timestamp: (v) => typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v),
};

/** The operators a pattern object may be made of (an object whose first key starts with `$`). */
const OPERATORS = new Set(['$capture', '$oneOf', '$not', '$gte', '$lte', '$regex', '$length', '$contains', '$literal', '$exact']);

/** The computed values a sent message (or a pattern) may hold. */
const COMPUTED = new Set(['$nonce', '$clientProof', '$serverProof', '$repeat']);
/** Raw bytes in a sendRaw step (not a template value: a message cannot hold them). */
const RAW_BYTES = '$hex';

/** Every `$` word a case may use, for the case-file check. */
export const PATTERN_WORDS: readonly string[] = [...Object.keys(TYPE_MARKERS), '$absent', ...OPERATORS, ...COMPUTED, RAW_BYTES];

const WHOLE_VARIABLE = /^\$\{([A-Za-z0-9_.-]+)\}$/;
const EMBEDDED_VARIABLE = /\$\{([A-Za-z0-9_.-]+)\}/g;

/**
 * Replaces `${name}` references and computed values in a template (a message to send, or a
 * pattern before matching). A string that is exactly `${name}` becomes the variable's value
 * with its JSON type (a captured number stays a number); inside a longer string the value is
 * interpolated as text. An unknown variable is an error in the case, reported as such.
 */
export function substitute(template: unknown, context: ComputeContext): unknown {
  if (typeof template === 'string') return substituteString(template, context.variables);
  if (Array.isArray(template)) return template.map((item) => substitute(item, context));
  if (template === null || typeof template !== 'object') return template;
  const object = template as Record<string, unknown>;
  const keys = Object.keys(object);
  const first = keys[0];
  if (first !== undefined && COMPUTED.has(first)) return compute(first, object, context);
  // $literal and $capture names are not templates: leave them to the matcher.
  if (first === '$literal') return object;
  const result: Record<string, unknown> = {};
  for (const key of keys) result[key] = key === '$capture' ? object[key] : substitute(object[key], context);
  return result;
}

function substituteString(text: string, variables: Variables): unknown {
  const whole = WHOLE_VARIABLE.exec(text);
  if (whole) return lookup(whole[1]!, variables);
  if (!text.includes('${')) return text;
  return text.replace(EMBEDDED_VARIABLE, (_, name: string) => {
    const value = lookup(name, variables);
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

function lookup(name: string, variables: Variables): unknown {
  if (!variables.has(name)) throw new CaseError(`the case uses \${${name}} before anything set it`);
  return variables.get(name);
}

function compute(operator: string, object: Record<string, unknown>, context: ComputeContext): unknown {
  const argument = substitute(object[operator], context);
  switch (operator) {
    case '$nonce': {
      // A fresh nonce, remembered under the given name so a later proof can use it.
      const nonce = newNonce();
      if (typeof argument === 'string') context.variables.set(argument, nonce);
      return nonce;
    }
    case '$clientProof':
    case '$serverProof': {
      const input = argument as { serverNonce?: unknown; clientNonce?: unknown; version?: unknown; key?: unknown; uppercase?: unknown };
      for (const field of ['serverNonce', 'clientNonce', 'version'] as const) {
        if (typeof input[field] !== 'string') throw new CaseError(`${operator} needs a string "${field}"`);
      }
      // "key" lets a case prove with a wrong key on purpose; by default the key under test.
      const key = typeof input.key === 'string' ? Buffer.from(input.key, 'utf8') : context.authkey;
      const make = operator === '$clientProof' ? clientProof : serverProof;
      const proof = make(key, input.serverNonce as string, input.clientNonce as string, input.version as string);
      // "uppercase": the right HMAC in the wrong case, which §4.3 counts as a wrong proof.
      return input.uppercase === true ? proof.toUpperCase() : proof;
    }
    case '$repeat': {
      const count = substitute(object['count'], context);
      if (typeof argument !== 'string' || typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
        throw new CaseError('$repeat needs a string and a whole "count"');
      }
      return argument.repeat(count);
    }
    default:
      throw new CaseError(`unknown computed value ${operator}`);
  }
}

/**
 * Matches an actual value against a pattern (after {@link substitute}). Objects match
 * partially (members the pattern does not name are ignored; `"$absent"` requires a member to
 * be missing), arrays element by element with the same length, other values by equality.
 * Captures are written to `variables` only when the whole match succeeds, so a message that
 * fails to match leaves no trace.
 */
export function match(pattern: unknown, actual: unknown, variables: Variables): Mismatch | undefined {
  const captured = new Map<string, unknown>();
  const mismatch = matchAt(pattern, actual, '', captured);
  if (mismatch === undefined) for (const [name, value] of captured) variables.set(name, value);
  return mismatch;
}

function matchAt(pattern: unknown, actual: unknown, path: string, captured: Variables): Mismatch | undefined {
  if (typeof pattern === 'string' && pattern.startsWith('$')) {
    if (pattern === '$absent') return actual === undefined ? undefined : { path, reason: `expected no member here, got ${describe(actual)}` };
    const test = TYPE_MARKERS[pattern];
    if (test === undefined) throw new CaseError(`unknown pattern word ${JSON.stringify(pattern)} (write {"$literal": ...} for a string that starts with $)`);
    if (actual === undefined) return { path, reason: `expected ${pattern.slice(1)}, but the member is missing` };
    return test(actual) ? undefined : { path, reason: `expected ${pattern.slice(1)}, got ${describe(actual)}` };
  }
  if (Array.isArray(pattern)) {
    if (!Array.isArray(actual)) return { path, reason: `expected an array, got ${describe(actual)}` };
    if (actual.length !== pattern.length) return { path, reason: `expected ${pattern.length} element(s), got ${actual.length}` };
    for (let i = 0; i < pattern.length; i++) {
      const mismatch = matchAt(pattern[i], actual[i], `${path}/${i}`, captured);
      if (mismatch) return mismatch;
    }
    return undefined;
  }
  if (pattern !== null && typeof pattern === 'object') {
    const object = pattern as Record<string, unknown>;
    const first = Object.keys(object)[0];
    if (first !== undefined && OPERATORS.has(first)) return matchOperator(first, object, actual, path, captured);
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return { path, reason: `expected an object, got ${describe(actual)}` };
    const record = actual as Record<string, unknown>;
    for (const [key, value] of Object.entries(object)) {
      const present = Object.prototype.hasOwnProperty.call(record, key);
      const mismatch = matchAt(value, present ? record[key] : undefined, `${path}/${key}`, captured);
      if (mismatch) return mismatch;
    }
    return undefined;
  }
  if (actual === undefined) return { path, reason: `expected ${describe(pattern)}, but the member is missing` };
  return actual === pattern ? undefined : { path, reason: `expected ${describe(pattern)}, got ${describe(actual)}` };
}

function matchOperator(operator: string, object: Record<string, unknown>, actual: unknown, path: string, captured: Variables): Mismatch | undefined {
  const argument = object[operator];
  switch (operator) {
    case '$capture': {
      // {"$capture": "taskId"} takes anything present; {"$capture": "taskId", "match": p} checks p first.
      const inner = Object.prototype.hasOwnProperty.call(object, 'match') ? object['match'] : '$present';
      const mismatch = matchAt(inner, actual, path, captured);
      if (mismatch) return mismatch;
      captured.set(String(argument), actual);
      return undefined;
    }
    case '$oneOf': {
      const reasons: string[] = [];
      for (const alternative of argument as unknown[]) {
        const attempt = new Map(captured);
        const mismatch = matchAt(alternative, actual, path, attempt);
        if (!mismatch) {
          for (const [name, value] of attempt) captured.set(name, value);
          return undefined;
        }
        reasons.push(mismatch.reason);
      }
      return { path, reason: `matched none of: ${reasons.join('; ')}` };
    }
    case '$not':
      return matchAt(argument, actual, path, new Map()) ? undefined : { path, reason: `expected anything but ${JSON.stringify(argument)}, got ${describe(actual)}` };
    case '$gte':
    case '$lte': {
      if (typeof actual !== 'number') return { path, reason: `expected a number, got ${describe(actual)}` };
      const limit = argument as number;
      const ok = operator === '$gte' ? actual >= limit : actual <= limit;
      return ok ? undefined : { path, reason: `expected ${operator === '$gte' ? '>=' : '<='} ${limit}, got ${actual}` };
    }
    case '$regex':
      if (typeof actual !== 'string') return { path, reason: `expected a string, got ${describe(actual)}` };
      return new RegExp(String(argument)).test(actual) ? undefined : { path, reason: `expected a string matching /${String(argument)}/, got ${describe(actual)}` };
    case '$length': {
      const length = Array.isArray(actual) ? actual.length : typeof actual === 'string' ? actual.length : undefined;
      if (length === undefined) return { path, reason: `expected an array or a string, got ${describe(actual)}` };
      return length === argument ? undefined : { path, reason: `expected length ${String(argument)}, got ${length}` };
    }
    case '$contains': {
      if (!Array.isArray(actual)) return { path, reason: `expected an array, got ${describe(actual)}` };
      for (const wanted of argument as unknown[]) {
        const found = actual.some((element, i) => {
          const attempt = new Map(captured);
          if (matchAt(wanted, element, `${path}/${i}`, attempt) !== undefined) return false;
          for (const [name, value] of attempt) captured.set(name, value);
          return true;
        });
        if (!found) return { path, reason: `expected an element matching ${JSON.stringify(wanted)}, got ${describe(actual)}` };
      }
      return undefined;
    }
    case '$literal':
      return actual === argument ? undefined : { path, reason: `expected ${describe(argument)}, got ${describe(actual)}` };
    case '$exact': {
      // Like a plain object pattern, and no member beyond the ones it names.
      const mismatch = matchAt(argument, actual, path, captured);
      if (mismatch) return mismatch;
      const extra = Object.keys(actual as object).filter((key) => !Object.prototype.hasOwnProperty.call(argument as object, key));
      return extra.length === 0 ? undefined : { path, reason: `unexpected member(s) ${extra.map((k) => JSON.stringify(k)).join(', ')}` };
    }
    default:
      throw new CaseError(`unknown pattern operator ${operator}`);
  }
}

/** A value in a failure message: JSON, shortened. */
const NOT_FINITE = '\u0000not-finite:';
const NOT_FINITE_TEXT = /"\\u0000not-finite:(-?Infinity|NaN)"/g;

export function describe(value: unknown, max = 300): string {
  if (value === undefined) return 'nothing';
  // Numbers out of double range (1e400 parses as Infinity) are shown as such, not as JSON's null.
  const text = (JSON.stringify(value, (_key, item: unknown) => (typeof item === 'number' && !Number.isFinite(item) ? `${NOT_FINITE}${item}` : item)) ?? String(value)).replace(NOT_FINITE_TEXT, '$1');
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** A mistake in a case file itself (not in the implementation under test). */
export class CaseError extends Error {}
