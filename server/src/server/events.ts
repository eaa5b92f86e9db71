import { randomBytes } from 'node:crypto';
import type { EngineEvent } from '../engine';
import type { Event, EventClient, EventKind, SubscribeParams } from '../protocol/generated';
import { SerializedJson, stringifyWithTexts, type JsonText } from '../protocol/jsonText';
import { legacyReleaseReason, MANAGER_IDS_SINCE, PAUSE_SINCE, PROGRESS_SINCE, RELEASES_SINCE, SCHEDULES_SINCE, speaks } from '../protocol/versions';
import type { Session } from './session';

/** A session as events show it: the event's `client`, and the id of the manager it is on. */
export interface EventSession {
  client: EventClient;
  /** The manager the session is connected to (spec §7.18); sent to 2026-12 sessions as the event's `manager`. */
  manager: string;
}

interface Subscription {
  id: string;
  session: Session;
  queues: Set<string> | undefined;
  kinds: Set<EventKind> | undefined;
  includePayload: boolean;
}

/** What the hub reports about delivery, for the manager's counters and log. */
export interface EventDeliveryObserver {
  /** An event was written to a subscriber. */
  sent?(session: Session): void;
  /** The first event dropped for a session whose output is too far behind (not every one). */
  startedDropping?(session: Session): void;
  /** Events flow again to a session that had lost `dropped` events since startedDropping. */
  stoppedDropping?(session: Session, dropped: number): void;
  /** Every dropped event. */
  dropped?(session: Session): void;
  /** The hub got its first subscription, or lost its last. */
  activeChanged?(active: boolean): void;
}

/** An event written with its payload and result as their texts. */
function withTexts(event: Event, payload: JsonText | undefined, result: JsonText | undefined): string {
  return stringifyWithTexts(event, [
    ['payload', payload],
    ['result', result],
  ]);
}

/**
 * Event kinds added after 2026-11, with the version that added each: a session of an older
 * version never sees them (§6.1). (`released` is not here: older sessions see it as `expired`.)
 */
const KIND_SINCE: Partial<Record<EventKind, string>> = {
  progress: PROGRESS_SINCE,
  paused: PAUSE_SINCE,
  resumed: PAUSE_SINCE,
  scheduled: SCHEDULES_SINCE,
  'schedule-set': SCHEDULES_SINCE,
  'schedule-deleted': SCHEDULES_SINCE,
};

/** Which events carry task payloads only when the subscriber asks for them. */
const PAYLOAD_KINDS = new Set<EventKind>(['put', 'get', 'dead']);

/**
 * Event subscriptions and their fan-out. Events are observations: sending one never takes a
 * task off a queue, and a subscriber that cannot keep up loses events (counted), never memory.
 */
export class EventHub {
  private readonly subscriptions = new Map<string, Subscription>();
  /** Events dropped for each session during its current episode of falling behind. */
  private readonly droppedInEpisode = new Map<Session, number>();

  constructor(
    private readonly describe: (sessionId: string) => EventSession | undefined,
    private readonly maxBacklogBytes: number,
    private readonly observer: EventDeliveryObserver = {},
  ) {}

  get active(): boolean {
    return this.subscriptions.size > 0;
  }

  subscribe(session: Session, params: SubscribeParams): string {
    const wasActive = this.active;
    const id = `sub-${randomBytes(6).toString('hex')}`;
    this.subscriptions.set(id, {
      id,
      session,
      queues: params.queues ? new Set(params.queues) : undefined,
      kinds: params.kinds ? new Set(params.kinds) : undefined,
      includePayload: params.includePayload === true,
    });
    session.subscriptions.add(id);
    if (!wasActive) this.observer.activeChanged?.(true);
    return id;
  }

  /** False when the subscription is not this session's. */
  unsubscribe(session: Session, id: string): boolean {
    const subscription = this.subscriptions.get(id);
    if (!subscription || subscription.session !== session) return false;
    this.subscriptions.delete(id);
    session.subscriptions.delete(id);
    if (!this.active) this.observer.activeChanged?.(false);
    return true;
  }

  dropSession(session: Session): void {
    const wasActive = this.active;
    for (const id of session.subscriptions) this.subscriptions.delete(id);
    session.subscriptions.clear();
    this.droppedInEpisode.delete(session);
    if (wasActive && !this.active) this.observer.activeChanged?.(false);
  }

  /**
   * Fans an engine event out to matching subscriptions. `source`: who made it, when it came from
   * another manager of the store (null: no session); else the event's session, described here.
   */
  publishEngineEvent(event: EngineEvent, source?: EventSession | null): void {
    if (this.subscriptions.size === 0) return;
    const at = new Date(event.at).toISOString();
    source = source === undefined ? (event.session !== undefined ? this.describe(event.session) : undefined) : source;
    for (const subscription of this.subscriptions.values()) {
      const since = KIND_SINCE[event.kind];
      if (since !== undefined && !speaks(subscription.session.protocolVersion, since)) continue;
      // A release is `released` since 2026-12; older sessions knew it as `expired` (§6.1).
      const legacy = event.kind === 'released' && !speaks(subscription.session.protocolVersion, RELEASES_SINCE);
      const kind: EventKind = legacy ? 'expired' : event.kind;
      if (subscription.kinds && !subscription.kinds.has(kind)) continue;
      if (subscription.queues && !subscription.queues.has(event.queue)) continue;
      const wire: Event = { subscription: subscription.id, kind, queue: event.queue, at };
      if (event.taskId !== undefined) wire.taskId = event.taskId;
      if (event.attempt !== undefined) wire.attempt = event.attempt;
      const payload = event.payload !== undefined && (subscription.includePayload || !PAYLOAD_KINDS.has(event.kind)) ? event.payload : undefined;
      const error = legacy ? legacyReleaseReason(event.error) : event.error;
      if (error !== undefined) wire.error = error;
      if (event.count !== undefined) wire.count = event.count;
      if (event.progress !== undefined) Object.assign(wire, event.progress);
      if (event.schedule !== undefined) wire.schedule = event.schedule;
      if (source) {
        wire.client = source.client;
        if (speaks(subscription.session.protocolVersion, MANAGER_IDS_SINCE)) wire.manager = source.manager;
      }
      // Payloads and results go out as the texts they came as (spec §7.17).
      const carried = payload !== undefined || event.result !== undefined;
      this.deliver(subscription, carried ? new SerializedJson(withTexts(wire, payload, event.result)) : wire);
    }
  }

  /** Fans out client-connected / client-disconnected (these pass every queue filter). */
  publishClientEvent(kind: 'client-connected' | 'client-disconnected', { client, manager }: EventSession): void {
    if (this.subscriptions.size === 0) return;
    const at = new Date().toISOString();
    for (const subscription of this.subscriptions.values()) {
      if (subscription.kinds && !subscription.kinds.has(kind)) continue;
      const event: Event = { subscription: subscription.id, kind, client, at };
      if (speaks(subscription.session.protocolVersion, MANAGER_IDS_SINCE)) event.manager = manager;
      this.deliver(subscription, event);
    }
  }

  private deliver(subscription: Subscription, event: Event | SerializedJson): void {
    const session = subscription.session;
    if (session.isBehind(this.maxBacklogBytes)) {
      session.droppedEvents++;
      this.observer.dropped?.(session);
      if (!session.droppingEvents) {
        session.droppingEvents = true;
        this.observer.startedDropping?.(session);
      }
      this.droppedInEpisode.set(session, (this.droppedInEpisode.get(session) ?? 0) + 1);
      return;
    }
    if (session.droppingEvents) {
      session.droppingEvents = false;
      const dropped = this.droppedInEpisode.get(session) ?? 0;
      this.droppedInEpisode.delete(session);
      this.observer.stoppedDropping?.(session, dropped);
    }
    if (session.notify('events/event', event)) this.observer.sent?.(session);
  }
}
