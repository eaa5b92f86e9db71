import { randomInt } from 'node:crypto';

// The table behind a queue's uniqueness keys (uniqueKeys.ts): string key → value, where each
// value knows its own key, so the table keeps no key strings of its own.
//
// Why not a Map: almost every put with a key misses (the key is new), and in a running manager
// a miss in a Map of 100,000 string keys costs a cache miss for its bucket, one for each
// chained entry and one for each chained key's string (compared through its object), with the
// rest of the request's memory passing through the cache in between. Here the hashes sit in
// one typed array (open addressing, linear probing) and a miss reads one or two adjacent slots
// of it; a key's own string is read only when its 32-bit hash matches. Measured with
// bench/unique.mjs's shape (64 puts in flight, 50,000 URL keys, 16 paired runs, twice): a keyed
// put's manager CPU went from 1.41-1.44× a plain put's to 1.27-1.31×.
//
// The hash is seeded per table at random, and a probe run that grows past MAX_PROBE (keys that
// collide, by accident or on purpose) makes the table start over with a new seed, so no set of
// keys a client chooses can make every lookup long.

/** The smallest table; it never shrinks below this. */
const MIN_CAPACITY = 16;
/** A probe longer than this (slots) at an insert re-seeds the table. At load ≤ ½ it is astronomically rare by chance. */
const MAX_PROBE = 128;
/** New seeds tried for one insert before it goes in at the end of its long run anyway. */
const MAX_RESEEDS = 3;

/** A key's 32-bit hash under `seed`, never 0 (0 marks an empty slot). */
export function keyHash(key: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < key.length; i++) {
    h = Math.imul(h ^ key.charCodeAt(i), 0x5bd1e995);
    h ^= h >>> 15;
  }
  // MurmurHash3's finalizer: every bit of h moves every bit of the slot index.
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return h === 0 ? 1 : h;
}

const newSeed = (): number => randomInt(0x7fffffff);

export class KeyTable<V> {
  private hashes = new Int32Array(MIN_CAPACITY);
  private values = new Array<V | undefined>(MIN_CAPACITY).fill(undefined);
  private count = 0;
  private seed: number;
  /**
   * The last lookup that missed, while the table has not changed since: a put looks its key up
   * and then takes it, and the take reuses the slot instead of hashing and probing again.
   */
  private missedKey: string | undefined = undefined;
  private missedHash = 0;
  private missedSlot = 0;

  /** `seed`: the hash's seed (random unless a test gives one). */
  constructor(
    private readonly keyOf: (value: V) => string,
    seed = newSeed(),
  ) {
    this.seed = seed;
  }

  get size(): number {
    return this.count;
  }

  /** The slot count (a power of two); for tests. */
  get capacity(): number {
    return this.hashes.length;
  }

  /** The hash's seed now; for tests. */
  get currentSeed(): number {
    return this.seed;
  }

  get(key: string): V | undefined {
    const hash = keyHash(key, this.seed);
    const slot = this.find(key, hash);
    if (slot >= 0) return this.values[slot];
    this.missedKey = key;
    this.missedHash = hash;
    this.missedSlot = ~slot;
    return undefined;
  }

  /** Sets `key` (the key of `value`) to `value`, replacing what it had. */
  set(key: string, value: V): void {
    this.insert(key, value, 0);
  }

  private insert(key: string, value: V, reseeds: number): void {
    let hash: number;
    let slot: number;
    if (key === this.missedKey) {
      hash = this.missedHash;
      slot = ~this.missedSlot;
    } else {
      hash = keyHash(key, this.seed);
      slot = this.find(key, hash);
    }
    this.missedKey = undefined;
    if (slot >= 0) {
      this.values[slot] = value;
      return;
    }
    slot = ~slot;
    const mask = this.hashes.length - 1;
    if (((slot - (hash & mask)) & mask) > MAX_PROBE && reseeds < MAX_RESEEDS) {
      // A run this long is a flood of colliding keys: start over with another seed, then insert.
      this.rebuild(this.hashes.length, newSeed());
      this.insert(key, value, reseeds + 1);
      return;
    }
    this.hashes[slot] = hash;
    this.values[slot] = value;
    if (++this.count * 2 > this.hashes.length) this.rebuild(this.hashes.length * 2, this.seed);
  }

  /**
   * Removes `key`, or only while it maps to `only` when that is given (one probe where a get,
   * a compare and a delete took two); false when it was not removed.
   */
  delete(key: string, only?: V): boolean {
    const slot = this.find(key, keyHash(key, this.seed));
    if (slot < 0 || (only !== undefined && this.values[slot] !== only)) return false;
    this.missedKey = undefined;
    this.removeAt(slot);
    if (this.count * 8 < this.hashes.length && this.hashes.length > MIN_CAPACITY) this.rebuild(this.hashes.length / 2, this.seed);
    return true;
  }

  /** The slot holding `key`, or the one's complement of the empty slot where it would go. */
  private find(key: string, hash: number): number {
    const hashes = this.hashes;
    const mask = hashes.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const found = hashes[slot]!;
      if (found === 0) return ~slot;
      if (found === hash && this.keyOf(this.values[slot]!) === key) return slot;
    }
  }

  /**
   * Empties a slot and moves later members of its run back into the gap (backward-shift
   * deletion), so that runs stay unbroken and need no tombstones.
   */
  private removeAt(slot: number): void {
    const hashes = this.hashes;
    const values = this.values;
    const mask = hashes.length - 1;
    let gap = slot;
    for (let next = (slot + 1) & mask; hashes[next] !== 0; next = (next + 1) & mask) {
      const home = hashes[next]! & mask;
      // It may move into the gap unless its home lies after the gap (cyclically, up to next).
      if (((next - home) & mask) >= ((next - gap) & mask)) {
        hashes[gap] = hashes[next]!;
        values[gap] = values[next];
        gap = next;
      }
    }
    hashes[gap] = 0;
    values[gap] = undefined;
    this.count--;
  }

  /** Moves every member into a table of `capacity` slots, hashed with `seed`. */
  private rebuild(capacity: number, seed: number): void {
    const oldValues = this.values;
    const oldHashes = this.hashes;
    const reseed = seed !== this.seed;
    this.hashes = new Int32Array(capacity);
    this.values = new Array<V | undefined>(capacity).fill(undefined);
    this.seed = seed;
    this.missedKey = undefined;
    const mask = capacity - 1;
    for (let i = 0; i < oldHashes.length; i++) {
      if (oldHashes[i] === 0) continue;
      const value = oldValues[i]!;
      const hash = reseed ? keyHash(this.keyOf(value), seed) : oldHashes[i]!;
      let slot = hash & mask;
      while (this.hashes[slot] !== 0) slot = (slot + 1) & mask;
      this.hashes[slot] = hash;
      this.values[slot] = value;
    }
  }
}
