import type { QueueBackend } from '../engine/queueBackend';
import type { ClientInfo, EventClient } from '../protocol/generated';
import type { AuthThrottle } from './admission';
import type { ManagerCounters } from './counters';
import type { Logger } from './logger';
import type { ServerLimits } from './options';
import type { ThrottledLog } from './throttle';

/** Clients of another listener, for manager/clients and the events' descriptions of sessions. */
export interface ClientSource {
  clients(): ClientInfo[];
  /** The client behind a session id, when it is one of this source's. */
  describe(sessionId: string): EventClient | undefined;
}

/**
 * What a second listener on another wire (the multiprocessing listener, src/mp/) shares with
 * the manager's own port: the queues, the key, the limits, the failed-authentication throttle
 * (so guesses on one port count on the other), the logs and counters, the worker registry and
 * its events, and shutdown.
 */
export interface ListenerHost {
  readonly queues: QueueBackend;
  readonly authkey: Buffer;
  readonly limits: ServerLimits;
  readonly authThrottle: AuthThrottle;
  readonly counters: ManagerCounters;
  readonly log: Logger;
  readonly throttled: ThrottledLog;
  /** Lists the source's clients with the manager's own; `close` runs at shutdown, before the queues close. */
  attach(source: ClientSource, close: () => Promise<void>): void;
  clientConnected(client: EventClient): void;
  clientDisconnected(client: EventClient): void;
  /** Starts the manager's graceful shutdown. */
  shutdown(): void;
  /** True once shutdown has started. */
  readonly stopping: boolean;
}
