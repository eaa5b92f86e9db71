// What each protocol version adds, for the parts of the server that answer differently by the
// version a session negotiated (spec §10.3, §10.4). Versions are `YYYY-MM` strings, which
// compare in string order (§10.1).
import { ERROR_REGISTRY, ErrorCodes, PROTOCOL_VERSIONS, type ErrorCode } from './generated';

/** The oldest version this implementation speaks: what a connection is held to before its hello. */
export const OLDEST_VERSION: string = PROTOCOL_VERSIONS[0];

/**
 * The version that added the manager's identity to the wire (spec §7.18): `managerId` in the
 * session/hello result, `manager` on manager/clients entries and on events, and error 1006.
 */
export const MANAGER_IDS_SINCE = '2026-12';

/**
 * The version that names a lease given back as what it is (spec §6.1, §7.8): the `released`
 * event kind and reasons, `released` in queue totals, and the `session/close` notification.
 * Older sessions see a release as `expired` with the reason of 2026-11 (legacyReleaseReason).
 */
export const RELEASES_SINCE = '2026-12';

/** The version that added unique tasks (spec §7.21): `unique` on a TaskSpec and `duplicates` in a put's result. */
export const UNIQUE_TASKS_SINCE = '2026-12';

/**
 * The version that added task progress (spec §5.20): the `task/progress` method, the `progress`
 * event kind, and the held tasks (`tasks`) on manager/clients entries.
 */
export const PROGRESS_SINCE = '2026-12';

/**
 * The version that added paused queues (spec §7.19): queue/pause and queue/resume, `paused` in
 * queue stats, and the `paused` and `resumed` event kinds, which older sessions never see.
 */
export const PAUSE_SINCE = '2026-12';

/**
 * The version that lets an operator quiet and stop a session (spec §7.20): client/quiet,
 * client/stop, the session/state notification, `state` on manager/clients entries, error 1007.
 * Older sessions are quieted and stopped all the same, without being told.
 */
export const SESSION_CONTROL_SINCE = '2026-12';

/**
 * The version that added schedules (spec §5.25): the schedule/* methods, the `scheduled` event
 * kind with its `schedule` member, and error 1010.
 */
export const SCHEDULES_SINCE = '2026-12';

/**
 * A release's reason as a 2026-11 subscriber knew it: a client that said it stopped, or a
 * manager that is gone, were both a connection that closed.
 */
export function legacyReleaseReason(reason: string | undefined): string | undefined {
  return reason === 'client stopped' ? 'client disconnected' : reason;
}

/** True when a session of `version` (undefined: before its hello) has what `since` added. */
export function speaks(version: string | undefined, since: string): boolean {
  return (version ?? OLDEST_VERSION) >= since;
}

/** True when a session of `version` knows the error code (its registry row's `since`). */
export function knowsCode(version: string | undefined, code: number): boolean {
  const row = (ERROR_REGISTRY as Readonly<Record<number, { since: string } | undefined>>)[code];
  return row === undefined || speaks(version, row.since);
}

/** -32603, which every version knows: what a code newer than the session's version becomes. */
export const FALLBACK_CODE: ErrorCode = ErrorCodes.InternalError;
