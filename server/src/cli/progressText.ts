import type { HeldTask, TaskProgress } from '../protocol/generated';

/** "40% fetching page 2", "40%", "fetching page 2": a progress report on one line. */
export function progressText(progress: Pick<TaskProgress, 'percent' | 'message'>, maxMessage = 60): string {
  const parts: string[] = [];
  if (progress.percent !== undefined) parts.push(`${Number(progress.percent.toFixed(1))}%`);
  if (progress.message !== undefined) parts.push(progress.message.length > maxMessage ? `${progress.message.slice(0, maxMessage - 1)}…` : progress.message);
  return parts.join(' ');
}

/**
 * A session's held tasks in one cell: the one reported on last (else the first), as
 * `queue#id 40% fetching page 2`, and how many more it holds; "-" when it holds none.
 */
export function heldTasksText(tasks: readonly HeldTask[] | undefined): string {
  if (!tasks || tasks.length === 0) return '-';
  const reported = tasks.filter((t) => t.progress !== undefined).sort((a, b) => Date.parse(b.progress!.at) - Date.parse(a.progress!.at));
  const shown = reported[0] ?? tasks[0]!;
  const text = [`${shown.queue}#${shown.id}`, ...(shown.progress ? [progressText(shown.progress, 40)] : [])].join(' ');
  return tasks.length > 1 ? `${text} (+${tasks.length - 1} more)` : text;
}
