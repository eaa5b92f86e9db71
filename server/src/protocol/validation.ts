// Validation of params (and results) against spec/protocol.json, the protocol's source of
// truth, with messages that name the offending field in plain words.
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { METHODS, type MethodDescriptor } from './generated';
import { invalidParams, methodNotFound, type ProtocolError } from './errors';
import { PROTOCOL_SPEC, type ProtocolSpec } from './specDocument';

export type { ProtocolSpec };

/** spec/protocol.json, compiled in (specDocument.ts is generated from it at build time). */
export function loadProtocolSpec(): ProtocolSpec {
  return PROTOCOL_SPEC;
}

/** Keywords that annotate a schema without constraining the instance. */
const ANNOTATION_KEYWORDS = new Set(['$ref', '$comment', 'description', 'title', 'examples', 'default', 'deprecated']);

/**
 * The spec with each $ref to one of its $defs replaced by that definition. A $ref beside
 * constraints of its own (`{"$ref": "#/$defs/Seconds", "exclusiveMinimum": 0}`) becomes an allOf
 * of the two, stating the definition's type beside the constraints: ajv's strictTypes wants the
 * type beside type-specific keywords, and the definition enforces it anyway. Ajv compiles a referenced schema that has
 * refs of its own as a separate function, and calls it for each value with a context object and
 * the value's path made for the call, used only by error messages: a put of 100 tasks made 100
 * of each, and a `unique` member one more call per task (190 ns of a put's 320 to validate).
 * Inlined, each params schema is one function. The spec has no recursive definitions; a $ref
 * inside a cycle would be kept as it is.
 */
function withRefsInlined(spec: ProtocolSpec): ProtocolSpec {
  const defs = spec.$defs;
  const inlined = new Map<string, unknown>();
  const expanding = new Set<string>();
  const definition = (name: string): unknown => {
    if (!inlined.has(name)) {
      expanding.add(name);
      inlined.set(name, visit(defs[name]));
      expanding.delete(name);
    }
    return inlined.get(name);
  };
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== 'object') return node;
    const schema: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) schema[key] = visit(value);
    const ref = schema['$ref'];
    if (typeof ref !== 'string' || !ref.startsWith('#/$defs/')) return schema;
    const name = ref.slice('#/$defs/'.length);
    if (!Object.prototype.hasOwnProperty.call(defs, name) || expanding.has(name)) return schema;
    const target = definition(name);
    delete schema['$ref'];
    const constrained = Object.keys(schema).some((key) => !ANNOTATION_KEYWORDS.has(key));
    if (!constrained) return target;
    const type = (target as { type?: unknown }).type;
    return { ...(schema['type'] === undefined && type !== undefined ? { type } : {}), ...schema, allOf: [target] };
  };
  return { ...spec, $defs: Object.fromEntries(Object.keys(defs).map((name) => [name, definition(name)])) };
}

let compiler: { ajv: Ajv2020; id: string; defs: Record<string, unknown> } | undefined;

/** Ajv with the spec added, created on first use so that importing costs nothing. */
function schemaCompiler(): NonNullable<typeof compiler> {
  if (compiler !== undefined) return compiler;
  const spec = withRefsInlined(loadProtocolSpec());
  const ajv = new Ajv2020({
    strict: true,
    allErrors: false,
    // `"type": ["integer", "string"]` (request ids, ErrorData.limit) is plain JSON Schema.
    allowUnionTypes: true,
    // Errors then carry the schema that failed, whose description words pattern errors.
    verbose: true,
  });
  ajv.addVocabulary(['protocolVersions', 'methods', 'errors']);
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  ajv.addSchema(spec);
  compiler = { ajv, id: spec.$id, defs: spec.$defs };
  return compiler;
}

const validators = new Map<string, ValidateFunction>();

/** The compiled validator of a $defs entry (compiled once, on first use), or undefined. */
function validatorFor(name: string): ValidateFunction | undefined {
  let validate = validators.get(name);
  if (validate === undefined) {
    const { ajv, id, defs } = schemaCompiler();
    if (!Object.prototype.hasOwnProperty.call(defs, name)) return undefined;
    validate = ajv.getSchema(`${id}#/$defs/${name}`);
    if (validate === undefined) return undefined;
    validators.set(name, validate);
  }
  return validate;
}

function methodDescriptor(method: string): MethodDescriptor | undefined {
  return Object.prototype.hasOwnProperty.call(METHODS, method) ? (METHODS as Readonly<Record<string, MethodDescriptor>>)[method] : undefined;
}

/**
 * Checks a request's or notification's params against its schema.
 * Absent or null params count as `{}`. Returns undefined when they are valid, a -32601
 * error for a method not in the table, and otherwise a -32602 error whose message names the
 * field (`invalid params: "tasks/0/ttr" must be a number`) and whose data.field is its
 * JSON Pointer.
 */
export function validateParams(method: string, params: unknown): ProtocolError | undefined {
  const descriptor = methodDescriptor(method);
  if (descriptor === undefined) return methodNotFound(method);
  const validate = validatorFor(descriptor.params);
  if (validate === undefined) throw new Error(`spec has no definition ${descriptor.params}`);
  if (validate(params ?? {})) return undefined;
  const problem = describeFirstError(validate.errors ?? [], 'params');
  return invalidParams(problem.message, problem.field);
}

/**
 * Checks a request's result against its schema: a readable message, or undefined when valid.
 * For tests and tools (the server trusts its own results).
 */
export function validateResult(method: string, result: unknown): string | undefined {
  const descriptor = methodDescriptor(method);
  if (descriptor === undefined) return `unknown method ${JSON.stringify(method)}`;
  if (descriptor.result === undefined) return `${method} is a notification and has no result`;
  return validateDefinition(descriptor.result, result, 'result');
}

/**
 * Checks a value against one of the spec's $defs (e.g. `Task`, `JsonRpcResponse`): a
 * readable message, or undefined when valid. For tests and tools.
 */
export function validateDefinition(name: string, value: unknown, rootName = 'value'): string | undefined {
  const validate = validatorFor(name);
  if (validate === undefined) return `the spec has no definition ${JSON.stringify(name)}`;
  if (validate(value)) return undefined;
  return describeFirstError(validate.errors ?? [], rootName).message;
}

/** A validation failure in words, and the JSON Pointer of the field it is about. */
interface Problem {
  message: string;
  field: string;
}

/**
 * The one error worth reporting, in words. Ajv stops at the first failure, except inside
 * oneOf/anyOf where it reports every branch; then the deepest field wins, a failed
 * constraint (the value had a branch's type) beats a wrong type, and wrong types at one
 * field combine into "must be a string or null".
 */
function describeFirstError(errors: readonly ErrorObject[], rootName: string): Problem {
  if (errors.length === 0) return { message: `${rootName} does not match the schema`, field: '' };
  const rank = (e: ErrorObject) => (e.keyword === 'oneOf' || e.keyword === 'anyOf' ? 2 : e.keyword === 'type' ? 1 : 0);
  const best = [...errors].sort((a, b) => b.instancePath.split('/').length - a.instancePath.split('/').length || rank(a) - rank(b))[0]!;
  if (best.keyword === 'type') {
    const types = errors.filter((e) => e.keyword === 'type' && e.instancePath === best.instancePath).flatMap((e) => String(e.params['type']).split(','));
    return { message: `${subject(best.instancePath, rootName)} must be ${typeNames(types)}`, field: best.instancePath };
  }
  return describeError(best, rootName);
}

/** One ajv error in words. */
function describeError(error: ErrorObject, rootName: string): Problem {
  const field = error.instancePath;
  const params = error.params as Record<string, unknown>;
  const at = subject(field, rootName);
  switch (error.keyword) {
    case 'required': {
      const missing = `${field}/${escapePointer(String(params['missingProperty']))}`;
      return { message: `missing required field "${missing.slice(1)}"`, field: missing };
    }
    case 'additionalProperties': {
      const extra = `${field}/${escapePointer(String(params['additionalProperty']))}`;
      return { message: `unknown field "${extra.slice(1)}"`, field: extra };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { message: `${at} must be ${String(params['comparison'])} ${String(params['limit'])}`, field };
    case 'minLength':
      return { message: params['limit'] === 1 ? `${at} must not be empty` : `${at} must be at least ${count(params['limit'], 'character')} long`, field };
    case 'maxLength':
      return { message: `${at} must be at most ${count(params['limit'], 'character')} long`, field };
    case 'minItems':
      return { message: params['limit'] === 1 ? `${at} must not be empty` : `${at} must have at least ${count(params['limit'], 'item')}`, field };
    case 'maxItems':
      return { message: `${at} must have at most ${count(params['limit'], 'item')}`, field };
    case 'maxProperties':
      return { message: `${at} must have at most ${count(params['limit'], 'field')}`, field };
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return { message: `${at} must be one of ${allowed}`, field };
    }
    case 'const':
      return { message: `${at} must be ${JSON.stringify(params['allowedValue'])}`, field };
    case 'format':
      return { message: `${at} must be ${params['format'] === 'date-time' ? 'an ISO-8601 date-time' : `a ${String(params['format'])}`}`, field };
    case 'pattern': {
      // The schema's description says what the pattern means better than the regex does.
      const description = (error.parentSchema as { description?: unknown } | undefined)?.description;
      const meaning = typeof description === 'string' ? lowerFirst(description) : `a string matching ${String(params['pattern'])}`;
      return { message: `${at} must be ${meaning}`, field };
    }
    case 'type':
      return { message: `${at} must be ${typeNames(String(params['type']).split(','))}`, field };
    case 'oneOf':
    case 'anyOf':
      return { message: `${at} does not match any of its allowed forms`, field };
    default:
      return { message: `${at} ${error.message ?? 'is not valid'}`, field };
  }
}

/** How a field is named in a message: `"tasks/0/ttr"`, or the root's name. */
function subject(pointer: string, rootName: string): string {
  return pointer === '' ? rootName : `"${pointer.slice(1)}"`;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  number: 'a number',
  integer: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function typeNames(types: readonly string[]): string {
  const words = [...new Set(types)].map((t) => TYPE_WORDS[t] ?? t);
  return words.length <= 1 ? (words[0] ?? 'valid') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

function count(n: unknown, noun: string): string {
  return `${String(n)} ${n === 1 ? noun : `${noun}s`}`;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
