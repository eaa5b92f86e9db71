import { Deque } from './deque';
import { MinHeap } from './minHeap';
import { Gcra, type RateLimit } from './rateLimit';
import { ReadyQueue } from './readyQueue';
import type { TaskRecord } from './taskRecord';

/** The limits of a queue (spec §7.22); a queue without any has no LimitedReady at all. */
export interface QueueLimits {
  rate: RateLimit | null;
  keyRate: RateLimit | null;
  /** 0 = no cap. */
  keyConcurrency: number;
}

export function hasLimits(limits: QueueLimits): boolean {
  return limits.rate !== null || limits.keyRate !== null || limits.keyConcurrency > 0;
}

/** Where a key's group is: which structure finds it when it may deliver again. */
const enum Place {
  /** No ready tasks: in no structure. */
  None,
  /** Has budget: in the round-robin line. */
  Eligible,
  /** Over its rate: in the heap, until `wakeAt`. */
  Waiting,
  /** At keyConcurrency: in the capped set, until one of its leases ends. */
  Capped,
}

/** The ready tasks of one rate key, and the key's limiter state. */
class KeyGroup {
  readonly tasks = new ReadyQueue<TaskRecord>();
  /** GCRA theoretical arrival time (ms) of the key. */
  tat = -Infinity;
  /** Its tasks leased now (for keyConcurrency). */
  leased = 0;
  place = Place.None;
  /** While Waiting: when its rate lets it deliver again (ms). */
  wakeAt = 0;
  constructor(readonly key: string) {}
}

/** Tasks without a rate key (or every task, when the queue has no per-key limit) share this group, held to the queue's rate only. */
const NO_KEY = '';

/**
 * The ready tasks of a queue with limits: one FIFO-by-priority per rate key, and the keys that
 * have ready tasks in one of three places — the round-robin line of keys with budget, a heap of
 * keys over their rate by the time budget returns, a set of keys at their concurrency cap. A
 * take serves the key at the head of the line (so one busy key cannot starve the others, and a
 * throttled key never holds up the tasks of another: no head-of-line blocking), in O(log keys).
 * Priority orders the tasks of one key; keys take turns.
 *
 * The same interface as ReadyQueue for what the engine does to every ready queue (push,
 * pushFront, peek, clear, length); takes go through take(), which honours the limits.
 */
export class LimitedReady {
  private readonly groups = new Map<string, KeyGroup>();
  private readonly line = new Deque<KeyGroup>();
  private readonly waiting = new MinHeap<{ at: number; group: KeyGroup }>((a, b) => a.at < b.at);
  private readonly capped = new Set<KeyGroup>();
  private readonly rate: Gcra | undefined;
  private readonly keyRate: Gcra | undefined;
  private readonly keyed: boolean;
  private globalTat = -Infinity;
  private count = 0;
  /** The latest time a take was asked for (the sweep's notion of now: this module reads no clock). */
  private lastNow = -Infinity;
  /** Group count that triggers the next sweep of idle groups. */
  private sweepAt = 1024;
  /** When the engine asked to be woken for this queue (ms); its deadline is live while this matches. */
  wakeAt: number | undefined = undefined;

  constructor(readonly limits: QueueLimits) {
    this.rate = limits.rate ? new Gcra(limits.rate) : undefined;
    this.keyRate = limits.keyRate ? new Gcra(limits.keyRate) : undefined;
    this.keyed = limits.keyRate !== null || limits.keyConcurrency > 0;
  }

  get length(): number {
    return this.count;
  }

  push(record: TaskRecord, priority: number): void {
    const group = this.groupOf(record);
    group.tasks.push(record, priority);
    this.count++;
    if (group.place === Place.None) this.place(group, -Infinity);
  }

  pushFront(record: TaskRecord, priority: number): void {
    const group = this.groupOf(record);
    group.tasks.pushFront(record, priority);
    this.count++;
    if (group.place === Place.None) this.place(group, -Infinity);
  }

  /**
   * The next task whose key (and the queue) has budget at `now`, or undefined. `leases`: the
   * task will be leased (it then counts against keyConcurrency until leaseEnded).
   */
  take(now: number, leases: boolean): TaskRecord | undefined {
    this.lastNow = now;
    if (this.count === 0) return undefined;
    if (this.rate && this.rate.allowedAt(this.globalTat) > now) return undefined;
    this.promote(now);
    const group = this.line.shift();
    if (group === undefined) return undefined;
    const record = group.tasks.shift()!;
    this.count--;
    if (this.rate) this.globalTat = this.rate.after(this.globalTat, now);
    if (group.key !== NO_KEY) {
      if (this.keyRate) group.tat = this.keyRate.after(group.tat, now);
      if (leases) group.leased++;
    }
    group.place = Place.None;
    if (group.tasks.length > 0) this.place(group, now);
    else this.forgetIfIdle(group, now);
    return record;
  }

  /** True when a take at `now` would find a task. */
  canTake(now: number): boolean {
    if (this.count === 0) return false;
    if (this.rate && this.rate.allowedAt(this.globalTat) > now) return false;
    this.promote(now);
    return this.line.length > 0;
  }

  /**
   * When a take may next succeed by the passing of time alone (ms), or undefined when nothing
   * is ready or only keyConcurrency holds the tasks back (a lease's end frees them).
   */
  budgetAt(now: number): number | undefined {
    if (this.count === 0) return undefined;
    const keyAt = this.line.length > 0 ? now : this.nextWaiting();
    if (keyAt === undefined) return undefined;
    const globalAt = this.rate ? this.rate.allowedAt(this.globalTat) : -Infinity;
    return Math.max(keyAt, globalAt, now);
  }

  /** A task of this queue taken with `leases` stopped being leased (ack, nack, expiry, release). */
  leaseEnded(record: TaskRecord): void {
    if (!this.keyed || record.rateKey === undefined) return;
    const group = this.groups.get(record.rateKey);
    if (!group || group.leased === 0) return;
    group.leased--;
    if (group.place === Place.Capped) {
      this.capped.delete(group);
      group.place = Place.None;
      this.place(group, -Infinity);
    }
  }

  /** Counts a lease taken before this limiter existed (the queue's limits were declared while it was held). */
  adoptLease(record: TaskRecord): void {
    if (this.keyed && record.rateKey !== undefined) this.groupOf(record).leased++;
  }

  /** How many ready tasks wait for budget (their key's, or the queue's) at `now`, rather than for a worker. */
  throttled(now: number): number {
    if (this.count === 0) return 0;
    if (this.rate && this.rate.allowedAt(this.globalTat) > now) return this.count;
    let held = 0;
    for (const group of this.capped) held += group.tasks.length;
    for (const group of this.groups.values()) if (group.place === Place.Waiting && group.wakeAt > now) held += group.tasks.length;
    return held;
  }

  /** The ready tasks in the order keys take turns (the next `max`), without removing them. */
  peek(max: number): TaskRecord[] {
    const lists = [...this.groups.values()].filter((group) => group.tasks.length > 0).map((group) => group.tasks.peek(max));
    const out: TaskRecord[] = [];
    for (let i = 0; out.length < max && lists.some((list) => i < list.length); i++) {
      for (const list of lists) if (i < list.length && out.length < max) out.push(list[i]!);
    }
    return out;
  }

  clear(): TaskRecord[] {
    const all: TaskRecord[] = [];
    for (const group of this.groups.values()) {
      group.tasks.clear(all);
      group.place = Place.None;
    }
    this.line.clear();
    this.capped.clear();
    while (this.waiting.pop() !== undefined);
    this.count = 0;
    return all;
  }

  private groupOf(record: TaskRecord): KeyGroup {
    const key = this.keyed ? (record.rateKey ?? NO_KEY) : NO_KEY;
    let group = this.groups.get(key);
    if (!group) {
      group = new KeyGroup(key);
      this.groups.set(key, group);
      if (this.groups.size >= this.sweepAt) this.sweep();
    }
    return group;
  }

  /** Puts a group that has ready tasks where it belongs at `now` (-Infinity: its rate is not checked now, only when it reaches the head of the line). */
  private place(group: KeyGroup, now: number): void {
    if (group.key !== NO_KEY && this.limits.keyConcurrency > 0 && group.leased >= this.limits.keyConcurrency) {
      group.place = Place.Capped;
      this.capped.add(group);
      return;
    }
    const at = group.key !== NO_KEY && this.keyRate ? this.keyRate.allowedAt(group.tat) : -Infinity;
    if (at > now && now !== -Infinity) {
      group.place = Place.Waiting;
      group.wakeAt = at;
      this.waiting.push({ at, group });
      return;
    }
    group.place = Place.Eligible;
    this.line.push(group);
  }

  /** Moves the keys whose rate allows them by `now` into the line; and checks the head's rate (groups placed without a time). */
  private promote(now: number): void {
    for (let top = this.waiting.peek(); top !== undefined && top.at <= now; top = this.waiting.peek()) {
      this.waiting.pop();
      if (top.group.place !== Place.Waiting || top.group.wakeAt !== top.at) continue;
      top.group.place = Place.Eligible;
      this.line.push(top.group);
    }
    // A group put in the line without a time (a push, a lease's end) may be over its rate:
    // those at the head go to the heap until the head is one that may deliver.
    for (let head = this.line.peekAt(0); head !== undefined; head = this.line.peekAt(0)) {
      if (head.key === NO_KEY || !this.keyRate || this.keyRate.allowedAt(head.tat) <= now) return;
      this.line.shift();
      head.place = Place.None;
      this.place(head, now);
    }
  }

  private nextWaiting(): number | undefined {
    for (let top = this.waiting.peek(); top !== undefined; top = this.waiting.peek()) {
      if (top.group.place === Place.Waiting && top.group.wakeAt === top.at) return top.at;
      this.waiting.pop();
    }
    return undefined;
  }

  /** A group with no ready task and no lease whose rate has fully recovered holds nothing worth keeping. */
  private forgetIfIdle(group: KeyGroup, now: number): void {
    if (group.leased === 0 && (this.keyRate === undefined || group.tat <= now)) this.groups.delete(group.key);
  }

  /** Drops idle groups (bounded memory with many keys over time): amortized O(1) per new group. */
  private sweep(): void {
    const now = this.lastNow;
    for (const group of this.groups.values()) {
      if (group.place === Place.None && group.tasks.length === 0 && group.leased === 0 && group.tat <= now) this.groups.delete(group.key);
    }
    this.sweepAt = Math.max(1024, 2 * this.groups.size);
  }
}
