// One TCP (or TLS) connection of the kit, at the level of frames: writes exactly what a case
// says, splits what arrives into messages with the same decoder the reference server uses,
// keeps them in an inbox for the exchange to match, and notices when the peer closes.
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { Framing } from '../protocol/framing';
import { FrameTransport } from '../transport/frameTransport';

/** Frames the kit reads may be large (a get of many tasks); beyond this the peer is broken. */
const MAX_RECEIVED_FRAME_BYTES = 64 * 1024 * 1024;

/** A message as received: its parsed JSON, or the text that failed to parse. */
export interface ReceivedMessage {
  message?: unknown;
  text: string;
  /** Set when the frame was not valid JSON. */
  parseError?: string;
}

/** How the kit's TLS client checks the server: the CA it trusts and the name it expects. */
export interface TlsTrust {
  /** CA certificates (PEM) to trust; undefined: the system's, as Node knows them. */
  ca?: Buffer;
  /** The name the certificate must carry (and the SNI sent); default: the host connected to. */
  servername?: string;
}

/**
 * A local failure of the kit's own connection (not something the peer said). `certificate`:
 * the TLS handshake completed but the kit refused the server's certificate (untrusted, or not
 * for the name expected).
 */
export class ConnectionFailedError extends Error {
  constructor(
    message: string,
    readonly kind: 'network' | 'tls' | 'certificate' = 'network',
  ) {
    super(message);
  }
}

/** TLS record content types (change_cipher_spec, alert, handshake, application_data): 0x14–0x17. */
function isTlsRecordType(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x14 && byte <= 0x17;
}

/** OpenSSL's words for the verification failures a test setup meets most (Node gives only the code). */
const VERIFY_ERRORS: Readonly<Record<string, string>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
};

/** Why a certificate is refused: not trusted, or not for `name`; undefined when it is fine. */
function certificateProblem(socket: TLSSocket, name: string): string | undefined {
  if (!socket.authorized) {
    // Typed as an Error, but Node gives the OpenSSL code as a string.
    const code = String(socket.authorizationError as unknown);
    return `the server's certificate is not trusted: ${VERIFY_ERRORS[code] ?? code}`;
  }
  const mismatch = checkServerIdentity(name, socket.getPeerCertificate() as PeerCertificate);
  return mismatch === undefined ? undefined : `the server's certificate is not for ${name}: ${mismatch.message}`;
}

export class WireConnection {
  readonly inbox: ReceivedMessage[] = [];
  /** Every message received so far, matched or not, for failure reports. */
  readonly transcript: string[] = [];
  closed = false;
  /**
   * On a plain connection: the peer answered with TLS records (an alert), so it speaks TLS.
   * Those bytes are not frames and are not decoded.
   */
  peerSpokeTls = false;
  /** Problems with the byte stream itself (bad framing from the peer). */
  readonly streamErrors: string[] = [];
  /** Called when the peer's bytes cannot be split into frames. */
  onStreamError: ((message: string) => void) | undefined;
  /** Called with every message as it arrives, before any step looks at it (validation). */
  onReceive: ((received: ReceivedMessage) => void) | undefined;
  private listeners: (() => void)[] = [];
  private readonly transport: FrameTransport;

  /**
   * `framing` undefined: learnt from the peer's first byte, as a server does (the kit playing
   * a server for client cases); the kit answers in it. `plainClient`: the kit opened this
   * connection without TLS, so TLS records from the peer mean a TLS server.
   */
  constructor(
    readonly socket: Socket,
    framing: Framing | undefined,
    plainClient = false,
  ) {
    socket.setNoDelay(true);
    let first = true;
    this.transport = new FrameTransport(socket, {
      maxFrameBytes: MAX_RECEIVED_FRAME_BYTES,
      ...(framing ? { framing } : {}),
      onFramingError: (error) => {
        this.streamErrors.push(error.message);
        this.onStreamError?.(error.message);
      },
      onChunk: (chunk) => {
        // No frame starts with a TLS record type (§3.4): bytes from a TLS server to a plain client.
        if (first && plainClient && isTlsRecordType(chunk[0])) this.peerSpokeTls = true;
        first = false;
        return !this.peerSpokeTls;
      },
    });
    this.transport.onMessage((text) => this.receive(text));
    // A reset by the peer is a close like any other for the cases' purposes.
    socket.on('error', () => {});
    this.transport.onClose(() => {
      this.closed = true;
      this.wake();
    });
  }

  /**
   * Opens a connection, inside TLS when `tls` is given; fails with a one-line reason (refused,
   * unreachable, timed out, TLS failed, certificate refused).
   */
  static open(host: string, port: number, framing: Framing, options: { timeoutMs?: number; tls?: TlsTrust } = {}): Promise<WireConnection> {
    const { timeoutMs = 5000, tls } = options;
    const where = `${host}:${port}`;
    return new Promise((resolve, reject) => {
      // An IP address is no SNI name (RFC 6066): the certificate is then checked for the IP.
      const servername = tls?.servername ?? (isIP(host) ? undefined : host);
      // The certificate is checked below rather than by Node, to tell a refused certificate
      // apart from a failed handshake; nothing is sent before that check.
      const socket: Socket = tls
        ? tlsConnect({ host, port, ...(tls.ca ? { ca: tls.ca } : {}), ...(servername ? { servername } : {}), rejectUnauthorized: false, minVersion: 'TLSv1.2' })
        : netConnect({ host, port });
      const fail = (error: ConnectionFailedError) => {
        clearTimeout(timer);
        socket.on('error', () => {});
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(() => fail(new ConnectionFailedError(`cannot connect to ${where}: no answer within ${timeoutMs / 1000} s`)), timeoutMs);
      let tcpConnected = false;
      const succeed = (plainClient: boolean) => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.removeListener('close', onClose);
        resolve(new WireConnection(socket, framing, plainClient));
      };
      socket.once('connect', () => {
        tcpConnected = true;
        if (!tls) succeed(true);
      });
      socket.once('secureConnect', () => {
        const problem = certificateProblem(socket as TLSSocket, tls?.servername ?? host);
        if (problem !== undefined) return fail(new ConnectionFailedError(`cannot connect to ${where}: ${problem}`, 'certificate'));
        succeed(false);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        // OpenSSL's messages carry a source location; its reason is what a reader needs.
        const reason = (error as { reason?: unknown }).reason;
        const why = typeof reason === 'string' ? reason : error.message;
        if (tls && tcpConnected) return fail(new ConnectionFailedError(`cannot connect to ${where}: the TLS handshake failed: ${why} (does the server speak TLS?)`, 'tls'));
        fail(new ConnectionFailedError(`cannot connect to ${where}: ${error.code ?? error.message}`));
      });
      // A TLS server that closes without a handshake (it refused us) gives 'close' without 'error' at times.
      const onClose = () => fail(new ConnectionFailedError(`cannot connect to ${where}: the server closed the connection${tls ? ' during the TLS handshake' : ''}`, tls ? 'tls' : 'network'));
      socket.once('close', onClose);
    });
  }

  /** The framing in use: as opened, or as detected from the peer; NDJSON until known. */
  get framing(): Framing {
    return this.transport.framing ?? 'ndjson';
  }

  /** Sends one message in this connection's framing (the messages of one turn in one write). */
  sendMessage(message: unknown): void {
    this.transport.send(JSON.stringify(message));
  }

  /** Writes bytes exactly as given (malformed frames, partial frames, other framings), after what is pending. */
  sendRaw(bytes: string | Buffer): void {
    this.transport.sendRaw(bytes);
  }

  /** Removes and returns the first message for which `accept` is true, waiting up to `timeoutMs`. */
  async take(accept: (received: ReceivedMessage) => boolean, timeoutMs: number): Promise<ReceivedMessage | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex(accept);
      if (index >= 0) return this.inbox.splice(index, 1)[0];
      const left = deadline - Date.now();
      if (this.closed || left <= 0) return undefined;
      await this.nextEvent(left);
    }
  }

  /** Resolves true once the peer has closed, false if it is still open after `timeoutMs`. */
  async waitForClose(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.nextEvent(left);
    }
    return true;
  }

  close(): void {
    this.transport.flush();
    this.transport.decoder.close();
    this.socket.destroy();
  }

  /** Half-closes: the kit sends nothing more but still reads (a client that ends its side). */
  end(): void {
    this.transport.close();
  }

  private receive(text: string): void {
    this.transcript.push(text);
    let received: ReceivedMessage;
    try {
      received = { message: JSON.parse(text) as unknown, text };
    } catch (error) {
      received = { text, parseError: (error as Error).message };
    }
    this.inbox.push(received);
    this.onReceive?.(received);
    this.wake();
  }

  private nextEvent(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const listeners = this.listeners;
      function done() {
        clearTimeout(timer);
        resolve();
      }
      listeners.push(done);
    });
  }

  private wake(): void {
    for (const listener of this.listeners.splice(0)) listener();
  }
}
