// The progress board alone: what it publishes when (the rate limit and its trailing report),
// and what it keeps for manager/clients.
import { strict as assert } from 'node:assert';
import type { EngineEvent } from '../../src/engine';
import { ProgressBoard } from '../../src/server/progressBoard';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('server: progress board', () => {
  let published: EngineEvent[];
  let board: ProgressBoard;
  beforeEach(() => {
    published = [];
    board = new ProgressBoard((event) => published.push(event), 100);
  });
  afterEach(() => board.close());

  it('publishes the first report at once, holds the rest of a burst, and publishes its last when the interval has passed', async () => {
    board.record('s1', 't1', 'jobs', { percent: 10 });
    assert.deepEqual(
      published.map((e) => [e.kind, e.queue, e.taskId, e.session, e.progress]),
      [['progress', 'jobs', 't1', 's1', { percent: 10 }]],
    );
    board.record('s1', 't1', 'jobs', { percent: 20 });
    board.record('s1', 't1', 'jobs', { percent: 30, message: 'almost', detail: { n: 3 } });
    assert.equal(published.length, 1, 'the burst waits for the interval');
    assert.deepEqual(board.progressOf('s1', 't1')?.percent, 30, 'manager/clients shows the latest at once');
    await sleep(400);
    assert.deepEqual(
      published.map((e) => e.progress),
      [{ percent: 10 }, { percent: 30, message: 'almost', detail: { n: 3 } }],
    );
    // Another task has its own interval.
    board.record('s1', 't2', 'jobs', { message: 'other' });
    assert.equal(published.length, 3);
  });

  it('publishes a held report at once when the lease ends, and forgets the task', () => {
    board.record('s1', 't1', 'jobs', { percent: 10 });
    board.record('s1', 't1', 'jobs', { percent: 100 });
    board.leaseEnded('t1');
    assert.deepEqual(
      published.map((e) => e.progress?.percent),
      [10, 100],
    );
    assert.equal(board.progressOf('s1', 't1'), undefined);
  });

  it("shows a task's progress only to its holder's entry, and forgets tasks no longer held", () => {
    board.record('s1', 't1', 'jobs', { percent: 10 });
    assert.equal(board.progressOf('s2', 't1'), undefined);
    board.record('s2', 't1', 'jobs', { percent: 5 });
    assert.equal(board.progressOf('s1', 't1'), undefined, 'delivered again to s2: s1 no longer holds it');
    assert.equal(board.progressOf('s2', 't1')?.percent, 5);
    board.record('s2', 't2', 'jobs', { percent: 1 });
    board.retainHeld('s2', new Set(['t2']));
    assert.equal(board.progressOf('s2', 't1'), undefined);
    assert.equal(board.progressOf('s2', 't2')?.percent, 1);
    board.sessionEnded('s2');
    assert.equal(board.progressOf('s2', 't2'), undefined);
  });
});
