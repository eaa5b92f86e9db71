import { strict as assert } from 'node:assert';
import { Engine, ManualClock } from '../../src/engine';
import type { JournalRecord } from '../../src/engine/journal';
import { parseRate } from '../../src/engine/rateLimit';
import { Replay } from '../../src/store';
import { getNow, makeHarness, payloads, putNow, startGet, START, WORKER, OTHER_WORKER } from './harness';

// Rate limits (spec §7.22) on a manual clock: the GCRA of the queue and of each key, the burst,
// keys taking turns, no head-of-line blocking, keyConcurrency, and waking when budget returns.
// These harnesses journal to a list of their own: the ready order of a queue with key limits
// (keys take turns) is not the journal's change order, so the shared replay check does not fit;
// 'journals rateKey and limits' below replays them itself.

function limitedHarness() {
  const records: JournalRecord[] = [];
  const harness = makeHarness({ journal: { append: (record) => records.push(record) } });
  return { ...harness, records };
}

const key = (rateKey: string, payload: string) => ({ payload, rateKey });

describe('Engine rate limits', () => {
  it('a queue rate spaces deliveries period/max apart (burst 1), and a get over it waits for budget', () => {
    const { engine, tick } = limitedHarness();
    engine.declareQueue('q', { rate: { max: 4, period: 1 } });
    putNow(engine, 'q', ['a', 'b', 'c']);
    assert.deepEqual(payloads(getNow(engine, 'q')), ['a']);
    assert.deepEqual(getNow(engine, 'q'), [], 'over the rate: a get with timeout 0 answers empty');
    assert.equal(engine.queueStats('q').throttled, 2);
    const get = startGet(engine, 'q', { timeout: 5 });
    assert.ok(get.waiter, 'a blocking get waits for budget');
    // The wake-up is a deadline at the time budget returns, not a polling loop.
    assert.equal(engine.nextDeadline(), START + 250);
    tick(0.249);
    assert.equal(get.deliveries.length, 0);
    tick(0.001);
    assert.deepEqual(payloads(get.tasks!), ['b']);
    tick(0.25);
    assert.deepEqual(payloads(getNow(engine, 'q')), ['c']);
  });

  it('burst lets up to burst deliveries go at once after a quiet spell, then the steady rate', () => {
    const { engine, tick } = limitedHarness();
    engine.declareQueue('q', { rate: { max: 10, period: 1, burst: 3 } });
    putNow(engine, 'q', ['1', '2', '3', '4', '5']);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 5 })), ['1', '2', '3']);
    assert.deepEqual(getNow(engine, 'q'), []);
    tick(0.1);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 5 })), ['4']);
    tick(1);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 5 })), ['5']);
  });

  it('a key over its rate never holds up another key: no head-of-line blocking', () => {
    const { engine } = limitedHarness();
    engine.declareQueue('q', { keyRate: { max: 1, period: 1 } });
    putNow(engine, 'q', [key('slow.example', 's1'), key('slow.example', 's2'), key('slow.example', 's3'), key('fast.example', 'f1'), key('other.example', 'o1')]);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 10 })), ['s1', 'f1', 'o1']);
    assert.equal(engine.queueStats('q').throttled, 2);
    putNow(engine, 'q', [key('new.example', 'n1')]);
    assert.deepEqual(payloads(getNow(engine, 'q')), ['n1'], 'a task of a key with budget goes at once though older tasks of a throttled key wait');
  });

  it('keys take turns: one busy key cannot starve the others', () => {
    const { engine } = limitedHarness();
    engine.declareQueue('q', { keyRate: { max: 1000, period: 1, burst: 1000 } });
    const busy = Array.from({ length: 50 }, (_, i) => key('busy', `b${i}`));
    putNow(engine, 'q', [...busy, key('quiet1', 'q1'), key('quiet2', 'q2')]);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 4 })), ['b0', 'q1', 'q2', 'b1']);
  });

  it('the key rate and the queue rate both hold; tasks without a key are held to the queue rate only', () => {
    const { engine, tick } = limitedHarness();
    engine.declareQueue('q', { rate: { max: 2, period: 1, burst: 2 }, keyRate: { max: 1, period: 10 } });
    putNow(engine, 'q', [key('a', 'a1'), key('a', 'a2'), 'plain1', 'plain2']);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 10 })), ['a1', 'plain1'], 'the queue burst of 2');
    tick(0.5);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 10 })), ['plain2'], 'a is over its key rate; plain tasks have no key rate');
    tick(5);
    assert.deepEqual(getNow(engine, 'q', { max: 10 }), [], 'a: 10 s between its deliveries');
    tick(4.5);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 10 })), ['a2']);
  });

  it('a blocked get wakes at the earliest time any key has budget again', () => {
    const { engine, tick } = limitedHarness();
    engine.declareQueue('q', { keyRate: { max: 1, period: 2 } });
    putNow(engine, 'q', [key('a', 'a1'), key('a', 'a2')]);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 10 })), ['a1']);
    tick(1);
    putNow(engine, 'q', [key('b', 'b1'), key('b', 'b2')]);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 10 })), ['b1']);
    const first = startGet(engine, 'q', { timeout: 10 });
    const second = startGet(engine, 'q', { timeout: 10, session: OTHER_WORKER });
    assert.equal(engine.nextDeadline(), START + 2000, 'a has budget again 2 s after its take at 0 s');
    tick(1);
    assert.deepEqual(payloads(first.tasks!), ['a2']);
    assert.equal(second.deliveries.length, 0);
    tick(0.999);
    assert.equal(second.deliveries.length, 0);
    tick(0.001);
    assert.deepEqual(payloads(second.tasks!), ['b2']);
  });

  it('keyConcurrency caps the leased tasks of a key; ack, nack and lease expiry each free a place', () => {
    const { engine, tick } = limitedHarness();
    engine.declareQueue('q', { keyConcurrency: 2, ttr: 10 });
    const specs = Array.from({ length: 6 }, (_, i) => key('host', `h${i}`));
    putNow(engine, 'q', [...specs, key('other', 'o1')]);
    const taken = getNow(engine, 'q', { max: 10 });
    assert.deepEqual(payloads(taken), ['h0', 'o1', 'h1']);
    assert.equal(engine.queueStats('q').throttled, 4);
    const waiting = startGet(engine, 'q', { timeout: 60, session: OTHER_WORKER });
    assert.equal(waiting.deliveries.length, 0);
    assert.equal(engine.nextDeadline(), START + 10_000, 'only the lease ends are due: a capped key has no time of its own');
    engine.ack(WORKER, [{ id: taken[0]!.id }]);
    assert.deepEqual(payloads(waiting.tasks!), ['h2'], 'an ack frees a place');
    engine.nack(WORKER, [{ id: taken[2]!.id, delay: 100 }]);
    assert.deepEqual(payloads(getNow(engine, 'q')), ['h3'], 'a nack frees a place');
    assert.deepEqual(getNow(engine, 'q'), []);
    // h2 (OTHER_WORKER) and h3 (WORKER) are leased; their leases expire after 10 s.
    tick(10);
    const after = payloads(getNow(engine, 'q', { max: 10 }))
      .map(String)
      .sort();
    assert.deepEqual(after, ['h4', 'h5', 'o1'], 'expiry frees both places of host (expired h2, h3 wait at the tail; o1 expired too)');
  });

  it('autoAck deliveries count against rates but hold no place of keyConcurrency', () => {
    const { engine } = limitedHarness();
    engine.declareQueue('q', { keyConcurrency: 1 });
    putNow(engine, 'q', [key('k', '1'), key('k', '2'), key('k', '3')]);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 3, autoAck: true })), ['1', '2', '3']);
  });

  it('a session that goes away releases its places', () => {
    const { engine } = limitedHarness();
    engine.declareQueue('q', { keyConcurrency: 1 });
    putNow(engine, 'q', [key('k', '1'), key('k', '2')]);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 2 })), ['1']);
    engine.releaseSession(WORKER);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 2, session: OTHER_WORKER })), ['1']);
  });

  it('declaring limits on a queue with ready and leased tasks regroups them; removing them restores the plain order', () => {
    const { engine } = limitedHarness();
    putNow(engine, 'q', [key('k', '1'), key('k', '2'), key('k', '3'), key('j', '4')]);
    assert.deepEqual(payloads(getNow(engine, 'q')), ['1']);
    engine.declareQueue('q', { keyConcurrency: 1 });
    assert.deepEqual(engine.queueStats('q').keyConcurrency, 1);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 10 })), ['4'], 'k already holds its one place');
    engine.declareQueue('q', { keyConcurrency: 0 });
    assert.equal(engine.queueStats('q').keyConcurrency, undefined);
    assert.equal(engine.queueStats('q').throttled, undefined);
    assert.deepEqual(payloads(getNow(engine, 'q', { max: 10 })), ['2', '3']);
  });

  it('stats show the limits; a queue without limits shows none and keeps its plain ready queue', () => {
    const { engine } = limitedHarness();
    engine.declareQueue('limited', { rate: { max: 10, period: 1 }, keyRate: { max: 1, period: 1, burst: 2 }, keyConcurrency: 2 });
    const stats = engine.queueStats('limited');
    assert.deepEqual(
      { rate: stats.rate, keyRate: stats.keyRate, keyConcurrency: stats.keyConcurrency, throttled: stats.throttled },
      { rate: { max: 10, period: 1 }, keyRate: { max: 1, period: 1, burst: 2 }, keyConcurrency: 2, throttled: 0 },
    );
    putNow(engine, 'plain', ['x']);
    const plain = engine.queueStats('plain');
    assert.equal('rate' in plain || 'throttled' in plain, false);
  });

  it('journals rateKey and limits: a restore regroups the ready tasks by key under the same limits', () => {
    const { engine, records } = limitedHarness();
    engine.declareQueue('q', { keyConcurrency: 1 });
    putNow(engine, 'q', [key('k', '1'), key('k', '2'), key('j', '3')]);
    const replay = new Replay();
    for (const record of records) replay.apply(record);
    const state = replay.state();
    assert.deepEqual(
      state.tasks.map((task) => task.rateKey),
      ['k', 'k', 'j'],
    );
    const restored = new Engine({ clock: new ManualClock(START), idPrefix: 't' });
    restored.restore(state);
    assert.equal(restored.queueStats('q').keyConcurrency, 1);
    const tasks: string[] = [];
    restored.get({ queue: 'q', max: 10, timeout: 0, autoAck: false, session: WORKER }, (got) => {
      for (const task of got) tasks.push(JSON.parse(task.payload) as string);
      return true;
    });
    assert.deepEqual(tasks, ['1', '3']);
  });

  it('parses the CLI form of a rate', () => {
    assert.deepEqual(parseRate('10/s'), { max: 10, period: 1 });
    assert.deepEqual(parseRate('2/5s'), { max: 2, period: 5 });
    assert.deepEqual(parseRate('100/m'), { max: 100, period: 60 });
    assert.deepEqual(parseRate('1/h'), { max: 1, period: 3600 });
    assert.throws(() => parseRate('10'), /"10" is not a rate: write MAX\/PERIOD, e.g. 10\/s, 2\/5s, 100\/m/);
    assert.throws(() => parseRate('0/s'), /is not a rate/);
  });
});
