import { strict as assert } from 'node:assert';
import { Engine, EngineError, ManualClock } from '../../src/engine';
import { payloadBytes } from '../../src/engine/payloadBytes';
import type { JsonText } from '../../src/protocol/jsonText';
import { completedIds, getNow, makeHarness, payloads, putNow, rawAcks, startGet, startPut, START, WORKER } from './harness';

// Byte bounds: a queue's maxBytes and the manager-wide maxQueuedBytes. They count a task's
// payload as compact JSON (payloadBytes) from the moment it is put until it leaves for good.

/** A string payload of exactly `bytes` bytes of JSON (its quotes included). */
function sized(bytes: number, fill = 'x'): string {
  return fill.repeat(bytes - 2);
}

function assertFull(outcome: string[] | EngineError | undefined, expected: { queue: string; maxsize?: number; limit: string; max: number; message?: string }): void {
  assert.ok(outcome instanceof EngineError, `expected queue_full, got ${JSON.stringify(outcome)}`);
  assert.equal(outcome.reason, 'queue_full');
  assert.deepEqual(outcome.details, { queue: expected.queue, maxsize: expected.maxsize ?? 0, limit: expected.limit, max: expected.max });
  if (expected.message !== undefined) assert.equal(outcome.message, expected.message);
}

function bytesOf(engine: Engine, queue: string): number {
  return engine.queueStats(queue).bytes!;
}

describe('payloadBytes', () => {
  it("is the length in UTF-8 of the payload's JSON text as the client sent it, escapes counted as written", () => {
    const texts = [
      '"plain"',
      '"quote \\" backslash \\\\"',
      '"é 日本語 😀"',
      '"\\u00e9"',
      '1.0',
      '-1e21',
      '12345678901234567890123',
      '[1,"two",null,[true,{"a":[]}]]',
      '{"k\\"ey":"v","ü":"ß"}',
      'null',
    ];
    for (const text of texts) assert.equal(payloadBytes(text as JsonText), Buffer.byteLength(text, 'utf8'), text);
    assert.equal(payloadBytes('"é"' as JsonText), 4);
    assert.equal(payloadBytes('"\\u00e9"' as JsonText), 8, 'an escape counts as the six bytes it was sent as');
  });
});

describe('Engine byte bounds', () => {
  describe('a queue with maxBytes', () => {
    it('counts the payload bytes of ready, delayed and leased tasks, and frees them when a task leaves for good', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxBytes: 1000 });
      putNow(engine, 'jobs', [sized(100), { payload: sized(200), delay: 5 }, sized(300)]);
      assert.equal(bytesOf(engine, 'jobs'), 600);
      assert.equal(engine.queuedBytes, 600);
      const [leased] = getNow(engine, 'jobs');
      assert.equal(bytesOf(engine, 'jobs'), 600, 'a leased task still counts');
      engine.nack(WORKER, [{ id: leased!.id, delay: 0 }]);
      assert.equal(bytesOf(engine, 'jobs'), 600, 'a retried task still counts');
      const [third] = getNow(engine, 'jobs');
      assert.deepEqual(payloads([third!]), [sized(300)]);
      engine.ack(WORKER, [{ id: third!.id }]);
      assert.equal(bytesOf(engine, 'jobs'), 300);
      getNow(engine, 'jobs', { autoAck: true });
      assert.equal(bytesOf(engine, 'jobs'), 200, 'a task delivered with autoAck left');
      assert.equal(engine.purge('jobs'), 1);
      assert.equal(bytesOf(engine, 'jobs'), 0, 'purge frees delayed tasks too');
      assert.equal(engine.queuedBytes, 0);
      assert.equal(engine.queueStats('jobs').maxBytes, 1000);
    });

    it('with timeout 0 answers queue_full (limit maxBytes) when the tasks do not fit, and enqueues nothing', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxBytes: 1000 });
      putNow(engine, 'jobs', [sized(600)]);
      const put = startPut(engine, 'jobs', [sized(300), sized(200)], { timeout: 0 });
      assertFull(put.outcome, { queue: 'jobs', limit: 'maxBytes', max: 1000, message: '"jobs" has no room for 2 tasks of 500 bytes (maxBytes 1000, 600 held)' });
      assert.equal(engine.queueStats('jobs').ready, 1);
      putNow(engine, 'jobs', [sized(400)]);
      assert.equal(bytesOf(engine, 'jobs'), 1000, 'a put that fills it exactly goes in');
    });

    it('blocks a put until an ack frees enough bytes for all of its tasks, then enqueues them in one step', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxBytes: 1000 });
      putNow(engine, 'jobs', [sized(400), sized(400)]);
      const [first, second] = getNow(engine, 'jobs', { max: 2 });
      const put = startPut(engine, 'jobs', [sized(350), sized(350)]);
      assert.ok(put.waiter);
      assert.equal(engine.queueStats('jobs').waitingPutters, 1);
      engine.ack(WORKER, [{ id: first!.id }]);
      assert.equal(put.outcome, undefined, '600 bytes free is not enough for 700');
      engine.ack(WORKER, [{ id: second!.id }]);
      assert.equal(completedIds(put).length, 2);
      assert.equal(bytesOf(engine, 'jobs'), 700);
    });

    it('refuses at once, even without a timeout, tasks that could never fit its maxBytes', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxBytes: 1000 });
      const put = startPut(engine, 'jobs', [sized(600), sized(401)]);
      assert.equal(put.waiter, undefined);
      assertFull(put.outcome, { queue: 'jobs', limit: 'maxBytes', max: 1000, message: '"jobs" can never take 2 tasks of 1001 bytes (maxBytes 1000)' });
    });

    it('lets waiting puts in when a larger maxBytes is declared', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxBytes: 500 });
      putNow(engine, 'jobs', [sized(400)]);
      const put = startPut(engine, 'jobs', [sized(400)]);
      assert.equal(put.outcome, undefined);
      engine.declareQueue('jobs', { maxBytes: 800 });
      assert.equal(completedIds(put).length, 1);
    });

    it('times out a waiting put with the bound that kept it out', () => {
      const { engine, tick } = makeHarness();
      engine.declareQueue('jobs', { maxBytes: 500, maxsize: 10 });
      putNow(engine, 'jobs', [sized(400)]);
      const put = startPut(engine, 'jobs', [sized(200)], { timeout: 2 });
      tick(2);
      assertFull(put.outcome, { queue: 'jobs', maxsize: 10, limit: 'maxBytes', max: 500 });
      assert.equal(engine.queueStats('jobs').waitingPutters, 0);
    });

    it('names the bound the puts ahead wait for when a put that would fit is refused for not overtaking them', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxBytes: 500 });
      putNow(engine, 'jobs', [sized(400)]);
      startPut(engine, 'jobs', [sized(300)]);
      assertFull(startPut(engine, 'jobs', [sized(50)], { timeout: 0 }).outcome, { queue: 'jobs', limit: 'maxBytes', max: 500 });
    });

    it('moves the bytes of a dead-lettered task to the dead-letter queue, where they stay counted', () => {
      const { engine } = makeHarness();
      engine.declareQueue('jobs', { maxBytes: 1000, maxAttempts: 1 });
      putNow(engine, 'jobs', [sized(300)]);
      const [task] = getNow(engine, 'jobs');
      engine.nack(WORKER, [{ id: task!.id }]);
      assert.equal(bytesOf(engine, 'jobs'), 0);
      assert.equal(bytesOf(engine, 'jobs.dead'), 300);
      assert.equal(engine.queuedBytes, 300);
    });
  });

  describe('the manager-wide maxQueuedBytes', () => {
    it('bounds the bytes of every queue together: a put beyond it with timeout 0 is refused, naming maxQueuedBytes', () => {
      const { engine } = makeHarness({ maxQueuedBytes: 1000 });
      putNow(engine, 'a', [sized(500)]);
      putNow(engine, 'b', [sized(400)]);
      const put = startPut(engine, 'c', [sized(200)], { timeout: 0 });
      assertFull(put.outcome, {
        queue: 'c',
        limit: 'maxQueuedBytes',
        max: 1000,
        message: 'the manager has no room for 1 task of 200 bytes in "c" (maxQueuedBytes 1000, 900 held)',
      });
      assert.equal(engine.queueStats('c').ready, 0);
      putNow(engine, 'c', [sized(100)]);
      assert.equal(engine.queuedBytes, 1000);
    });

    it('blocks a put until a task leaves another queue, then lets it in', () => {
      const { engine } = makeHarness({ maxQueuedBytes: 1000 });
      putNow(engine, 'a', [sized(800)]);
      const put = startPut(engine, 'b', [sized(300)]);
      assert.ok(put.waiter);
      assert.equal(put.outcome, undefined);
      assert.equal(engine.queueStats('b').waitingPutters, 1);
      const [task] = getNow(engine, 'a');
      assert.equal(put.outcome, undefined, 'a leased task still counts');
      engine.ack(WORKER, [{ id: task!.id }]);
      assert.equal(completedIds(put).length, 1);
      assert.equal(engine.queuedBytes, 300);
    });

    it('refuses at once, even without a timeout, a put larger than the whole budget', () => {
      const { engine } = makeHarness({ maxQueuedBytes: 1000 });
      const put = startPut(engine, 'a', [sized(500), sized(501)]);
      assert.equal(put.waiter, undefined);
      assertFull(put.outcome, { queue: 'a', limit: 'maxQueuedBytes', max: 1000, message: 'the manager can never hold 2 tasks of 1001 bytes (maxQueuedBytes 1000)' });
      assert.equal(engine.queuedBytes, 0);
    });

    it('admits waiting puts in the order they started waiting, across queues: none overtakes, even a small one that would fit', () => {
      const { engine } = makeHarness({ maxQueuedBytes: 1000 });
      putNow(engine, 'a', [sized(900)]);
      const big = startPut(engine, 'b', [sized(600)]);
      const small = startPut(engine, 'c', [sized(50)]);
      assert.equal(small.outcome, undefined, 'a small put does not overtake the waiting big one');
      assertFull(startPut(engine, 'd', [sized(50)], { timeout: 0 }).outcome, { queue: 'd', limit: 'maxQueuedBytes', max: 1000 });
      const [task] = getNow(engine, 'a');
      engine.ack(WORKER, [{ id: task!.id }]);
      assert.equal(completedIds(big).length, 1);
      assert.equal(completedIds(small).length, 1);
      assert.equal(engine.queuedBytes, 650);
    });

    it('takes queues in turn: a queue whose put went in queues up again behind the others', () => {
      const { engine } = makeHarness({ maxQueuedBytes: 1000 });
      putNow(engine, 'a', [sized(1000)]);
      const b1 = startPut(engine, 'b', [sized(500)]);
      const b2 = startPut(engine, 'b', [sized(500)]);
      const c1 = startPut(engine, 'c', [sized(500)]);
      const [task] = getNow(engine, 'a');
      engine.ack(WORKER, [{ id: task!.id }]);
      assert.equal(completedIds(b1).length, 1);
      assert.equal(completedIds(c1).length, 1, "c waited longer than b's second put");
      assert.equal(b2.outcome, undefined);
    });

    it('lets the next put in line in when the first one times out or is cancelled', () => {
      const { engine, tick } = makeHarness({ maxQueuedBytes: 1000 });
      putNow(engine, 'a', [sized(700)]);
      const first = startPut(engine, 'b', [sized(400)], { timeout: 1 });
      const second = startPut(engine, 'c', [sized(200)]);
      const third = startPut(engine, 'd', [sized(50)]);
      assert.equal(second.outcome, undefined);
      tick(1);
      assertFull(first.outcome, { queue: 'b', limit: 'maxQueuedBytes', max: 1000, message: 'the manager has no room for 1 task of 400 bytes in "b" (maxQueuedBytes 1000, 700 held)' });
      assert.equal(completedIds(second).length, 1);
      assert.equal(completedIds(third).length, 1);
      const fourth = startPut(engine, 'e', [sized(100)]);
      const fifth = startPut(engine, 'f', [sized(10)]);
      assert.equal(fifth.outcome, undefined, 'it would fit, but does not overtake');
      fourth.waiter!.cancel();
      assert.equal(completedIds(fifth).length, 1);
    });

    it("does not let a put that waits for its own queue's room hold up the others", () => {
      const { engine } = makeHarness({ maxQueuedBytes: 1000 });
      engine.declareQueue('bounded', { maxsize: 1 });
      putNow(engine, 'bounded', [sized(100)]);
      const waitsForRoom = startPut(engine, 'bounded', [sized(100)]);
      assert.equal(waitsForRoom.outcome, undefined);
      putNow(engine, 'other', [sized(500)]);
    });

    it('counts dead letters and routed results without refusing them; puts wait until usage is back under the budget', () => {
      const { engine } = makeHarness({ maxQueuedBytes: 1000 });
      engine.declareQueue('jobs', { maxAttempts: 1 });
      putNow(engine, 'jobs', [{ payload: sized(100), replyTo: 'results' }, sized(200)]);
      const [first, second] = getNow(engine, 'jobs', { max: 2 });
      engine.ack(WORKER, rawAcks([{ id: first!.id, result: sized(900) }]));
      const resultBytes = Buffer.byteLength(JSON.stringify({ taskId: first!.id, result: sized(900) }));
      assert.equal(engine.queuedBytes, 200 + resultBytes, 'the result is held, above the budget');
      const put = startPut(engine, 'jobs', [sized(10)]);
      assert.equal(put.outcome, undefined);
      engine.nack(WORKER, [{ id: second!.id }]);
      assert.equal(bytesOf(engine, 'jobs.dead'), 200);
      assert.equal(put.outcome, undefined, 'dead-lettering keeps the bytes');
      getNow(engine, 'results', { autoAck: true });
      assert.equal(completedIds(put).length, 1);
    });

    it('answers a getter waiting on the queue of a put the budget let in, and frees what it takes with autoAck', () => {
      const { engine } = makeHarness({ maxQueuedBytes: 1000 });
      putNow(engine, 'a', [sized(900)]);
      const get = startGet(engine, 'b', { autoAck: true, session: 'consumer' });
      const puts = [startPut(engine, 'b', [sized(500)]), startPut(engine, 'b', [sized(500)])];
      const [task] = getNow(engine, 'a');
      engine.ack(WORKER, [{ id: task!.id }]);
      assert.deepEqual(payloads(get.tasks!), [sized(500)]);
      assert.equal(completedIds(puts[0]!).length, 1);
      assert.equal(completedIds(puts[1]!).length, 1, 'the bytes the getter took let the second put in');
      assert.equal(engine.queuedBytes, 500);
    });

    it("frees the bytes of a session's waiting puts when it ends, and lets the next in", () => {
      const { engine } = makeHarness({ maxQueuedBytes: 1000 });
      putNow(engine, 'a', [sized(800)]);
      const gone = startPut(engine, 'b', [sized(300)], { session: 'gone' });
      const next = startPut(engine, 'c', [sized(200)], { session: 'stays' });
      engine.releaseSession('gone');
      assert.equal(gone.outcome, undefined, 'a withdrawn put is not answered');
      assert.equal(completedIds(next).length, 1);
    });
  });

  describe('restore', () => {
    it('counts the restored tasks again, and keeps maxBytes', () => {
      const { engine } = makeHarness({ maxQueuedBytes: 1000 });
      engine.declareQueue('jobs', { maxBytes: 700 });
      putNow(engine, 'jobs', [sized(100), { payload: sized(200), delay: 10 }, sized(300)]);
      getNow(engine, 'jobs');
      const state = engine.exportState();
      const restored = new Engine({ clock: new ManualClock(START), idPrefix: 't', maxQueuedBytes: 1000 });
      restored.restore(state);
      assert.equal(restored.queueStats('jobs').maxBytes, 700);
      assert.equal(restored.queueStats('jobs').bytes, 600);
      assert.equal(restored.queuedBytes, 600);
      assertFull(startPut(restored, 'jobs', [sized(101)], { timeout: 0 }).outcome, { queue: 'jobs', limit: 'maxBytes', max: 700 });
    });

    it('gives queues from a journal written before maxBytes existed no byte bound', () => {
      const restored = new Engine({ clock: new ManualClock(START), idPrefix: 't' });
      const options = { maxsize: 0, ttr: 60, maxAttempts: 5, deadLetter: 'old.dead' } as unknown as Parameters<Engine['restore']>[0]['queues'][0]['options'];
      restored.restore({ queues: [{ name: 'old', options }], tasks: [] });
      assert.equal(restored.queueStats('old').maxBytes, 0);
      putNow(restored, 'old', [sized(5000)]);
    });
  });
});

describe('Engine: large payloads', () => {
  /** A JSON string text of exactly `length` characters (UTF-16 units), quotes included, made of `fill`. */
  function textOf(length: number, fill: string): JsonText {
    const inner = fill.repeat(Math.ceil(length / fill.length)).slice(0, length - 2);
    return `"${inner}"` as JsonText;
  }

  // From 16 KiB to 128 KiB a queued task holds its payload as UTF-8 bytes (taskRecord.ts):
  // whatever the form, every reader gets back the very text that was put.
  const texts: [string, JsonText][] = [
    ['just below 16 Ki characters', textOf(16 * 1024 - 1, 'x')],
    ['16 Ki characters', textOf(16 * 1024, 'x')],
    ['64 KiB of ASCII', textOf(64 * 1024, 'image_url_')],
    ['64 Ki characters of two- and three-byte UTF-8', textOf(64 * 1024, 'é日本語ß')],
    ['emoji (surrogate pairs) at every position', `"${'😀'.repeat(20_000)}a"` as JsonText],
    ['escapes, a lone surrogate among them, as written', `"${'\\ud800 \\" \\\\ \\n '.repeat(4_000)}"` as JsonText],
    ['an object, numbers as written', `{"url":"${'y'.repeat(40_000)}","n":[1.0,2e3,-0]}` as JsonText],
    ['just below 128 Ki characters', textOf(128 * 1024 - 1, 'z')],
    ['128 Ki characters', textOf(128 * 1024, 'z')],
  ];

  for (const [name, text] of texts) {
    it(`gives back the text it was put with, exactly: ${name}`, () => {
      const { engine } = makeHarness();
      const delivered: string[] = [];
      engine.put({ queue: 'big', tasks: [{ payload: text }, { payload: text, delay: 1 }] }, () => undefined);
      assert.deepEqual(
        engine.peek('big', 1).map((task) => task.payload),
        [text],
        'peek',
      );
      engine.get({ queue: 'big', max: 1, autoAck: false, session: WORKER }, (tasks) => {
        delivered.push(...tasks.map((task) => task.payload));
        return true;
      });
      assert.equal(delivered.length, 1);
      assert.ok(delivered[0] === text, 'the delivered text is the text put');
      assert.equal(bytesOf(engine, 'big'), 2 * Buffer.byteLength(text, 'utf8'), 'bytes counted as UTF-8, whatever the form');
    });
  }
});
