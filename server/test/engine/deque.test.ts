import { strict as assert } from 'node:assert';
import { Deque } from '../../src/engine/deque';

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

describe('Deque', () => {
  it('starts empty', () => {
    const deque = new Deque<number>();
    assert.equal(deque.length, 0);
    assert.equal(deque.shift(), undefined);
    assert.equal(deque.peekAt(0), undefined);
    assert.deepEqual([...deque], []);
  });

  it('is FIFO through push and shift', () => {
    const deque = new Deque<string>();
    deque.push('a');
    deque.push('b');
    deque.push('c');
    assert.equal(deque.length, 3);
    assert.equal(deque.shift(), 'a');
    assert.equal(deque.shift(), 'b');
    assert.equal(deque.shift(), 'c');
    assert.equal(deque.shift(), undefined);
    assert.equal(deque.length, 0);
  });

  it('unshift puts an item at the head, even on an empty deque', () => {
    const deque = new Deque<string>();
    deque.unshift('b');
    deque.push('c');
    deque.unshift('a');
    assert.deepEqual([...deque], ['a', 'b', 'c']);
    assert.equal(deque.shift(), 'a');
  });

  it('grows past its initial capacity from either end and keeps the order', () => {
    const deque = new Deque<number>();
    for (let i = 0; i < 100; i++) deque.push(i);
    for (let i = -1; i >= -100; i--) deque.unshift(i);
    assert.equal(deque.length, 200);
    assert.deepEqual(
      [...deque],
      Array.from({ length: 200 }, (_, i) => i - 100),
    );
  });

  it('keeps the order when the ring wraps around before growing', () => {
    const deque = new Deque<number>();
    // Move the head into the middle of the buffer, then fill past the end so it wraps, then grow.
    for (let i = 0; i < 10; i++) deque.push(i);
    for (let i = 0; i < 8; i++) deque.shift();
    for (let i = 10; i < 40; i++) deque.push(i);
    assert.deepEqual(
      [...deque],
      Array.from({ length: 32 }, (_, i) => i + 8),
    );
    assert.equal(deque.peekAt(0), 8);
    assert.equal(deque.peekAt(31), 39);
  });

  it('peekAt reads by position without removing, and is undefined out of range', () => {
    const deque = new Deque<string>();
    deque.push('a');
    deque.push('b');
    assert.equal(deque.peekAt(0), 'a');
    assert.equal(deque.peekAt(1), 'b');
    assert.equal(deque.peekAt(2), undefined);
    assert.equal(deque.peekAt(-1), undefined);
    assert.equal(deque.length, 2);
  });

  it('clear returns everything in order and leaves a usable empty deque', () => {
    const deque = new Deque<number>();
    deque.push(2);
    deque.push(3);
    deque.unshift(1);
    assert.deepEqual(deque.clear(), [1, 2, 3]);
    assert.equal(deque.length, 0);
    assert.equal(deque.shift(), undefined);
    deque.push(4);
    assert.deepEqual([...deque], [4]);
  });

  it('does not keep references to shifted items', () => {
    const deque = new Deque<object>();
    deque.push({});
    deque.shift();
    const buffer = (deque as unknown as { buffer: unknown[] }).buffer;
    assert.ok(buffer.every((slot) => slot === undefined));
  });

  it('behaves like an array under a long random mix of operations', () => {
    const random = seededRandom(42);
    const deque = new Deque<number>();
    const model: number[] = [];
    for (let step = 0; step < 20_000; step++) {
      const choice = random();
      if (choice < 0.4) {
        deque.push(step);
        model.push(step);
      } else if (choice < 0.6) {
        deque.unshift(step);
        model.unshift(step);
      } else {
        assert.equal(deque.shift(), model.shift());
      }
      assert.equal(deque.length, model.length);
      const probe = Math.floor(random() * (model.length + 1));
      assert.equal(deque.peekAt(probe), model[probe]);
    }
    assert.deepEqual([...deque], model);
  });
});
