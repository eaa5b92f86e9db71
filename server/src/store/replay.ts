import type { EngineState, JournalRecord, QueueImage, TaskImage } from '../engine/journal';
import type { ResolvedQueueOptions } from '../engine/queueState';
import type { ScheduleImage } from '../engine/schedules';
import type { StoredRecord } from './records';

/** A task in a snapshot file. */
export interface TaskEntry {
  op: 'task';
  task: TaskImage;
}

/**
 * Folds records (a snapshot's, then the journals') into the state they describe. Pure: no
 * clock, no defaults. Records naming a task it does not hold are ignored: after a --repair
 * skipped some, the rest still apply.
 */
export class Replay {
  private readonly queues = new Map<string, ResolvedQueueOptions>();
  /** Queues paused (spec §7.19) as of the records so far. */
  private readonly paused = new Set<string>();
  /** Map order is the order of each task's last change: what delivery order is built from. */
  private readonly tasks = new Map<string, TaskImage>();
  /**
   * Ready tasks put back at the head of their priority level (released, spec §7.3), each with a
   * rank below every earlier one's: the last put back comes first, as the engine's pushFront.
   */
  private readonly heads = new Map<string, number>();
  private lastHead = 0;
  private readonly schedules = new Map<string, ScheduleImage>();
  /** Records that named a task that is not there. */
  unmatched = 0;

  apply(stored: StoredRecord): void {
    const record = stored as unknown as JournalRecord | TaskEntry;
    switch (record.op) {
      case 'queue':
        this.queues.set(record.queue, record.options);
        return;
      case 'pause':
        if (record.paused) this.paused.add(record.queue);
        else this.paused.delete(record.queue);
        return;
      case 'put':
        for (const task of record.tasks) this.place(task);
        return;
      case 'task':
        this.place(record.task);
        return;
      case 'lease':
        for (const id of record.ids) {
          this.change(id, (task) => {
            delete task.readyAt;
            task.leased = true;
          });
        }
        return;
      case 'retry':
        this.change(
          record.id,
          (task) => {
            delete task.leased;
            task.attempt = record.attempt;
            if (record.readyAt !== undefined) task.readyAt = record.readyAt;
            else delete task.readyAt;
            if (record.lastError !== undefined) task.lastError = record.lastError;
          },
          record.head === true,
        );
        return;
      case 'due':
        for (const id of record.ids) this.change(id, (task) => delete task.readyAt);
        return;
      case 'dead':
        this.change(record.id, (task) => {
          delete task.leased;
          delete task.readyAt;
          task.queue = record.queue;
          task.deadLetteredFrom = record.from;
          // A dead task holds no uniqueness key (spec §7.21).
          delete task.unique;
          if (record.lastError !== undefined) task.lastError = record.lastError;
        });
        return;
      case 'schedule':
        this.schedules.set(record.schedule.name, record.schedule);
        return;
      case 'unschedule':
        this.schedules.delete(record.name);
        return;
      case 'ack':
      case 'drop':
        for (const id of record.ids) {
          this.heads.delete(id);
          if (!this.tasks.delete(id)) this.unmatched++;
        }
        return;
      default:
        throw new Error(`unknown record "${(record as { op: string }).op}"`);
    }
  }

  get taskCount(): number {
    return this.tasks.size;
  }

  /** The state in EngineState order: per queue, ready by priority then age, delayed by due time, leased. */
  state(): EngineState {
    const queues: QueueImage[] = [...this.queues].map(([name, options]) => (this.paused.has(name) ? { name, options, paused: true } : { name, options }));
    const byQueue = new Map<string, { ready: TaskImage[]; delayed: TaskImage[]; leased: TaskImage[] }>();
    for (const task of this.tasks.values()) {
      let lists = byQueue.get(task.queue);
      if (!lists) byQueue.set(task.queue, (lists = { ready: [], delayed: [], leased: [] }));
      if (task.leased) lists.leased.push(task);
      else if (task.readyAt !== undefined) lists.delayed.push(task);
      else lists.ready.push(task);
    }
    // A queue with tasks but no declaration (only after --repair skipped it) gets the engine's defaults.
    const names = [...this.queues.keys(), ...[...byQueue.keys()].filter((name) => !this.queues.has(name))];
    const tasks: TaskImage[] = [];
    for (const name of names) {
      const lists = byQueue.get(name);
      if (!lists) continue;
      // Stable sorts: equal keys keep the order in which tasks last changed, after the ones put
      // back at the head of their level.
      lists.ready.sort((a, b) => b.priority - a.priority || (this.heads.get(a.id) ?? 0) - (this.heads.get(b.id) ?? 0));
      lists.delayed.sort((a, b) => a.readyAt! - b.readyAt!);
      // Loops, not push(...list): a spread of a million arguments overflows the stack.
      for (const list of [lists.ready, lists.delayed, lists.leased]) for (const task of list) tasks.push(task);
    }
    const state: EngineState = { queues, tasks };
    if (this.schedules.size > 0) state.schedules = [...this.schedules.values()];
    return state;
  }

  private place(task: TaskImage): void {
    this.heads.delete(task.id);
    this.tasks.delete(task.id);
    this.tasks.set(task.id, { ...task });
  }

  /** Applies a change to a task and moves it to the end of the change order (`toHead`: and first of its level while ready). */
  private change(id: string, apply: (task: TaskImage) => void, toHead = false): void {
    const task = this.tasks.get(id);
    if (!task) {
      this.unmatched++;
      return;
    }
    apply(task);
    this.tasks.delete(id);
    this.tasks.set(id, task);
    if (toHead) this.heads.set(id, --this.lastHead);
    else this.heads.delete(id);
  }
}
