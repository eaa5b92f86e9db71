// The requests a BaseManager client sends, each mapped to a QueueBackend call: the manager's
// own (a connection carries one, except accept_connection, after which it carries proxy calls)
// and the queue proxy's methods. Replies are ('#RETURN', value), ('#ERROR', exception) for
// queue.Empty / queue.Full / ValueError, which the client raises as they are, and
// ('#TRACEBACK', text) for everything refused, which the client raises as a RemoteError.
import { EngineError } from '../engine/engineError';
import type { Waiter } from '../engine';
import type { MaybePromise } from '../engine/queueBackend';
import type { ListenerHost } from '../server/listenerHost';
import { fromJsonText, JsonMappingError, toJsonText } from './jsonMapping';
import { PyException, PyToken, PyTuple, pyTypeName, QUEUE_EMPTY, QUEUE_FULL, type PyDict, type PyValue } from './pyValue';
import type { TypeIdMap } from './typeIds';

/** The methods a queue proxy exposes (queue.Queue's public ones, as CPython's create reports them). */
export const QUEUE_METHODS = ['empty', 'full', 'get', 'get_nowait', 'join', 'put', 'put_nowait', 'qsize', 'task_done'] as const;

/** What the requests need of a connection. */
export interface RequestConnection {
  /** The session id its leases and waiters belong to. */
  readonly id: string;
  readonly address: string;
  /** 'manager' until accept_connection makes it a proxy connection. */
  mode: 'manager' | 'proxy';
  /** The name accept_connection gave ('MainProcess', 'MainProcess|Thread-1'). */
  processName: string | undefined;
  /** The task each queue proxy (by ident) holds: acked by that proxy's next call or task_done(). */
  readonly held: Map<string, string>;
  acked: number;
  /** The request waiting in the backend (a blocking get, put or join), withdrawn if the connection closes. */
  waiting: Waiter | undefined;
  readonly closed: boolean;
}

export type Reply = PyTuple;

/** `f` of the value now, or when the promise resolves: replies are made at once when the backend answers at once. */
function then<T, R>(value: MaybePromise<T>, f: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(f) : f(value);
}

/**
 * A reply that a backend callback gives: returned as it is when the callback ran before
 * `register` returned (a task was ready), else as a promise of it.
 */
function replyFrom(register: (answer: (reply: Reply) => void) => void): MaybePromise<Reply> {
  let now: Reply | undefined;
  let later: ((reply: Reply) => void) | undefined;
  register((reply) => {
    if (later) later(reply);
    else now = reply;
  });
  if (now !== undefined) return now;
  return new Promise<Reply>((resolve) => (later = resolve));
}

/** The reply for an expected refusal; anything else is rethrown (an internal error). */
function refusalOf(error: unknown): Reply {
  if (error instanceof Refusal || error instanceof JsonMappingError || error instanceof EngineError) return refused(error.message);
  throw error;
}

export interface RequestOptions {
  /** Whether the manager's `shutdown` request may stop the manager (--mp-allow-shutdown). */
  allowShutdown: boolean;
}

const returned = (value: PyValue): Reply => new PyTuple(['#RETURN', value]);
const raised = (exception: PyException): Reply => new PyTuple(['#ERROR', exception]);
/** ('#RETURN', None), the answer to every put and task_done: one shared tuple, so that its bytes are written once (mpConnection). */
export const RETURNED_NONE: Reply = returned(null);
/** A refusal: the client raises RemoteError with this text. */
export const refused = (text: string): Reply => new PyTuple(['#TRACEBACK', `Taskwire: ${text}\n`]);

// The parameters of the queue methods, as Queue.put and Queue.get name them.
const PUT_PARAMS = ['item', 'block', 'timeout'];
const PUT_NOWAIT_PARAMS = ['item'];
const GET_PARAMS = ['block', 'timeout'];
const NO_PARAMS: string[] = [];

/** A request the listener refuses, with the text the client sees. */
class Refusal extends Error {}

interface QueueObject {
  typeid: string;
  queue: string;
}

export class MpRequests {
  /** The objects `create` made, by ident: one per type id, shared by every connection (as CPython's are). */
  private readonly objects = new Map<string, QueueObject>();

  constructor(
    private readonly host: ListenerHost,
    private readonly typeIds: TypeIdMap,
    private readonly options: RequestOptions,
  ) {}

  /** Answers one request (a 4-tuple already read by the restricted reader). */
  handle(connection: RequestConnection, request: PyValue): MaybePromise<Reply> {
    if (!(request instanceof PyTuple) || request.items.length !== 4) return refused(`not a manager request: expected (ident, method, args, kwds), got a ${pyTypeName(request)}`);
    const [ident, method, args, kwds] = request.items as [PyValue, PyValue, PyValue, PyValue];
    if (typeof method !== 'string' || !(args instanceof PyTuple) || !(kwds instanceof Map)) return refused('not a manager request: expected (ident, method: str, args: tuple, kwds: dict)');
    try {
      let reply: MaybePromise<Reply>;
      if (connection.mode === 'proxy') {
        if (typeof ident !== 'string') throw new Refusal(`a proxy call needs an object id; this connection serves proxies since accept_connection (got ${pyTypeName(ident)})`);
        reply = this.proxyCall(connection, ident, method, args.items, kwds);
      } else {
        if (ident !== null) throw new Refusal(`a proxy call (${method}) before accept_connection`);
        reply = this.managerCall(connection, method, args.items, kwds);
      }
      return reply instanceof Promise ? reply.catch(refusalOf) : reply;
    } catch (error) {
      return refusalOf(error);
    }
  }

  // ---- the manager's requests (Server.public in managers.py) --------------------------------

  private managerCall(connection: RequestConnection, method: string, args: PyValue[], kwds: PyDict): MaybePromise<Reply> {
    switch (method) {
      // (None, 'dummy', (), {}): what connect() sends to check the address and key.
      case 'dummy':
        return RETURNED_NONE;
      // (None, 'create', ('get_task_queue',), {}) → (ident, exposed)
      case 'create': {
        const typeid = args[0];
        if (typeof typeid !== 'string') throw new Refusal(`create needs a type id (a str), got ${pyTypeName(typeid ?? null)}`);
        if (args.length > 1 || kwds.size > 0) throw new Refusal(`${typeid.slice(0, 80)}() takes no arguments here: a type id stands for a Taskwire queue`);
        const queue = this.typeIds.queueFor(typeid);
        return then(this.host.queues.ensureQueue(queue), () => {
          const ident = `${typeid}:${queue}`;
          this.objects.set(ident, { typeid, queue });
          return returned(new PyTuple([ident, new PyTuple([...QUEUE_METHODS])]));
        });
      }
      // (None, 'incref', (ident,), {}) and decref: Taskwire's queues live as long as the manager.
      case 'incref':
      case 'decref':
        return RETURNED_NONE;
      // (None, 'accept_connection', ('MainProcess',), {}): from now on this connection carries proxy calls.
      case 'accept_connection': {
        const [name] = bind(method, args, kwds, ['name']);
        connection.processName = typeof name === 'string' ? name.slice(0, 200) : undefined;
        connection.mode = 'proxy';
        return RETURNED_NONE;
      }
      // (None, 'get_methods', (Token(...),), {}) → exposed
      case 'get_methods': {
        const [token] = bind(method, args, kwds, ['token']);
        if (!(token instanceof PyToken) || typeof token.id !== 'string') throw new Refusal('get_methods needs a Token');
        this.object(token.id);
        return returned(new PyTuple([...QUEUE_METHODS]));
      }
      case 'debug_info': {
        const lines = [...this.objects].map(([ident, object]) => `  ${ident}: queue ${JSON.stringify(object.queue)} (type id ${object.typeid})`);
        return returned(`Taskwire multiprocessing listener; ${this.objects.size} queue object(s)\n${lines.join('\n')}`);
      }
      case 'number_of_objects':
        return returned(BigInt(this.objects.size));
      case 'shutdown':
        if (!this.options.allowShutdown) throw new Refusal('shutdown is refused: the manager was started without --mp-allow-shutdown (stop it with Ctrl+C or SIGTERM)');
        this.host.log.info('shutdown requested over the multiprocessing listener', { address: connection.address });
        setImmediate(() => this.host.shutdown());
        return RETURNED_NONE;
      default:
        throw new Refusal(
          `unknown manager request ${JSON.stringify(method.slice(0, 80))}: supported are dummy, create, incref, decref, accept_connection, get_methods, debug_info, number_of_objects, shutdown`,
        );
    }
  }

  // ---- queue proxy methods ------------------------------------------------------------------

  private proxyCall(connection: RequestConnection, ident: string, method: string, args: PyValue[], kwds: PyDict): MaybePromise<Reply> {
    const object = this.object(ident);
    // This proxy's next call means it is done with the task it took (the lease fix).
    return then(this.settle(connection, ident), () => this.queueMethod(connection, ident, object, method, args, kwds));
  }

  private queueMethod(connection: RequestConnection, ident: string, { queue, typeid }: QueueObject, method: string, args: PyValue[], kwds: PyDict): MaybePromise<Reply> {
    switch (method) {
      // (ident, 'put', (item,), {}) / put(item, block=True, timeout=None)
      case 'put':
      case 'put_nowait': {
        const [item, block, timeout] = bind(method, args, kwds, method === 'put' ? PUT_PARAMS : PUT_NOWAIT_PARAMS);
        if (item === undefined) throw new Refusal(`${method}() missing required argument: 'item'`);
        const payload = toJsonText(item, { maxBytes: this.host.limits.maxPayloadBytes, maxDepth: this.host.limits.maxNestingDepth });
        const seconds = waitFor(method === 'put' ? block : false, timeout);
        if (typeof seconds !== 'number' && seconds !== undefined) return seconds;
        return replyFrom((resolve) => {
          const waiter = this.host.queues.put({ queue, tasks: [{ payload }], timeout: seconds, session: connection.id }, (outcome) => {
            connection.waiting = undefined;
            if (outcome instanceof EngineError) resolve(outcome.reason === 'queue_full' ? raised(QUEUE_FULL) : refused(outcome.message));
            else this.host.queues.whenDurable(() => resolve(RETURNED_NONE));
          });
          connection.waiting = waiter;
        });
      }
      // (ident, 'get', (True,), {'timeout': 5}) / get(block=True, timeout=None): the task is leased to this connection.
      case 'get':
      case 'get_nowait': {
        const [block, timeout] = bind(method, args, kwds, method === 'get' ? GET_PARAMS : NO_PARAMS);
        const seconds = waitFor(method === 'get' ? block : false, timeout);
        if (typeof seconds !== 'number' && seconds !== undefined) return seconds;
        return replyFrom((resolve) => {
          const waiter = this.host.queues.get({ queue, max: 1, timeout: seconds, autoAck: false, session: connection.id }, (tasks) => {
            connection.waiting = undefined;
            if (connection.closed) return false;
            const task = tasks[0];
            if (!task) {
              resolve(raised(QUEUE_EMPTY));
              return true;
            }
            connection.held.set(ident, task.id);
            const value = fromJsonText(task.payload);
            this.host.queues.whenDurable(() => resolve(returned(value)));
            return true;
          });
          connection.waiting = waiter;
        });
      }
      // (ident, 'task_done', (), {}): the task this proxy took is done (settled above).
      case 'task_done':
        bind(method, args, kwds, NO_PARAMS);
        return RETURNED_NONE;
      case 'qsize': {
        bind(method, args, kwds, NO_PARAMS);
        return then(this.host.queues.queueStats(queue), (stats) => returned(BigInt(stats.ready)));
      }
      case 'empty': {
        bind(method, args, kwds, NO_PARAMS);
        return then(this.host.queues.queueStats(queue), (stats) => returned(stats.ready === 0));
      }
      case 'full': {
        bind(method, args, kwds, NO_PARAMS);
        return then(this.host.queues.queueStats(queue), (stats) => returned(stats.maxsize > 0 && stats.ready + stats.delayed + stats.leased >= stats.maxsize));
      }
      // (ident, 'join', (), {}): until nothing is ready, delayed or leased.
      case 'join':
        bind(method, args, kwds, NO_PARAMS);
        return replyFrom((resolve) => {
          connection.waiting = this.host.queues.join(queue, undefined, connection.id, () => {
            connection.waiting = undefined;
            resolve(RETURNED_NONE);
          });
        });
      // print(proxy) sends __str__; repr() is local to the client.
      case '__str__':
      case '__repr__':
        return returned(`<Taskwire queue ${JSON.stringify(queue)} (type id ${typeid})>`);
      default:
        throw new Refusal(`${JSON.stringify(method.slice(0, 80))} is not a method of a Taskwire queue proxy: supported are ${QUEUE_METHODS.join(', ')}`);
    }
  }

  /** Acks the task the proxy `ident` of this connection holds, if any. */
  private settle(connection: RequestConnection, ident: string): MaybePromise<void> {
    const id = connection.held.get(ident);
    if (id === undefined) return;
    connection.held.delete(ident);
    // Its lease may have ended first (past its ttr): the task went back to the queue, and someone else has it or will.
    const lost = (error: unknown) => {
      if (!(error instanceof EngineError)) throw error;
      this.host.log.debug('a multiprocessing client finished a task whose lease had ended', { address: connection.address, id, reason: error.message });
    };
    try {
      const acked = this.host.queues.ack(connection.id, [{ id }]);
      if (acked instanceof Promise) return acked.then((count) => void (connection.acked += count), lost);
      connection.acked += acked;
    } catch (error) {
      lost(error);
    }
  }

  private object(ident: string): QueueObject {
    const object = this.objects.get(ident);
    if (!object) throw new Refusal(`KeyError: no object ${JSON.stringify(ident.slice(0, 80))}: create it with the manager's get_…() method first`);
    return object;
  }
}

/**
 * Positional and keyword arguments bound to parameter names, as Python would (TypeError
 * text for a wrong call); missing ones are undefined.
 */
function bind(method: string, args: PyValue[], kwds: PyDict, names: string[]): (PyValue | undefined)[] {
  if (args.length > names.length) throw new Refusal(`TypeError: ${method}() takes ${names.length} positional argument(s) but ${args.length} were given`);
  const bound: (PyValue | undefined)[] = names.map((_, i) => args[i]);
  for (const [key, value] of kwds) {
    const at = names.indexOf(key);
    if (at < 0) throw new Refusal(`TypeError: ${method}() got an unexpected keyword argument ${JSON.stringify(key.slice(0, 80))}`);
    if (at < args.length) throw new Refusal(`TypeError: ${method}() got multiple values for argument ${JSON.stringify(key)}`);
    bound[at] = value;
  }
  return bound;
}

/** Seconds to wait as Queue.get/put take them (block, timeout): undefined for ever, 0 not at all; or the ValueError reply. */
function waitFor(block: PyValue | undefined, timeout: PyValue | undefined): number | undefined | Reply {
  const blocking = block === undefined ? true : truthy(block);
  if (!blocking) return 0;
  if (timeout === undefined || timeout === null) return undefined;
  if (typeof timeout !== 'number' && typeof timeout !== 'bigint') throw new Refusal(`TypeError: timeout must be a number, not ${pyTypeName(timeout)}`);
  const seconds = Number(timeout);
  if (seconds < 0) return raised(new PyException('builtins', 'ValueError', ["'timeout' must be a non-negative number"]));
  return seconds;
}

function truthy(value: PyValue): boolean {
  if (value === null || value === false || value === 0 || value === 0n || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}
