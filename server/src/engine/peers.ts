import type { ClientInfo, ControlResult, EventClient } from '../protocol/generated';
import type { EngineEvent } from './types';

/** Who made an event: the session as events show it, and the id of the manager it is on. */
export interface EventSource {
  client: EventClient;
  manager: string;
}

/** What one manager of a shared store tells the others' subscribers (spec §7.18). */
export type PeerMessage =
  /** A change to a queue, made through the sending manager (its session resolved to `source`). */
  | { type: 'engine'; event: Omit<EngineEvent, 'session'>; source?: EventSource }
  /** A session connected to or left the sending manager (or, for a manager found gone, a survivor says its sessions left). */
  | { type: 'client'; kind: 'client-connected' | 'client-disconnected'; source: EventSource };

/** What the server gives the peers: its own sessions, and a way to hand it the others' messages. */
export interface PeerHost {
  /** This manager's sessions, as manager/clients lists them (with `manager`). */
  sessions(): ClientInfo[];
  /** A message from another manager, for this manager's subscribers. */
  receive(message: PeerMessage): void;
  /**
   * Another manager asks to quiet or stop a session (spec §7.20): the result when the session
   * is this manager's, undefined when it is not.
   */
  control(session: string, action: 'quiet' | 'stop'): ControlResult | undefined;
}

/**
 * The other managers of a shared store, as one manager sees them: their sessions (for
 * manager/clients) and their events (for events/subscribe). A backend on a shared store
 * provides it (QueueBackend.peers); a manager alone has none.
 */
export interface ManagerPeers {
  attach(host: PeerHost): void;
  /** This manager's sessions changed (one connected or left): tell the others soon. */
  sessionsChanged(): void;
  /** The sessions of every other live manager (their counts as of their last report: at most a heartbeat interval old). */
  otherSessions(): Promise<ClientInfo[]>;
  /** Whether another manager has subscribers now; messages are sent only then. */
  readonly othersListening: boolean;
  /** Sends a message to the other managers' subscribers (best effort, like every event: spec §6.1). */
  publish(message: PeerMessage): void;
  /** Whether this manager has subscribers, so that the others send it their messages. */
  setListening(listening: boolean): void;
  /**
   * Quiets or stops a session of another manager (spec §7.20), on the manager that holds it:
   * its result, or undefined when no live manager has that session.
   */
  control(session: string, action: 'quiet' | 'stop'): Promise<ControlResult | undefined>;
}
