// Writes the values of pyValue.ts as a pickle of protocol 4 (what CPython 3.8-3.13 clients
// themselves send; every client reads it). No memo: replies hold no shared or cyclic parts.
import { PyException, PySet, PyToken, PyTuple, type PyValue } from './pyValue';

/** Items per MARK … APPENDS / SETITEMS / ADDITEMS group, as pickle writes them. */
const BATCH = 1000;

export function writePickle(value: PyValue): Buffer {
  return pickled(new Writer(), value).finish();
}

/**
 * The pickle as one message of multiprocessing's framing, its 4-byte length in front: what a
 * reply is sent as, in one buffer (messages from 2 GiB on take the 8-byte form of framing.ts).
 */
export function writePickleMessage(value: PyValue): Buffer | undefined {
  const writer = new Writer();
  writer.skip(4);
  const message = pickled(writer, value).finish();
  if (message.length - 4 > 0x7fffffff) return undefined;
  message.writeInt32BE(message.length - 4, 0);
  return message;
}

function pickled(writer: Writer, value: PyValue): Writer {
  writer.op(0x80);
  writer.op(4);
  writer.value(value);
  writer.op(0x2e);
  return writer;
}

/** Bytes written into one buffer that doubles when full: a reply is one allocation, not one per opcode. */
class Writer {
  private buffer = Buffer.allocUnsafe(256);
  private length = 0;

  op(code: number): void {
    this.room(1);
    this.buffer[this.length++] = code;
  }

  raw(bytes: Buffer): void {
    this.room(bytes.length);
    bytes.copy(this.buffer, this.length);
    this.length += bytes.length;
  }

  skip(n: number): void {
    this.room(n);
    this.length += n;
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private room(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + n) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  value(value: PyValue): void {
    if (value === null) return this.op(0x4e);
    if (value === true) return this.op(0x88);
    if (value === false) return this.op(0x89);
    if (typeof value === 'bigint') return this.int(value);
    if (typeof value === 'number') {
      const bytes = Buffer.alloc(9);
      bytes[0] = 0x47; // BINFLOAT
      bytes.writeDoubleBE(value, 1);
      return this.raw(bytes);
    }
    if (typeof value === 'string') return this.text(value);
    if (Buffer.isBuffer(value)) return this.sized(value, 0x43, 0x42, 0x8e);
    if (value instanceof PyTuple) return this.tuple(value.items);
    if (Array.isArray(value)) {
      this.op(0x5d); // EMPTY_LIST
      return this.batches(value, 0x65);
    }
    if (value instanceof Map) {
      this.op(0x7d); // EMPTY_DICT
      const flat: PyValue[] = [];
      for (const [key, item] of value) flat.push(key, item);
      return this.batches(flat, 0x75, 2);
    }
    if (value instanceof PySet) {
      this.op(0x8f); // EMPTY_SET
      return this.batches(value.items, 0x90);
    }
    if (value instanceof PyException) {
      // STACK_GLOBAL module name, the args tuple, REDUCE: how an exception pickles.
      this.value(value.module);
      this.value(value.name);
      this.op(0x93);
      this.tuple(value.args);
      return this.op(0x52);
    }
    if (value instanceof PyToken) {
      this.value('multiprocessing.managers');
      this.value('Token');
      this.op(0x93);
      this.op(0x29);
      this.op(0x81); // NEWOBJ
      this.tuple([value.typeid, value.address, value.id]);
      return this.op(0x62); // BUILD
    }
    throw new TypeError('not a Python value');
  }

  private int(value: bigint): void {
    if (value >= 0n && value < 256n) return this.raw(Buffer.from([0x4b, Number(value)]));
    if (value >= 0n && value < 65536n) return this.raw(Buffer.from([0x4d, Number(value) & 0xff, Number(value) >> 8]));
    if (value >= -(2n ** 31n) && value < 2n ** 31n) {
      const bytes = Buffer.alloc(5);
      bytes[0] = 0x4a;
      bytes.writeInt32LE(Number(value), 1);
      return this.raw(bytes);
    }
    // LONG1: the shortest two's complement, little-endian.
    const digits: number[] = [];
    let rest = value;
    for (;;) {
      digits.push(Number(rest & 0xffn));
      rest >>= 8n;
      const sign = digits[digits.length - 1]! & 0x80;
      if ((rest === 0n && !sign) || (rest === -1n && sign)) break;
    }
    if (digits.length < 256) return this.raw(Buffer.from([0x8a, digits.length, ...digits]));
    const head = Buffer.alloc(5);
    head[0] = 0x8b; // LONG4
    head.writeUInt32LE(digits.length, 1);
    this.raw(Buffer.concat([head, Buffer.from(digits)]));
  }

  /** A str: its UTF-8 written in place, after the opcode for its length. */
  private text(value: string): void {
    const n = Buffer.byteLength(value, 'utf8');
    if (n < 256) {
      this.room(2 + n);
      this.buffer[this.length++] = 0x8c;
      this.buffer[this.length++] = n;
    } else if (n <= 0xffffffff) {
      this.room(5 + n);
      this.buffer[this.length++] = 0x58;
      this.buffer.writeUInt32LE(n, this.length);
      this.length += 4;
    } else {
      this.room(9 + n);
      this.buffer[this.length++] = 0x8d;
      this.buffer.writeBigUInt64LE(BigInt(n), this.length);
      this.length += 8;
    }
    this.length += this.buffer.write(value, this.length, 'utf8');
  }

  private sized(bytes: Buffer, short: number, long: number, huge: number): void {
    if (bytes.length < 256) {
      this.raw(Buffer.concat([Buffer.from([short, bytes.length]), bytes]));
    } else if (bytes.length <= 0xffffffff) {
      const head = Buffer.alloc(5);
      head[0] = long;
      head.writeUInt32LE(bytes.length, 1);
      this.raw(head);
      this.raw(bytes);
    } else {
      const head = Buffer.alloc(9);
      head[0] = huge;
      head.writeBigUInt64LE(BigInt(bytes.length), 1);
      this.raw(head);
      this.raw(bytes);
    }
  }

  private tuple(items: PyValue[]): void {
    if (items.length === 0) return this.op(0x29);
    if (items.length <= 3) {
      for (const item of items) this.value(item);
      return this.op(0x84 + items.length); // TUPLE1..3
    }
    this.op(0x28);
    for (const item of items) this.value(item);
    this.op(0x74);
  }

  /** MARK items… OPCODE, in groups of BATCH (of `stride`-item entries). */
  private batches(items: PyValue[], code: number, stride = 1): void {
    for (let i = 0; i < items.length; i += BATCH * stride) {
      this.op(0x28);
      for (const item of items.slice(i, i + BATCH * stride)) this.value(item);
      this.op(code);
    }
  }
}
