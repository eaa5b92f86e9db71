// The admission rules on their own, with the time passed in: whom the roster gives up to make
// room, and the per-address back-off after failed proofs.
import { strict as assert } from 'node:assert';
import { AuthThrottle, DEFAULT_FREE_FAILURES, HandshakeRoster, type Handshaking } from '../../src/server/admission';
import type { SessionState } from '../../src/server/session';

class Conn implements Handshaking {
  shielded = false;
  constructor(
    readonly name: string,
    public state: SessionState = 'new',
  ) {}
}

describe('admission: the handshake roster', () => {
  it('gives up the oldest silent connection first, then the oldest greeted, then the oldest of the rest', () => {
    const roster = new HandshakeRoster<Conn>();
    const greetedOld = new Conn('greeted-old', 'greeted');
    const silentOld = new Conn('silent-old');
    const failing = new Conn('failing', 'authenticating');
    const greetedNew = new Conn('greeted-new', 'greeted');
    const silentNew = new Conn('silent-new');
    for (const conn of [failing, greetedOld, silentOld, greetedNew, silentNew]) roster.add(conn, '10.0.0.1');
    const order: string[] = [];
    for (let victim = roster.victim('10.0.0.1'); victim; victim = roster.victim('10.0.0.1')) {
      order.push(victim.name);
      roster.remove(victim);
    }
    assert.deepEqual(order, ['silent-old', 'silent-new', 'greeted-old', 'greeted-new', 'failing']);
    assert.equal(roster.size, 0);
  });

  it('counts per address, chooses within the address asked for, and overall when none is given', () => {
    const roster = new HandshakeRoster<Conn>();
    const a1 = new Conn('a1', 'greeted');
    const b1 = new Conn('b1');
    const a2 = new Conn('a2');
    roster.add(a1, 'A');
    roster.add(b1, 'B');
    roster.add(a2, 'A');
    assert.deepEqual([roster.countFrom('A'), roster.countFrom('B'), roster.countFrom('C'), roster.size], [2, 1, 0, 3]);
    assert.equal(roster.victim('A'), a2, 'the silent one of A, though a1 is older');
    assert.equal(roster.victim(), b1, 'overall: the oldest silent one');
    assert.equal(roster.victim('C'), undefined);
    assert.equal(roster.addressOf(a2), 'A');
    assert.equal(roster.remove(a2), true);
    assert.equal(roster.remove(a2), false, 'removing twice is harmless');
    assert.equal(roster.victim('A'), a1);
  });

  it('never gives up a shielded connection (one whose first bytes may not have been read yet)', () => {
    const roster = new HandshakeRoster<Conn>();
    const older = new Conn('older');
    const newer = new Conn('newer');
    roster.add(older, 'A');
    roster.add(newer, 'A');
    older.shielded = true;
    assert.equal(roster.victim('A'), newer);
    newer.shielded = true;
    assert.equal(roster.victim('A'), undefined, 'every one is shielded: none to give up');
    older.shielded = false;
    assert.equal(roster.victim('A'), older);
  });
});

describe('admission: the back-off after failed proofs', () => {
  const base = 250;
  const max = 30_000;

  it('lets the first failures in a row through, then doubles the back-off with each failure, up to the maximum', () => {
    const throttle = new AuthThrottle({ baseDelayMs: base, maxDelayMs: max });
    const delays = Array.from({ length: DEFAULT_FREE_FAILURES + 10 }, (_, i) => throttle.delayAfter(i + 1));
    assert.deepEqual(delays, [0, 0, 0, 0, 0, 250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    assert.equal(throttle.delayAfter(10_000), max, 'no overflow, however many failures');
  });

  it('refuses to check proofs from the address until the back-off ends, for every connection of that address alike', () => {
    const throttle = new AuthThrottle({ baseDelayMs: base, maxDelayMs: max, freeFailures: 0 });
    let now = 1_000_000;
    assert.equal(throttle.remainingMs('A', now), 0);
    assert.equal(throttle.failed('A', now), 250);
    assert.equal(throttle.remainingMs('A', now), 250);
    assert.equal(throttle.remainingMs('A', now + 100), 150);
    assert.equal(throttle.remainingMs('B', now), 0, 'another address is not affected');
    now += 250;
    assert.equal(throttle.remainingMs('A', now), 0);
    assert.equal(throttle.failed('A', now), 500);
    now += 500;
    assert.equal(throttle.failed('A', now), 1000);
    // A success forgives: the next failure starts from the beginning.
    throttle.succeeded('A');
    assert.equal(throttle.remainingMs('A', now), 0);
    assert.equal(throttle.failed('A', now), 250);
  });

  it('forgets an address that has not failed for twice the longest back-off, and bounds how many it remembers', () => {
    const throttle = new AuthThrottle({ baseDelayMs: base, maxDelayMs: 1000, freeFailures: 0, maxAddresses: 3 });
    let now = 0;
    throttle.failed('A', now);
    throttle.failed('A', now + 250);
    assert.equal(throttle.failed('A', now + 750), 1000);
    now += 750 + 1000 + 2000;
    // A's record is forgotten: its next failure is a first one again.
    assert.equal(throttle.failed('A', now), 250);
    for (const address of ['B', 'C', 'D', 'E']) throttle.failed(address, now);
    assert.equal(throttle.size, 3, 'the addresses that failed longest ago are dropped first');
    assert.equal(throttle.remainingMs('A', now), 0, 'A was the oldest');
    assert.equal(throttle.remainingMs('E', now), 250);
  });

  it('bounds the failures checked from one address in any period, whatever the number of attempts', () => {
    // An attacker that tries again the moment the back-off ends gets this many checks in 60 s:
    const throttle = new AuthThrottle({ baseDelayMs: base, maxDelayMs: max });
    let now = 0;
    let checked = 0;
    while (now <= 60_000) {
      const wait = throttle.remainingMs('A', now);
      if (wait > 0) now += wait;
      else {
        throttle.failed('A', now);
        checked++;
      }
    }
    // 5 free + the back-offs 0.25+0.5+1+2+4+8+16+30 s = 61.75 s: 5 + 8 failures (the 13th at 31.75 s, the 14th due at 61.75 s).
    assert.equal(checked, 13);
  });
});
