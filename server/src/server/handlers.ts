import type { Waiter } from '../engine';
import type { GetRequest } from '../engine/types';
import type { MaybePromise, QueueBackend } from '../engine/queueBackend';
import { checkSchedule } from '../engine/schedules';
import { invalidParams, ProtocolError } from '../protocol/errors';
import { ErrorCodes, type GetParams, type QueueStats, type RequestMap, type RequestMethod, type TaskSpec } from '../protocol/generated';
import { jsonTextBytes, type JsonText, type SerializedJson } from '../protocol/jsonText';
import { PAUSE_SINCE, RELEASES_SINCE, speaks, UNIQUE_TASKS_SINCE } from '../protocol/versions';
import type { EventHub } from './events';
import { MAX_PROGRESS_DETAIL_BYTES, type ProgressReport } from './progressBoard';
import { putResult, rawAcks, rawTaskSpecs, tasksResult } from './rawPayloads';
import { refusingInvalid, scheduleDefinition, scheduleListResult, scheduleSetResult } from './scheduleWire';
import type { Session } from './session';
import { takesNoTask, waitWithoutTasks } from './quiet';

/** How a handler answers a request that has to wait. */
export interface Call {
  readonly session: Session;
  /** Bytes of the frame that carried the request; a payload can be no larger. */
  readonly frameBytes: number;
  /** Answers later; false if the connection is gone (so a delivery must be taken back). */
  resolve(result: unknown): boolean;
  reject(error: unknown): void;
  /**
   * Registers the waiter so $/cancelRequest, disconnect and shutdown can withdraw it.
   * `answerCancel`: what a cancelled request answers instead of -32800 (an ack that waits for
   * its next task has already applied its acks, and says so). `answerEmpty`: a get's empty
   * answer, sent at once when the session is told to take no task (spec §7.20).
   */
  defer(waiter: Waiter, answerCancel?: () => void, answerEmpty?: () => void): void;
}

/** What handlers may touch: the queues (through QueueBackend), the event hub, the registry and server-level actions. */
export interface HandlerContext {
  readonly queues: QueueBackend;
  readonly events: EventHub;
  readonly limits: { maxBatch: number; maxPayloadBytes: number; maxSubscriptions: number };
  /** The worker registry, as `viewer` sees it (the `manager` of each entry since protocol 2026-12). */
  clients(viewer: Session): MaybePromise<RequestMap['manager/clients']['result']>;
  /** Manager-wide counters and queue activity (counters.ts). */
  stats(): MaybePromise<RequestMap['manager/stats']['result']>;
  /**
   * A progress report of a task the session holds (its lease just renewed): kept for
   * manager/clients and published as a `progress` event, at most one per task per interval.
   */
  reportProgress(session: Session, taskId: string, report: ProgressReport): void;
  /** Starts a graceful shutdown; `by` is the session that asked for it. */
  shutdown(by?: Session): void;
  /** Quiets or stops a session of any manager of the store (spec §7.20). */
  control(target: string, action: 'quiet' | 'stop', by: Session): MaybePromise<RequestMap['client/quiet']['result']>;
}

/** A reply now, or DEFERRED when the handler will answer through call.resolve/reject. */
export const DEFERRED = Symbol('deferred');

/**
 * The reply made of a backend's answer: at once when the backend answered at once (the
 * in-process queues), otherwise when its promise settles (a backend on a remote store).
 * `toResult` may itself answer later (DEFERRED), so steps chain.
 */
function reply<T, R>(value: MaybePromise<T>, call: Call, toResult: (value: T) => R | typeof DEFERRED): R | typeof DEFERRED {
  if (!(value instanceof Promise)) return toResult(value);
  value.then(
    (settled) => {
      try {
        const result = toResult(settled);
        if (result !== DEFERRED) call.resolve(result);
      } catch (error) {
        call.reject(error);
      }
    },
    (error: unknown) => call.reject(error),
  );
  return DEFERRED;
}

const same = <T>(value: T): T => value;

/** Queue stats as a session of `version` knows them: `totals.released`, `paused` and the limits (§7.19) only since 2026-12. */
function forVersion(stats: QueueStats, version: string | undefined): QueueStats {
  if (speaks(version, RELEASES_SINCE) && speaks(version, PAUSE_SINCE)) return stats;
  const { released: _released, ...totals } = stats.totals;
  const { paused: _paused, rate: _rate, keyRate: _keyRate, keyConcurrency: _keyConcurrency, throttled: _throttled, ...rest } = stats;
  return { ...rest, totals };
}

/** A result that carries payloads is written with their texts (SerializedJson, rawPayloads.ts). */
type Handler<M extends RequestMethod> = (params: RequestMap[M]['params'], call: Call, ctx: HandlerContext) => RequestMap[M]['result'] | SerializedJson | typeof DEFERRED;

type HandlerTable = { [M in Exclude<RequestMethod, 'session/hello' | 'session/authenticate'>]: Handler<M> };

function checkBatch(count: number, ctx: HandlerContext, what: string): void {
  if (count > ctx.limits.maxBatch) {
    throw new ProtocolError(ErrorCodes.LimitExceeded, `limit exceeded: ${count} ${what} in one request, the limit is ${ctx.limits.maxBatch}`, {
      limit: 'maxBatch',
      max: ctx.limits.maxBatch,
    });
  }
}

/** `unique` is a TaskSpec member since 2026-12 (§7.21): an older session's put may not carry it. */
function checkUniqueVersion(tasks: readonly TaskSpec[], version: string | undefined): void {
  if (speaks(version, UNIQUE_TASKS_SINCE)) return;
  const i = tasks.findIndex((task) => task.unique !== undefined);
  if (i < 0) return;
  throw new ProtocolError(ErrorCodes.InvalidParams, `invalid params: unknown field "tasks/${i}/unique" (unique tasks need protocol ${UNIQUE_TASKS_SINCE})`, { field: `/tasks/${i}/unique` });
}

/** Checks payloads only when the frame itself is larger than the limit: no task in a smaller frame can exceed it. */
function checkPayloads<T>(items: T[], textOf: (item: T) => JsonText | undefined, call: Call, ctx: HandlerContext, what: string): void {
  const limit = ctx.limits.maxPayloadBytes;
  if (call.frameBytes <= limit) return;
  items.forEach((item, i) => {
    const text = textOf(item);
    if (text === undefined) return;
    const size = jsonTextBytes(text);
    if (size > limit) {
      throw new ProtocolError(ErrorCodes.PayloadTooLarge, `payload too large: ${what} ${i} is ${size} bytes, the limit is ${limit}`, { limit });
    }
  });
}

/** The get of an ack with next, as the engine takes it. */
function nextRequest(next: GetParams, call: Call): GetRequest {
  return { queue: next.queue, max: next.max ?? 1, timeout: next.timeout, ttr: next.ttr, autoAck: next.autoAck === true, session: call.session.id };
}

/** The get half of an ack with next: answers {acked, tasks} when tasks come, or with none on timeout or cancel. */
function takeNext(next: GetParams, acked: number, call: Call, ctx: HandlerContext): typeof DEFERRED {
  const request = nextRequest(next, call);
  // A cancelled wait still reports the acks, which stand: a result with no tasks, not -32800.
  const noTasks = () => call.resolve({ acked, tasks: [] });
  // A session told to take no task gets no next (spec §7.20).
  const waiter = takesNoTask(call.session) ? waitWithoutTasks(next.timeout, noTasks) : ctx.queues.get(request, (tasks) => call.resolve(tasksResult(tasks, { acked })));
  if (waiter) call.defer(waiter, noTasks, noTasks);
  return DEFERRED;
}

/**
 * Starts a request that may wait (get, join) once its queue is known to exist. When the backend
 * answers that later (a shared store), the request is blocked at once: its id counts as pending
 * (§3.6) and a cancel finds it while the queue is being checked.
 */
function whenQueueReady(queue: string, call: Call, ctx: HandlerContext, start: () => Waiter | undefined, answerEmpty?: () => void): typeof DEFERRED {
  const ready = ctx.queues.ensureQueue(queue);
  if (!(ready instanceof Promise)) {
    const waiter = start();
    if (waiter) call.defer(waiter, undefined, answerEmpty);
    return DEFERRED;
  }
  let cancelled = false;
  let started: Waiter | undefined;
  call.defer(
    {
      cancel: () => {
        cancelled = true;
        started?.cancel();
      },
    },
    undefined,
    answerEmpty,
  );
  ready.then(
    () => {
      if (!cancelled) started = start();
    },
    (error: unknown) => call.reject(error),
  );
  return DEFERRED;
}

/** A task/progress request's report, refused with -32602 when it says nothing or its detail is too large. */
function progressReport(params: RequestMap['task/progress']['params']): ProgressReport {
  if (params.percent === undefined && params.message === undefined) {
    throw invalidParams('a progress report needs "percent" or "message" (or both)', '');
  }
  const report: ProgressReport = {};
  if (params.percent !== undefined) report.percent = params.percent;
  if (params.message !== undefined) report.message = params.message;
  if (params.detail !== undefined) {
    const bytes = Buffer.byteLength(JSON.stringify(params.detail), 'utf8');
    if (bytes > MAX_PROGRESS_DETAIL_BYTES) {
      throw invalidParams(`"detail" is ${bytes} bytes of JSON, at most ${MAX_PROGRESS_DETAIL_BYTES} are allowed`, '/detail');
    }
    report.detail = params.detail;
  }
  return report;
}

/**
 * The method table. Each handler only maps wire params to an engine call and back; the
 * semantics live behind QueueBackend. A one-line example of each wire message sits above it.
 */
export const handlers: HandlerTable = {
  // {"jsonrpc":"2.0","id":3,"method":"session/ping","params":{}}
  'session/ping': () => ({ time: new Date().toISOString() }),

  // {"jsonrpc":"2.0","id":4,"method":"queue/declare","params":{"queue":"tasks","maxsize":100,"ttr":30}}
  'queue/declare': (params, call, ctx) => {
    const { queue, ...options } = params;
    return reply(ctx.queues.declareQueue(queue, options), call, same);
  },

  // {"jsonrpc":"2.0","id":5,"method":"queue/list","params":{}}
  'queue/list': (_params, call, ctx) => reply(ctx.queues.listQueues(), call, (queues) => ({ queues: queues.map((stats) => forVersion(stats, call.session.protocolVersion)) })),

  // {"jsonrpc":"2.0","id":6,"method":"queue/stats","params":{"queue":"tasks"}}
  'queue/stats': (params, call, ctx) => reply(ctx.queues.queueStats(params.queue), call, (stats) => forVersion(stats, call.session.protocolVersion)),

  // {"jsonrpc":"2.0","id":7,"method":"queue/put","params":{"queue":"tasks","tasks":[{"payload":"image_url_0"}]}}
  'queue/put': (params, call, ctx) => {
    checkBatch(params.tasks.length, ctx, 'tasks');
    checkUniqueVersion(params.tasks, call.session.protocolVersion);
    const tasks = rawTaskSpecs(params.tasks, call.session.requestFrame);
    checkPayloads(tasks, (t) => t.payload, call, ctx, 'the payload of task');
    const waiter = ctx.queues.put({ queue: params.queue, tasks, timeout: params.timeout, session: call.session.id }, (outcome, duplicates) => {
      if (Array.isArray(outcome)) call.resolve(putResult(outcome, duplicates));
      else call.reject(outcome);
    });
    if (waiter) call.defer(waiter);
    return DEFERRED;
  },

  // {"jsonrpc":"2.0","id":8,"method":"queue/get","params":{"queue":"tasks","timeout":5}}
  'queue/get': (params, call, ctx) => {
    const max = params.max ?? 1;
    checkBatch(max, ctx, 'tasks asked for');
    const empty = () => call.resolve({ tasks: [] });
    // The queue first (queue_not_found, or created on first use): a get's answer carries tasks only.
    // A session told to take no task is handed none (spec §7.20), checked when the get starts.
    return whenQueueReady(
      params.queue,
      call,
      ctx,
      () =>
        takesNoTask(call.session)
          ? waitWithoutTasks(params.timeout, empty)
          : ctx.queues.get({ queue: params.queue, max, timeout: params.timeout, ttr: params.ttr, autoAck: params.autoAck === true, session: call.session.id }, (tasks) =>
              call.resolve(tasksResult(tasks)),
            ),
      empty,
    );
  },

  // {"jsonrpc":"2.0","id":9,"method":"task/ack","params":{"acks":[{"id":"a1b2c3-0","result":"image_url_0 ---> success"}]}}
  // With next, the ack also takes the next tasks (§5.9.1): one exchange per task for a worker.
  // {"jsonrpc":"2.0","id":9,"method":"task/ack","params":{"acks":[{"id":"a1b2c3-0"}],"next":{"queue":"tasks","timeout":30}}}
  'task/ack': (params, call, ctx) => {
    checkBatch(params.acks.length, ctx, 'acks');
    const acks = rawAcks(params.acks, call.session.requestFrame);
    checkPayloads(acks, (a) => a.result, call, ctx, 'the result of ack');
    const next = params.next;
    const ack = () => {
      // On a shared store the ack's round trip may take the next tasks too (QueueBackend.ackThenTake).
      if (next !== undefined && ctx.queues.ackThenTake && !takesNoTask(call.session)) {
        const acked = acks.length;
        let answered = false;
        const took = ctx.queues.ackThenTake(call.session.id, acks, nextRequest(next, call), (tasks) => {
          answered = true;
          call.session.acked += acked;
          return call.resolve(tasksResult(tasks, { acked }));
        });
        // Answered (or its session gone when it was): done; else the get, as after a plain ack.
        return reply(took, call, () => {
          if (answered) return DEFERRED;
          call.session.acked += acked;
          return takeNext(next, acked, call, ctx);
        });
      }
      return reply(ctx.queues.ack(call.session.id, acks), call, (acked) => {
        call.session.acked += acked;
        return next === undefined ? { acked } : takeNext(next, acked, call, ctx);
      });
    };
    if (next === undefined) return ack();
    // Everything that could refuse the request is checked before the acks change anything.
    checkBatch(next.max ?? 1, ctx, 'tasks asked for');
    return reply(ctx.queues.ensureQueue(next.queue), call, ack);
  },

  // {"jsonrpc":"2.0","id":10,"method":"task/nack","params":{"nacks":[{"id":"a1b2c3-0","error":"timeout","delay":5}]}}
  'task/nack': (params, call, ctx) => {
    checkBatch(params.nacks.length, ctx, 'nacks');
    return reply(ctx.queues.nack(call.session.id, params.nacks), call, (nacked) => {
      call.session.nacked += nacked;
      return { nacked };
    });
  },

  // {"jsonrpc":"2.0","id":11,"method":"task/touch","params":{"ids":["a1b2c3-0"],"ttr":120}}
  'task/touch': (params, call, ctx) => {
    checkBatch(params.ids.length, ctx, 'ids');
    return reply(ctx.queues.touch(call.session.id, params.ids, params.ttr), call, (until) => ({ leaseUntil: new Date(until).toISOString() }));
  },

  // {"jsonrpc":"2.0","id":20,"method":"task/progress","params":{"id":"a1b2c3-0","percent":40,"message":"fetching page 2"}}
  // A report renews the lease as a touch does (spec §5.20): a worker that reports is alive.
  'task/progress': (params, call, ctx) => {
    const report = progressReport(params);
    return reply(ctx.queues.touch(call.session.id, [params.id]), call, (until) => {
      ctx.reportProgress(call.session, params.id, report);
      return { leaseUntil: new Date(until).toISOString() };
    });
  },

  // {"jsonrpc":"2.0","id":12,"method":"queue/join","params":{"queue":"tasks","timeout":60}}
  'queue/join': (params, call, ctx) => {
    return whenQueueReady(params.queue, call, ctx, () => ctx.queues.join(params.queue, params.timeout, call.session.id, (done) => call.resolve({ done })));
  },

  // {"jsonrpc":"2.0","id":13,"method":"queue/peek","params":{"queue":"tasks","max":10}}
  'queue/peek': (params, call, ctx) => {
    const max = params.max ?? 1;
    checkBatch(max, ctx, 'tasks asked for');
    return reply(ctx.queues.peek(params.queue, max), call, tasksResult);
  },

  // {"jsonrpc":"2.0","id":14,"method":"queue/purge","params":{"queue":"tasks"}}
  'queue/purge': (params, call, ctx) => reply(ctx.queues.purge(params.queue, call.session.id), call, (removed) => ({ removed })),

  // {"jsonrpc":"2.0","id":20,"method":"queue/pause","params":{"queue":"tasks"}}
  'queue/pause': (params, call, ctx) => reply(ctx.queues.pauseQueue(params.queue, call.session.id), call, same),

  // {"jsonrpc":"2.0","id":21,"method":"queue/resume","params":{"queue":"tasks"}}
  'queue/resume': (params, call, ctx) => reply(ctx.queues.resumeQueue(params.queue, call.session.id), call, same),

  // {"jsonrpc":"2.0","id":15,"method":"manager/clients","params":{}}
  'manager/clients': (_params, call, ctx) => reply(ctx.clients(call.session), call, same),

  // {"jsonrpc":"2.0","id":16,"method":"events/subscribe","params":{"queues":["results"],"kinds":["ack"]}}
  'events/subscribe': (params, call, ctx) => {
    if (call.session.subscriptions.size >= ctx.limits.maxSubscriptions) {
      throw new ProtocolError(ErrorCodes.LimitExceeded, `limit exceeded: a session may hold at most ${ctx.limits.maxSubscriptions} subscription${ctx.limits.maxSubscriptions === 1 ? '' : 's'}`, {
        limit: 'maxSubscriptions',
        max: ctx.limits.maxSubscriptions,
      });
    }
    return { subscription: ctx.events.subscribe(call.session, params) };
  },

  // {"jsonrpc":"2.0","id":17,"method":"events/unsubscribe","params":{"subscription":"sub-1f2e3d"}}
  'events/unsubscribe': (params, call, ctx) => {
    if (!ctx.events.unsubscribe(call.session, params.subscription)) {
      throw new ProtocolError(ErrorCodes.InvalidParams, `invalid params: "subscription" ${JSON.stringify(params.subscription)} is not a subscription of this session`, {
        field: '/subscription',
      });
    }
    return {};
  },

  // {"jsonrpc":"2.0","id":18,"method":"manager/shutdown","params":{}}
  'manager/shutdown': (_params, call, ctx) => {
    call.resolve({});
    ctx.shutdown(call.session);
    return DEFERRED;
  },

  // {"jsonrpc":"2.0","id":19,"method":"manager/stats","params":{}}
  'manager/stats': (_params, call, ctx) => reply(ctx.stats(), call, same),

  // {"jsonrpc":"2.0","id":20,"method":"client/quiet","params":{"session":"7c41d2a09be3f115"}}
  'client/quiet': (params, call, ctx) => reply(ctx.control(params.session, 'quiet', call.session), call, same),

  // {"jsonrpc":"2.0","id":21,"method":"client/stop","params":{"session":"7c41d2a09be3f115"}}
  'client/stop': (params, call, ctx) => reply(ctx.control(params.session, 'stop', call.session), call, same),

  // {"jsonrpc":"2.0","id":21,"method":"schedule/set","params":{"name":"recrawl","queue":"crawl","task":{"payload":"https://example.com/"},"cron":"0 * * * *","timezone":"Europe/Berlin"}}
  // The queue first (queue_not_found, or created on first use), then the schedule (§5.25).
  'schedule/set': (params, call, ctx) => {
    const definition = scheduleDefinition(params, call.session.requestFrame);
    checkPayloads([definition.task], (t) => t.payload, call, ctx, 'the payload of task');
    refusingInvalid(() => checkSchedule(definition));
    return reply(ctx.queues.ensureQueue(params.queue), call, () => reply(ctx.queues.setSchedule(definition, call.session.id), call, scheduleSetResult));
  },

  // {"jsonrpc":"2.0","id":22,"method":"schedule/list","params":{"queue":"crawl"}}
  'schedule/list': (params, call, ctx) => reply(ctx.queues.listSchedules(params.queue), call, scheduleListResult),

  // {"jsonrpc":"2.0","id":23,"method":"schedule/delete","params":{"name":"recrawl"}}
  'schedule/delete': (params, call, ctx) =>
    reply(ctx.queues.deleteSchedule(params.name, call.session.id), call, (deleted) => {
      if (!deleted) throw new ProtocolError(ErrorCodes.ScheduleNotFound, `schedule not found: no schedule is named ${JSON.stringify(params.name)}`, { schedule: params.name });
      return {};
    }),
};
