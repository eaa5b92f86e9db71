// Errors that cross the wire: a numeric code from the spec's error registry, a message a
// person understands, and structured data. Local failures (closed connection, timeout,
// framing) are other classes; they become one of these only at the wire.
import { ERROR_REGISTRY, ErrorCodes, type ErrorCode, type ErrorData, type WireError } from './generated';

type RegistryEntry = (typeof ERROR_REGISTRY)[ErrorCode];

/**
 * `prefix: detail`. A detail that already starts with the prefix (a caller that wrote the
 * whole message) is used as it is rather than prefixed twice.
 */
function withPrefix(prefix: string, detail: string | undefined): string {
  if (detail === undefined || detail === '' || detail === prefix) return prefix;
  return detail.startsWith(`${prefix}: `) ? detail : `${prefix}: ${detail}`;
}

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
    // A code outside the registry (from a newer peer) keeps a generic message.
    const entry = (ERROR_REGISTRY as Readonly<Record<number, RegistryEntry | undefined>>)[code];
    super(withPrefix(entry?.message ?? `error ${code}`, detail));
    this.name = 'ProtocolError';
    this.code = code;
    if (entry?.reason !== undefined) this.data = { ...data, reason: entry.reason };
    else if (data !== undefined) this.data = data;
  }

  /** The `error` member of a JSON-RPC response. */
  toJson(): WireError {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
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
