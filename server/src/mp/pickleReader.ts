// A restricted pickle reader: it reads pickles of protocols 2-5 made only of the types in
// pyValue.ts, and refuses everything else with a PickleError naming what it met. It is a
// parser of data, not Python's unpickler: no opcode looks anything up by name, calls, imports or
// instantiates. The few globals it knows (set, frozenset, bytes and _codecs.encode for protocol 2's bytes,
// queue.Empty/Full, multiprocessing.managers.Token) are matched by name and stand for a shape
// of data; any other global, REDUCE of anything else, BUILD (but a Token's state), persistent
// ids, extensions and out-of-band buffers are refused.
import { isAscii, isUtf8 } from 'node:buffer';
import { PyException, PySet, PyToken, PyTuple, pyTypeName, type PyDict, type PyValue } from './pyValue';

/** Why a pickle was refused; the message is what the client sees. */
export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleError';
  }
}

/** Opcode names, for messages (the names of Lib/pickletools.py). */
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK',
  0x2e: 'STOP',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4a: 'BININT',
  0x4b: 'BININT1',
  0x4c: 'LONG',
  0x4d: 'BININT2',
  0x4e: 'NONE',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x52: 'REDUCE',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x58: 'BINUNICODE',
  0x61: 'APPEND',
  0x62: 'BUILD',
  0x63: 'GLOBAL',
  0x64: 'DICT',
  0x7d: 'EMPTY_DICT',
  0x65: 'APPENDS',
  0x67: 'GET',
  0x68: 'BINGET',
  0x69: 'INST',
  0x6a: 'LONG_BINGET',
  0x6c: 'LIST',
  0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x73: 'SETITEM',
  0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE',
  0x75: 'SETITEMS',
  0x47: 'BINFLOAT',
  0x80: 'PROTO',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE',
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** Why each refused opcode is refused. */
const REFUSED: Record<number, string> = {
  0x50: 'persistent ids are not accepted',
  0x51: 'persistent ids are not accepted',
  0x69: 'it instantiates a class',
  0x6f: 'it instantiates a class',
  0x62: 'it sets the state of an object',
  0x82: 'extension codes are not accepted',
  0x83: 'extension codes are not accepted',
  0x84: 'extension codes are not accepted',
  0x92: 'it instantiates a class',
  0x96: 'bytearray is not one of the accepted types (send bytes)',
  0x97: 'out-of-band buffers are not accepted',
  0x98: 'out-of-band buffers are not accepted',
  0x53: 'Python 2 str is not accepted (send str or bytes)',
  0x54: 'Python 2 str is not accepted (send str or bytes)',
  0x55: 'Python 2 str is not accepted (send str or bytes)',
  0x56: 'protocol 0 text strings are not accepted (protocols 2-5 send BINUNICODE)',
};

/** The globals the reader knows, each standing for a shape of data; nothing is looked up. */
type Known = { kind: 'set'; frozen: boolean } | { kind: 'bytes' } | { kind: 'encode' } | { kind: 'exception'; module: string; name: string } | { kind: 'token' };

class KnownGlobal {
  constructor(readonly known: Known) {}
}

/** A Token after NEWOBJ, waiting for its state from BUILD. */
class PendingToken {}

const MARK = Symbol('mark');
type StackItem = PyValue | KnownGlobal | PendingToken | typeof MARK;

function knownGlobal(module: string, name: string): KnownGlobal {
  const builtins = module === 'builtins' || module === '__builtin__';
  if (builtins && (name === 'set' || name === 'frozenset')) return new KnownGlobal({ kind: 'set', frozen: name === 'frozenset' });
  if (builtins && name === 'bytes') return new KnownGlobal({ kind: 'bytes' });
  if (module === '_codecs' && name === 'encode') return new KnownGlobal({ kind: 'encode' });
  if ((module === '_queue' || module === 'queue') && name === 'Empty') return new KnownGlobal({ kind: 'exception', module: '_queue', name: 'Empty' });
  if (module === 'queue' && name === 'Full') return new KnownGlobal({ kind: 'exception', module: 'queue', name: 'Full' });
  if (module === 'multiprocessing.managers' && name === 'Token') return new KnownGlobal({ kind: 'token' });
  const shown = `${module}.${name}`;
  throw new PickleError(`forbidden global ${shown.length > 80 ? `${shown.slice(0, 80)}…` : shown}: only None, bool, int, float, str, bytes, tuple, list, dict, set are accepted`);
}

export interface PickleReadOptions {
  /** Most memo entries (default 1,000,000): each costs an opcode, so the message's size bounds them too. */
  maxMemo?: number;
}

/** Reads one pickle that must fill `data` exactly; throws PickleError when it is refused. */
export function readPickle(data: Uint8Array, options: PickleReadOptions = {}): PyValue {
  return new Reader(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength), options.maxMemo ?? 1_000_000).read();
}

class Reader {
  private pos = 0;
  private readonly stack: StackItem[] = [];
  private readonly memo = new Map<number, StackItem>();

  constructor(
    private readonly data: Buffer,
    private readonly maxMemo: number,
  ) {}

  read(): PyValue {
    if (this.data.length === 0) throw new PickleError('empty pickle');
    if (this.data[0] !== 0x80) throw new PickleError('protocol 0 and 1 pickles are not accepted: the first opcode must be PROTO (protocols 2-5)');
    for (;;) {
      const at = this.pos;
      const op = this.byte('an opcode');
      if (op === 0x2e) return this.stop();
      this.step(op, at);
    }
  }

  private stop(): PyValue {
    if (this.pos !== this.data.length) throw new PickleError(`${this.data.length - this.pos} bytes after STOP`);
    if (this.stack.length !== 1) throw new PickleError(`STOP with ${this.stack.length} items on the stack (a pickle leaves exactly one)`);
    return this.value(this.stack.pop()!, 'STOP');
  }

  private step(op: number, at: number): void {
    switch (op) {
      case 0x80: {
        const version = this.byte('PROTO');
        if (at !== 0) throw new PickleError(`PROTO at offset ${at}: only at the start`);
        if (version < 2 || version > 5) throw new PickleError(`pickle protocol ${version} is not accepted: protocols 2-5 are`);
        return;
      }
      case 0x95: {
        // FRAME: a hint for buffering; the frame's bytes must be there.
        const length = this.uint64('FRAME');
        if (length > this.data.length - this.pos) throw new PickleError(`truncated pickle: FRAME of ${length} bytes at offset ${at}, ${this.data.length - this.pos} left`);
        return;
      }
      case 0x28:
        this.stack.push(MARK);
        return;
      case 0x30:
        this.need(1, 'POP');
        this.stack.pop();
        return;
      case 0x31:
        this.popMark('POP_MARK');
        return;
      case 0x32:
        this.need(1, 'DUP');
        this.stack.push(this.stack[this.stack.length - 1]!);
        return;
      case 0x4e:
        this.stack.push(null);
        return;
      case 0x88:
        this.stack.push(true);
        return;
      case 0x89:
        this.stack.push(false);
        return;
      case 0x4a:
        this.stack.push(BigInt(this.data.readInt32LE(this.advance(4, 'BININT'))));
        return;
      case 0x4b:
        this.stack.push(BigInt(this.byte('BININT1')));
        return;
      case 0x4d:
        this.stack.push(BigInt(this.data.readUInt16LE(this.advance(2, 'BININT2'))));
        return;
      case 0x8a:
        this.stack.push(this.long(this.byte('LONG1'), 'LONG1'));
        return;
      case 0x8b: {
        const n = this.bytes(4, 'LONG4').readInt32LE(0);
        if (n < 0) throw new PickleError(`LONG4 with a negative length ${n}`);
        this.stack.push(this.long(n, 'LONG4'));
        return;
      }
      case 0x49: {
        const line = this.line('INT');
        if (line === '00') this.stack.push(false);
        else if (line === '01') this.stack.push(true);
        else this.stack.push(decimal(line, 'INT'));
        return;
      }
      case 0x4c:
        this.stack.push(decimal(this.line('LONG').replace(/L$/, ''), 'LONG'));
        return;
      case 0x46: {
        const line = this.line('FLOAT');
        if (!/^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|inf|nan)$/i.test(line)) throw new PickleError(`FLOAT with an invalid text ${JSON.stringify(line.slice(0, 40))}`);
        this.stack.push(Number(line.replace(/^([-+]?)inf$/i, '$1Infinity').replace(/^[-+]?nan$/i, 'NaN')));
        return;
      }
      case 0x47:
        this.stack.push(this.data.readDoubleBE(this.advance(8, 'BINFLOAT')));
        return;
      case 0x58:
        this.stack.push(this.utf8(this.uint32('BINUNICODE'), 'BINUNICODE'));
        return;
      case 0x8c:
        this.stack.push(this.utf8(this.byte('SHORT_BINUNICODE'), 'SHORT_BINUNICODE'));
        return;
      case 0x8d:
        this.stack.push(this.utf8(this.uint64('BINUNICODE8'), 'BINUNICODE8'));
        return;
      case 0x42:
        this.stack.push(Buffer.from(this.bytes(this.uint32('BINBYTES'), 'BINBYTES')));
        return;
      case 0x43:
        this.stack.push(Buffer.from(this.bytes(this.byte('SHORT_BINBYTES'), 'SHORT_BINBYTES')));
        return;
      case 0x8e:
        this.stack.push(Buffer.from(this.bytes(this.uint64('BINBYTES8'), 'BINBYTES8')));
        return;
      case 0x29:
        this.stack.push(new PyTuple([]));
        return;
      case 0x85:
      case 0x86:
      case 0x87: {
        const n = op - 0x84;
        this.need(n, OPCODE_NAMES[op]!);
        const items = this.stack.splice(this.stack.length - n, n).map((item) => this.value(item, OPCODE_NAMES[op]!));
        this.stack.push(new PyTuple(items));
        return;
      }
      case 0x74:
        this.stack.push(new PyTuple(this.popMark('TUPLE')));
        return;
      case 0x5d:
        this.stack.push([]);
        return;
      case 0x6c:
        this.stack.push(this.popMark('LIST'));
        return;
      case 0x61: {
        const item = this.pop('APPEND');
        this.list('APPEND').push(item);
        return;
      }
      case 0x65: {
        const items = this.popMark('APPENDS');
        const list = this.list('APPENDS');
        for (const item of items) list.push(item);
        return;
      }
      case 0x7d:
        this.stack.push(new Map());
        return;
      case 0x64: {
        const dict: PyDict = new Map();
        this.setItems(dict, this.popMark('DICT'), 'DICT');
        this.stack.push(dict);
        return;
      }
      case 0x73: {
        const value = this.pop('SETITEM');
        const key = this.pop('SETITEM');
        this.setItems(this.dict('SETITEM'), [key, value], 'SETITEM');
        return;
      }
      case 0x75: {
        const items = this.popMark('SETITEMS');
        this.setItems(this.dict('SETITEMS'), items, 'SETITEMS');
        return;
      }
      case 0x8f:
        this.stack.push(new PySet([]));
        return;
      case 0x90: {
        const items = this.popMark('ADDITEMS');
        const top = this.top('ADDITEMS');
        if (!(top instanceof PySet)) throw new PickleError(`ADDITEMS to a ${describe(top)}`);
        for (const item of items) top.items.push(item);
        return;
      }
      case 0x91:
        this.stack.push(new PySet(this.popMark('FROZENSET')));
        return;
      case 0x94:
        this.remember(this.memo.size, 'MEMOIZE');
        return;
      case 0x70:
        this.remember(memoIndex(this.line('PUT'), 'PUT'), 'PUT');
        return;
      case 0x71:
        this.remember(this.byte('BINPUT'), 'BINPUT');
        return;
      case 0x72:
        this.remember(this.uint32('LONG_BINPUT'), 'LONG_BINPUT');
        return;
      case 0x67:
        this.recall(memoIndex(this.line('GET'), 'GET'), 'GET');
        return;
      case 0x68:
        this.recall(this.byte('BINGET'), 'BINGET');
        return;
      case 0x6a:
        this.recall(this.uint32('LONG_BINGET'), 'LONG_BINGET');
        return;
      case 0x63: {
        const module = this.line('GLOBAL');
        const name = this.line('GLOBAL');
        this.stack.push(knownGlobal(module, name));
        return;
      }
      case 0x93: {
        const name = this.pop('STACK_GLOBAL');
        const module = this.pop('STACK_GLOBAL');
        if (typeof module !== 'string' || typeof name !== 'string') throw new PickleError('STACK_GLOBAL needs two str on the stack');
        this.stack.push(knownGlobal(module, name));
        return;
      }
      case 0x52:
        this.reduce();
        return;
      case 0x81:
        this.newObject();
        return;
      case 0x62:
        this.build();
        return;
      default: {
        const name = OPCODE_NAMES[op];
        if (name === undefined) throw new PickleError(`unknown opcode 0x${op.toString(16).padStart(2, '0')} at offset ${at}`);
        throw new PickleError(`opcode ${name} at offset ${at} is not accepted: ${REFUSED[op] ?? 'not part of the accepted types'}`);
      }
    }
  }

  /** REDUCE: only set(iterable), frozenset(iterable), _codecs.encode(str, 'latin1') and the known exceptions. */
  private reduce(): void {
    const args = this.pop('REDUCE');
    const callable = this.stack.pop();
    if (!(callable instanceof KnownGlobal)) throw new PickleError(`REDUCE of a ${callable === undefined ? 'missing callable' : describe(callable)} is not accepted`);
    if (!(args instanceof PyTuple)) throw new PickleError(`REDUCE with ${describe(args)} arguments (a tuple is needed)`);
    const known = callable.known;
    switch (known.kind) {
      case 'set': {
        if (args.items.length === 0) return void this.stack.push(new PySet([]));
        const [iterable] = args.items;
        if (args.items.length !== 1 || !(Array.isArray(iterable) || iterable instanceof PyTuple || iterable instanceof PySet)) throw new PickleError('set() takes one list, tuple or set');
        this.stack.push(new PySet([...(Array.isArray(iterable) ? iterable : iterable!.items)]));
        return;
      }
      case 'bytes':
        // Protocol 2 writes b'' as bytes().
        if (args.items.length !== 0) throw new PickleError('bytes() is accepted only without arguments, as protocol 2 writes b""');
        this.stack.push(Buffer.alloc(0));
        return;
      case 'encode': {
        const [text, encoding] = args.items;
        if (args.items.length !== 2 || typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1'))
          throw new PickleError("_codecs.encode is accepted only as protocol 2 writes bytes: encode(str, 'latin1')");
        for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) throw new PickleError('_codecs.encode of a str beyond latin-1');
        this.stack.push(Buffer.from(text, 'latin1'));
        return;
      }
      case 'exception':
        this.stack.push(new PyException(known.module, known.name, args.items));
        return;
      case 'token':
        throw new PickleError('multiprocessing.managers.Token is accepted only as NEWOBJ with its state (as pickle writes it)');
    }
  }

  /** NEWOBJ: only of multiprocessing.managers.Token, with no arguments; its state follows in BUILD. */
  private newObject(): void {
    const args = this.pop('NEWOBJ');
    const cls = this.stack.pop();
    if (!(cls instanceof KnownGlobal) || cls.known.kind !== 'token' || !(args instanceof PyTuple) || args.items.length !== 0) {
      throw new PickleError(`opcode NEWOBJ is not accepted: it instantiates a class (of ${cls === undefined ? 'nothing' : describe(cls)})`);
    }
    this.stack.push(new PendingToken());
  }

  /** BUILD: only a Token's state (typeid, address, id); anything else sets an object's state. */
  private build(): void {
    const state = this.pop('BUILD');
    const target = this.stack[this.stack.length - 1];
    if (!(target instanceof PendingToken)) throw new PickleError(`opcode BUILD is not accepted: it sets the state of an object (a ${target === undefined ? 'missing object' : describe(target)})`);
    if (!(state instanceof PyTuple) || state.items.length !== 3) throw new PickleError("a Token's state must be (typeid, address, id)");
    const [typeid, address, id] = state.items as [PyValue, PyValue, PyValue];
    this.stack[this.stack.length - 1] = new PyToken(typeid, address, id);
  }

  private setItems(dict: PyDict, items: PyValue[], op: string): void {
    if (items.length % 2 !== 0) throw new PickleError(`${op} with an odd number of items`);
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i]!;
      if (typeof key !== 'string') throw new PickleError(`dict keys must be str (got a ${pyTypeName(key)}): a dict becomes a JSON object`);
      dict.set(key, items[i + 1]!);
    }
  }

  private list(op: string): PyValue[] {
    const top = this.top(op);
    if (!Array.isArray(top)) throw new PickleError(`${op} to a ${describe(top)}`);
    return top;
  }

  private dict(op: string): PyDict {
    const top = this.top(op);
    if (!(top instanceof Map)) throw new PickleError(`${op} to a ${describe(top)}`);
    return top;
  }

  private top(op: string): StackItem {
    this.need(1, op);
    return this.stack[this.stack.length - 1]!;
  }

  private pop(op: string): PyValue {
    this.need(1, op);
    return this.value(this.stack.pop()!, op);
  }

  /** The items above the topmost MARK, which is removed with them. */
  private popMark(op: string): PyValue[] {
    const at = this.stack.lastIndexOf(MARK);
    if (at < 0) throw new PickleError(`${op} without a MARK`);
    const items = this.stack.splice(at);
    items.shift();
    return items.map((item) => this.value(item, op));
  }

  private value(item: StackItem, op: string): PyValue {
    if (item === MARK) throw new PickleError(`${op} found a MARK where a value was expected`);
    if (item instanceof KnownGlobal || item instanceof PendingToken) throw new PickleError(`${op} found a ${describe(item)} where a value was expected`);
    return item;
  }

  private need(n: number, op: string): void {
    if (this.stack.length < n) throw new PickleError(`${op} on a stack of ${this.stack.length} items (needs ${n})`);
  }

  private remember(index: number, op: string): void {
    const top = this.top(op);
    if (top === MARK) throw new PickleError(`${op} of a MARK`);
    if (!this.memo.has(index) && this.memo.size >= this.maxMemo) throw new PickleError(`more than ${this.maxMemo} memo entries`);
    this.memo.set(index, top);
  }

  private recall(index: number, op: string): void {
    const item = this.memo.get(index);
    if (item === undefined) throw new PickleError(`${op} of memo entry ${index}, which was never stored`);
    this.stack.push(item);
  }

  private long(n: number, op: string): bigint {
    // Two's complement, little-endian; beyond 16 bytes it is far past what JSON takes.
    if (n > 16) throw new PickleError(`${op} of ${n} bytes: integers beyond 64 bits are not accepted (they have no exact JSON number)`);
    const bytes = this.bytes(n, op);
    if (n === 0) return 0n;
    let value = 0n;
    for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
    if (bytes[n - 1]! & 0x80) value -= 1n << BigInt(8 * n);
    return value;
  }

  private byte(op: string): number {
    if (this.pos >= this.data.length) throw new PickleError(`truncated pickle: ${op} at offset ${this.pos} needs 1 more byte`);
    return this.data[this.pos++]!;
  }

  private bytes(n: number, op: string): Buffer {
    if (n > this.data.length - this.pos) throw new PickleError(`truncated pickle: ${op} needs ${n} bytes at offset ${this.pos}, ${this.data.length - this.pos} left`);
    const bytes = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return bytes;
  }

  /** Moves past `n` bytes that must be there; returns where they start. */
  private advance(n: number, op: string): number {
    if (n > this.data.length - this.pos) throw new PickleError(`truncated pickle: ${op} needs ${n} bytes at offset ${this.pos}, ${this.data.length - this.pos} left`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private uint32(op: string): number {
    return this.data.readUInt32LE(this.advance(4, op));
  }

  private uint64(op: string): number {
    const value = this.data.readBigUInt64LE(this.advance(8, op));
    // Any length beyond what is left fails in bytes(); this keeps it a safe number first.
    return value > BigInt(this.data.length) ? this.data.length + 1 : Number(value);
  }

  private utf8(n: number, op: string): string {
    const start = this.advance(n, op);
    const end = start + n;
    // Most strs are ASCII, decoded as latin1 without the UTF-8 validator. A short one is checked
    // here (a view would cost more); a long one natively (a 64 KiB str: 0.8 µs against 49 µs).
    let ascii = true;
    if (n > SHORT_STR) ascii = isAscii(this.data.subarray(start, end));
    else {
      for (let i = start; i < end; i++) {
        if (this.data[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
    }
    if (ascii) return this.data.toString('latin1', start, end);
    if (!isUtf8(this.data.subarray(start, end))) throw new PickleError(`${op} with invalid UTF-8`);
    return this.data.toString('utf8', start, end);
  }

  /** A text opcode's argument: up to the newline, within 256 bytes. */
  private line(op: string): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > 256) throw new PickleError(`truncated pickle: ${op} at offset ${this.pos} without a newline within 256 bytes`);
    const text = this.data.toString('latin1', this.pos, end);
    this.pos = end + 1;
    return text;
  }
}

/** The longest str whose bytes utf8() checks in a loop rather than through a view. */
const SHORT_STR = 64;

function decimal(text: string, op: string): bigint {
  if (!/^[-+]?\d{1,40}$/.test(text)) throw new PickleError(`${op} with an invalid or too long number ${JSON.stringify(text.slice(0, 40))}`);
  return BigInt(text);
}

function memoIndex(text: string, op: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new PickleError(`${op} with an invalid memo index ${JSON.stringify(text.slice(0, 40))}`);
  return Number(text);
}

function describe(item: StackItem): string {
  if (item === MARK) return 'MARK';
  if (item instanceof KnownGlobal) return item.known.kind === 'exception' ? `${item.known.module}.${item.known.name}` : `global (${item.known.kind})`;
  if (item instanceof PendingToken) return 'Token';
  return pyTypeName(item);
}
