import { randomBytes } from 'node:crypto';
import type { ManagerPeers, PeerHost, PeerMessage } from '../engine/peers';
import { ProtocolError } from '../protocol/errors';
import { ErrorCodes, type ClientInfo, type ControlResult } from '../protocol/generated';
import type { Logger } from '../server/logger';
import type { Connection } from './connection';
import { heartbeatKey, MANAGERS_KEY } from './keys';

/**
 * Where managers say that they have subscribers (so that the others send them their events),
 * and where one asks another to quiet or stop a session it holds, and hears the answer.
 */
export const CONTROL_CHANNEL = 'tw:control';
/** Where managers send their events to the others' subscribers. */
export const EVENTS_CHANNEL = 'tw:events';
/** A manager's sessions, as manager/clients lists them: one JSON array, expiring with its heartbeat. */
export function sessionsKey(managerId: string): string {
  return `tw:sessions:${managerId}`;
}
/** Taken by the one survivor that says a gone manager's sessions left. */
function goneSessionsKey(managerId: string): string {
  return `tw:sessions-gone:${managerId}`;
}

/** A sessions change is written after this pause, so that a burst of connections is one write. */
const SESSIONS_DEBOUNCE_MS = 100;
/** How long a quiet or stop request waits for the manager that holds the session to answer. */
const CONTROL_TIMEOUT_MS = 5000;

/** On tw:control: a request to the manager `to` to quiet or stop one of its sessions (spec §7.20). */
interface ControlCommand {
  id: string;
  from: string;
  to: string;
  session: string;
  action: 'quiet' | 'stop';
}

/** On tw:control: its answer, the result or nothing when the session is not (or no longer) there. */
interface ControlReply {
  id: string;
  to: string;
  result?: ControlResult;
}

/**
 * The managers of one Redis, seen from one of them (spec §7.18): the registry across managers
 * and the events across managers, on plain keys and pub/sub.
 *
 * - **Sessions.** Each manager writes its list of sessions to `tw:sessions:<id>` when one connects
 *   or leaves, and again every third of its heartbeat TTL (so the counts of held and done tasks
 *   it shows are at most that old); the key expires after two TTLs, so a manager that died
 *   vanishes from the others' lists even before a survivor says its sessions left.
 * - **Events.** A manager with subscribers subscribes to `tw:events` and says so on `tw:control`
 *   at once and every third of a TTL; a manager sends its events to `tw:events` only while it has
 *   heard from such a manager within two TTLs. So a store whose managers have no subscribers
 *   carries no event traffic at all.
 * - **A manager found gone**: the survivor that releases its leases (and only one of them) sends
 *   a `client-disconnected` for each session it had.
 *
 * Events from one manager keep their order; events of one queue made through two managers
 * within the same instant may reach a subscriber in either order (spec §7.18).
 */
export class RedisPeers implements ManagerPeers {
  private host: PeerHost | undefined;
  private listening = false;
  private othersListeningUntil = 0;
  private sessionsTimer: NodeJS.Timeout | undefined;
  /** Messages held while a write of this manager's sessions is pending, sent after it in their order. */
  private held: { channel: string; text: string }[] | undefined;
  /** Quiet and stop requests sent to other managers, waiting for their answers, by request id. */
  private readonly controlRequests = new Map<string, (result: ControlResult | undefined) => void>();
  private readonly tickTimer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly redis: Connection,
    private readonly subscriber: Connection,
    private readonly managerId: string,
    private readonly ttlMs: number,
    private readonly log: Logger,
  ) {
    this.tickTimer = setInterval(() => this.tick(), Math.max(10, Math.floor(ttlMs / 3)));
    this.tickTimer.unref();
  }

  /** Subscribes to the control channel: whether any manager wants events is known from then on. */
  async start(): Promise<void> {
    await this.subscriber.subscribe(CONTROL_CHANNEL);
  }

  attach(host: PeerHost): void {
    this.host = host;
    this.sessionsChanged();
  }

  get othersListening(): boolean {
    return Date.now() < this.othersListeningUntil;
  }

  /** A message on the subscriber connection: true when it was the peers' (not a queue's wake-up). */
  handle(channel: string, text: string): boolean {
    if (channel === CONTROL_CHANNEL) {
      const { listening, command, reply } = parse<{ listening?: string; command?: ControlCommand; reply?: ControlReply }>(text) ?? {};
      if (listening !== undefined && listening !== this.managerId) this.othersListeningUntil = Date.now() + 2 * this.ttlMs;
      if (command?.to === this.managerId) this.obey(command);
      if (reply?.to === this.managerId) this.controlRequests.get(reply.id)?.(reply.result);
      return true;
    }
    if (channel === EVENTS_CHANNEL) {
      const envelope = parse<{ from: string; message: PeerMessage }>(text);
      if (envelope && envelope.from !== this.managerId) this.host?.receive(envelope.message);
      return true;
    }
    return false;
  }

  /**
   * Writes this manager's sessions soon. Meanwhile the messages it publishes are held and sent
   * after the write, in their order: a `client-connected` reaches the other managers only once a
   * registry read there shows the session.
   */
  sessionsChanged(): void {
    if (this.sessionsTimer || this.closed) return;
    this.held ??= [];
    this.sessionsTimer = setTimeout(() => {
      this.sessionsTimer = undefined;
      void this.writeSessions().finally(() => {
        const held = this.held ?? [];
        this.held = undefined;
        for (const { channel, text } of held) this.send(text, channel);
      });
    }, SESSIONS_DEBOUNCE_MS);
    this.sessionsTimer.unref();
  }

  async otherSessions(): Promise<ClientInfo[]> {
    const others = (await this.redis.smembers(MANAGERS_KEY)).filter((id) => id !== this.managerId).sort();
    const lists = await Promise.all(
      others.map(async (id) => {
        // A manager whose heartbeat lapsed is gone, whether or not its list has expired yet.
        const [alive, text] = await Promise.all([this.redis.exists(heartbeatKey(id)), this.redis.get(sessionsKey(id))]);
        return alive === 1 && text ? (parse<ClientInfo[]>(text) ?? []) : [];
      }),
    );
    return lists.flat();
  }

  publish(message: PeerMessage): void {
    if (!this.othersListening || this.closed) return;
    const text = JSON.stringify({ from: this.managerId, message });
    if (this.held) this.held.push({ channel: EVENTS_CHANNEL, text });
    else this.send(text);
  }

  private send(text: string, channel = EVENTS_CHANNEL): void {
    this.redis.publish(channel, text).catch((error: unknown) => this.log.debug('a message for the other managers was not sent', { channel, error: String(error) }));
  }

  /**
   * Asks the manager that holds `session` (as the registry on the store shows it) to quiet or
   * stop it, over tw:control; undefined when no live manager lists it, or its manager no longer
   * has it. A manager that does not answer in time is reported as an internal error.
   */
  async control(session: string, action: 'quiet' | 'stop'): Promise<ControlResult | undefined> {
    const holder = (await this.otherSessions()).find((info) => info.sessionId === session)?.manager;
    if (holder === undefined) return undefined;
    const id = randomBytes(8).toString('hex');
    const answer = new Promise<ControlResult | undefined>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.controlRequests.delete(id);
        reject(new ProtocolError(ErrorCodes.InternalError, `internal error: manager ${holder}, which holds session ${session}, did not answer within ${CONTROL_TIMEOUT_MS / 1000} s`));
      }, CONTROL_TIMEOUT_MS);
      this.controlRequests.set(id, (result) => {
        clearTimeout(timer);
        this.controlRequests.delete(id);
        resolve(result);
      });
    });
    const command: ControlCommand = { id, from: this.managerId, to: holder, session, action };
    await this.redis.publish(CONTROL_CHANNEL, JSON.stringify({ command }));
    return answer;
  }

  /**
   * Another manager's quiet or stop of a session of this one. The answer goes after the write of
   * this manager's sessions that the change started, so a registry read after it shows the state.
   */
  private obey(command: ControlCommand): void {
    const result = this.host?.control(command.session, command.action);
    const reply: ControlReply = { id: command.id, to: command.from, ...(result ? { result } : {}) };
    const text = JSON.stringify({ reply });
    if (this.held) this.held.push({ channel: CONTROL_CHANNEL, text });
    else this.send(text, CONTROL_CHANNEL);
  }

  setListening(listening: boolean): void {
    if (listening === this.listening || this.closed) return;
    this.listening = listening;
    const change = listening ? this.subscriber.subscribe(EVENTS_CHANNEL).then(() => this.announce()) : this.subscriber.unsubscribe(EVENTS_CHANNEL);
    change.catch((error: unknown) => this.log.warn('events of the other managers: cannot (un)subscribe', { error: String(error) }));
  }

  /**
   * A manager was found gone (its leases released by this one): says, once for the whole store,
   * that each of its sessions left, to this manager's subscribers and the others'.
   */
  async managerGone(gone: string): Promise<void> {
    const first = await this.redis.set(goneSessionsKey(gone), this.managerId, 'PX', 10 * this.ttlMs, 'NX');
    const text = await this.redis.get(sessionsKey(gone));
    await this.redis.del(sessionsKey(gone));
    if (first !== 'OK' || !text) return;
    for (const info of parse<ClientInfo[]>(text) ?? []) {
      const message: PeerMessage = {
        type: 'client',
        kind: 'client-disconnected',
        source: { client: { sessionId: info.sessionId, name: info.name, role: info.role, address: info.address }, manager: gone },
      };
      this.host?.receive(message);
      this.publish(message);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.tickTimer);
    clearTimeout(this.sessionsTimer);
    this.sessionsTimer = undefined;
    // What was held for a registry write that will not come (the releases and departures of a
    // stopping manager's sessions) still goes out: the registry entry goes away just after.
    const held = this.held ?? [];
    this.held = undefined;
    for (const { channel, text } of held) this.send(text, channel);
    this.closed = true;
    await this.redis.del(sessionsKey(this.managerId)).catch(() => undefined);
  }

  private tick(): void {
    void this.writeSessions();
    if (this.listening) this.announce();
  }

  private announce(): void {
    this.redis.publish(CONTROL_CHANNEL, JSON.stringify({ listening: this.managerId })).catch(() => undefined);
  }

  private async writeSessions(): Promise<void> {
    if (!this.host || this.closed) return;
    try {
      await this.redis.set(sessionsKey(this.managerId), JSON.stringify(this.host.sessions()), 'PX', 2 * this.ttlMs);
    } catch (error) {
      this.log.debug('sessions for the other managers not written', { error: String(error) });
    }
  }
}

function parse<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
