// Errors that cross the wire: a numeric code from the spec's error registry, a message a
// person understands, and structured data. Local failures (closed connection, timeout,
// framing) are other classes; they become one of these only at the wire.
import { ERROR_REGISTRY, ErrorCodes, type ErrorCode, type ErrorData } from './generated';

/** The `error` member of a JSON-RPC response. */
export interface WireError {
  code: number;
  message: string;
  data?: ErrorData;
}

/** Application error codes (1000–1999) carry a stable `data.reason`. */
export function isApplicationErrorCode(code: number): boolean {
  return code >= 1000 && code <= 1999;
}

type RegistryEntry = (typeof ERROR_REGISTRY)[ErrorCode];

/**
 * `prefix: detail`. A detail that already starts with the prefix (a caller that wrote the
 * whole message) is used as it is rather than prefixed twice.
 */
function withPrefix(prefix: string, detail: string | undefined): string {
  if (detail === undefined || detail === '' || detail === prefix) return prefix;
  return detail.startsWith(`${prefix}: `) ? detail : `${prefix}: ${detail}`;
}

/** At most this many task ids are spelled out in a message; data.ids always holds them all. */
const IDS_IN_MESSAGE = 5;

/**
 * An error answered to (or received from) the other end.
 * The message is the registry's message for the code, followed by `: detail` when the caller
 * gives one, e.g. `queue full: "jobs" has no room for 3 tasks (maxsize 10)`.
 */
export class ProtocolError extends Error {
  /** The JSON-RPC error code. */
  readonly code: number;
  /** Structured detail; for application codes it always carries the registry's `reason`. */
  readonly data?: ErrorData;

  constructor(code: ErrorCode | number, detail?: string, data?: ErrorData) {
    // Codes outside the registry arrive from newer peers, through fromJson.
    const entry = (ERROR_REGISTRY as Readonly<Record<number, RegistryEntry | undefined>>)[code];
    super(withPrefix(entry?.message ?? `error ${code}`, detail));
    this.name = 'ProtocolError';
    this.code = code;
    if (entry?.reason !== undefined) this.data = { ...data, reason: entry.reason };
    else if (data !== undefined) this.data = data;
  }

  /**
   * The error as received from the other end, its message and data kept as they are, so that
   * a client can rethrow it and callers can use `instanceof ProtocolError`.
   */
  static fromJson(error: WireError): ProtocolError {
    const received = new ProtocolError(error.code, undefined, error.data);
    received.message = String(error.message);
    return received;
  }

  /** The `error` member of a JSON-RPC response. */
  toJson(): WireError {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

/** -32700: the frame is not JSON (or not UTF-8). */
export function parseError(detail?: string): ProtocolError {
  return new ProtocolError(ErrorCodes.ParseError, detail);
}

/** -32600: not a JSON-RPC 2.0 request object (batches included). */
export function invalidRequest(detail?: string): ProtocolError {
  return new ProtocolError(ErrorCodes.InvalidRequest, detail);
}

/** -32601: `method not found: "queue/frobnicate"`. */
export function methodNotFound(method: string): ProtocolError {
  return new ProtocolError(ErrorCodes.MethodNotFound, JSON.stringify(method));
}

/**
 * -32602: `invalid params: <detail>`, with `data.field` the JSON Pointer of the offending
 * field ("" for params as a whole).
 */
export function invalidParams(detail: string, field: string): ProtocolError {
  return new ProtocolError(ErrorCodes.InvalidParams, detail, { field });
}

/** -32603: an unexpected failure; deliberately without detail. */
export function internalError(): ProtocolError {
  return new ProtocolError(ErrorCodes.InternalError);
}

/** -32001: deliberately without detail about which part failed. */
export function authenticationFailed(): ProtocolError {
  return new ProtocolError(ErrorCodes.AuthenticationFailed);
}

/** -32002: a method other than the handshake before a successful authenticate. */
export function notAuthenticated(method?: string): ProtocolError {
  return new ProtocolError(
    ErrorCodes.NotAuthenticated,
    method === undefined ? undefined : `${JSON.stringify(method)} needs an authenticated session`,
  );
}

/** -32003: no protocol version in common; `data.supported` lists the server's. */
export function unsupportedProtocolVersion(offered: readonly string[], supported: readonly string[]): ProtocolError {
  const list = (versions: readonly string[]) => versions.map((v) => JSON.stringify(v)).join(', ');
  return new ProtocolError(
    ErrorCodes.UnsupportedProtocolVersion,
    `offered ${list(offered) || 'none'}, the server speaks ${list(supported)}`,
    { supported: [...supported] },
  );
}

/** -32004: a frame over the limit; `data.limit` holds it in bytes. */
export function frameTooLarge(limit: number): ProtocolError {
  return new ProtocolError(ErrorCodes.FrameTooLarge, `the limit is ${limit} bytes`, { limit });
}

/** -32005: the manager accepts no new work. */
export function shuttingDown(): ProtocolError {
  return new ProtocolError(ErrorCodes.ShuttingDown);
}

/** -32800: a blocked request was cancelled by `$/cancelRequest`. */
export function requestCancelled(): ProtocolError {
  return new ProtocolError(ErrorCodes.RequestCancelled);
}

/** 1001: `queue not found: "jobs"`. */
export function queueNotFound(queue: string): ProtocolError {
  return new ProtocolError(ErrorCodes.QueueNotFound, JSON.stringify(queue), { queue });
}

/** 1002: `queue full: "jobs" has no room for 3 tasks (maxsize 10)`. */
export function queueFull(queue: string, taskCount?: number, maxsize?: number): ProtocolError {
  let detail = JSON.stringify(queue);
  if (taskCount !== undefined) detail += ` has no room for ${taskCount} ${taskCount === 1 ? 'task' : 'tasks'}`;
  if (maxsize !== undefined) detail += ` (maxsize ${maxsize})`;
  return new ProtocolError(ErrorCodes.QueueFull, detail, { queue });
}

/** 1003: tasks this session does not hold; `data.ids` lists every one of them. */
export function leaseUnknown(ids: readonly string[]): ProtocolError {
  const shown = ids.slice(0, IDS_IN_MESSAGE).map((id) => JSON.stringify(id)).join(', ');
  const more = ids.length > IDS_IN_MESSAGE ? ` and ${ids.length - IDS_IN_MESSAGE} more` : '';
  const noun = ids.length === 1 ? 'task' : 'tasks';
  return new ProtocolError(
    ErrorCodes.LeaseUnknown,
    `${noun} ${shown}${more} not held by this session`,
    { ids: [...ids] },
  );
}

/**
 * 1004: a payload or result over the limit; `data.limit` holds it in bytes.
 * `field` names where, e.g. `tasks/3/payload`.
 */
export function payloadTooLarge(limit: number, field?: string): ProtocolError {
  const what = field === undefined ? 'a payload' : JSON.stringify(field);
  return new ProtocolError(ErrorCodes.PayloadTooLarge, `${what} is over the limit of ${limit} bytes`, { limit });
}

/**
 * 1005: a server limit is exceeded; `data.limit` names it and `data.max` holds its value.
 * `detail` says what was asked, e.g. `1500 tasks in one request`.
 */
export function limitExceeded(limitName: string, max: number, detail?: string): ProtocolError {
  const prefix = detail === undefined ? '' : `${detail}, `;
  return new ProtocolError(ErrorCodes.LimitExceeded, `${prefix}${limitName} is ${max}`, { limit: limitName, max });
}

/**
 * The error to answer for anything thrown by a handler: a ProtocolError as it is, anything
 * else as -32603 with no detail, so that internals (messages, stacks) never leak.
 */
export function toProtocolError(error: unknown): ProtocolError {
  return error instanceof ProtocolError ? error : internalError();
}
