// The conformance driver of the TypeScript client library (`taskwire conformance client`).
//
// The kit plays a Taskwire server, correct or deliberately wrong, and runs this program
// against it:
//   taskwire conformance client --cmd "node node_modules/taskwire/dist/src/conformance/typescriptDriver.js"
// The contract (spec/conformance/README.md, "The driver contract"): the kit sets TASKWIRE_HOST,
// TASKWIRE_PORT, TASKWIRE_AUTHKEY_FILE and TASKWIRE_CONFORMANCE_OP (plus the case's
// TASKWIRE_CONFORMANCE_* variables); the driver performs that one operation with the library
// and prints one JSON line with its outcome, then exits 0.
//
// A library built on top of this one checks itself with the same driver by calling
// runDriver() with its own connect function.
import { connect, type ConnectOptions, type TaskwireClient } from '../client/client';
import {
  AbortedError,
  AuthenticationFailedError,
  ConnectError,
  ConnectionClosedError,
  QueueEmptyError,
  QueueFullError,
  RemoteError,
  RequestCancelledError,
  ServerProofError,
  StoreUnavailableError,
  TimeoutError,
  UnsupportedProtocolVersionError,
} from '../client/errors';
import type { DriverOutcome } from './clientRunner';

export const DRIVER_OPERATIONS = ['ping', 'put', 'get', 'cancel-get', 'reconnect', 'work'] as const;

/** Opens a client the way the library under test does. */
export type ConnectFunction = (options: ConnectOptions) => Promise<TaskwireClient>;

type Environment = Readonly<Record<string, string | undefined>>;

function setting(env: Environment, name: string, fallback: string): string {
  return env[`TASKWIRE_CONFORMANCE_${name}`] ?? fallback;
}

function seconds(env: Environment, name: string, fallback: number): number {
  const value = Number(setting(env, name, String(fallback)));
  if (!Number.isFinite(value) || value < 0) throw new Error(`TASKWIRE_CONFORMANCE_${name} is not a number of seconds`);
  return value;
}

/** The error classes of the driver contract, from the library's typed errors. */
export function errorClass(error: unknown): string {
  if (error instanceof ServerProofError) return 'server-proof';
  if (error instanceof AuthenticationFailedError) return 'authentication';
  if (error instanceof UnsupportedProtocolVersionError) return 'unsupported-version';
  // The library reports a cancellation the caller asked for as AbortedError; a -32800 it did
  // not ask for as RequestCancelledError. Both are the contract's `cancelled`.
  if (error instanceof AbortedError || error instanceof RequestCancelledError) return 'cancelled';
  if (error instanceof QueueEmptyError) return 'empty';
  if (error instanceof QueueFullError) return 'full';
  if (error instanceof StoreUnavailableError) return 'store-unavailable';
  if (error instanceof RemoteError) return 'remote';
  if (error instanceof TimeoutError) return 'timeout';
  if (error instanceof ConnectError || error instanceof ConnectionClosedError) return 'connection';
  return 'other';
}

async function operate(op: string, client: TaskwireClient, env: Environment): Promise<unknown> {
  const queue = client.queue(setting(env, 'QUEUE', 'conformance'));
  switch (op) {
    case 'ping':
      return client.ping();
    case 'put':
      return queue.put(JSON.parse(setting(env, 'PAYLOAD', '"conformance"')) as unknown);
    case 'get': {
      const task = await queue.get({ timeout: seconds(env, 'TIMEOUT', 1) });
      return { id: task.id, payload: task.payload, attempt: task.attempt };
    }
    case 'cancel-get': {
      // Cancelled through the library's own means, as a caller giving up would.
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), seconds(env, 'CANCEL_AFTER', 0.3) * 1000);
      try {
        await queue.get({ signal: controller.signal });
        return 'not cancelled';
      } finally {
        clearTimeout(timer);
      }
    }
    case 'reconnect': {
      const first = await client.ping();
      // The kit drops the connection after the first ping. A ping already on the dropped
      // connection fails with ConnectionClosedError; the library's reconnection makes the
      // retry go through a new connection.
      let second: string;
      try {
        second = await client.ping();
      } catch (error) {
        if (!(error instanceof ConnectionClosedError)) throw error;
        second = await client.ping();
      }
      return [first, second];
    }
    case 'work':
      // The library's worker loop, as a worker runs it: each task's payload is its ack's
      // result, and the loop ends once TIMEOUT passes with no task. Reports the count.
      return queue.work((task) => task.payload, { idleTimeout: seconds(env, 'TIMEOUT', 1) });
    default:
      throw new Error(`unknown operation ${op}`);
  }
}

/** Performs the operation TASKWIRE_CONFORMANCE_OP names and returns the outcome to print. */
export async function runDriver(env: Environment = process.env, connectWith: ConnectFunction = connect): Promise<DriverOutcome> {
  const op = env['TASKWIRE_CONFORMANCE_OP'] ?? '';
  if (!(DRIVER_OPERATIONS as readonly string[]).includes(op)) return { outcome: 'unsupported', reason: `unknown operation ${JSON.stringify(op)}` };
  let client: TaskwireClient | undefined;
  try {
    const reconnect = op === 'reconnect' || setting(env, 'RECONNECT', '0') === '1';
    const options: ConnectOptions = {
      host: env['TASKWIRE_HOST'] ?? '127.0.0.1',
      port: Number(env['TASKWIRE_PORT'] ?? 7400),
      name: 'conformance-driver',
      // Reconnection is on by default in the library; the kit's scripts expect one connection
      // unless the case is about reconnecting.
      reconnect: reconnect ? { initialDelay: 50, maxDelay: 500, maxAttempts: 20 } : false,
      connectTimeout: seconds(env, 'CONNECT_TIMEOUT', 10) * 1000,
      ...(env['TASKWIRE_AUTHKEY_FILE'] !== undefined ? { authkeyFile: env['TASKWIRE_AUTHKEY_FILE'] } : {}),
    };
    client = await connectWith(options);
    return { outcome: 'ok', value: await operate(op, client, env) };
  } catch (error) {
    const outcome: DriverOutcome = { outcome: 'error', error: errorClass(error), message: error instanceof Error ? error.message : String(error) };
    if (error instanceof RemoteError) outcome.code = error.code;
    return outcome;
  } finally {
    client?.close();
  }
}

if (require.main === module) {
  void runDriver().then((outcome) => {
    // Exits once the line is written: a socket still closing must not hold the kit up.
    process.stdout.write(JSON.stringify(outcome) + '\n', () => process.exit(0));
  });
}
