import { strict as assert } from 'node:assert';
import { MinHeap } from '../../src/engine/minHeap';

interface Timer {
  at: number;
  seq: number;
}

/** The engine's timer order: earliest first, ties by insertion sequence. */
const byTimeThenSeq = (a: Timer, b: Timer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** A small deterministic PRNG (mulberry32) so randomized tests always run the same sequence. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function drain<T>(heap: MinHeap<T>): T[] {
  const out: T[] = [];
  for (let item = heap.pop(); item !== undefined; item = heap.pop()) out.push(item);
  return out;
}

describe('MinHeap', () => {
  it('starts empty', () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    assert.equal(heap.size, 0);
    assert.equal(heap.peek(), undefined);
    assert.equal(heap.pop(), undefined);
    assert.deepEqual(heap.values(), []);
  });

  it('pops in comparator order and peek shows the next without removing it', () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const n of [5, 3, 8, 1, 9, 2, 7]) heap.push(n);
    assert.equal(heap.size, 7);
    assert.equal(heap.peek(), 1);
    assert.equal(heap.size, 7);
    assert.deepEqual(drain(heap), [1, 2, 3, 5, 7, 8, 9]);
    assert.equal(heap.size, 0);
  });

  it('keeps duplicates', () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const n of [2, 1, 2, 1]) heap.push(n);
    assert.deepEqual(drain(heap), [1, 1, 2, 2]);
  });

  it('orders equal times by sequence when the comparator says so (the engine relies on it for FIFO)', () => {
    const heap = new MinHeap<Timer>(byTimeThenSeq);
    const timers = [5, 1, 5, 1, 5, 3].map((at, seq) => ({ at, seq }));
    for (const timer of timers) heap.push(timer);
    assert.deepEqual(
      drain(heap).map((t) => t.seq),
      [1, 3, 5, 0, 2, 4],
    );
  });

  it('removeWhere returns what it removed and keeps the rest in order', () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    for (let n = 20; n > 0; n--) heap.push(n);
    const removed = heap.removeWhere((n) => n % 3 === 0);
    assert.deepEqual(
      [...removed].sort((a, b) => a - b),
      [3, 6, 9, 12, 15, 18],
    );
    assert.equal(heap.size, 14);
    assert.deepEqual(drain(heap), [1, 2, 4, 5, 7, 8, 10, 11, 13, 14, 16, 17, 19, 20]);
  });

  it('removeWhere that matches nothing changes nothing', () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const n of [3, 1, 2]) heap.push(n);
    assert.deepEqual(
      heap.removeWhere(() => false),
      [],
    );
    assert.deepEqual(drain(heap), [1, 2, 3]);
  });

  it('retain keeps what passes, in order, and the heap stays a heap for later pushes and pops', () => {
    const heap = new MinHeap<Timer>(byTimeThenSeq);
    const random = seededRandom(7);
    const all: Timer[] = Array.from({ length: 500 }, (_, seq) => ({ at: Math.floor(random() * 50), seq }));
    for (const timer of all) heap.push(timer);
    heap.retain((t) => t.seq % 3 !== 0);
    const late: Timer[] = [
      { at: 0, seq: 1000 },
      { at: 25, seq: 1001 },
      { at: 99, seq: 1002 },
    ];
    for (const timer of late) heap.push(timer);
    const expected = [...all.filter((t) => t.seq % 3 !== 0), ...late].sort((a, b) => a.at - b.at || a.seq - b.seq);
    assert.deepEqual(drain(heap), expected);
  });

  it('retain that keeps nothing empties the heap', () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const n of [3, 1, 2]) heap.push(n);
    heap.retain(() => false);
    assert.equal(heap.size, 0);
    assert.equal(heap.pop(), undefined);
  });

  it('values lists every item', () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const n of [3, 1, 2]) heap.push(n);
    assert.deepEqual([...heap.values()].sort(), [1, 2, 3]);
  });

  it('agrees with sorting under a long random mix of pushes, pops and removals', () => {
    const random = seededRandom(7);
    const heap = new MinHeap<Timer>(byTimeThenSeq);
    let model: Timer[] = [];
    for (let seq = 0; seq < 5000; seq++) {
      const choice = random();
      if (choice < 0.6) {
        const timer = { at: Math.floor(random() * 100), seq };
        heap.push(timer);
        model.push(timer);
      } else if (choice < 0.97) {
        model.sort((a, b) => (byTimeThenSeq(a, b) ? -1 : 1));
        assert.equal(heap.pop(), model.shift());
      } else {
        const cutoff = Math.floor(random() * 100);
        const removed = heap.removeWhere((t) => t.at < cutoff);
        assert.equal(removed.length, model.filter((t) => t.at < cutoff).length);
        model = model.filter((t) => t.at >= cutoff);
      }
      assert.equal(heap.size, model.length);
    }
    model.sort((a, b) => (byTimeThenSeq(a, b) ? -1 : 1));
    assert.deepEqual(drain(heap), model);
  });
});
