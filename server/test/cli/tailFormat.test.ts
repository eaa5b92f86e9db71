import { strict as assert } from 'node:assert';
import { formatEvent } from '../../src/cli/tail';
import type { Event } from '../../src/protocol/generated';

describe('cli: taskwire tail lines', () => {
  const client = { sessionId: 's-1', name: 'worker-1', role: 'worker' as const, address: '10.0.0.7:51000' };
  const ack: Event = { subscription: 'sub-1', kind: 'ack', queue: 'tasks', taskId: 't-9', at: '2026-12-06T10:00:00.123Z', client, manager: 'm-aaaa', result: 'ok' };

  it('one line: time, kind, queue, task, who, result', () => {
    assert.equal(formatEvent(ack, 'm-aaaa'), '10:00:00.123 ack                 tasks t-9 by worker-1 (10.0.0.7:51000) result="ok"');
  });

  it('names the manager of a client on another manager of the store, and only then', () => {
    assert.equal(formatEvent(ack, 'm-bbbb'), '10:00:00.123 ack                 tasks t-9 by worker-1 (10.0.0.7:51000) on m-aaaa result="ok"');
    const { manager: _none, ...fromOldManager } = ack;
    assert.equal(formatEvent(fromOldManager, 'm-bbbb'), '10:00:00.123 ack                 tasks t-9 by worker-1 (10.0.0.7:51000) result="ok"');
  });

  it('a release says why its holder let go, in parentheses', () => {
    const released: Event = { subscription: 'sub-1', kind: 'released', queue: 'tasks', taskId: 't-9', attempt: 1, error: 'client stopped', at: '2026-12-06T10:00:00.123Z', client };
    assert.equal(formatEvent(released), '10:00:00.123 released            tasks t-9 by worker-1 (10.0.0.7:51000) (client stopped)');
  });

  it('a pause and a resume name the queue and who asked', () => {
    const operator = { sessionId: 's-2', name: 'taskwire-cli', role: 'monitor' as const, address: '127.0.0.1:52000' };
    const paused: Event = { subscription: 'sub-1', kind: 'paused', queue: 'tasks', at: '2026-12-06T10:00:00.123Z', client: operator };
    assert.equal(formatEvent(paused), '10:00:00.123 paused              tasks by taskwire-cli (127.0.0.1:52000)');
    assert.equal(formatEvent({ ...paused, kind: 'resumed' }), '10:00:00.123 resumed             tasks by taskwire-cli (127.0.0.1:52000)');
  });

  it('a tick names its schedule and the task it put, or why it put none; a set and a delete name who made them', () => {
    const operator = { sessionId: 's-2', name: 'taskwire-cli', role: 'monitor' as const, address: '127.0.0.1:52000' };
    const tick: Event = { subscription: 'sub-1', kind: 'scheduled', queue: 'crawl', schedule: 'recrawl', taskId: 't-10', at: '2026-12-06T10:00:00.123Z' };
    assert.equal(formatEvent(tick), '10:00:00.123 scheduled           crawl schedule recrawl t-10');
    const { taskId: _none, ...skipped } = tick;
    assert.equal(
      formatEvent({ ...skipped, error: 'queue full: "crawl" has no room for 1 task (maxsize 1)' }),
      '10:00:00.123 scheduled           crawl schedule recrawl error="queue full: \\"crawl\\" has no room for 1 task (maxsize 1)"',
    );
    const set: Event = { subscription: 'sub-1', kind: 'schedule-set', queue: 'crawl', schedule: 'recrawl', at: '2026-12-06T10:00:00.123Z', client: operator };
    assert.equal(formatEvent(set), '10:00:00.123 schedule-set        crawl schedule recrawl by taskwire-cli (127.0.0.1:52000)');
    assert.equal(formatEvent({ ...set, kind: 'schedule-deleted' }), '10:00:00.123 schedule-deleted    crawl schedule recrawl by taskwire-cli (127.0.0.1:52000)');
  });
});
