import type { TaskRecord } from './taskRecord';
import type { EngineDefaults } from './types';

// What happens to a task after a failed attempt, or after a manager crash: the rules, apart
// from the moves that carry them out (engine.ts).

/** The delay before the retry of a failed attempt, when the nack names none: doubling, capped. */
export function backoffSeconds(attempt: number, defaults: EngineDefaults): number {
  return Math.min(defaults.retryBackoffBase * 2 ** (attempt - 1), defaults.retryBackoffCap);
}

/** True when the attempt that just failed was the task's last: it goes to the dead-letter queue. */
export function attemptsUsedUp(record: TaskRecord): boolean {
  // A task's own maxAttempts was given for the queue it was put in; once dead-lettered, the
  // dead-letter queue's policy applies (unlimited by default), or a dead task could be dropped.
  const ownLimit = record.deadLetteredFrom === undefined ? record.maxAttempts : undefined;
  const maxAttempts = ownLimit ?? record.queue.options.maxAttempts;
  return maxAttempts > 0 && record.attempt >= maxAttempts;
}

/**
 * A task that was leased when the manager crashed: its lastError when it has now been leased
 * through `maxCrashes` crashes and is dead-lettered as a possible poison task (one that kills
 * the manager), or undefined when it simply comes back with attempt + 1. A crash is the
 * manager's failure, not the task's, so it never uses up the task's attempts: five crashes
 * must not dead-letter the innocent tasks that were merely leased at each.
 */
export function poisonVerdict(record: TaskRecord, maxCrashes: number): string | undefined {
  if (maxCrashes <= 0 || record.crashes < maxCrashes) return undefined;
  return `leased when the manager crashed, ${record.crashes} times: dead-lettered as a possible poison task`;
}
