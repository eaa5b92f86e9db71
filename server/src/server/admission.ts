// Fair admission of connections that have not authenticated yet. Two rules keep sockets
// without the key from locking out clients that hold it, even from the same address:
//
// - At a cap (connections still authenticating from one address, or connections overall),
//   a newcomer is let in and the oldest unauthenticated connection is closed to make room,
//   the silent ones (no session/hello yet) first. A client with the key needs a few round
//   trips; an attacker's sockets are old by then. Authenticated sessions are never chosen.
// - Failed proofs are counted per address, and after each one the address's proofs go
//   unchecked for a back-off that doubles with every failure in a row, shared by all its
//   connections: the number of guesses an address gets does not grow with its connections.
//
// No sockets here: the server asks whom to evict and how long an address is throttled, and
// passes the time in.
import type { SessionState } from './session';

/** What the roster needs of a connection: its handshake progress. */
export interface Handshaking {
  readonly state: SessionState;
  /**
   * True from the moment it was accepted or answered a hello until the server has had a
   * chance to read what it sent next: it is not evicted meanwhile. Without this, a burst of
   * connections accepted in one go would evict a client whose hello is already waiting in
   * its socket, before a single byte of it was read.
   */
  readonly shielded: boolean;
}

/** The order in which unauthenticated connections are given up: silent first, then greeted, then the rest. */
const EVICTION_ORDER: readonly SessionState[] = ['new', 'greeted'];

/** Unauthenticated connections, oldest first, per remote address and overall. */
export class HandshakeRoster<T extends Handshaking> {
  /** Insertion order is age order (Maps and Sets iterate in insertion order). */
  private readonly all = new Map<T, string>();
  private readonly byAddress = new Map<string, Set<T>>();

  get size(): number {
    return this.all.size;
  }

  add(connection: T, address: string): void {
    this.all.set(connection, address);
    let set = this.byAddress.get(address);
    if (!set) this.byAddress.set(address, (set = new Set()));
    set.add(connection);
  }

  /** The connection no longer counts (it authenticated, or closed). False if it was not listed. */
  remove(connection: T): boolean {
    const address = this.all.get(connection);
    if (address === undefined) return false;
    this.all.delete(connection);
    const set = this.byAddress.get(address)!;
    set.delete(connection);
    if (set.size === 0) this.byAddress.delete(address);
    return true;
  }

  has(connection: T): boolean {
    return this.all.has(connection);
  }

  /** The remote address a listed connection counts under. */
  addressOf(connection: T): string | undefined {
    return this.all.get(connection);
  }

  countFrom(address: string): number {
    return this.byAddress.get(address)?.size ?? 0;
  }

  /**
   * The connection to close to make room, from `address` or from anywhere: the oldest that
   * has not said hello, else the oldest that has, else the oldest (one whose failed proof is
   * being answered), shielded ones never. Undefined when there is none.
   */
  victim(address?: string): T | undefined {
    const candidates: Iterable<T> = address === undefined ? this.all.keys() : (this.byAddress.get(address) ?? []);
    const firstByState = new Map<SessionState, T>();
    let oldest: T | undefined;
    for (const connection of candidates) {
      if (connection.shielded) continue;
      oldest ??= connection;
      if (connection.state === EVICTION_ORDER[0]) return connection;
      if (!firstByState.has(connection.state)) firstByState.set(connection.state, connection);
    }
    for (const state of EVICTION_ORDER) {
      const found = firstByState.get(state);
      if (found) return found;
    }
    return oldest;
  }
}

interface FailureRecord {
  /** Failures in a row (since the address last authenticated, or was forgotten). */
  failures: number;
  /** Until when (ms since the epoch) the address's proofs are not checked. */
  throttledUntil: number;
}

export interface AuthThrottleOptions {
  /** Failures in a row an address may have before it backs off (default 5). */
  freeFailures?: number;
  /** The back-off after the first failure past the free ones, in ms; it doubles with each failure in a row. */
  baseDelayMs: number;
  /** The longest back-off, in ms. */
  maxDelayMs: number;
  /** Most addresses remembered; beyond, the one that failed longest ago is forgotten first. */
  maxAddresses?: number;
}

/** Addresses remembered by default: bounds the memory a spread of addresses can make it hold. */
const DEFAULT_MAX_ADDRESSES = 100_000;
/**
 * Failures in a row before the back-off starts: a mistyped key, a client started with the
 * wrong key file or a test suite trying bad proofs on purpose is not slowed by a few
 * failures; a guesser gets these few and then the back-off.
 */
export const DEFAULT_FREE_FAILURES = 5;

/**
 * Failed authentications per remote address, with exponential back-off: after the n-th
 * failure in a row past the first `freeFailures` (f), the address's proofs are not checked
 * for min(base × 2^(n−f−1), max). An address that authenticates starts again from zero; one
 * that has not failed for twice the longest back-off after its last one is forgotten.
 */
export class AuthThrottle {
  /** Ordered by last failure, oldest first (re-inserted on each failure). */
  private readonly records = new Map<string, FailureRecord>();
  private readonly maxAddresses: number;
  private readonly freeFailures: number;

  constructor(private readonly options: AuthThrottleOptions) {
    this.maxAddresses = options.maxAddresses ?? DEFAULT_MAX_ADDRESSES;
    this.freeFailures = options.freeFailures ?? DEFAULT_FREE_FAILURES;
  }

  /** Milliseconds until proofs from `address` are checked again; 0 when they are checked now. */
  remainingMs(address: string, now: number): number {
    const record = this.records.get(address);
    return record ? Math.max(0, record.throttledUntil - now) : 0;
  }

  /** A proof from `address` was checked and was wrong. Returns the back-off it now has, in ms. */
  failed(address: string, now: number): number {
    this.forgetOld(now);
    let record = this.records.get(address);
    if (!record || this.forgotten(record, now)) record = { failures: 0, throttledUntil: 0 };
    record.failures++;
    const delay = this.delayAfter(record.failures);
    record.throttledUntil = now + delay;
    this.records.delete(address);
    this.records.set(address, record);
    if (this.records.size > this.maxAddresses) this.records.delete(this.records.keys().next().value!);
    return delay;
  }

  /** A proof from `address` was right: its failures are forgiven. */
  succeeded(address: string): void {
    this.records.delete(address);
  }

  /** The back-off after the n-th failure in a row, in ms (0 for the free ones). */
  delayAfter(failures: number): number {
    const past = failures - this.freeFailures;
    if (past <= 0) return 0;
    // The exponent is capped so that the power stays finite; the delay is capped long before.
    return Math.min(this.options.baseDelayMs * 2 ** Math.min(past - 1, 40), this.options.maxDelayMs);
  }

  /** How many addresses are remembered (for tests). */
  get size(): number {
    return this.records.size;
  }

  /** Whether a record is old enough to be forgotten: no failure for twice the longest back-off after its own. */
  private forgotten(record: FailureRecord, now: number): boolean {
    return now - record.throttledUntil >= 2 * this.options.maxDelayMs;
  }

  /** Drops forgotten records from the front (the oldest failures); lazy, so each costs O(1) overall. */
  private forgetOld(now: number): void {
    for (const [address, record] of this.records) {
      if (!this.forgotten(record, now)) return;
      this.records.delete(address);
    }
  }
}
