import type { RateLimit } from '../protocol/generated';
import type { EngineDefaults } from '../engine';
import type { QueueBackend } from '../engine/queueBackend';
import type { LocalQueues } from './localQueues';
import type { Limits } from '../protocol/generated';
import type { TaskStore } from '../store/store';
import type { Logger } from './logger';
import { defaultMaxQueuedBytes } from './memoryBudget';

/**
 * Limits the server enforces. Those of the protocol's `Limits` (maxFrameBytes 16 MiB,
 * maxPayloadBytes 8 MiB, maxBatch 10,000, maxSubscriptions 32 and maxQueuedBytes by default;
 * their meaning is in spec/protocol.json) are announced to clients in the authenticate result;
 * the rest are the server's own.
 */
export interface ServerLimits extends Required<Limits> {
  /** Most simultaneous connections, authenticated or not (default 10,000); at the limit, the oldest unauthenticated one makes room, and only when every connection is authenticated is a newcomer refused. */
  maxConnections: number;
  /** Seconds a connection has to authenticate (default 10). */
  handshakeTimeout: number;
  /** Seconds a connection has to send its session/hello; one that stays silent is closed sooner than the handshake deadline (default 2; never above handshakeTimeout). */
  helloTimeout: number;
  /** Milliseconds before an authentication failure is answered (default 250); also the first back-off of an address after a failure. */
  authFailureDelay: number;
  /** Seconds: the longest an address's proofs go unchecked after failures in a row (default 30). */
  maxAuthFailureBackoff: number;
  /** Bytes of unsent output past which event notifications to a session are dropped (default 8 MiB). */
  maxEventBacklogBytes: number;
  /** Largest frame read before the connection has authenticated (default 256 KiB; never above maxFrameBytes). */
  maxHandshakeFrameBytes: number;
  /** Most connections from one remote address that have not authenticated yet (default 128); beyond, the oldest of them is closed to make room. */
  maxHandshakesPerAddress: number;
  /** Deepest nesting of arrays and objects in a message, the message itself being level 1 (default 256). */
  maxNestingDepth: number;
  /** Seconds an authenticated connection may hold part of a frame without sending more of it (default 60). */
  partialFrameTimeout: number;
  /** Bytes of unsent output past which the server stops reading the connection until it drains (default 16 MiB). */
  maxOutputBytes: number;
  /** Seconds unsent output may stay above maxOutputBytes without shrinking before the connection is dropped (default 60). */
  slowConsumerTimeout: number;
  /**
   * Bytes of the frames of a connection's blocked requests (puts waiting for room, gets
   * waiting for a task) past which the server reads no more of it until one is answered
   * (default 16 MiB): a waiting put holds its payload, and without this a client could pile up
   * any number of them, beyond every queue's and the budget's bound.
   */
  maxBlockedBytes: number;
  /**
   * Seconds a session told to stop (client/stop, spec §7.20) may stay connected once it holds
   * no task, to finish and close by itself, before the manager closes its connection (default 10).
   */
  stopGracePeriod: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxFrameBytes: 16 * 1024 * 1024,
  maxPayloadBytes: 8 * 1024 * 1024,
  maxBatch: 10_000,
  maxSubscriptions: 32,
  maxConnections: 10_000,
  handshakeTimeout: 10,
  helloTimeout: 2,
  authFailureDelay: 250,
  maxAuthFailureBackoff: 30,
  maxEventBacklogBytes: 8 * 1024 * 1024,
  maxHandshakeFrameBytes: 256 * 1024,
  maxHandshakesPerAddress: 128,
  maxNestingDepth: 256,
  partialFrameTimeout: 60,
  maxOutputBytes: 16 * 1024 * 1024,
  slowConsumerTimeout: 60,
  maxQueuedBytes: defaultMaxQueuedBytes(),
  maxBlockedBytes: 16 * 1024 * 1024,
  stopGracePeriod: 10,
};

export const DEFAULT_PORT = 7400;
export const DEFAULT_HOST = '127.0.0.1';

export interface QueueDeclaration {
  name: string;
  maxsize?: number;
  maxBytes?: number;
  ttr?: number;
  maxAttempts?: number;
  deadLetter?: string | null;
  /** Limits on deliveries (spec §7.22). */
  rate?: RateLimit | null;
  keyRate?: RateLimit | null;
  keyConcurrency?: number;
}

export interface ServerOptions<Q extends QueueBackend = LocalQueues> {
  /** The shared secret; any bytes. */
  authkey: Buffer;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** PEM certificate and key: serve TLS instead of plain TCP. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  limits?: Partial<ServerLimits>;
  engine?: Partial<EngineDefaults>;
  /** Create queues on first use (default true). */
  autoCreateQueues?: boolean;
  /** Queues to declare at start. */
  queues?: QueueDeclaration[];
  /** Keeps queues beyond the process (a JournalStore for --data-dir); default: in memory only. */
  store?: TaskStore;
  /**
   * The queues, when they live outside this process (a backend on a shared store). Absent: a
   * LocalQueues built from `engine`, `autoCreateQueues`, `queues`, `store` and
   * `limits.maxQueuedBytes`. The server talks to either through QueueBackend only.
   */
  backend?: Q;
  log?: Logger;
}
