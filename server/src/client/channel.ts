import {
  SessionHelloRequest,
  SessionAuthenticateRequest,
  CancelRequestNotification,
  SessionCloseNotification,
  type RequestHandle,
  type NotificationHandle,
  type NotificationMethod,
} from '../protocol/generated';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { clientProof, newNonce, proofMatches, serverProof } from '../protocol/auth';
import { ErrorCodes, PROTOCOL_VERSIONS, type AuthenticateResult, type ClientDescription, type NotificationMap, type RequestMap, type RequestMethod } from '../protocol/generated';
import { RELEASES_SINCE, speaks } from '../protocol/versions';
import { RpcConnection, RpcRequestError } from './rpcConnection';
import { AbortedError, ConnectError, ConnectionClosedError, HandshakeClosedError, RequestCancelledError, ServerProofError, TimeoutError, UnsupportedProtocolVersionError, remoteError } from './errors';

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

/** One authenticated connection to a manager. It does not reconnect; TaskwireClient does. */
export class Channel {
  private closedError: Error | undefined;
  private readonly closeListeners: ((error: Error) => void)[] = [];

  private constructor(
    private readonly connection: RpcConnection,
    readonly session: AuthenticateResult,
    readonly protocolVersion: string,
    /** The manager's id (its session/hello result, since protocol 2026-12); undefined before. */
    readonly managerId: string | undefined,
  ) {
    connection.onClose(() => this.markClosed(new ConnectionClosedError('the connection to the manager closed')));
  }

  /** Connects, runs the mutual handshake and returns a ready channel. */
  static async open(options: ChannelOptions): Promise<Channel> {
    const where = `${options.host}:${options.port}`;
    const { socket, reader } = await openSocket(options, where);
    const connection = RpcConnection.overSocket(socket);
    // A TLS manager closes a plain client's connection without a word: say what that may mean.
    let answered = false;
    if (reader) {
      reader.deliverTo((chunk) => {
        answered = true;
        connection.receive(chunk);
      });
    }
    const timer = setTimeout(() => socket.destroy(new TimeoutError(`the manager at ${where} did not complete the handshake in ${options.connectTimeout} ms`)), options.connectTimeout);
    try {
      const nonce = newNonce();
      const hello = await handshakeRequest(connection, SessionHelloRequest, {
        protocolVersions: [...PROTOCOL_VERSIONS],
        nonce,
        client: options.client,
      });
      if (!(PROTOCOL_VERSIONS as readonly string[]).includes(hello.protocolVersion)) {
        // §10.3: both ends follow the chosen version, so one the client does not speak ends
        // the handshake; it is as fatal as a -32003 (reconnecting cannot fix it).
        throw new UnsupportedProtocolVersionError(
          ErrorCodes.UnsupportedProtocolVersion,
          `the manager at ${where} chose protocol version ${JSON.stringify(hello.protocolVersion)}, which this client did not offer (it speaks ${PROTOCOL_VERSIONS.join(', ')})`,
        );
      }
      const proof = clientProof(options.key, hello.nonce, nonce, hello.protocolVersion);
      const auth = await handshakeRequest(connection, SessionAuthenticateRequest, { proof });
      const expected = serverProof(options.key, hello.nonce, nonce, hello.protocolVersion);
      if (!proofMatches(expected, auth.serverProof)) {
        throw new ServerProofError(`the manager at ${where} failed to prove it knows the authkey: it is not the manager you meant to reach`);
      }
      clearTimeout(timer);
      return new Channel(connection, auth, hello.protocolVersion, hello.managerId);
    } catch (error) {
      clearTimeout(timer);
      socket.destroy();
      if (!options.tls && !answered && error instanceof ConnectionClosedError) {
        throw new HandshakeClosedError(`${error.message} without answering`, 'if it serves TLS there, connect with TLS: tls: { ca } or tls: true; --tls-ca or --tls');
      }
      throw error;
    }
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Sends a request; `signal` cancels it ($/cancelRequest) while the manager waits. */
  request<M extends RequestMethod>(handle: RequestHandle<M>, params: RequestMap[M]['params'], signal?: AbortSignal): Promise<RequestMap[M]['result']> {
    if (this.closedError) return Promise.reject(this.closedError);
    // Without a signal (most calls): one promise, errors mapped on the way out.
    if (signal === undefined)
      return this.connection.request(handle.method, params).result.then(undefined, (error: unknown) => Promise.reject(this.mapError(error))) as Promise<RequestMap[M]['result']>;
    return this.requestWithSignal(handle, params, signal);
  }

  private async requestWithSignal<M extends RequestMethod>(handle: RequestHandle<M>, params: RequestMap[M]['params'], signal: AbortSignal): Promise<RequestMap[M]['result']> {
    const method = handle.method;
    if (signal.aborted) throw new AbortedError(`${method} aborted`);
    const { id, result } = this.connection.request(method, params);
    const onAbort = () => this.connection.notify(CancelRequestNotification.method, { id });
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return (await result) as RequestMap[M]['result'];
    } catch (error) {
      const mapped = this.mapError(error);
      if (mapped instanceof RequestCancelledError && signal.aborted) throw new AbortedError(`${method} aborted`);
      throw mapped;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  onNotification<N extends NotificationMethod>(handle: NotificationHandle<N>, handler: (params: NotificationMap[N]) => void): void {
    this.connection.onNotification(handle.method, handler as (params: unknown) => void);
  }

  /** Called once, when the connection closes for any reason. */
  onClose(listener: (error: Error) => void): void {
    if (this.closedError) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  /**
   * Ends the session on purpose. Since 2026-12 the manager is told first (session/close), so the
   * tasks this session holds are released as `client stopped` rather than `client disconnected`.
   */
  close(): void {
    if (speaks(this.protocolVersion, RELEASES_SINCE)) this.connection.notify(SessionCloseNotification.method, {});
    const error = new ConnectionClosedError('the client was closed');
    this.markClosed(error);
    this.connection.close(error);
  }

  private markClosed(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }

  private mapError(error: unknown): Error {
    if (error instanceof RpcRequestError) {
      const { failure } = error;
      if (failure.kind === 'remote') return remoteError(failure.error.code, failure.error.message, failure.error.data);
      return this.closedError ?? new ConnectionClosedError(`the connection to the manager closed: ${failure.error.message}`);
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Bytes a plain connection reads at a time: what a net.Socket reads by default. */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * The reads of a plain TCP connection, into one buffer reused for every read (net's `onread`
 * option): no Buffer allocated per read and no stream machinery ('data' events) between the
 * socket and the frame decoder, which copies what it keeps. A read costs the client less, and
 * an awaited call waits for the client's reads on its round trip. Reads that come before the
 * connection's decoder is there are copied and handed over when it is.
 */
class ReusedReadBuffer {
  private readonly buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  private target: ((chunk: Buffer) => void) | undefined;
  private readonly early: Buffer[] = [];
  readonly onread = {
    buffer: this.buffer,
    callback: (length: number): boolean => {
      const chunk = this.buffer.subarray(0, length);
      if (this.target) this.target(chunk);
      else this.early.push(Buffer.from(chunk));
      return true; // (false would pause the socket)
    },
  };

  deliverTo(target: (chunk: Buffer) => void): void {
    this.target = target;
    for (const chunk of this.early.splice(0)) target(chunk);
  }
}

/** A connected socket; `reader` when its reads go through a ReusedReadBuffer (plain TCP), not 'data' events. */
function openSocket(options: ChannelOptions, where: string): Promise<{ socket: Socket; reader: ReusedReadBuffer | undefined }> {
  return new Promise((resolve, reject) => {
    const tlsOptions = options.tls === true ? {} : options.tls || undefined;
    const reader = tlsOptions ? undefined : new ReusedReadBuffer();
    const socket = tlsOptions
      ? tlsConnect({ host: options.host, port: options.port, ...(isIP(options.host) ? {} : { servername: options.host }), ...tlsOptions })
      : netConnect({ host: options.host, port: options.port, onread: reader!.onread });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectError(`cannot connect to the manager at ${where}: no answer in ${options.connectTimeout} ms`));
    }, options.connectTimeout);
    const onError = (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ConnectError(`cannot connect to the manager at ${where}: ${connectFailure(error, options.host)}`, error));
    };
    socket.once('error', onError);
    socket.once(tlsOptions ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve({ socket, reader });
    });
  });
}

/** OpenSSL's certificate verification failures, by the code Node gives them (CERT_HAS_EXPIRED, ...). */
const UNTRUSTED_CERTIFICATE = /CERT|ISSUER|SELF_SIGNED|LEAF_SIGNATURE|INVALID_CA/;

/** Why a connection failed, in words that say what to do about it. */
function connectFailure(error: NodeJS.ErrnoException, host: string): string {
  if (error.code === 'ECONNREFUSED') return 'connection refused (is `taskwire serve` running there?)';
  if (error.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    // `host` on the error is the name checked: the servername when one was given.
    const checked = (error as { host?: unknown }).host;
    return `its TLS certificate is not for ${typeof checked === 'string' ? checked : host} (${error.message}); connect by a name or address the certificate lists`;
  }
  if (error.code !== undefined && UNTRUSTED_CERTIFICATE.test(error.code)) {
    return `its TLS certificate is not trusted (${error.message}); give the CA that signed it (tls: { ca }, --tls-ca) or add that CA to the system's trust store`;
  }
  // OpenSSL's own errors carry a long location text; its reason is what matters.
  if (error.code === 'ERR_SSL_WRONG_VERSION_NUMBER') return 'the TLS handshake failed (wrong version number): the manager does not serve TLS on this port; connect without TLS';
  const reason = (error as { reason?: unknown }).reason;
  if (typeof reason === 'string' && error.code?.startsWith('ERR_SSL_')) return `the TLS handshake failed (${reason})`;
  return error.message;
}

/** A handshake request that fails with the socket's own reason when the manager hangs up. */
async function handshakeRequest<M extends RequestMethod>(connection: RpcConnection, handle: RequestHandle<M>, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> {
  try {
    return (await connection.request(handle.method, params).result) as RequestMap[M]['result'];
  } catch (error) {
    if (!(error instanceof RpcRequestError)) throw error;
    const { failure } = error;
    if (failure.kind === 'remote') throw remoteError(failure.error.code, failure.error.message, failure.error.data);
    if (failure.error instanceof TimeoutError) throw failure.error;
    const reason = failure.error.message === 'the connection to the manager closed' ? '' : `: ${failure.error.message}`;
    throw new ConnectionClosedError(`the manager closed the connection during the handshake${reason}`);
  }
}
