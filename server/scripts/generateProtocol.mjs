#!/usr/bin/env node
// Generates from spec/protocol.json, the protocol's one source of truth:
// - src/protocol/generated.ts: the types (the JSON-RPC envelope included), the method table,
//   the error codes and their registry rows;
// - src/protocol/specDocument.ts: the spec itself as a module, for validation at run time
//   (no file to find on disk, whatever the layout the package is installed in).
// `--check` regenerates in memory and fails when a committed file is stale, so the
// TypeScript side can never drift from the spec (the test suite runs it too).
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const here = dirname(fileURLToPath(import.meta.url));
const specPath = join(here, '..', '..', 'spec', 'protocol.json');
const outPath = join(here, '..', 'src', 'protocol', 'generated.ts');
const specModulePath = join(here, '..', 'src', 'protocol', 'specDocument.ts');
// The published package carries its own copy of the spec (validation loads it at run time).
const packagedSpecPath = join(here, '..', 'protocol.json');
// ...and of the conformance kit's case files, so that `npx taskwire conformance` works from npm.
const conformanceSource = join(here, '..', '..', 'spec', 'conformance');
const packagedConformance = join(here, '..', 'conformance');

/**
 * A copy of the $defs shaped for type generation: validation-only keywords beside a $ref
 * (minimum, description, ...) would make the compiler mint a new alias per use, and a JSON
 * value is `unknown` in TypeScript.
 */
function forTypes(defs) {
  const strip = (node) => {
    if (Array.isArray(node)) return node.map(strip);
    if (node === null || typeof node !== 'object') return node;
    if (typeof node.$ref === 'string') return { $ref: node.$ref };
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, strip(v)]));
  };
  const out = {};
  for (const [name, schema] of Object.entries(defs)) out[name] = strip(schema);
  out.JsonValue = { ...out.JsonValue, tsType: 'unknown' };
  return out;
}

/** The handle's name of a wire method: queue/put → QueuePut, $/cancelRequest → CancelRequest. */
function handleName(method) {
  return method
    .split(/[/$]/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

export async function generate() {
  const spec = JSON.parse(readFileSync(specPath, 'utf8'));
  const defs = forTypes(spec.$defs);
  // One synthetic root whose properties reference every definition makes the compiler emit
  // each $def once, as a named export, with $refs resolved to those names.
  const root = {
    $schema: spec.$schema,
    title: 'ProtocolTypesRoot',
    type: 'object',
    properties: Object.fromEntries(Object.keys(defs).map((name) => [name, { $ref: `#/$defs/${name}` }])),
    additionalProperties: false,
    $defs: Object.fromEntries(Object.entries(defs).map(([name, schema]) => [name, { ...schema, title: name }])),
  };
  let types = await compile(root, 'ProtocolTypesRoot', {
    bannerComment: '',
    additionalProperties: false,
    unreachableDefinitions: true,
    strictIndexSignatures: true,
    ignoreMinAndMaxItems: true,
    format: true,
    style: { singleQuote: true, printWidth: 100 },
  });
  types = types
    .replace(/export interface ProtocolTypesRoot \{[\s\S]*?\n\}\n/, '')
    .replace(/\n \*\n \* This interface was referenced by `ProtocolTypesRoot`'s JSON-Schema\n \* via the `definition` "\w+"\./g, '')
    .replace(/\/\*\*\n \* This interface was referenced by `ProtocolTypesRoot`'s JSON-Schema\n \* via the `definition` "\w+"\.\n \*\/\n/g, '');

  const requests = spec.methods.filter((m) => m.kind === 'request');
  const notifications = spec.methods.filter((m) => m.kind === 'notification');
  const typeName = (ref) => ref.$ref.replace('#/$defs/', '');
  const lines = [];
  lines.push('// Generated from spec/protocol.json by server/scripts/generateProtocol.mjs. Do not edit.');
  lines.push('// Run `npm run generate -w server` after changing the spec.');
  lines.push('/* eslint-disable */');
  lines.push('');
  lines.push(`/** Protocol versions this implementation speaks, newest last. */`);
  lines.push(`export const PROTOCOL_VERSIONS = ${JSON.stringify(spec.protocolVersions)} as const;`);
  lines.push('');
  lines.push(types.trim());
  lines.push('');
  lines.push('/** The `error` member of a JSON-RPC response, as both ends send and receive it. */');
  lines.push('export type WireError = JsonRpcError;');
  lines.push('');
  lines.push('/** Every request: its params and result types. */');
  lines.push('export interface RequestMap {');
  for (const m of requests) {
    lines.push(`  /** ${m.summary} */`);
    lines.push(`  '${m.method}': { params: ${typeName(m.params)}; result: ${typeName(m.result)} };`);
  }
  lines.push('}');
  lines.push('');
  lines.push('/** Every notification: its params type. */');
  lines.push('export interface NotificationMap {');
  for (const m of notifications) {
    lines.push(`  /** ${m.summary} */`);
    lines.push(`  '${m.method}': ${typeName(m.params)};`);
  }
  lines.push('}');
  lines.push('');
  lines.push('export type RequestMethod = keyof RequestMap;');
  lines.push('export type NotificationMethod = keyof NotificationMap;');
  lines.push('');
  lines.push('/** A request by handle: its wire name, carrying its params and result types. Callers use these, not the strings. */');
  lines.push('export interface RequestHandle<M extends RequestMethod = RequestMethod> {');
  lines.push("  readonly kind: 'request';");
  lines.push('  readonly method: M;');
  lines.push('}');
  lines.push('');
  lines.push('/** A notification by handle: its wire name, carrying its params type. */');
  lines.push('export interface NotificationHandle<M extends NotificationMethod = NotificationMethod> {');
  lines.push("  readonly kind: 'notification';");
  lines.push('  readonly method: M;');
  lines.push('}');
  lines.push('');
  for (const m of spec.methods) {
    const suffix = m.kind === 'request' ? 'Request' : 'Notification';
    const type = m.kind === 'request' ? 'RequestHandle' : 'NotificationHandle';
    lines.push(`/** ${m.summary} */`);
    lines.push(`export const ${handleName(m.method)}${suffix}: ${type}<'${m.method}'> = { kind: '${m.kind}', method: '${m.method}' };`);
  }
  lines.push('');
  lines.push('/** One row of the method table. */');
  lines.push('export interface MethodDescriptor {');
  lines.push('  readonly method: string;');
  lines.push("  readonly kind: 'request' | 'notification';");
  lines.push("  readonly direction: 'clientToServer' | 'serverToClient';");
  lines.push('  readonly since: string;');
  lines.push('  /** The $defs name of the params schema. */');
  lines.push('  readonly params: string;');
  lines.push('  /** The $defs name of the result schema (requests only). */');
  lines.push('  readonly result?: string;');
  lines.push('  /** Error codes the method may answer besides the generic ones. */');
  lines.push('  readonly errors: readonly number[];');
  lines.push('  /** True when the request may wait (and so may be cancelled). */');
  lines.push('  readonly blocking: boolean;');
  lines.push('}');
  lines.push('');
  lines.push('/** The method table, keyed by wire name: each method string is written here once. */');
  lines.push('export const METHODS = {');
  for (const m of spec.methods) {
    const row = {
      method: m.method,
      kind: m.kind,
      direction: m.direction,
      since: m.since,
      params: typeName(m.params),
      ...(m.result ? { result: typeName(m.result) } : {}),
      errors: m.errors ?? [],
      blocking: m.blocking === true,
    };
    lines.push(`  '${m.method}': ${JSON.stringify(row)},`);
  }
  lines.push('} as const satisfies Record<RequestMethod | NotificationMethod, MethodDescriptor>;');
  lines.push('');
  lines.push("/** Error codes from the spec's error registry. */");
  lines.push('export const ErrorCodes = {');
  for (const e of spec.errors) lines.push(`  /** ${e.description} */\n  ${e.name}: ${e.code},`);
  lines.push('} as const;');
  lines.push('export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];');
  lines.push('');
  lines.push('/**');
  lines.push(' * The registry row of each code: default message, for application errors the stable reason, and');
  lines.push(' * `since`, the protocol version that introduced the code (a session of an older version never gets it).');
  lines.push(' */');
  lines.push('export const ERROR_REGISTRY: Readonly<Record<ErrorCode, { readonly name: string; readonly message: string; readonly reason?: string; readonly since: string }>> = {');
  for (const e of spec.errors) {
    if (typeof e.since !== 'string') throw new Error(`spec/protocol.json: error ${e.code} has no since`);
    const row = { name: e.name, message: e.message, ...(e.reason ? { reason: e.reason } : {}), since: e.since };
    lines.push(`  [${e.code}]: ${JSON.stringify(row)},`);
  }
  lines.push('};');
  lines.push('');
  return lines.join('\n');
}

/** The spec as a TypeScript module: the JSON object, typed by what validation reads of it. */
export function specModule() {
  const spec = JSON.parse(readFileSync(specPath, 'utf8'));
  return [
    '// Generated from spec/protocol.json by server/scripts/generateProtocol.mjs. Do not edit.',
    '// The protocol document itself, for validating messages against its schemas at run time.',
    '',
    '/** The parts of spec/protocol.json that validation reads. */',
    'export interface ProtocolSpec {',
    '  $id: string;',
    '  protocolVersions: string[];',
    '  methods: unknown[];',
    '  errors: unknown[];',
    '  $defs: Record<string, unknown>;',
    '  /** The rest of the document ($schema, title, ...), which validation does not read. */',
    '  [member: string]: unknown;',
    '}',
    '',
    `export const PROTOCOL_SPEC: ProtocolSpec = ${JSON.stringify(spec, null, 2)};`,
    '',
  ].join('\n');
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const outputs = [
    [outPath, await generate()],
    [specModulePath, specModule()],
  ];
  if (process.argv.includes('--check')) {
    for (const [path, text] of outputs) {
      const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
      if (current !== text) {
        console.error(`${path} is stale: run \`npm run generate -w server\` and commit the result.`);
        process.exit(1);
      }
    }
    console.log('generated protocol types are up to date');
  } else {
    for (const [path, text] of outputs) {
      const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
      if (current !== text) writeFileSync(path, text);
    }
    writeFileSync(packagedSpecPath, readFileSync(specPath));
    rmSync(packagedConformance, { recursive: true, force: true });
    cpSync(conformanceSource, packagedConformance, { recursive: true });
  }
}
