import { Duplex } from 'node:stream';
import { FrameDecoder, frameText, type FrameError, type Framing } from '../protocol/framing';

/**
 * Frames both ways over one byte stream: the one transport of the manager's sessions, the
 * client's JSON-RPC endpoint and the conformance kit's connections. It owns the stream, splits
 * what arrives into frames with the shared decoder, and gathers what is sent in one turn of the
 * event loop into one write: on loopback each write costs a syscall and a wake-up of the
 * reader, which was most of the cost of a small request.
 */
export interface Transport {
  /** Sends one compact JSON text as one frame; frames sent in one turn leave in one write. */
  send(json: string): void;
  /** Sends what is pending, then ends the stream. */
  close(): void;
  /** Each frame that arrives, as text, with its size in bytes. */
  onMessage(handler: (json: string, bytes: number) => void): void;
  /** Once, when the stream is gone (with the error that ended it, if one did). */
  onClose(handler: (error: Error | undefined) => void): void;
}

export interface FrameTransportOptions {
  /** The framing both ways; undefined: detected from the peer's first byte (NDJSON until then). */
  framing?: Framing;
  /** The largest frame read; see FrameDecoder.setFrameLimit to change it later. */
  maxFrameBytes: number;
  /** Input that cannot be split into frames (fatal ones end the stream's use). */
  onFramingError?: (error: FrameError) => void;
  /** Every chunk read, before it is split (the session's clock and counters); false: not to be decoded. */
  onChunk?: (chunk: Buffer) => boolean | void;
  /** After each chunk read has been split and its frames delivered. */
  afterChunk?: () => void;
  /** Bytes handed to the stream, at each write. */
  onWritten?: (bytes: number) => void;
}

/**
 * The longest output written as a string: Node's socket encodes a string on a 16 KiB stack
 * buffer when its UTF-8 can be no longer (three bytes a character at most), else on the heap.
 */
const STRING_WRITE_CHARS = Math.floor((16 * 1024) / 3);

/** Output gathered in one turn is handed to the stream at once past this size (large payloads). */
const FLUSH_EARLY_CHARS = 256 * 1024;

export class FrameTransport implements Transport {
  readonly decoder: FrameDecoder;
  /**
   * What was handed to the stream, in the units of its writableLength (UTF-16 code units of the
   * strings written, bytes of the Buffers): what was flushed is this minus {@link unsent}.
   */
  bytesWritten = 0;
  private readonly fixedFraming: Framing | undefined;
  /** Frames sent in this turn, not yet handed to the stream. */
  private outgoing = '';
  private flushScheduled = false;
  /** flush(), made once: a closure per turn's flush is garbage the manager's hot path need not make. */
  private readonly flushLater = (): void => this.flush();
  private messageHandler: (json: string, bytes: number) => void = () => {};
  private readonly closeHandlers: ((error: Error | undefined) => void)[] = [];
  private endError: Error | undefined;
  private ended = false;
  private readonly onWritten: ((bytes: number) => void) | undefined;
  private readonly onChunk: ((chunk: Buffer) => boolean | void) | undefined;
  private readonly afterChunk: (() => void) | undefined;

  constructor(
    readonly stream: Duplex,
    options: FrameTransportOptions,
  ) {
    this.fixedFraming = options.framing;
    this.decoder = new FrameDecoder({
      maxFrameBytes: options.maxFrameBytes,
      ...(options.framing ? { framing: options.framing } : {}),
      onFrame: (text, bytes) => this.messageHandler(text, bytes),
      onError: (error) => options.onFramingError?.(error),
    });
    const { onChunk, afterChunk } = options;
    this.onWritten = options.onWritten;
    this.onChunk = onChunk;
    this.afterChunk = afterChunk;
    stream.on('data', (chunk: Buffer) => this.receive(chunk));
    stream.on('error', (error) => (this.endError ??= error));
    stream.on('close', () => {
      this.ended = true;
      for (const handler of this.closeHandlers.splice(0)) handler(this.endError);
    });
  }

  /**
   * Bytes read from the stream: what its 'data' events carry, or what a socket's own reader
   * (net's `onread`, see ReusedReadBuffer) hands over. The chunk is not kept past the call, so
   * its buffer may be reused for the next read.
   */
  receive(chunk: Buffer): void {
    if (this.onChunk?.(chunk) === false) return;
    this.decoder.push(chunk);
    this.afterChunk?.();
  }

  /** The framing of this stream: as given, or as detected; undefined until the peer's first byte. */
  get framing(): Framing | undefined {
    return this.fixedFraming ?? this.decoder.framing;
  }

  /** True while sends can still reach the peer. */
  get writable(): boolean {
    return !this.ended && !this.stream.destroyed && this.stream.writable;
  }

  /** Bytes sent but not yet taken by the peer (or the kernel): how far behind the peer is. */
  get backlog(): number {
    return this.stream.writableLength + this.outgoing.length;
  }

  /** Bytes handed to the stream that it has not written out yet. */
  get unsent(): number {
    return this.stream.writableLength;
  }

  onMessage(handler: (json: string, bytes: number) => void): void {
    this.messageHandler = handler;
  }

  onClose(handler: (error: Error | undefined) => void): void {
    if (this.ended) handler(this.endError);
    else this.closeHandlers.push(handler);
  }

  send(json: string): void {
    this.outgoing += frameText(json, this.framing ?? 'ndjson');
    // Large payloads go out at once: gathering a turn's megabytes in one string costs copies,
    // and past V8's longest string (about 512 MiB) it throws.
    if (this.outgoing.length >= FLUSH_EARLY_CHARS) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      // process.nextTick runs after the promise continuations of this turn, so what every
      // loop woken up in this turn sends goes out together.
      process.nextTick(this.flushLater);
    }
  }

  /** Bytes exactly as given (the conformance kit's malformed frames), after what is pending. */
  sendRaw(bytes: string | Buffer): void {
    this.flush();
    if (this.stream.destroyed) return;
    this.stream.write(bytes);
    this.bytesWritten += bytes.length;
    this.onWritten?.(typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length);
  }

  /**
   * Hands what this turn sent to the stream, in one write. Short output goes as the string
   * itself: a socket encodes it on the stack straight into the write syscall, where Buffer.from
   * would first allocate a Buffer to encode it into. Longer output goes as a Buffer: for a
   * string that may not fit there, the socket allocates three bytes per character (UTF-8's
   * worst case) and shrinks that afterwards, which costs more than Buffer.from's exact size.
   */
  flush(): void {
    this.flushScheduled = false;
    const frames = this.outgoing;
    if (frames === '') return;
    this.outgoing = '';
    if (this.stream.destroyed) return;
    if (frames.length <= STRING_WRITE_CHARS) {
      this.stream.write(frames, 'utf8');
      this.bytesWritten += frames.length;
      this.onWritten?.(Buffer.byteLength(frames, 'utf8'));
      return;
    }
    const bytes = Buffer.from(frames, 'utf8');
    this.stream.write(bytes);
    this.bytesWritten += bytes.length;
    this.onWritten?.(bytes.length);
  }

  /** Stops delivering frames and reading the stream (the peer's further input waits in TCP). */
  pauseInput(): void {
    this.decoder.suspend();
    this.stream.pause();
  }

  /**
   * Delivers what was kept meanwhile (whose handlers may pause input again), then reads the
   * stream again if `readAgain`, asked after that delivery, still says so.
   */
  resumeInput(readAgain: () => boolean = () => true): void {
    this.decoder.resume();
    // (A handler may have closed the stream meanwhile: resuming a destroyed one is harmless.)
    if (readAgain()) this.stream.resume();
  }

  close(): void {
    this.flush();
    this.stream.end();
  }

  /** Ends the stream at once, without sending what is pending. */
  destroy(): void {
    this.outgoing = '';
    this.stream.destroy();
  }
}

/**
 * Two transports joined in memory, for fast tests of anything that speaks over a Transport:
 * what one sends, the other receives, framed and coalesced exactly as over a socket.
 */
export function transportPair(options: Omit<FrameTransportOptions, 'onChunk'> = { framing: 'ndjson', maxFrameBytes: 64 * 1024 * 1024 }): [FrameTransport, FrameTransport] {
  const [a, b] = duplexPair();
  return [new FrameTransport(a, options), new FrameTransport(b, options)];
}

/** Two in-memory streams, each writing into the other's readable side. */
function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (other: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        other().push(chunk);
        done();
      },
      final(done) {
        other().push(null);
        done();
      },
    });
  ends.push(
    make(() => ends[1]!),
    make(() => ends[0]!),
  );
  return [ends[0]!, ends[1]!];
}
