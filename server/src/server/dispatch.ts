import { EngineError, type EngineErrorReason, type Waiter } from '../engine';
import { methodNotFound, ProtocolError } from '../protocol/errors';
import { ErrorCodes, METHODS, type RequestMethod } from '../protocol/generated';
import { validateParams } from '../protocol/validation';
import { FALLBACK_CODE, knowsCode, speaks } from '../protocol/versions';
import { DEFERRED, handlers, type Call, type HandlerContext } from './handlers';
import type { Logger } from './logger';
import type { Session } from './session';

/** Engine refusals map to wire codes in this one table. */
const ENGINE_ERROR_CODES: Record<EngineErrorReason, number> = {
  queue_not_found: ErrorCodes.QueueNotFound,
  queue_full: ErrorCodes.QueueFull,
  lease_unknown: ErrorCodes.LeaseUnknown,
  store_unavailable: ErrorCodes.StoreUnavailable,
};

/**
 * Protocol errors as they are; engine refusals by the table; anything else is -32603, logged
 * with its stack. `version` is the session's negotiated protocol version (undefined before its
 * hello): a refusal whose code that version does not have (1006 before 2026-12) is sent as
 * -32603 with the code's message as its detail and no data, e.g.
 * `internal error: store unavailable: the connection to the store was lost` (spec §8.2).
 */
export function toProtocolError(error: unknown, log: Logger, method: string, version?: string): ProtocolError {
  if (error instanceof ProtocolError) return error;
  if (error instanceof EngineError) {
    const code = ENGINE_ERROR_CODES[error.reason];
    const registry = new ProtocolError(code);
    // A message that already starts with the registry's (the Redis store's "store unavailable: <url>: ...") is not prefixed twice.
    const detail = error.message.startsWith(`${registry.message}: `) ? error.message : `${registry.message}: ${error.message}`;
    if (!knowsCode(version, code)) return new ProtocolError(FALLBACK_CODE, detail);
    return new ProtocolError(code, detail, { ...registry.data, ...error.details });
  }
  // Unexpected: logged here with its stack, sent as -32603 with no detail.
  log.error('internal error', { method, error: error instanceof Error ? error.stack : String(error) });
  return new ProtocolError(ErrorCodes.InternalError);
}

type AnyHandler = (params: unknown, call: Call, context: HandlerContext) => unknown;

/**
 * Runs one request of an authenticated session: finds its handler, validates its params against
 * the spec's schema, and answers with the handler's result or error, now or when it is ready.
 */
export function dispatch(session: Session, id: string | number, method: string, params: unknown, frameBytes: number, context: HandlerContext, log: Logger): void {
  // A method newer than the session's version is not found (spec §10.3).
  const since = (METHODS as Readonly<Record<string, { since: string } | undefined>>)[method]?.since;
  const handler = since === undefined || speaks(session.protocolVersion, since) ? (handlers as Record<string, AnyHandler | undefined>)[method] : undefined;
  // A method with no handler (a notification's name, say) is not found, whatever its params.
  // A method newer than the session's protocol version does not exist for it (spec §10.3).
  const known = handler !== undefined && speaks(session.protocolVersion, METHODS[method as RequestMethod].since);
  const invalid = known ? validateParams(method, params) : methodNotFound(method);
  if (invalid || !handler || !known) {
    session.respondError(id, invalid ?? methodNotFound(method));
    return;
  }
  if (session.isBlocked(id)) {
    // Reusing the id of a blocked request would make it impossible to cancel or answer apart.
    session.respondError(id, new ProtocolError(ErrorCodes.InvalidRequest, `invalid request: id ${JSON.stringify(id)} is already used by a request that has not been answered`));
    return;
  }
  const call = new PendingCall(session, id, frameBytes, method, context, log);
  try {
    const result = handler(params ?? {}, call, context);
    if (result !== DEFERRED) call.resolve(result);
  } catch (error) {
    call.reject(error);
  }
}

/**
 * How a handler answers. An answer waits until the changes made so far are durable: nobody hears
 * of a task that a crash could still lose. Answers keep their order (whenDurable is FIFO; in
 * memory it calls back at once). A class rather than an object of closures: one allocation per
 * request instead of five, on the manager's hottest path.
 */
class PendingCall implements Call {
  private settled = false;

  constructor(
    readonly session: Session,
    private readonly id: string | number,
    readonly frameBytes: number,
    private readonly method: string,
    private readonly context: HandlerContext,
    private readonly log: Logger,
  ) {}

  resolve(result: unknown): boolean {
    if (this.settled) return false;
    this.settled = true;
    const { session, id } = this;
    session.unblock(id);
    let delivered: boolean | undefined;
    this.context.queues.whenDurable((failure) => {
      if (failure) session.respondError(id, new ProtocolError(ErrorCodes.InternalError, `internal error: the manager could not save the change (${failure.message}) and is stopping`));
      else delivered = session.respond(id, result);
    });
    // Answered at once: whether the session took it. Waiting: a connection that closes
    // meanwhile releases what it was given (attempt + 1), as at any disconnect.
    return delivered ?? session.writable;
  }

  reject(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    const { session, id } = this;
    session.unblock(id);
    const protocolError = toProtocolError(error, this.log, this.method, session.protocolVersion);
    this.context.queues.whenDurable(() => session.respondError(id, protocolError));
  }

  defer(waiter: Waiter, answerCancel?: () => void, answerEmpty?: () => void): void {
    if (this.settled) return;
    this.session.block(
      this.id,
      answerCancel || answerEmpty ? { cancel: () => waiter.cancel(), ...(answerCancel ? { answerCancel } : {}), ...(answerEmpty ? { answerEmpty } : {}) } : waiter,
      this.frameBytes,
    );
  }
}
