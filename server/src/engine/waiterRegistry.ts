import type { Clock } from './clock';
import type { Deadline, Deadlines } from './deadlines';
import type { SessionId } from './types';
import type { AnyWaiter } from './waiters';

const SECOND = 1000;

/**
 * The waiting requests of each session (so a session's end withdraws them) and their
 * timeouts. The waiters themselves wait in their queue's deques; this only keeps the books.
 */
export class WaiterRegistry {
  private readonly bySession = new Map<SessionId, Set<AnyWaiter>>();
  /** The timeout deadline of each waiting request that has one, dropped when it stops waiting. */
  private readonly timeouts = new Map<AnyWaiter, Deadline>();

  constructor(
    private readonly clock: Clock,
    private readonly deadlines: Deadlines,
  ) {}

  /** A waiter starts waiting: it belongs to `session` and, with a timeout, times out then. */
  track(waiter: AnyWaiter, session: SessionId | undefined, timeout: number | undefined): void {
    if (session !== undefined) {
      let set = this.bySession.get(session);
      if (!set) this.bySession.set(session, (set = new Set()));
      set.add(waiter);
    }
    if (timeout !== undefined) {
      waiter.timeoutAt = this.clock.now() + timeout * SECOND;
      this.timeouts.set(waiter, this.deadlines.add(waiter.timeoutAt, undefined, waiter));
    }
  }

  /** A waiter stopped waiting (served, timed out, withdrawn). */
  untrack(waiter: AnyWaiter, session: SessionId | undefined): void {
    const timeout = this.timeouts.get(waiter);
    if (timeout !== undefined) {
      this.timeouts.delete(waiter);
      this.deadlines.drop(timeout);
    }
    if (session === undefined) return;
    const set = this.bySession.get(session);
    if (set) {
      set.delete(waiter);
      if (set.size === 0) this.bySession.delete(session);
    }
  }

  /** Every waiter of the session, forgotten here: the caller withdraws them. */
  take(session: SessionId): AnyWaiter[] {
    const set = this.bySession.get(session);
    this.bySession.delete(session);
    return set ? [...set] : [];
  }
}
