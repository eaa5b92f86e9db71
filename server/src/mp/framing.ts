// multiprocessing.connection's framing: a 4-byte big-endian signed length, then the message;
// a length of -1 is followed by an 8-byte unsigned length (CPython 3.8+ writes that form for
// messages over 2 GiB - 1, and reads it at any size).

/** A message that cannot be read: too large for the limit in force, or a negative length. */
export class FrameError extends Error {
  constructor(
    message: string,
    /** The announced length, when there was one. */
    readonly length?: number,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

/** The bytes to send for one message. */
export function encodeMessage(message: Buffer): Buffer[] {
  if (message.length <= 0x7fffffff) {
    const head = Buffer.alloc(4);
    head.writeInt32BE(message.length, 0);
    return [head, message];
  }
  const head = Buffer.alloc(12);
  head.writeInt32BE(-1, 0);
  head.writeBigUInt64BE(BigInt(message.length), 4);
  return [head, message];
}

/** Splits a byte stream into messages; `maxBytes` may change between pushes (after the handshake). */
export class MessageDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(public maxBytes: number) {}

  /** Adds bytes; returns the complete messages they finish. Throws FrameError for a message over the limit. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const data = this.chunks.length === 1 ? this.chunks[0]! : this.join();
      let length = data.readInt32BE(0);
      let head = 4;
      if (length === -1) {
        if (this.buffered < 12) break;
        const long = data.readBigUInt64BE(4);
        length = long > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(long);
        head = 12;
      } else if (length < 0) {
        throw new FrameError(`invalid message length ${length}`);
      }
      if (length > this.maxBytes) throw new FrameError(`a message of ${length} bytes is over the limit of ${this.maxBytes} bytes`, length);
      if (this.buffered < head + length) break;
      // A view, not a copy: the chunks a socket emits are not reused.
      messages.push(data.subarray(head, head + length));
      // Most chunks hold one whole message: nothing is left, and no empty view is made.
      const used = head + length;
      this.chunks = used < data.length ? [data.subarray(used)] : [];
      this.buffered = data.length - used;
    }
    return messages;
  }

  /** Bytes held of a message not complete yet. */
  get pending(): number {
    return this.buffered;
  }

  private join(): Buffer {
    const data = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [data];
    return data;
  }
}
