import type { Cluster, Redis } from 'ioredis';
import { EngineError } from '../engine/engineError';
import { SCRIPTS, type ScriptName } from './scripts';
import { redactUrl, type StoreAddress } from './storeUrl';

// The two connections of a manager to its store (commands, and the wake-up subscriptions), and
// what their failures look like to a request: store_unavailable, with the URL's password hidden.

export type Connection = Redis | Cluster;

/** How a rediss:// store is trusted: `ca`, the CA (PEM) that signed Redis's certificate; without it, Node's CAs (and NODE_EXTRA_CA_CERTS). */
export interface StoreTls {
  ca?: Buffer | string;
}

/** Node's codes for a certificate it does not trust (tls.checkServerIdentity and OpenSSL's verification). */
const UNTRUSTED_CERTIFICATE =
  /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE|ERR_TLS_CERT_ALTNAME_INVALID)$/;

/**
 * Opens the command and subscriber connections, with every script defined (loaded once, called
 * by SHA). Fails at once, naming the reason (ECONNREFUSED, WRONGPASS...), when the store cannot
 * be reached; once connected, they reconnect by themselves. ioredis is imported here, and only
 * when a manager uses a Redis store.
 */
export async function openConnections(address: StoreAddress, tls: StoreTls = {}): Promise<{ redis: Connection; subscriber: Connection }> {
  const ioredis = await import('ioredis');
  const firstErrors = new Map<Connection, () => Error | undefined>();
  const open = (): Connection => {
    let connected = false;
    let lastError: Error | undefined;
    const common = {
      enableOfflineQueue: false,
      // A command whose connection drops is not sent again: a script may have run, and running it twice would apply it twice.
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      // Until the first connection, give up at once (the manager reports it and stops); then reconnect for ever, backing off.
      retryStrategy: (times: number) => (connected ? Math.min(times * 100, 2000) : null),
      username: address.username,
      password: address.password,
      tls: address.tls ? { ...tls } : undefined,
    };
    const connection: Connection =
      address.kind === 'cluster'
        ? new ioredis.Cluster(address.nodes, {
            enableOfflineQueue: false,
            redisOptions: common,
            clusterRetryStrategy: (times: number) => (connected ? Math.min(times * 100, 2000) : null),
            lazyConnect: true,
          })
        : new ioredis.Redis({ ...common, host: address.nodes[0]!.host, port: address.nodes[0]!.port, db: address.db });
    connection.on('ready', () => (connected = true));
    firstErrors.set(connection, () => lastError);
    // Errors are reported to the requests they fail; the connection reconnects by itself.
    connection.on('error', (error: Error) => (lastError = error));
    for (const [name, lua] of Object.entries(SCRIPTS)) connection.defineCommand(scriptCommand(name as ScriptName), { numberOfKeys: 1, lua });
    return connection;
  };
  const redis = open();
  const subscriber = open();
  try {
    await redis.connect();
    await subscriber.connect();
  } catch (error) {
    redis.disconnect();
    subscriber.disconnect();
    // The connection's own error (ECONNREFUSED, ENOTFOUND, WRONGPASS...) says more than "Connection is closed".
    throw unreachable(address, firstErrors.get(redis)?.() ?? firstErrors.get(subscriber)?.() ?? error);
  }
  return { redis, subscriber };
}

/** A failure of the store's connection as store_unavailable; an EngineError as it is; a script error stays an internal error. */
export function asEngineError(error: unknown, address?: StoreAddress): EngineError {
  if (error instanceof EngineError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.name === 'ReplyError' && !/^(LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|BUSY)/.test(message)) throw error;
  return new EngineError('store_unavailable', `store unavailable: ${address ? `${address.redacted}: ` : ''}${redactUrl(connectionMessage(message))}`);
}

function connectionMessage(message: string): string {
  if (/enableOfflineQueue|Connection is closed|Stream isn't writeable/.test(message)) return 'the connection to Redis is down';
  if (/max retries per request/.test(message)) return 'the connection to Redis was lost during the request (its change may or may not have been made)';
  return message;
}

/** The error a manager starts with when its store cannot be reached: `store unavailable: cannot reach redis://host:port (ECONNREFUSED)`. */
function unreachable(address: StoreAddress, error: unknown): EngineError {
  const code = (error as { code?: string }).code;
  const detail = code ?? (error instanceof Error ? error.message : String(error));
  if (code !== undefined && UNTRUSTED_CERTIFICATE.test(code)) {
    return new EngineError('store_unavailable', `store unavailable: cannot reach ${address.redacted}: its TLS certificate is not trusted (${code}: ${redactUrl((error as Error).message)})`);
  }
  return new EngineError('store_unavailable', `store unavailable: cannot reach ${address.redacted} (${redactUrl(detail)})`);
}

/** `--store-wait`: after each change a client is answered for, WAIT for this many replicas, at most timeoutMs. */
export interface StoreWait {
  replicas: number;
  timeoutMs: number;
}

/** The scripts whose change a client is answered for (the others read, undo a change of this manager's, or do maintenance). */
const ANSWERED_CHANGES: ReadonlySet<ScriptName> = new Set(['declare', 'ensure', 'put', 'putThenGet', 'get', 'ack', 'ackThenGet', 'nack', 'touch', 'release', 'purge']);

/**
 * Runs a script by SHA; with `wait`, and when the script changes what a client is answered
 * for, pipelines WAIT behind it on the same connection (one round trip; Redis answers WAIT once
 * `replicas` replicas have every write of this connection so far, or at `timeoutMs`) and
 * returns how many did.
 */
export async function callScript(connection: Connection, name: ScriptName, keysAndArgs: string[], wait?: StoreWait): Promise<{ reply: unknown; replicas?: number }> {
  if (!wait || !ANSWERED_CHANGES.has(name)) {
    const command = (connection as unknown as Record<string, (...args: string[]) => Promise<unknown>>)[scriptCommand(name)]!;
    return { reply: await command.call(connection, ...keysAndArgs) };
  }
  const pipeline = connection.pipeline();
  (pipeline as unknown as Record<string, (...args: string[]) => unknown>)[scriptCommand(name)]!.call(pipeline, ...keysAndArgs);
  pipeline.wait(wait.replicas, wait.timeoutMs);
  const [[scriptError, reply] = [null, undefined], [waitError, replicas] = [null, 0]] = (await pipeline.exec()) ?? [];
  if (scriptError) throw scriptError;
  if (waitError) throw waitError;
  return { reply, replicas: Number(replicas) };
}

/** A change Redis made but fewer replicas than --store-wait asked confirmed in time: store_unavailable, since a failover may lose it. */
export function notReplicated(address: StoreAddress, wait: StoreWait, replicas: number): EngineError {
  return new EngineError(
    'store_unavailable',
    `store unavailable: ${address.redacted}: only ${replicas} of ${wait.replicas} replica${wait.replicas === 1 ? '' : 's'} confirmed the change within ${wait.timeoutMs} ms (--store-wait); it was made, and a failover may lose it`,
  );
}

/**
 * The name a script is defined under on a connection: prefixed, so that no script shadows a
 * Redis command of the same name on the ioredis client (`get`, `touch`: `redis.get(key)` must
 * stay Redis's GET).
 */
export function scriptCommand(name: ScriptName): string {
  return `taskwire_${name}`;
}
