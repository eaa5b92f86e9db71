/**
 * A FIFO with O(1) push at both ends and shift, backed by a growable ring buffer:
 * Array.prototype.shift is O(n) on large arrays, and queues here hold millions of tasks.
 */
export class Deque<T> {
  private buffer: (T | undefined)[] = new Array(16);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.buffer.length) this.grow();
    this.buffer[(this.head + this.count) & (this.buffer.length - 1)] = item;
    this.count++;
  }

  unshift(item: T): void {
    if (this.count === this.buffer.length) this.grow();
    this.head = (this.head - 1) & (this.buffer.length - 1);
    this.buffer[this.head] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.buffer[this.head];
    this.buffer[this.head] = undefined;
    this.head = (this.head + 1) & (this.buffer.length - 1);
    this.count--;
    return item;
  }

  peekAt(index: number): T | undefined {
    if (index < 0 || index >= this.count) return undefined;
    return this.buffer[(this.head + index) & (this.buffer.length - 1)];
  }

  /** Empties it, appending its items in order to `into` (a loop: a spread of a million items overflows the stack). */
  clear(into: T[] = []): T[] {
    const all = into;
    for (const item of this) all.push(item);
    this.buffer = new Array(16);
    this.head = 0;
    this.count = 0;
    return all;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.count; i++) yield this.buffer[(this.head + i) & (this.buffer.length - 1)] as T;
  }

  private grow(): void {
    const next: (T | undefined)[] = new Array(this.buffer.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.buffer[(this.head + i) & (this.buffer.length - 1)];
    this.buffer = next;
    this.head = 0;
  }
}
