// Splitting a byte stream into JSON-RPC frames and writing frames back, for both framings the
// protocol knows: newline-delimited JSON (normative) and LSP-style Content-Length headers.
// Server and client share this one module so both ends agree byte for byte. It is longer than
// most modules because the decoder's fast paths (frames decoded in place from a chunk, ASCII
// without the UTF-8 validator, a geometric buffer for split frames) and their limits belong
// together: each guards the others' assumptions.

import { isAscii } from 'node:buffer';

/** How messages are delimited on a connection. */
export type Framing = 'ndjson' | 'content-length';

/**
 * Why a stream could not be split into frames.
 * - `bad-framing`: the first byte is neither `{`/`[` (NDJSON) nor `C`/`c` (headers).
 * - `too-large`: a frame (or an unterminated line) exceeds `maxFrameBytes`.
 * - `bad-header`: a Content-Length header block is malformed, lacks Content-Length or exceeds 8 KiB.
 * - `invalid-utf8`: a frame is not valid UTF-8.
 */
export type FrameErrorKind = 'bad-framing' | 'too-large' | 'bad-header' | 'invalid-utf8';

/** A framing failure; a local error the connection layer maps to a wire error. */
export interface FrameError {
  readonly kind: FrameErrorKind;
  /** True when the stream cannot be resynchronised: the decoder ignores all further input. */
  readonly fatal: boolean;
  /** What went wrong, for logs and for the detail of the wire error. */
  readonly message: string;
}

/** Limits, framing and output of a {@link FrameDecoder}. */
export interface FrameDecoderOptions extends FrameHandlers {
  /** The largest frame body accepted, in bytes (NDJSON: the line without its `\n` or `\r\n`). */
  maxFrameBytes: number;
  /** The framing to expect; detected from the first non-whitespace byte when absent. */
  framing?: Framing;
}

/**
 * Where a {@link FrameDecoder} delivers its output. Both are called synchronously from
 * {@link FrameDecoder.push}, in stream order; they must not throw.
 */
export interface FrameHandlers {
  /** One complete frame, decoded from UTF-8, and its size on the wire in bytes (without delimiters). */
  onFrame(frame: string, byteLength: number): void;
  /** A framing failure; after a fatal one no more frames or errors follow. */
  onError(error: FrameError): void;
}

/** The largest Content-Length header block, terminating blank line included. */
export const MAX_HEADER_BYTES = 8192;

const LF = 0x0a;
const CR = 0x0d;
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH_DIGITS = /^\d{1,15}$/;

/**
 * The framing announced by the first non-whitespace byte of a connection, or undefined when
 * that byte announces neither. `[` counts as NDJSON so that a batch reaches the JSON-RPC layer
 * and is refused there with -32600 instead of killing the connection.
 */
export function detectFraming(firstByte: number): Framing | undefined {
  switch (firstByte) {
    case 0x7b: // {
    case 0x5b: // [
      return 'ndjson';
    case 0x43: // C
    case 0x63: // c
      return 'content-length';
    default:
      return undefined;
  }
}

/**
 * The complete frame for one JSON text, in one buffer so that it goes out in one socket
 * write (two writes stall ~40-90 ms under Nagle plus delayed ACK).
 * The text must be compact JSON: NDJSON cannot carry a raw newline, and JSON.stringify
 * never produces one.
 */
export function encodeFrame(json: string, framing: Framing): Buffer {
  return Buffer.from(frameText(json, framing), 'utf8');
}

/** The same frame as text, for a writer that gathers a turn's frames into one string before one conversion. */
export function frameText(json: string, framing: Framing): string {
  return framing === 'ndjson' ? json + '\n' : `Content-Length: ${Buffer.byteLength(json, 'utf8')}\r\n\r\n${json}`;
}

/**
 * Splits an incoming byte stream into frames.
 *
 * Output goes to callbacks rather than being returned as an array per chunk: a socket chunk
 * often holds hundreds of small frames, and callbacks hand each one to the dispatcher without
 * allocating an array per chunk, while keeping frames and non-fatal errors (an invalid UTF-8
 * line between two good ones) in stream order without a tagged union per item.
 *
 * Frames that lie inside one chunk are decoded straight from it, without copying; only the
 * unfinished frame at a chunk's end is gathered, in a buffer that grows geometrically, so a
 * frame arriving in many small pieces still costs linear time and bounded memory.
 */

export class FrameDecoder {
  private maxFrameBytes: number;
  private readonly handlers: FrameHandlers;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  private mode: Framing | undefined;
  private stopped = false;
  /** The unfinished NDJSON line, Content-Length header block or body. */
  private readonly held = new GrowableBuffer();
  /** Content-Length: bytes of the body being read, or -1 while reading headers. */
  private bodyLength = -1;
  /** NDJSON: the held partial line has a byte other than JSON whitespace. */
  private heldContent = false;
  /** Set by {@link suspend}: no frame is delivered until {@link resume}. */
  private suspended = false;
  /** Input received while suspended, or left in a chunk when the suspension began. */
  private deferred: Buffer | undefined;
  /** True while pushing {@link deferred}: the decoder's own copy, which later reads cannot overwrite. */
  private pushingOwnCopy = false;

  constructor(options: FrameDecoderOptions) {
    if (!Number.isSafeInteger(options.maxFrameBytes) || options.maxFrameBytes < 1) {
      throw new RangeError(`maxFrameBytes must be a positive integer, got ${options.maxFrameBytes}`);
    }
    this.maxFrameBytes = options.maxFrameBytes;
    this.mode = options.framing;
    this.handlers = { onFrame: options.onFrame, onError: options.onError };
  }

  /** The framing in use: as configured, or as detected; undefined until the first byte. */
  get framing(): Framing | undefined {
    return this.mode;
  }

  /** True after a fatal error or {@link close}: input is ignored. */
  get closed(): boolean {
    return this.stopped;
  }

  /** Bytes held for a frame that has not ended yet. */
  get bufferedBytes(): number {
    return this.held.length;
  }

  /**
   * True while a frame has begun and not ended: part of an NDJSON line or of a header block
   * is held, or a Content-Length header announced a body that has not fully arrived (even
   * when none of it has).
   */
  get inFrame(): boolean {
    if (this.stopped) return false;
    // Whitespace between NDJSON lines (a lone CR, a space) is no frame yet.
    if (this.mode === 'ndjson') return this.heldContent;
    return this.held.length > 0 || this.bodyLength >= 0;
  }

  /** The largest frame body accepted from now on. */
  get frameLimit(): number {
    return this.maxFrameBytes;
  }

  /**
   * Changes the frame limit for the frames that follow (a server reads small frames until the
   * peer has authenticated, then larger ones). Bytes already held are kept, so lowering the
   * limit below them applies from the next frame on.
   */
  setFrameLimit(maxFrameBytes: number): void {
    if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1) {
      throw new RangeError(`maxFrameBytes must be a positive integer, got ${maxFrameBytes}`);
    }
    this.maxFrameBytes = maxFrameBytes;
  }

  /**
   * Stops decoding: frames still inside the chunk being pushed are not delivered, and later
   * input is ignored. For a connection that is closing for reasons of its own.
   */
  close(): void {
    this.stopped = true;
    this.held.release();
    this.deferred = undefined;
  }

  /**
   * Stops delivering frames, even in the middle of a chunk: the rest of the chunk, and
   * anything pushed until {@link resume}, is kept as it is. For a connection that must stop
   * reading requests at once (its peer does not read the answers), from inside onFrame.
   */
  suspend(): void {
    this.suspended = true;
  }

  /** Delivers what was kept while suspended (synchronously; a handler may suspend again). */
  resume(): void {
    if (!this.suspended) return;
    this.suspended = false;
    const rest = this.deferred;
    this.deferred = undefined;
    if (!rest) return;
    const owned = this.pushingOwnCopy;
    this.pushingOwnCopy = true;
    try {
      this.push(rest);
    } finally {
      this.pushingOwnCopy = owned;
    }
  }

  /** Bytes kept unread while suspended. */
  get deferredBytes(): number {
    return this.deferred?.length ?? 0;
  }

  /**
   * Feeds the next bytes of the stream. Nothing keeps a reference to `chunk` past the call
   * (what must wait is copied), so a reader may reuse its buffer for the next read.
   */
  push(chunk: Buffer): void {
    if (this.stopped || chunk.length === 0) return;
    if (this.suspended) {
      this.defer(chunk);
      return;
    }
    let start = 0;
    if (this.mode === undefined) {
      start = skipWhitespace(chunk, 0, chunk.length);
      if (start === chunk.length) return;
      const first = chunk[start]!;
      const detected = detectFraming(first);
      if (detected === undefined) {
        this.fail('bad-framing', `unrecognised framing: first byte 0x${first.toString(16).padStart(2, '0')}`);
        return;
      }
      this.mode = detected;
    }
    if (this.mode === 'ndjson') this.pushLines(chunk, start);
    else this.pushContentLength(chunk, start);
  }

  // ---- NDJSON ----

  private pushLines(chunk: Buffer, start: number): void {
    let lineStart = start;
    if (this.held.length > 0) {
      const newline = chunk.indexOf(LF, start);
      if (newline === -1) {
        this.holdPartialLine(chunk, start);
        return;
      }
      this.held.append(chunk, start, newline);
      const line = this.held.view();
      this.held.clear();
      this.heldContent = false;
      this.deliverLine(line, 0, line.length);
      lineStart = newline + 1;
    }
    while (!this.stopped && !this.suspended) {
      const newline = chunk.indexOf(LF, lineStart);
      if (newline === -1) break;
      this.deliverLine(chunk, lineStart, newline);
      lineStart = newline + 1;
    }
    if (this.stopped || lineStart >= chunk.length) return;
    if (this.suspended) this.defer(chunk.subarray(lineStart));
    else this.holdPartialLine(chunk, lineStart);
  }

  /**
   * Keeps the start of a line whose newline has not arrived, failing as soon as it can no
   * longer fit: one byte over the limit is allowed only if it is the `\r` of a CRLF ending.
   */
  private holdPartialLine(chunk: Buffer, start: number): void {
    const length = this.held.length + chunk.length - start;
    const limit = this.maxFrameBytes;
    if (length > limit + 1 || (length === limit + 1 && chunk[chunk.length - 1] !== CR)) {
      this.fail('too-large', `line exceeds the frame limit of ${limit} bytes`);
      return;
    }
    this.held.append(chunk, start, chunk.length);
    if (!this.heldContent && skipWhitespace(chunk, start, chunk.length) < chunk.length) this.heldContent = true;
  }

  private deliverLine(buffer: Buffer, start: number, end: number): void {
    if (end > start && buffer[end - 1] === CR) end--;
    if (end - start > this.maxFrameBytes) {
      this.fail('too-large', `line exceeds the frame limit of ${this.maxFrameBytes} bytes`);
      return;
    }
    if (skipWhitespace(buffer, start, end) === end) return;
    const text = this.decode(buffer, start, end);
    if (text === undefined) {
      // The next newline is a safe place to resume: UTF-8 never uses 0x0a inside a character.
      this.handlers.onError({ kind: 'invalid-utf8', fatal: false, message: 'line is not valid UTF-8' });
      return;
    }
    this.handlers.onFrame(text, end - start);
  }

  // ---- Content-Length ----

  private pushContentLength(chunk: Buffer, start: number): void {
    let offset = start;
    while (offset < chunk.length && !this.stopped) {
      offset = this.bodyLength < 0 ? this.readHeader(chunk, offset) : this.readBody(chunk, offset);
      if (this.suspended && offset < chunk.length && !this.stopped) {
        this.defer(chunk.subarray(offset));
        return;
      }
    }
  }

  /** Consumes header bytes from `chunk` at `offset`; returns the offset after them. */
  private readHeader(chunk: Buffer, offset: number): number {
    const limit = MAX_HEADER_BYTES;
    const heldBefore = this.held.length;
    const take = Math.min(chunk.length - offset, limit - heldBefore);
    if (heldBefore === 0) {
      // Usual case: the whole block is inside this chunk; only its first 8 KiB is searched.
      const end = chunk.subarray(offset, offset + take).indexOf(HEADER_END);
      if (end !== -1) {
        this.startBody(chunk.toString('latin1', offset, offset + end));
        return offset + end + HEADER_END.length;
      }
    } else {
      // The terminator may straddle the previous chunk's end: search from just before it.
      this.held.append(chunk, offset, offset + take);
      const block = this.held.view();
      const end = block.indexOf(HEADER_END, Math.max(0, heldBefore - (HEADER_END.length - 1)));
      if (end !== -1) {
        this.held.clear();
        this.startBody(block.toString('latin1', 0, end));
        return offset + end + HEADER_END.length - heldBefore;
      }
    }
    if (heldBefore + take >= limit) {
      this.fail('bad-header', `header block exceeds ${limit} bytes`);
      return chunk.length;
    }
    if (heldBefore === 0) this.held.append(chunk, offset, offset + take);
    return offset + take;
  }

  private startBody(headerBlock: string): void {
    const length = parseContentLength(headerBlock);
    if (typeof length === 'string') {
      this.fail('bad-header', length);
      return;
    }
    if (length > this.maxFrameBytes) {
      this.fail('too-large', `Content-Length ${length} exceeds the frame limit of ${this.maxFrameBytes} bytes`);
      return;
    }
    this.bodyLength = length;
    if (length === 0) this.deliverBody(chunkOfNothing, 0, 0);
  }

  /** Consumes body bytes from `chunk` at `offset`; returns the offset after them. */
  private readBody(chunk: Buffer, offset: number): number {
    const missing = this.bodyLength - this.held.length;
    const end = offset + missing;
    if (end > chunk.length) {
      // The held buffer grows with what arrives, not with what the header announces, so a
      // header alone cannot make the decoder allocate up to maxFrameBytes.
      this.held.append(chunk, offset, chunk.length, this.bodyLength);
      return chunk.length;
    }
    if (this.held.length === 0) {
      this.deliverBody(chunk, offset, end);
    } else {
      this.held.append(chunk, offset, end, this.bodyLength);
      const body = this.held.view();
      this.held.clear();
      this.deliverBody(body, 0, body.length);
    }
    return end;
  }

  private deliverBody(buffer: Buffer, start: number, end: number): void {
    this.bodyLength = -1;
    const text = this.decode(buffer, start, end);
    if (text === undefined) {
      // Without line boundaries there is no trustworthy place to resume.
      this.fail('invalid-utf8', 'message body is not valid UTF-8');
      return;
    }
    this.handlers.onFrame(text, end - start);
  }

  // ---- shared ----

  private decode(buffer: Buffer, start: number, end: number): string | undefined {
    const bytes = buffer.subarray(start, end);
    // Most frames are ASCII: checking that is faster than validating UTF-8, ASCII decodes the
    // same either way, and a one-byte string parses faster (a 64 KiB frame: 5 µs instead of 7).
    if (isAscii(bytes)) return bytes.toString('latin1');
    try {
      return this.utf8.decode(bytes);
    } catch {
      return undefined;
    }
  }

  private defer(bytes: Buffer): void {
    // A copy of a reader's chunk: its buffer may be reused by the next read (see push).
    if (this.deferred) this.deferred = Buffer.concat([this.deferred, bytes]);
    else this.deferred = this.pushingOwnCopy ? bytes : Buffer.from(bytes);
  }

  private fail(kind: FrameErrorKind, message: string): void {
    this.close();
    this.handlers.onError({ kind, fatal: true, message });
  }
}

const chunkOfNothing = Buffer.alloc(0);

/** A held buffer up to this size is kept for the next partial frame instead of being freed. */
const RETAINED_CAPACITY = 16 * 1024;

/**
 * Bytes gathered from several chunks. Capacity doubles as needed, so gathering n bytes in
 * pieces of any size copies O(n) bytes, unlike concatenating on every piece.
 * A {@link view} stays valid until the next append.
 */
class GrowableBuffer {
  private bytes: Buffer = chunkOfNothing;
  length = 0;

  /** Appends source[start, end), growing to at most `atMost` bytes (what the frame's header announced) when more is needed. */
  append(source: Buffer, start: number, end: number, atMost = Infinity): void {
    const needed = this.length + (end - start);
    if (needed > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, Math.min(atMost, Math.max(this.bytes.length * 2, 256))));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    this.length += source.copy(this.bytes, this.length, start, end);
  }

  view(): Buffer {
    return this.bytes.subarray(0, this.length);
  }

  /** Forgets the contents; a small buffer is kept for reuse, a large one freed. */
  clear(): void {
    this.length = 0;
    if (this.bytes.length > RETAINED_CAPACITY) this.bytes = chunkOfNothing;
  }

  release(): void {
    this.length = 0;
    this.bytes = chunkOfNothing;
  }
}

/** Index of the first byte at or after `start` that is not JSON whitespace, or `end`. */
function skipWhitespace(buffer: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const byte = buffer[i]!;
    if (byte !== 0x20 && byte !== 0x09 && byte !== LF && byte !== CR) break;
    i++;
  }
  return i;
}

/**
 * The Content-Length of an LSP-style header block (without its terminating blank line), or a
 * description of what is wrong with it. Names are case-insensitive; other headers, such as
 * Content-Type, are allowed and ignored.
 */
function parseContentLength(headerBlock: string): number | string {
  let length: number | undefined;
  for (const line of headerBlock.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) return `malformed header line ${JSON.stringify(line.slice(0, 100))}`;
    if (line.slice(0, colon).trim().toLowerCase() !== 'content-length') continue;
    const value = line.slice(colon + 1).trim();
    if (!CONTENT_LENGTH_DIGITS.test(value)) return `invalid Content-Length ${JSON.stringify(value.slice(0, 100))}`;
    const parsed = Number(value);
    if (length !== undefined && length !== parsed) return 'conflicting Content-Length headers';
    length = parsed;
  }
  return length ?? 'missing Content-Length header';
}
