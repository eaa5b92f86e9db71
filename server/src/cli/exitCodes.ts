import { AuthenticationFailedError, ConnectError, ConnectionClosedError, QueueEmptyError, QueueFullError, RemoteError, ServerProofError, ShuttingDownError, TimeoutError } from '../client/errors';

/** Exit codes scripts can rely on; documented in `taskwire --help` and the README. */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  Unreachable: 3,
  AuthFailed: 4,
  Empty: 5,
  Full: 6,
  Refused: 7,
} as const;

export const EXIT_CODE_HELP = `Exit codes:
  0  success
  1  unexpected failure
  2  usage error (unknown option, bad value, unreadable input)
  3  manager unreachable (connection refused, closed, timed out, shutting down; for serve: port in use, or its --store unreachable)
  4  authentication failed, no authkey found, or the manager failed to prove the key
  5  queue empty: get found nothing before its timeout
  6  queue full: put found no room before its timeout
  7  the manager refused the request (invalid params, unknown lease, limit exceeded, ...)`;

/** An error the CLI reports in one line with a given exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** A command that has already said everything on stdout and only has its exit code left to give. */
export class ExitWith extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof QueueEmptyError) return ExitCode.Empty;
  if (error instanceof QueueFullError) return ExitCode.Full;
  if (error instanceof AuthenticationFailedError || error instanceof ServerProofError) return ExitCode.AuthFailed;
  // A manager that is stopping (-32005) is going away, like a closed connection: not a refusal.
  if (error instanceof ConnectError || error instanceof ConnectionClosedError || error instanceof TimeoutError || error instanceof ShuttingDownError) {
    return ExitCode.Unreachable;
  }
  if (error instanceof RemoteError) return ExitCode.Refused;
  if (error instanceof Error && error.message.startsWith('no authkey')) return ExitCode.AuthFailed;
  if (error instanceof Error && /^(cannot read )?authkey file/.test(error.message)) return ExitCode.AuthFailed;
  return ExitCode.Failure;
}
