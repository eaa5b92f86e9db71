import { strict as assert } from 'node:assert';
import { KeyTable, keyHash } from '../../src/engine/keyTable';

// The open-addressing table behind a queue's uniqueness keys, held to a Map through every
// operation: growth, shrinking, deletion in the middle of runs, and a flood of colliding keys.

interface Holder {
  key: string;
  n: number;
}

const table = (seed?: number) => new KeyTable<Holder>((holder) => holder.key, seed);

/** `count` keys whose slots in a table of `capacity` slots all start at the same place under `seed`. */
function collidingKeys(seed: number, capacity: number, count: number): string[] {
  const keys: string[] = [];
  const home = keyHash('k-0', seed) & (capacity - 1);
  for (let i = 0; keys.length < count; i++) if ((keyHash(`k-${i}`, seed) & (capacity - 1)) === home) keys.push(`k-${i}`);
  return keys;
}

describe('KeyTable', () => {
  it('gets, sets, replaces and deletes by key, and counts its members', () => {
    const t = table();
    assert.equal(t.get('a'), undefined);
    const a = { key: 'a', n: 1 };
    t.set('a', a);
    t.set('b', { key: 'b', n: 2 });
    assert.equal(t.get('a'), a);
    assert.equal(t.size, 2);
    const again = { key: 'a', n: 3 };
    t.set('a', again);
    assert.equal(t.get('a'), again);
    assert.equal(t.size, 2);
    assert.equal(t.delete('a'), true);
    assert.equal(t.delete('a'), false);
    assert.equal(t.get('a'), undefined);
    assert.equal(t.get('b')?.n, 2);
    assert.equal(t.size, 1);
  });

  it('deletes a key only while it maps to the value given (a task frees its key, not the one another task took since)', () => {
    const t = table();
    const first = { key: 'a', n: 1 };
    const second = { key: 'a', n: 2 };
    t.set('a', first);
    t.set('a', second);
    assert.equal(t.delete('a', first), false);
    assert.equal(t.get('a'), second);
    assert.equal(t.size, 1);
    assert.equal(t.delete('a', second), true);
    assert.equal(t.get('a'), undefined);
    assert.equal(t.delete('missing', first), false);
    assert.equal(t.size, 0);
  });
  it('a set right after a lookup that missed goes where the lookup ended, and only while nothing changed in between', () => {
    const t = table();
    assert.equal(t.get('x'), undefined);
    t.set('y', { key: 'y', n: 1 }); // a change: the miss of x is forgotten
    t.set('x', { key: 'x', n: 2 });
    assert.deepEqual([t.get('x')?.n, t.get('y')?.n, t.size], [2, 1, 2]);
    assert.equal(t.get('z'), undefined);
    t.set('z', { key: 'z', n: 3 });
    assert.deepEqual([t.get('z')?.n, t.size], [3, 3]);
  });

  it('grows past half full and shrinks when mostly empty, every member still found', () => {
    const t = table();
    for (let i = 0; i < 1000; i++) t.set(`key-${i}`, { key: `key-${i}`, n: i });
    assert.equal(t.capacity, 2048);
    for (let i = 0; i < 1000; i++) assert.equal(t.get(`key-${i}`)?.n, i);
    for (let i = 0; i < 990; i++) assert.equal(t.delete(`key-${i}`), true);
    assert.equal(t.size, 10);
    assert.ok(t.capacity <= 64, `capacity ${t.capacity} after deleting 990 of 1000`);
    for (let i = 990; i < 1000; i++) assert.equal(t.get(`key-${i}`)?.n, i);
  });

  it('agrees with a Map through 20,000 random operations on few keys with long runs (deletion inside runs)', () => {
    // Keys that share their slot: every deletion moves others back into its gap.
    const seed = 12345;
    const keys = [...collidingKeys(seed, 64, 40), ...Array.from({ length: 40 }, (_, i) => `other-${i}`)];
    const t = table(seed);
    const model = new Map<string, Holder>();
    let state = 1;
    const random = (n: number) => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let step = 0; step < 20_000; step++) {
      const key = keys[random(keys.length)]!;
      const op = random(3);
      if (op === 0) {
        const holder = { key, n: step };
        t.set(key, holder);
        model.set(key, holder);
      } else if (op === 1) {
        assert.equal(t.delete(key), model.delete(key), `delete ${key} at step ${step}`);
      } else {
        assert.equal(t.get(key), model.get(key), `get ${key} at step ${step}`);
      }
      assert.equal(t.size, model.size);
    }
    for (const key of keys) assert.equal(t.get(key), model.get(key));
  });

  it('a flood of keys that collide under its seed makes it take another seed; every key is still found', () => {
    const seed = 777;
    const t = table(seed);
    const flood = collidingKeys(seed, 1024, 300);
    for (const key of flood) t.set(key, { key, n: 0 });
    assert.notEqual(t.currentSeed, seed);
    assert.equal(t.size, 300);
    for (const key of flood) assert.equal(t.get(key)?.key, key);
    for (const key of flood.slice(0, 150)) assert.equal(t.delete(key), true);
    for (const key of flood.slice(150)) assert.equal(t.get(key)?.key, key);
    assert.equal(t.size, 150);
  });

  it('hashes the same key the same way under one seed and differently under others, never to 0', () => {
    assert.equal(keyHash('https://example.com/items/1', 42), keyHash('https://example.com/items/1', 42));
    assert.notEqual(keyHash('https://example.com/items/1', 42), keyHash('https://example.com/items/1', 43));
    assert.notEqual(keyHash('a', 1), keyHash('b', 1));
    for (let i = 0; i < 10_000; i++) assert.notEqual(keyHash(`k${i}`, i), 0);
  });
});
