import type { ManagerPeers } from '../engine/peers';
import type { MaybePromise, QueueBackend } from '../engine/queueBackend';
import { ProtocolError } from '../protocol/errors';
import { ErrorCodes, SessionStateNotification, type ControlResult } from '../protocol/generated';
import { SESSION_CONTROL_SINCE, speaks } from '../protocol/versions';
import type { Logger } from './logger';
import type { Session } from './session';

/** What an operator asks of a session: take no task, or finish and leave (spec §7.20). */
export type ControlAction = 'quiet' | 'stop';

/** The close reason of a session the manager closed after it was told to stop. */
export const STOPPED_BY_OPERATOR = 'stopped by an operator';

export interface SessionControlOptions {
  managerId: string;
  queues: QueueBackend;
  /** Seconds a stopping session may stay once it holds nothing, before the manager closes it. */
  stopGracePeriod: number;
  /** This manager's authenticated session of that id, if any. */
  find(sessionId: string): Session | undefined;
  /** True for a client of another listener of this manager (multiprocessing), which cannot be quieted. */
  isAttachedClient(sessionId: string): boolean;
  /** The other managers of a shared store, which hold the sessions this one does not. */
  peers: ManagerPeers | undefined;
  /** A session's state changed: the registry the other managers read is written again. */
  sessionsChanged(): void;
  log: Logger;
}

/**
 * Quiet and stop (spec §7.20): puts a session in the state an operator chose, tells it with
 * session/state (2026-12 sessions), answers its blocked gets empty, and closes a stopping
 * session once it holds nothing and the grace period has passed. A session of another manager
 * of the store is reached through the peers; the handlers' gets check the state (quiet.ts).
 */
export class SessionControl {
  /** Stopping sessions being watched until they hold nothing: the check's timer and since when they held nothing. */
  private readonly stopping = new Map<Session, { timer: NodeJS.Timeout; idleSince: number | undefined }>();

  constructor(private readonly options: SessionControlOptions) {}

  /** client/quiet and client/stop: on this manager's session, or on another manager's through the peers. */
  control(target: string, action: ControlAction, by: Session | undefined): MaybePromise<ControlResult> {
    const local = this.options.find(target);
    if (local) return this.apply(local, action, by);
    if (this.options.isAttachedClient(target)) {
      throw new ProtocolError(ErrorCodes.SessionNotFound, `session not found: ${target} is a client of the multiprocessing listener, which cannot be quieted or stopped`, { session: target });
    }
    const peers = this.options.peers;
    if (!peers) throw notFound(target);
    return peers.control(target, action).then((result) => {
      if (!result) throw notFound(target);
      return result;
    });
  }

  /** Puts this manager's session in the state `action` asks for (stop wins over quiet; neither is undone). */
  apply(session: Session, action: ControlAction, by?: Session): ControlResult {
    const state = action === 'stop' || session.workState === 'stopping' ? 'stopping' : 'quiet';
    const notified = speaks(session.protocolVersion, SESSION_CONTROL_SINCE);
    if (state !== session.workState) {
      session.workState = state;
      this.options.log.info(state === 'quiet' ? 'session quieted' : 'session told to stop', {
        session: session.id,
        name: session.client?.name,
        address: session.address,
        notified,
        by: by?.id,
      });
      // Told first, then its waiting gets answered empty: a client that learns why will not ask again.
      if (notified) session.notify(SessionStateNotification.method, { state });
      for (const get of session.takeBlockedGets()) {
        get.cancel();
        get.answerEmpty?.();
      }
      if (state === 'stopping') this.watchStopping(session);
      this.options.sessionsChanged();
    }
    return { session: session.id, manager: this.options.managerId, state, notified };
  }

  /** The session ended: nothing more to watch. */
  forget(session: Session): void {
    const watch = this.stopping.get(session);
    if (!watch) return;
    clearInterval(watch.timer);
    this.stopping.delete(session);
  }

  /** Stops every watch (the manager shuts down and closes every connection itself). */
  close(): void {
    for (const session of [...this.stopping.keys()]) this.forget(session);
  }

  /**
   * A stopping session is closed by the manager once it has held nothing for the grace period:
   * a client that obeys has closed by then (session/close), and one that cannot hear the
   * request (a 2026-11 client) or ignores it leaves without losing a task. Checked on a timer,
   * which sees a lease end however it ended (ack, nack, expiry) on every store.
   */
  private watchStopping(session: Session): void {
    if (this.stopping.has(session)) return;
    const graceMs = this.options.stopGracePeriod * 1000;
    const watch = {
      idleSince: undefined as number | undefined,
      timer: setInterval(() => this.checkStopping(session, graceMs), Math.max(20, Math.min(1000, graceMs / 4))),
    };
    watch.timer.unref();
    this.stopping.set(session, watch);
    this.checkStopping(session, graceMs);
  }

  private checkStopping(session: Session, graceMs: number): void {
    const watch = this.stopping.get(session);
    if (!watch) return;
    if (session.state === 'closed') {
      this.forget(session);
      return;
    }
    if (this.options.queues.leasedBy(session.id) > 0) {
      watch.idleSince = undefined;
      return;
    }
    const now = Date.now();
    watch.idleSince ??= now;
    if (now - watch.idleSince < graceMs) return;
    this.forget(session);
    this.options.log.info('closing a stopped session that holds nothing', { session: session.id, name: session.client?.name, address: session.address });
    session.end(STOPPED_BY_OPERATOR);
  }
}

function notFound(session: string): ProtocolError {
  return new ProtocolError(ErrorCodes.SessionNotFound, `session not found: no session ${session} is connected`, { session });
}
