// The Python values the multiprocessing listener reads and writes: the few types a queue's
// items and the manager's requests are made of, and nothing else. A pickle that holds anything
// beyond them is refused by the reader (pickleReader.ts), never turned into an object.
//
// Python int and float are told apart by their JavaScript type: an int is a bigint (any size
// while in Python form; JSON takes only those that fit a double exactly), a float a number.

/** A Python tuple (a JavaScript array is a Python list). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A Python set or frozenset: its items, in the order the pickle listed them. */
export class PySet {
  constructor(readonly items: PyValue[]) {}
}

/** A Python dict; only str keys are accepted (they become JSON object keys). */
export type PyDict = Map<string, PyValue>;

/**
 * An exception a reply carries (`('#ERROR', exc)`), which the client raises as it is: only
 * queue.Empty, queue.Full and ValueError, by the module and name they pickle under.
 */
export class PyException {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly args: PyValue[] = [],
  ) {}
}

/**
 * multiprocessing.managers.Token, the argument of the manager's get_methods: read as the
 * plain data of its state (typeid, address, id), never instantiated.
 */
export class PyToken {
  constructor(
    readonly typeid: PyValue,
    readonly address: PyValue,
    readonly id: PyValue,
  ) {}
}

export type PyValue = null | boolean | bigint | number | string | Buffer | PyTuple | PyValue[] | PyDict | PySet | PyException | PyToken;

/** queue.Empty pickles as `_queue.Empty` (the C module's class, since 3.7), queue.Full as `queue.Full`. */
export const QUEUE_EMPTY = new PyException('_queue', 'Empty');
export const QUEUE_FULL = new PyException('queue', 'Full');

/** A short description of a value's Python type, for error messages. */
export function pyTypeName(value: PyValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'float';
  if (typeof value === 'string') return 'str';
  if (Buffer.isBuffer(value)) return 'bytes';
  if (value instanceof PyTuple) return 'tuple';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Map) return 'dict';
  if (value instanceof PySet) return 'set';
  if (value instanceof PyException) return `${value.module}.${value.name}`;
  return 'multiprocessing.managers.Token';
}
