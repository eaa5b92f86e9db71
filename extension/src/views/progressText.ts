import type { HeldTask, TaskProgress } from 'taskwire';

const BAR_CELLS = 10;

/** "▰▰▰▰▱▱▱▱▱▱ 40% fetching page 2": a progress report on one line, the bar only with a percent. */
export function progressText(progress: Pick<TaskProgress, 'percent' | 'message'>, maxMessage = 48): string {
  const parts: string[] = [];
  if (progress.percent !== undefined) {
    const filled = Math.round((Math.min(100, Math.max(0, progress.percent)) / 100) * BAR_CELLS);
    parts.push(`${'▰'.repeat(filled)}${'▱'.repeat(BAR_CELLS - filled)} ${Number(progress.percent.toFixed(1))}%`);
  }
  if (progress.message !== undefined) parts.push(progress.message.length > maxMessage ? `${progress.message.slice(0, maxMessage - 1)}…` : progress.message);
  return parts.join(' ');
}

/** The held task to show on a worker's row: the one it reported on last, else none. */
export function currentTask(tasks: readonly HeldTask[] | undefined): HeldTask | undefined {
  let current: HeldTask | undefined;
  for (const task of tasks ?? []) {
    if (task.progress && (!current?.progress || task.progress.at > current.progress.at)) current = task;
  }
  return current;
}
