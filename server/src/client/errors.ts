import { ErrorCodes, type ErrorCode, type ErrorData } from '../protocol/generated';

/** Base of every error the client library throws. */
export class TaskwireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An error answered by the manager: it carries the wire code, the message and data. */
export class RemoteError extends TaskwireError {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: ErrorData,
  ) {
    super(message);
  }
}

export class ParseError extends RemoteError {}
export class InvalidRequestError extends RemoteError {}
export class MethodNotFoundError extends RemoteError {}
export class InvalidParamsError extends RemoteError {}
export class InternalServerError extends RemoteError {}
export class AuthenticationFailedError extends RemoteError {}
export class NotAuthenticatedError extends RemoteError {}
export class UnsupportedProtocolVersionError extends RemoteError {}
export class FrameTooLargeError extends RemoteError {}
export class ShuttingDownError extends RemoteError {}
export class RequestCancelledError extends RemoteError {}
export class QueueNotFoundError extends RemoteError {}
export class QueueFullError extends RemoteError {}
export class LeaseUnknownError extends RemoteError {}
export class PayloadTooLargeError extends RemoteError {}
export class LimitExceededError extends RemoteError {}
/**
 * 1006 (protocol 2026-12): the manager could not reach its shared store (Redis). The request
 * failed and changed nothing; the connection stays open, and the same request may succeed once
 * the store is back (`data.retryAfter`, when given, is a hint in seconds).
 */
export class StoreUnavailableError extends RemoteError {
  /** Seconds after which the manager expects the store back, when it said so. */
  get retryAfter(): number | undefined {
    return this.data?.retryAfter;
  }
}

/**
 * 1007 (since 2026-12): client/quiet or client/stop named a session that no manager has
 * connected now (it ended, or never was: a client that reconnects has a new session id).
 */
export class SessionNotFoundError extends RemoteError {
  /** The session id that was not found. */
  get session(): string | undefined {
    return this.data?.session;
  }
}
/** 1010 (protocol 2026-12): schedule/delete of a name no schedule has (`data.schedule`). */
export class ScheduleNotFoundError extends RemoteError {}

type RemoteErrorClass = new (code: number, message: string, data?: ErrorData) => RemoteError;

/** One class per code of the spec's registry: a code added to the spec fails to compile here until it has its class. */
const REMOTE_ERRORS = {
  [ErrorCodes.ParseError]: ParseError,
  [ErrorCodes.InvalidRequest]: InvalidRequestError,
  [ErrorCodes.MethodNotFound]: MethodNotFoundError,
  [ErrorCodes.InvalidParams]: InvalidParamsError,
  [ErrorCodes.InternalError]: InternalServerError,
  [ErrorCodes.AuthenticationFailed]: AuthenticationFailedError,
  [ErrorCodes.NotAuthenticated]: NotAuthenticatedError,
  [ErrorCodes.UnsupportedProtocolVersion]: UnsupportedProtocolVersionError,
  [ErrorCodes.FrameTooLarge]: FrameTooLargeError,
  [ErrorCodes.ShuttingDown]: ShuttingDownError,
  [ErrorCodes.RequestCancelled]: RequestCancelledError,
  [ErrorCodes.QueueNotFound]: QueueNotFoundError,
  [ErrorCodes.QueueFull]: QueueFullError,
  [ErrorCodes.LeaseUnknown]: LeaseUnknownError,
  [ErrorCodes.PayloadTooLarge]: PayloadTooLargeError,
  [ErrorCodes.LimitExceeded]: LimitExceededError,
  [ErrorCodes.StoreUnavailable]: StoreUnavailableError,
  [ErrorCodes.SessionNotFound]: SessionNotFoundError,
  [ErrorCodes.ScheduleNotFound]: ScheduleNotFoundError,
} as const satisfies Record<ErrorCode, RemoteErrorClass>;

/** The typed error for a wire error; a code this version does not know (a newer manager's) is a plain RemoteError. */
export function remoteError(code: number, message: string, data?: ErrorData): RemoteError {
  const ErrorClass = (REMOTE_ERRORS as Readonly<Record<number, RemoteErrorClass | undefined>>)[code] ?? RemoteError;
  return new ErrorClass(code, message, data);
}

// ---- local errors: nothing was answered by a manager -------------------------------------

/** A get with a timeout found nothing (Python's queue.Empty). */
export class QueueEmptyError extends TaskwireError {
  constructor(
    readonly queue: string,
    timeout: number | undefined,
  ) {
    super(`queue "${queue}" is empty${timeout ? ` (waited ${timeout} s)` : ''}`);
  }
}

/** The manager could not be reached. */
export class ConnectError extends TaskwireError {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** Why one manager of a list could not be used. */
export interface AddressFailure {
  /** "host:port" */
  address: string;
  error: Error;
}

/**
 * None of several managers could be reached: `failures` holds each address tried, in order,
 * with its error (the message names them all).
 */
export class NoManagerReachableError extends ConnectError {
  constructor(
    readonly failures: readonly AddressFailure[],
    prefix = `cannot connect to any of ${failures.length} managers`,
  ) {
    super(`${prefix}: ${failures.map(({ address, error }) => (error.message.includes(address) ? error.message : `${address}: ${error.message}`)).join('; ')}`);
  }
}

/** The connection closed while a request was in flight, or the client was closed. */
export class ConnectionClosedError extends TaskwireError {}

/**
 * The manager hung up during the handshake without answering a word: most often a manager that
 * serves TLS, reached without TLS. `detail` is what happened; the message adds what to try.
 */
export class HandshakeClosedError extends ConnectionClosedError {
  constructor(
    readonly detail: string,
    hint: string,
  ) {
    super(`${detail} (${hint})`);
  }
}

/** The manager did not prove it knows the key: it is not the manager you meant. */
export class ServerProofError extends TaskwireError {}

/** A request was aborted by its AbortSignal before the manager answered. */
export class AbortedError extends TaskwireError {}

/** Something did not happen in time (connecting, the handshake). */
export class TimeoutError extends TaskwireError {}
