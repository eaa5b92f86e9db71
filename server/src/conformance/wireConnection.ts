// One TCP connection of the kit, at the level of frames: writes exactly what a case says,
// splits what arrives into messages with the same decoder the reference server uses, keeps
// them in an inbox for the exchange to match, and notices when the peer closes.
import { connect as netConnect, type Socket } from 'node:net';
import { encodeFrame, FrameDecoder, type Framing } from '../protocol/framing';

/** Frames the kit reads may be large (a get of many tasks); beyond this the peer is broken. */
const MAX_RECEIVED_FRAME_BYTES = 64 * 1024 * 1024;

/** A message as received: its parsed JSON, or the text that failed to parse. */
export interface ReceivedMessage {
  message?: unknown;
  text: string;
  /** Set when the frame was not valid JSON. */
  parseError?: string;
}

/** A local failure of the kit's own connection (not something the peer said). */
export class ConnectionFailedError extends Error {}

export class WireConnection {
  readonly inbox: ReceivedMessage[] = [];
  /** Every message received so far, matched or not, for failure reports. */
  readonly transcript: string[] = [];
  closed = false;
  /** Problems with the byte stream itself (bad framing from the peer). */
  readonly streamErrors: string[] = [];
  /** Called when the peer's bytes cannot be split into frames. */
  onStreamError: ((message: string) => void) | undefined;
  /** Called with every message as it arrives, before any step looks at it (validation). */
  onReceive: ((received: ReceivedMessage) => void) | undefined;
  private listeners: (() => void)[] = [];
  private readonly decoder: FrameDecoder;

  /**
   * `framing` undefined: learnt from the peer's first byte, as a server does (the kit playing
   * a server for client cases); the kit answers in it.
   */
  constructor(
    readonly socket: Socket,
    framing: Framing | undefined,
  ) {
    socket.setNoDelay(true);
    this.decoder = new FrameDecoder({
      maxFrameBytes: MAX_RECEIVED_FRAME_BYTES,
      framing,
      onFrame: (text) => this.receive(text),
      onError: (error) => {
        this.streamErrors.push(error.message);
        this.onStreamError?.(error.message);
      },
    });
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    // A reset by the peer is a close like any other for the cases' purposes.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Opens a connection; fails with a one-line reason (refused, unreachable, timed out). */
  static open(host: string, port: number, framing: Framing, timeoutMs = 5000): Promise<WireConnection> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionFailedError(`cannot connect to ${host}:${port}: no answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new WireConnection(socket, framing));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new ConnectionFailedError(`cannot connect to ${host}:${port}: ${error.code ?? error.message}`));
      });
    });
  }

  /** The framing in use: as opened, or as detected from the peer; NDJSON until known. */
  get framing(): Framing {
    return this.decoder.framing ?? 'ndjson';
  }

  /** Sends one message in this connection's framing, in one write. */
  sendMessage(message: unknown): void {
    this.socket.write(encodeFrame(JSON.stringify(message), this.framing));
  }

  /** Writes bytes exactly as given (malformed frames, partial frames, other framings). */
  sendRaw(bytes: string | Buffer): void {
    this.socket.write(bytes);
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
    this.decoder.close();
    this.socket.destroy();
  }

  /** Half-closes: the kit sends nothing more but still reads (a client that ends its side). */
  end(): void {
    this.socket.end();
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
