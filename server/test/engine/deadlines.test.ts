// The deadline heap lets go of what a deadline no longer applies to (an acked lease, a served
// waiter) at once, not when the entry is finally popped or swept: otherwise every request of the
// last ttr stays reachable and each young-generation collection copies it again.
import { strict as assert } from 'node:assert';
import { Deadlines, deadlineIsLive } from '../../src/engine/deadlines';
import { LeaseTable } from '../../src/engine/leaseTable';
import { WaiterRegistry } from '../../src/engine/waiterRegistry';
import { QueueState } from '../../src/engine/queueState';
import { TaskRecord, TaskState } from '../../src/engine/taskRecord';
import type { GetWaiter } from '../../src/engine/waiters';
import { jsonTextOf } from '../../src/protocol/jsonText';

const queueOptions = { maxsize: 0, maxBytes: 0, ttr: 60, maxAttempts: 5, deadLetter: null };

function record(id: string): TaskRecord {
  return new TaskRecord(id, new QueueState('q', queueOptions), jsonTextOf('payload'), 0, 0, undefined, undefined, undefined, 9, undefined);
}

describe('engine: deadlines let go of what they no longer apply to', () => {
  it('a lease that ends drops its deadline: the entry stays until popped but holds no task', () => {
    const deadlines = new Deadlines(undefined);
    const leases = new LeaseTable(deadlines);
    const task = record('t-1');
    leases.lease(task, 'session', 30, 1000);
    const entry = deadlines.values().find((d) => d.task === task)!;
    assert.equal(entry.task, task);
    assert.ok(deadlineIsLive(entry));
    leases.end(task);
    assert.deepEqual([entry.task, entry.waiter, deadlineIsLive(entry)], [undefined, undefined, false]);
    assert.equal(deadlines.size, 1, 'dropped lazily from the heap');
    assert.equal(deadlines.popDue(1000 + 31_000), undefined, 'a dropped deadline never fires');
  });

  it('touch replaces the lease deadline: the old entry holds nothing, the new one fires', () => {
    const deadlines = new Deadlines(undefined);
    const leases = new LeaseTable(deadlines);
    const task = record('t-2');
    leases.lease(task, 'session', 30, 0);
    const first = deadlines.values().find((d) => d.task === task)!;
    leases.extend(task, 60, 10_000);
    assert.equal(first.task, undefined);
    assert.deepEqual(
      deadlines
        .values()
        .filter((d) => d.task === task)
        .map((d) => d.at),
      [70_000],
    );
    assert.equal(deadlines.popDue(40_000), undefined);
    assert.equal(deadlines.popDue(70_000)?.task, task);
    assert.equal(task.state, TaskState.Leased);
  });

  it('a waiter that stops waiting drops its timeout deadline, with or without a session', () => {
    const deadlines = new Deadlines(undefined);
    const waiters = new WaiterRegistry({ now: () => 0 }, deadlines);
    for (const session of ['session', undefined]) {
      const waiter: GetWaiter = { kind: 'get', request: { queue: 'q', max: 1, session: session ?? 's', autoAck: false }, deliver: () => true, active: true, timeoutAt: undefined };
      waiters.track(waiter, session, 5);
      const entry = deadlines.values().find((d) => d.waiter === waiter)!;
      assert.ok(deadlineIsLive(entry));
      waiter.active = false;
      waiters.untrack(waiter, session);
      assert.equal(entry.waiter, undefined, `session ${String(session)}`);
    }
    assert.equal(deadlines.popDue(10_000), undefined);
  });
});
