import type { Deadline, Deadlines } from './deadlines';
import { deadlineIsLive } from './deadlines';
import type { EngineState } from './journal';
import { imageOf } from './journalWriter';
import type { LeaseTable } from './leaseTable';
import type { QueueState } from './queueState';
import { TaskState, type TaskRecord } from './taskRecord';

/**
 * The durable state, as a store snapshots it: queues in creation order and, per queue, the
 * ready tasks in delivery order, the delayed ones by due time and the leased ones in lease order.
 */
export function exportState(queues: Iterable<QueueState>, deadlines: Deadlines, leases: LeaseTable): EngineState {
  const delayed = new Map<QueueState, Deadline[]>();
  const seen = new Set<TaskRecord>();
  for (const deadline of deadlines.values()) {
    const task = deadline.task;
    // A task also has stale deadlines (an old lease end): only its current due time counts.
    if (!task || task.state !== TaskState.Delayed || !deadlineIsLive(deadline) || seen.has(task)) continue;
    seen.add(task);
    let list = delayed.get(task.queue);
    if (!list) delayed.set(task.queue, (list = []));
    list.push(deadline);
  }
  const leased = new Map<QueueState, TaskRecord[]>();
  for (const record of leases.values()) {
    let list = leased.get(record.queue);
    if (!list) leased.set(record.queue, (list = []));
    list.push(record);
  }
  const state: EngineState = { queues: [], tasks: [] };
  for (const queue of queues) {
    state.queues.push(queue.paused ? { name: queue.name, options: { ...queue.options }, paused: true } : { name: queue.name, options: { ...queue.options } });
    for (const record of queue.ready.peek(Infinity)) state.tasks.push(imageOf(record));
    const due = (delayed.get(queue) ?? []).sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const deadline of due) state.tasks.push(imageOf(deadline.task!));
    for (const record of leased.get(queue) ?? []) state.tasks.push(imageOf(record));
  }
  return state;
}
