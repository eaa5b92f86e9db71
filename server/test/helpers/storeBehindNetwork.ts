// A QueueBackend for tests of what the wire says when a shared store is away: the real
// in-process queues (LocalQueues) behind a network that can fail, as a Redis backend's calls
// do while Redis is down.
import type { Deliver, EngineEvent, QueueOptions, RawAck, SessionId, Waiter } from '../../src/engine';
import type { ScheduleDefinition, ScheduleImage } from '../../src/engine/schedules';
import { EngineError } from '../../src/engine/engineError';
import type { MaybePromise, QueueBackend } from '../../src/engine/queueBackend';
import type { GetRequest, PutRequest } from '../../src/engine/types';
import type { Nack, QueueStats } from '../../src/protocol/generated';
import { LocalQueues } from '../../src/server/localQueues';
import { TaskwireServer } from '../../src/server/server';
import { TEST_KEY } from './harness';

export const OUTAGE = 'the connection to the store at 127.0.0.1:7 was lost';

/**
 * The in-process queues behind a network: every call answers later, like a remote store's, and
 * fails with store_unavailable while `reachable` is false (what a shared-store backend reports
 * while its store is away: the call changed nothing).
 */
export class StoreBehindNetwork implements QueueBackend {
  reachable = true;
  readonly managerId = 'm-test-7f3a';
  private readonly local = new LocalQueues();

  private later<T>(run: () => T): Promise<T> {
    if (!this.reachable) return Promise.reject(this.outage());
    return Promise.resolve().then(run);
  }

  private outage(): EngineError {
    return new EngineError('store_unavailable', OUTAGE, { retryAfter: 1.5 });
  }

  declareQueue(name: string, options: QueueOptions): MaybePromise<{ queue: string; created: boolean }> {
    return this.later(() => this.local.declareQueue(name, options));
  }
  listQueues(): MaybePromise<QueueStats[]> {
    return this.later(() => this.local.listQueues());
  }
  queueStats(name: string): MaybePromise<QueueStats> {
    return this.later(() => this.local.queueStats(name));
  }
  pauseQueue(name: string, session?: SessionId): MaybePromise<QueueStats> {
    return this.later(() => this.local.pauseQueue(name, session));
  }
  resumeQueue(name: string, session?: SessionId): MaybePromise<QueueStats> {
    return this.later(() => this.local.resumeQueue(name, session));
  }
  setSchedule(definition: ScheduleDefinition): MaybePromise<{ schedule: ScheduleImage; created: boolean }> {
    return this.later(() => this.local.setSchedule(definition));
  }
  listSchedules(queue?: string): MaybePromise<ScheduleImage[]> {
    return this.later(() => this.local.listSchedules(queue));
  }
  deleteSchedule(name: string): MaybePromise<boolean> {
    return this.later(() => this.local.deleteSchedule(name));
  }
  ensureQueue(name: string): MaybePromise<void> {
    return this.later(() => this.local.ensureQueue(name));
  }
  put(request: PutRequest, done: (outcome: string[] | EngineError) => void): Waiter | undefined {
    if (!this.reachable) {
      queueMicrotask(() => done(this.outage()));
      return undefined;
    }
    return this.local.put(request, done);
  }
  get(request: GetRequest, deliver: Deliver): Waiter | undefined {
    return this.local.get(request, deliver);
  }
  join(queue: string, timeout: number | undefined, session: SessionId | undefined, done: (joined: boolean) => void): Waiter | undefined {
    return this.local.join(queue, timeout, session, done);
  }
  ack(session: SessionId, acks: RawAck[]): MaybePromise<number> {
    return this.later(() => this.local.ack(session, acks));
  }
  nack(session: SessionId, nacks: Nack[]): MaybePromise<number> {
    return this.later(() => this.local.nack(session, nacks));
  }
  touch(session: SessionId, ids: string[], ttr?: number): MaybePromise<number> {
    return this.later(() => this.local.touch(session, ids, ttr));
  }
  peek(queue: string, max: number): MaybePromise<ReturnType<LocalQueues['peek']>> {
    return this.later(() => this.local.peek(queue, max));
  }
  purge(queue: string, session?: SessionId): MaybePromise<number> {
    return this.later(() => this.local.purge(queue, session));
  }
  leasedBy(session: SessionId): number {
    return this.local.leasedBy(session);
  }
  heldTasks(session: SessionId): ReturnType<LocalQueues['heldTasks']> {
    return this.local.heldTasks(session);
  }
  releaseSession(session: SessionId, reason: string, managerStopping?: boolean): MaybePromise<number> {
    return this.local.releaseSession(session, reason, managerStopping);
  }
  onEvent(listener: (event: EngineEvent) => void): () => void {
    return this.local.onEvent(listener);
  }
  get queuedBytes(): number {
    return this.local.queuedBytes;
  }
  get maxQueuedBytes(): number {
    return this.local.maxQueuedBytes;
  }
  whenDurable(callback: (failure?: Error) => void): void {
    this.local.whenDurable(callback);
  }
  close(): Promise<void> {
    return this.local.close();
  }
}

/** A manager on a StoreBehindNetwork, listening on a free loopback port. */
export async function serverWithStore(): Promise<{ server: TaskwireServer<StoreBehindNetwork>; port: number; store: StoreBehindNetwork }> {
  const store = new StoreBehindNetwork();
  const server = new TaskwireServer({ authkey: TEST_KEY, host: '127.0.0.1', port: 0, backend: store });
  const { port } = await server.listen();
  return { server, port, store };
}
