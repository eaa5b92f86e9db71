// Checks every message the kit receives against spec/protocol.json: the JSON-RPC envelope,
// the result schema of the method whose request the response answers, notification params,
// the error object's shape, and that an error code is in the registry and allowed for the
// method (its own codes plus the generic ones of spec §8.1). Used by both directions of the
// kit: a server's responses (server cases) and a client's requests (client cases).
import { ERROR_REGISTRY, METHODS, type MethodDescriptor } from '../protocol/generated';
import { validateDefinition, validateParams, validateResult } from '../protocol/validation';
import { knowsCode } from '../protocol/versions';
import { describe } from './pattern';

/** Codes any request may be answered with (spec §8.1; 1006 only in sessions of 2026-12 or later, checked by version). */
const GENERIC_CODES: readonly number[] = [-32600, -32601, -32602, -32603, -32005, 1006];
/** Before authentication any request may be refused with -32002 (§4.4). */
const NOT_AUTHENTICATED = -32002;
const CANCELLED = -32800;
/** Codes that answer a frame rather than a request, and so carry id null (§3.5, §4.4, §8.1). */
const FRAME_CODES: readonly number[] = [-32700, -32600, -32004, 1005];

function descriptor(method: string): MethodDescriptor | undefined {
  return Object.prototype.hasOwnProperty.call(METHODS, method) ? (METHODS as Readonly<Record<string, MethodDescriptor>>)[method] : undefined;
}

/** Every method of the method table, in table order. */
export function specMethods(): string[] {
  return Object.keys(METHODS);
}

/**
 * What one connection's server said, checked against what the kit asked on it. The kit
 * records each request it sends ({@link requestSent}) so that a response can be paired
 * with its method by id.
 */
export class ServerMessageValidator {
  /** Methods of requests sent and not yet answered, by JSON of the id (a list: a case may reuse an id on purpose). */
  private readonly pending = new Map<string, string[]>();
  /** The version the server chose in this connection's session/hello, once it answered. */
  private version: string | undefined;

  requestSent(id: unknown, method: string): void {
    const key = JSON.stringify(id);
    const methods = this.pending.get(key) ?? [];
    methods.push(method);
    this.pending.set(key, methods);
  }

  /** The method a response with this id answers, if the kit sent such a request. */
  methodFor(id: unknown): string | undefined {
    return this.pending.get(JSON.stringify(id))?.[0];
  }

  /** The violations of one received message; empty when it conforms. */
  check(message: unknown): string[] {
    if (message === null || typeof message !== 'object' || Array.isArray(message)) return [`the server sent ${describe(message)}, which is not a JSON-RPC message object`];
    const record = message as Record<string, unknown>;
    if ('method' in record) return this.checkServerNotification(record);
    const envelope = validateDefinition('JsonRpcResponse', message, 'response');
    if (envelope !== undefined) return [`response ${describe(message)} is not a JSON-RPC 2.0 response: ${envelope}`];
    const id = record['id'];
    if (id === null) return 'error' in record ? checkErrorObject(record['error'], undefined, true) : ['a response with id null must be an error'];
    const key = JSON.stringify(id);
    const methods = this.pending.get(key);
    if (methods === undefined || methods.length === 0) return [`response to id ${key}, but no request with that id is waiting for an answer (wrong id, or a second answer)`];
    // Several requests may share an id when a case reuses one on purpose (§3.6). The server
    // refuses the newer one at once, so the answer belongs to the newest request it is a
    // valid answer for; the older (blocked) one is answered later.
    const checks = methods.map((method, index) => ({ index, method, problems: checkAnswer(method, record) })).reverse();
    const chosen = checks.find((c) => c.problems.length === 0) ?? checks[checks.length - 1]!;
    methods.splice(chosen.index, 1);
    if (methods.length === 0) this.pending.delete(key);
    return [...chosen.problems, ...this.checkVersion(chosen.method, record)];
  }

  /**
   * Learns the version from the session/hello result; afterwards an error code newer than that
   * version (its registry row's `since`) is a violation: a 2026-11 session never gets 1006 (§8.1).
   */
  private checkVersion(method: string, response: Record<string, unknown>): string[] {
    const result = response['result'] as { protocolVersion?: unknown } | undefined;
    if (method === 'session/hello' && typeof result?.protocolVersion === 'string') this.version = result.protocolVersion;
    const error = response['error'] as { code?: unknown } | undefined;
    if (this.version === undefined || typeof error?.code !== 'number' || knowsCode(this.version, error.code)) return [];
    return [`error ${error.code} was sent to a session of protocol ${this.version}, which does not have that code; it gets -32603 instead (§8.1, §8.2)`];
  }

  private checkServerNotification(record: Record<string, unknown>): string[] {
    if ('id' in record) return [`the server sent a request (${describe(record['method'])}); servers send no requests in this version (§3.1)`];
    const envelope = validateDefinition('JsonRpcNotification', record, 'notification');
    if (envelope !== undefined) return [`notification ${describe(record)} is not a JSON-RPC 2.0 notification: ${envelope}`];
    const method = String(record['method']);
    const row = descriptor(method);
    if (row === undefined || row.kind !== 'notification' || row.direction !== 'serverToClient')
      return [`the server sent notification ${JSON.stringify(method)}, which is not a server-to-client notification of the method table`];
    const problem = validateParams(method, record['params']);
    return problem === undefined ? [] : [`${method} params do not match the spec: ${problem.message}`];
  }
}

function checkAnswer(method: string, response: Record<string, unknown>): string[] {
  if ('result' in response) {
    const problem = validateResult(method, response['result']);
    return problem === undefined ? [] : [`${method} result does not match the spec: ${problem}`];
  }
  return checkErrorObject(response['error'], method, false);
}

/** Checks an error object: shape, registry, allowed for the method, data.reason (spec §8). */
export function checkErrorObject(error: unknown, method: string | undefined, frameLevel: boolean): string[] {
  const shape = validateDefinition('JsonRpcError', error, 'error');
  if (shape !== undefined) return [`error object ${describe(error)} does not match the spec: ${shape}`];
  const { code, data } = error as { code: number; data?: Record<string, unknown> };
  const registry = ERROR_REGISTRY as Readonly<Record<number, { name: string; reason?: string }>>;
  const entry = registry[code];
  if (entry === undefined) return [`error code ${code} is not in the error registry (§8.2)`];
  const problems: string[] = [];
  if (frameLevel) {
    if (!FRAME_CODES.includes(code)) problems.push(`error ${code} (${entry.name}) answers a request, so it must carry the request's id, not null (§8.1)`);
  } else if (method !== undefined) {
    const row = descriptor(method);
    const allowed = new Set<number>([...(row?.errors ?? []), ...GENERIC_CODES, NOT_AUTHENTICATED, ...(row?.blocking ? [CANCELLED] : [])]);
    if (!allowed.has(code)) problems.push(`error ${code} (${entry.name}) is not allowed for ${method}: allowed are ${[...allowed].sort((a, b) => a - b).join(', ')} (§8.1)`);
  }
  if (entry.reason !== undefined) {
    if (data?.['reason'] !== entry.reason) problems.push(`error ${code} must carry data.reason ${JSON.stringify(entry.reason)}, got ${describe(data?.['reason'])} (§8.1)`);
  } else if (data !== undefined && 'reason' in data) {
    problems.push(`error ${code} is not an application error and must not carry data.reason (§8.1)`);
  }
  return problems;
}

/**
 * Checks a message a client sent (client cases): a request or notification of the method
 * table, client-to-server, with params valid against its schema.
 */
export function checkClientMessage(message: unknown): string[] {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return [`the client sent ${describe(message)}, which is not a JSON-RPC message object`];
  const record = message as Record<string, unknown>;
  if (!('method' in record)) return [`the client sent ${describe(message)}: a response, but the server sends no requests (§3.1)`];
  const isRequest = 'id' in record;
  const envelope = validateDefinition(isRequest ? 'JsonRpcRequest' : 'JsonRpcNotification', message, 'message');
  if (envelope !== undefined) return [`${describe(message)} is not a JSON-RPC 2.0 ${isRequest ? 'request' : 'notification'}: ${envelope}`];
  const method = String(record['method']);
  const row = descriptor(method);
  if (row === undefined || row.direction !== 'clientToServer') return [`the client sent ${JSON.stringify(method)}, which is not a client-to-server method of the method table`];
  if ((row.kind === 'request') !== isRequest) return [`${method} is a ${row.kind}, but the client sent it as a ${isRequest ? 'request' : 'notification'}`];
  const problem = validateParams(method, record['params']);
  return problem === undefined ? [] : [`${method} params do not match the spec: ${problem.message}`];
}
