import { strict as assert } from 'node:assert';
import { Engine, EngineError, ManualClock, type EngineEvent, type EngineOptions, type EngineErrorReason, type RawAck, type RawTask, type RawTaskSpec, type Waiter } from '../../src/engine';
import type { JournalRecord } from '../../src/engine/journal';
import type { Ack, QueueStats, Task, TaskSpec } from '../../src/protocol/generated';
import { jsonTextOf, type JsonText } from '../../src/protocol/jsonText';
import { encodeRecord, Replay, scanRecords } from '../../src/store';

/**
 * Shared fixtures for the engine tests: a ManualClock, recorded events and wake-ups, and small
 * wrappers around the callback API. The engine holds payloads and results as JSON text
 * (RawTaskSpec, RawAck, RawTask); the wrappers let tests speak in values: they serialize what
 * goes in, and parse what comes out (tasks delivered, events recorded).
 */

/** Where every test's clock starts (ms since the epoch). */
export const START = Date.UTC(2026, 10, 1);
export const WORKER = 'worker-a';
export const OTHER_WORKER = 'worker-b';

type GetRequest = Parameters<Engine['get']>[0];

export interface Harness {
  engine: Engine;
  clock: ManualClock;
  /** Every event the engine emitted, in order. */
  events: EngineEvent[];
  /** Every onWake argument, in order. */
  wakes: number[];
  /** Moves the clock forward and processes what is due, as the server's timer would. */
  tick(seconds: number): void;
  /** Moves the clock to START + seconds and processes what is due. */
  tickTo(seconds: number): void;
}

/**
 * Every engine a harness makes also journals its changes, through the store's record codec;
 * after each test, the journal must replay to exactly the state the engine holds. So every
 * engine test doubles as a test of the journal: the one suite runs against both stores.
 */
const journaled: { engine: Engine; records: Buffer[] }[] = [];

afterEach(function checkJournalReplay() {
  for (const { engine, records } of journaled.splice(0)) {
    if (this.currentTest?.state === 'failed') continue;
    const replay = new Replay();
    for (const record of scanRecords(Buffer.concat(records), 'journal').records) replay.apply(record);
    assert.deepEqual(replay.state(), engine.exportState(), 'the journal does not replay to the engine state');
    assert.equal(replay.unmatched, 0, 'a journal record named a task that was not there');
  }
});

export function makeHarness(options: Omit<EngineOptions, 'clock' | 'onWake'> = {}): Harness {
  const clock = new ManualClock(START);
  const wakes: number[] = [];
  const records: Buffer[] = [];
  const journal = options.journal ?? { append: (record: JournalRecord) => records.push(encodeRecord(record)) };
  const engine = new Engine({ idPrefix: 't', ...options, clock, onWake: (at) => wakes.push(at), journal });
  if (!options.journal) journaled.push({ engine, records });
  const events: EngineEvent[] = [];
  engine.onEvent((event) => events.push(decodedEvent(event)));
  return {
    engine,
    clock,
    events,
    wakes,
    tick(seconds) {
      clock.advance(seconds * 1000);
      engine.advance();
    },
    tickTo(seconds) {
      clock.set(START + seconds * 1000);
      engine.advance();
    },
  };
}

/** START + seconds as the ISO string the wire form uses. */
export function isoAt(seconds: number): string {
  return new Date(START + seconds * 1000).toISOString();
}

/** Payloads become TaskSpecs; TaskSpecs pass through; each payload is sent as its JSON text. */
function toSpecs(tasks: (TaskSpec | string | number)[]): RawTaskSpec[] {
  return tasks.map((task) => (typeof task === 'object' ? { ...task, payload: jsonTextOf(task.payload) } : { payload: jsonTextOf(task) }));
}

/** Acks with results as values, as the engine takes them: results as JSON text. */
export function rawAcks(acks: Ack[]): RawAck[] {
  return acks.map((ack) => (ack.result === undefined ? { id: ack.id } : { ...ack, result: jsonTextOf(ack.result) }));
}

/** A delivered task with its payload parsed. */
export function decodedTask(task: RawTask): Task {
  return { ...task, payload: JSON.parse(task.payload) };
}

/** An event with its payload and result parsed, as the tests compare them. */
export function decodedEvent(event: EngineEvent): EngineEvent {
  const decoded = { ...event } as Record<string, unknown>;
  if (event.payload !== undefined) decoded.payload = JSON.parse(event.payload);
  if (event.result !== undefined) decoded.result = JSON.parse(event.result);
  return decoded as unknown as EngineEvent;
}

/** A value's JSON text, for the few tests that call the engine directly. */
export const json = (value: unknown): JsonText => jsonTextOf(value);

export interface PendingPut {
  readonly waiter: Waiter | undefined;
  /** Every outcome `done` was called with; the engine must call it at most once. */
  readonly outcomes: (string[] | EngineError)[];
  /** The single outcome, or undefined while still waiting. */
  readonly outcome: string[] | EngineError | undefined;
}

export function startPut(engine: Engine, queue: string, tasks: (TaskSpec | string | number)[], options: { timeout?: number; session?: string } = {}): PendingPut {
  const outcomes: (string[] | EngineError)[] = [];
  const waiter = engine.put({ queue, tasks: toSpecs(tasks), timeout: options.timeout, session: options.session }, (outcome) => outcomes.push(outcome));
  return {
    waiter,
    outcomes,
    get outcome() {
      assert.ok(outcomes.length <= 1, 'put completed more than once');
      return outcomes[0];
    },
  };
}

/** A put that must complete at once with ids. */
export function putNow(engine: Engine, queue: string, tasks: (TaskSpec | string | number)[], session?: string): string[] {
  const put = startPut(engine, queue, tasks, { timeout: 0, session });
  assert.equal(put.waiter, undefined, 'put should not wait');
  const outcome = put.outcome;
  if (!Array.isArray(outcome)) assert.fail(`put failed: ${outcome?.message ?? 'no outcome'}`);
  return outcome;
}

export interface GetOptions {
  max?: number;
  timeout?: number;
  ttr?: number;
  autoAck?: boolean;
  session?: string;
  /** What deliver answers: false plays a session whose connection is gone. */
  alive?: boolean;
}

export interface PendingGet {
  readonly waiter: Waiter | undefined;
  /** Every batch `deliver` was called with. */
  readonly deliveries: Task[][];
  /** The single delivery, or undefined while still waiting. */
  readonly tasks: Task[] | undefined;
}

export function startGet(engine: Engine, queue: string, options: GetOptions = {}): PendingGet {
  const deliveries: Task[][] = [];
  const request: GetRequest = {
    queue,
    max: options.max ?? 1,
    timeout: options.timeout,
    ttr: options.ttr,
    autoAck: options.autoAck ?? false,
    session: options.session ?? WORKER,
  };
  const alive = options.alive ?? true;
  const waiter = engine.get(request, (tasks) => {
    deliveries.push(tasks.map(decodedTask));
    return alive;
  });
  return {
    waiter,
    deliveries,
    get tasks() {
      assert.ok(deliveries.length <= 1, 'deliver was called more than once');
      return deliveries[0];
    },
  };
}

/** A get that must answer at once (timeout 0). */
export function getNow(engine: Engine, queue: string, options: Omit<GetOptions, 'timeout'> = {}): Task[] {
  const get = startGet(engine, queue, { ...options, timeout: 0 });
  assert.equal(get.waiter, undefined, 'a get with timeout 0 should not wait');
  const tasks = get.tasks;
  assert.ok(tasks, 'a get with timeout 0 should deliver at once');
  return tasks;
}

export interface PendingJoin {
  readonly waiter: Waiter | undefined;
  readonly results: boolean[];
  readonly result: boolean | undefined;
}

export function startJoin(engine: Engine, queue: string, options: { timeout?: number; session?: string } = {}): PendingJoin {
  const results: boolean[] = [];
  const waiter = engine.join(queue, options.timeout, options.session, (joined) => results.push(joined));
  return {
    waiter,
    results,
    get result() {
      assert.ok(results.length <= 1, 'join completed more than once');
      return results[0];
    },
  };
}

/** Runs fn, which must throw an EngineError with `reason`; returns the error for further checks. */
export function expectEngineError(fn: () => unknown, reason: EngineErrorReason): EngineError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof EngineError, `expected an EngineError, got ${String(error)}`);
    assert.equal(error.reason, reason);
    return error;
  }
  return assert.fail(`expected EngineError ${reason}, nothing was thrown`);
}

/** The counts that matter in most tests, without the options and totals. */
export function counts(engine: Engine, queue: string): Pick<QueueStats, 'ready' | 'delayed' | 'leased'> {
  const { ready, delayed, leased } = engine.queueStats(queue);
  return { ready, delayed, leased };
}

export function payloads(tasks: Task[]): unknown[] {
  return tasks.map((task) => task.payload);
}

export function eventsOf(events: EngineEvent[], kind: EngineEvent['kind']): EngineEvent[] {
  return events.filter((event) => event.kind === kind);
}

/** The ids a put completed with; fails the test if it is still waiting or failed. */
export function completedIds(put: PendingPut): string[] {
  const outcome = put.outcomes[0];
  if (!Array.isArray(outcome)) return assert.fail(`put has not completed with ids: ${outcome?.message ?? 'still waiting'}`);
  return outcome;
}

/** The engine's peek, with payloads parsed. */
export function peekNow(engine: Engine, queue: string, max: number): Task[] {
  return engine.peek(queue, max).map(decodedTask);
}
