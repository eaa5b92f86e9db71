import { Deque } from './deque';

/**
 * Ready tasks in delivery order: higher priority first, FIFO within a priority.
 * One FIFO per priority level instead of one heap keeps the common case (everything at
 * priority 0) at O(1) per operation with no comparisons.
 */
export class ReadyQueue<T> {
  private readonly buckets = new Map<number, Deque<T>>();
  /** Priorities that have a bucket, highest first. */
  private levels: number[] = [];
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T, priority: number): void {
    this.bucket(priority).push(item);
    this.count++;
  }

  /** Puts an item back at the head of its priority level (a delivery that could not be made). */
  pushFront(item: T, priority: number): void {
    this.bucket(priority).unshift(item);
    this.count++;
  }

  shift(): T | undefined {
    while (this.levels.length > 0) {
      const level = this.levels[0]!;
      const bucket = this.buckets.get(level)!;
      const item = bucket.shift();
      if (item !== undefined) {
        this.count--;
        if (bucket.length === 0) this.dropLevel(level);
        return item;
      }
      this.dropLevel(level);
    }
    return undefined;
  }

  /** The first `max` items in delivery order, without removing them. */
  peek(max: number): T[] {
    const out: T[] = [];
    for (const level of this.levels) {
      for (const item of this.buckets.get(level)!) {
        if (out.length >= max) return out;
        out.push(item);
      }
    }
    return out;
  }

  clear(into: T[] = []): T[] {
    const all = into;
    for (const level of this.levels) this.buckets.get(level)!.clear(all);
    this.buckets.clear();
    this.levels = [];
    this.count = 0;
    return all;
  }

  private bucket(priority: number): Deque<T> {
    let bucket = this.buckets.get(priority);
    if (!bucket) {
      bucket = new Deque<T>();
      this.buckets.set(priority, bucket);
      let i = 0;
      while (i < this.levels.length && this.levels[i]! > priority) i++;
      this.levels.splice(i, 0, priority);
    }
    return bucket;
  }

  private dropLevel(level: number): void {
    this.buckets.delete(level);
    this.levels.splice(this.levels.indexOf(level), 1);
  }
}
