import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import {
  CancellationTokenSource,
  createMessageConnection,
  ParameterStructures,
  RequestType,
  ResponseError,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { clientProof, newNonce, proofMatches, serverProof } from '../protocol/auth';
import {
  PROTOCOL_VERSIONS,
  type AuthenticateResult,
  type ClientDescription,
  type NotificationMap,
  type RequestMap,
  type RequestMethod,
} from '../protocol/generated';
import { NdjsonMessageReader, NdjsonMessageWriter } from './ndjsonTransport';
import { AbortedError, ConnectError, ConnectionClosedError, remoteError, RequestCancelledError, ServerProofError, TimeoutError } from './errors';

export interface ChannelOptions {
  host: string;
  port: number;
  key: Buffer;
  /** true: TLS with the system's CAs; an object: Node TLS options (ca, servername, ...). */
  tls?: boolean | TlsConnectionOptions;
  client: ClientDescription;
  /** Milliseconds for TCP connect plus handshake. */
  connectTimeout: number;
}

/** The typed handle of each request, made from the generated method table: a method name is written once. */
const requestTypes = new Map<string, RequestType<unknown, unknown, unknown>>();
function requestType<M extends RequestMethod>(method: M): RequestType<RequestMap[M]['params'], RequestMap[M]['result'], void> {
  let type = requestTypes.get(method);
  if (!type) requestTypes.set(method, (type = new RequestType(method, ParameterStructures.byName)));
  return type as RequestType<RequestMap[M]['params'], RequestMap[M]['result'], void>;
}

/** One authenticated connection to a manager. It does not reconnect; TaskwireClient does. */
export class Channel {
  private closedError: Error | undefined;
  private readonly closeListeners: ((error: Error) => void)[] = [];

  private constructor(
    private readonly socket: Socket,
    private readonly connection: MessageConnection,
    readonly session: AuthenticateResult,
    readonly protocolVersion: string,
  ) {
    socket.on('close', () => this.markClosed(new ConnectionClosedError('the connection to the manager closed')));
  }

  /** Connects, runs the mutual handshake and returns a ready channel. */
  static async open(options: ChannelOptions): Promise<Channel> {
    const where = `${options.host}:${options.port}`;
    const socket = await openSocket(options, where);
    const connection = createMessageConnection(new NdjsonMessageReader(socket), new NdjsonMessageWriter(socket));
    connection.onError(() => {
      // Surfaced through the socket's close and rejected requests.
    });
    // vscode-jsonrpc leaves requests in flight pending forever when the stream closes; only
    // dispose() rejects them. Without this, a dropped connection hangs a blocked get (and a
    // handshake the peer hangs up on) instead of failing with ConnectionClosedError.
    socket.once('close', () => connection.dispose());
    connection.listen();
    const timer = setTimeout(() => socket.destroy(new TimeoutError(`the manager at ${where} did not complete the handshake in ${options.connectTimeout} ms`)), options.connectTimeout);
    try {
      const nonce = newNonce();
      const hello = await sendOrClosed(connection, socket, 'session/hello', {
        protocolVersions: [...PROTOCOL_VERSIONS],
        nonce,
        client: options.client,
      });
      const proof = clientProof(options.key, hello.nonce, nonce, hello.protocolVersion);
      const auth = await sendOrClosed(connection, socket, 'session/authenticate', { proof });
      const expected = serverProof(options.key, hello.nonce, nonce, hello.protocolVersion);
      if (!proofMatches(expected, auth.serverProof)) {
        throw new ServerProofError(`the manager at ${where} failed to prove it knows the authkey: it is not the manager you meant to reach`);
      }
      clearTimeout(timer);
      return new Channel(socket, connection, auth, hello.protocolVersion);
    } catch (error) {
      clearTimeout(timer);
      connection.dispose();
      socket.destroy();
      throw error;
    }
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Sends a request; `signal` cancels it ($/cancelRequest) while the manager waits. */
  async request<M extends RequestMethod>(method: M, params: RequestMap[M]['params'], signal?: AbortSignal): Promise<RequestMap[M]['result']> {
    if (this.closedError) throw this.closedError;
    if (signal?.aborted) throw new AbortedError(`${method} aborted`);
    let source: CancellationTokenSource | undefined;
    let onAbort: (() => void) | undefined;
    if (signal) {
      source = new CancellationTokenSource();
      onAbort = () => source!.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    }
    try {
      return await this.connection.sendRequest(requestType(method), params as never, source?.token);
    } catch (error) {
      const mapped = this.mapError(error);
      if (mapped instanceof RequestCancelledError && signal?.aborted) throw new AbortedError(`${method} aborted`);
      throw mapped;
    } finally {
      if (signal && onAbort) signal.removeEventListener('abort', onAbort);
      source?.dispose();
    }
  }

  onNotification<N extends keyof NotificationMap>(method: N, handler: (params: NotificationMap[N]) => void): void {
    this.connection.onNotification(method, handler as (params: unknown) => void);
  }

  /** Called once, when the connection closes for any reason. */
  onClose(listener: (error: Error) => void): void {
    if (this.closedError) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  close(): void {
    this.markClosed(new ConnectionClosedError('the client was closed'));
    this.connection.dispose();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private markClosed(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }

  private mapError(error: unknown): Error {
    if (isRemote(error)) return remoteError(error.code, error.message, error.data);
    if (this.closedError) return this.closedError;
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * vscode-jsonrpc reports its own local failures (write error, connection disposed) as
 * ResponseErrors with codes -32099..-32096; every other code came from the manager.
 */
function isRemote(error: unknown): error is ResponseError<never> {
  return error instanceof ResponseError && !(error.code >= -32099 && error.code <= -32090);
}

function openSocket(options: ChannelOptions, where: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const tlsOptions = options.tls === true ? {} : options.tls || undefined;
    const socket = tlsOptions
      ? tlsConnect({ host: options.host, port: options.port, ...(isIP(options.host) ? {} : { servername: options.host }), ...tlsOptions })
      : netConnect({ host: options.host, port: options.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectError(`cannot connect to the manager at ${where}: no answer in ${options.connectTimeout} ms`));
    }, options.connectTimeout);
    const onError = (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = error.code === 'ECONNREFUSED' ? 'connection refused (is `taskwire serve` running there?)' : error.message;
      reject(new ConnectError(`cannot connect to the manager at ${where}: ${why}`, error));
    };
    socket.once('error', onError);
    socket.once(tlsOptions ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** A handshake request that fails with the socket's own reason when the manager hangs up. */
async function sendOrClosed<M extends RequestMethod>(
  connection: MessageConnection,
  socket: Socket,
  method: M,
  params: RequestMap[M]['params'],
): Promise<RequestMap[M]['result']> {
  let closeError: Error | undefined;
  const onError = (error: Error) => (closeError = error);
  socket.once('error', onError);
  try {
    return await connection.sendRequest(requestType(method), params as never);
  } catch (error) {
    if (isRemote(error)) throw remoteError(error.code, error.message, error.data);
    if (closeError instanceof TimeoutError) throw closeError;
    throw new ConnectionClosedError(`the manager closed the connection during the handshake${closeError ? `: ${closeError.message}` : ''}`);
  } finally {
    socket.off('error', onError);
  }
}
