import type { JsonText } from '../protocol/jsonText';
import { isoTime } from './isoTime';
import type { QueueState } from './queueState';
import type { RawTask, SessionId } from './types';
import type { KeptHold } from './uniqueKeys';

export const enum TaskState {
  Ready,
  Delayed,
  Leased,
  Gone,
}

/**
 * What few tasks have: a ttr or a retry limit of their own, a rate key, a uniqueness key, an
 * error from an earlier attempt, a dead-letter origin, crashes leased through. One object for a
 * task that has any of them, none for the rest: each field on TaskRecord itself costs every
 * queued task 8 bytes, and a million plain queued tasks must stay small (bench: ≤ 300 bytes of
 * manager memory per queued 20-byte task).
 */
class TaskExtras {
  lastError: string | undefined = undefined;
  deadLetteredFrom: string | undefined = undefined;
  crashes = 0;
  unique: KeptHold | undefined = undefined;
  constructor(
    readonly ttr: number | undefined,
    readonly maxAttempts: number | undefined,
    readonly rateKey: string | undefined,
  ) {}
}

/** Payloads of this many characters and more, up to HELD_AS_BYTES_BELOW, are held as bytes: see heldForm. */
const HELD_AS_BYTES_FROM = 16 * 1024;
const HELD_AS_BYTES_BELOW = 128 * 1024;

/**
 * How a task holds its payload's text: as it is, or as its UTF-8 bytes for a payload of 16 KiB
 * up to 128 KiB. V8 (Node 20) keeps a string below 128 KiB on the 256 KiB pages of its old
 * space, where a 64 KiB string fits three times and leaves a quarter of the page unused (87 KiB
 * of heap per queued 64 KiB payload, measured after a forced GC); a Buffer's bytes are one
 * allocation of their exact size outside the heap, and a larger string has pages of its own.
 * The price is an encode when the task is put (about 10 µs for 64 KiB) and a decode each time
 * its text is read (about 6 µs), small beside what moving 64 KiB through the manager costs;
 * below 16 KiB a string wastes at most a sixteenth of a page and a Buffer's own objects (about
 * 150 bytes) would weigh more. A JSON text is well-formed UTF-16 (decoded from UTF-8, or made
 * by JSON.stringify, which escapes lone surrogates), so the bytes decode to the same text.
 */
function heldForm(text: JsonText | undefined): JsonText | Buffer | undefined {
  if (text === undefined || text.length < HELD_AS_BYTES_FROM || text.length >= HELD_AS_BYTES_BELOW) return text;
  return Buffer.from(text, 'utf8');
}

/**
 * One task inside the engine. Every field is set in the constructor so all records share one
 * hidden class: a million queued tasks must stay small, so what few tasks have lives in
 * TaskExtras, read and written through the accessors below.
 */
export class TaskRecord {
  state = TaskState.Ready;
  attempt = 1;
  /**
   * When the task entered its present state (ms): ready since (put, came due, back after a
   * lease ended; 0 for a task restored from a data dir), due at (delayed: when it will be
   * ready), leased at (leased). One field for the three, so a queued task stays small; the
   * metrics' queue-wait and processing times read it from the get and ack events.
   */
  readyAt = 0;
  leaseSession: SessionId | undefined = undefined;
  /** When the lease ends (ms). */
  leaseUntil = 0;
  /** The lease length in force (s), reused by touch without ttr. */
  leaseTtr = 0;
  /**
   * What few tasks have (TaskExtras), or, for a task whose only extra is the common uniqueness
   * hold (scope queued, no ttl: uniqueKeys.ts), that hold's key string alone: a put with a
   * uniqueness key then allocates no extras object, which was a third of what such a put added
   * to the garbage collector's work (bench/unique.mjs).
   */
  private extras: TaskExtras | string | undefined;
  /** The payload (see the accessors): its text, or a large one's UTF-8 bytes. */
  private held: JsonText | Buffer | undefined;

  constructor(
    readonly id: string,
    public queue: QueueState,
    payload: JsonText | undefined,
    readonly priority: number,
    /** ms since the epoch. */
    readonly enqueuedAt: number,
    ttr: number | undefined,
    readonly replyTo: string | undefined,
    maxAttempts: number | undefined,
    /** Its payload's size in bytes (payloadBytes.ts), counted against the byte bounds until it leaves. */
    readonly bytes: number,
    rateKey: string | undefined,
  ) {
    this.extras = ttr === undefined && maxAttempts === undefined && rateKey === undefined ? undefined : new TaskExtras(ttr, maxAttempts, rateKey);
    this.held = heldForm(payload);
  }

  /** Its JSON text as the client sent it (types.ts); dropped (undefined) once the task is acked: see Engine.ack. */
  get payload(): JsonText | undefined {
    const held = this.held;
    return held === undefined || typeof held === 'string' ? held : (held.toString('utf8') as JsonText);
  }
  set payload(text: JsonText | undefined) {
    this.held = heldForm(text);
  }

  /** The extras object, if the task has one. */
  private get fullExtras(): TaskExtras | undefined {
    const extras = this.extras;
    return typeof extras === 'object' ? extras : undefined;
  }

  /** The extras object, made at the first write of a value a task without one lacks (keeping a key held alone). */
  private writableExtras(): TaskExtras {
    const extras = this.extras;
    if (typeof extras === 'object') return extras;
    const made = new TaskExtras(undefined, undefined, undefined);
    made.unique = extras;
    return (this.extras = made);
  }

  /** Its own lease length (s), when the put gave one. */
  get ttr(): number | undefined {
    return this.fullExtras?.ttr;
  }

  /** Its own retry limit, when the put gave one. */
  get maxAttempts(): number | undefined {
    return this.fullExtras?.maxAttempts;
  }

  /** Its rate key (spec §7.22), if it has one. */
  get rateKey(): string | undefined {
    return this.fullExtras?.rateKey;
  }

  /** The error of its last failed attempt. */
  get lastError(): string | undefined {
    return this.fullExtras?.lastError;
  }
  set lastError(error: string | undefined) {
    if (error !== undefined || typeof this.extras === 'object') this.writableExtras().lastError = error;
  }

  /** The queue it was dead-lettered from, in a dead-letter queue. */
  get deadLetteredFrom(): string | undefined {
    return this.fullExtras?.deadLetteredFrom;
  }
  set deadLetteredFrom(queue: string | undefined) {
    if (queue !== undefined || typeof this.extras === 'object') this.writableExtras().deadLetteredFrom = queue;
  }

  /** Manager crashes this task was leased through: see Engine.restore. */
  get crashes(): number {
    return this.fullExtras?.crashes ?? 0;
  }
  set crashes(count: number) {
    if (count !== 0 || typeof this.extras === 'object') this.writableExtras().crashes = count;
  }

  /** Its uniqueness key, when the put gave one (uniqueKeys.ts); dropped when it is dead-lettered. */
  get unique(): KeptHold | undefined {
    const extras = this.extras;
    return typeof extras === 'object' ? extras.unique : extras;
  }
  set unique(hold: KeptHold | undefined) {
    const extras = this.extras;
    if (typeof extras === 'object') extras.unique = hold;
    else if (typeof hold === 'object') this.writableExtras().unique = hold;
    else this.extras = hold;
  }

  /** The wire form, its payload still as text (the server writes it into the answer as it is). */
  toTask(): RawTask {
    const task: RawTask = {
      id: this.id,
      queue: this.queue.name,
      payload: this.payload!,
      attempt: this.attempt,
      priority: this.priority,
      enqueuedAt: isoTime(this.enqueuedAt),
    };
    if (this.state === TaskState.Leased) task.leaseUntil = isoTime(this.leaseUntil);
    if (this.replyTo !== undefined) task.replyTo = this.replyTo;
    if (this.lastError !== undefined) task.lastError = this.lastError;
    if (this.deadLetteredFrom !== undefined) task.deadLetteredFrom = this.deadLetteredFrom;
    return task;
  }
}
