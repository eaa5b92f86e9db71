import type { Waiter } from '../engine';
import type { Session } from './session';

/**
 * A get of a session that may take no task (quiet or stopping, spec §7.20) is never handed to
 * the queues: nothing is leased to it. It answers empty at its timeout (at once with timeout 0),
 * not at once, so that a client which ignores session/state waits as it would on an empty queue
 * instead of asking again in a tight loop; one without a timeout waits until the session's state
 * changes again or it ends. A state change answers it at once (Session.takeBlockedGets).
 */
export function takesNoTask(session: Session): boolean {
  return session.workState !== 'active';
}

/** Waits like a get on a queue that stays empty; answers through `answerEmpty`. */
export function waitWithoutTasks(timeout: number | undefined, answerEmpty: () => void): Waiter | undefined {
  if (timeout === 0) {
    answerEmpty();
    return undefined;
  }
  if (timeout === undefined) return { cancel: () => {} };
  const timer = setTimeout(answerEmpty, timeout * 1000);
  return { cancel: () => clearTimeout(timer) };
}
