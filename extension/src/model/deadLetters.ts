import type { QueueStats, TaskwireClient } from 'taskwire';

/** Where a queue's dead letters go: its own setting, else `<queue>.dead`; null: nowhere. */
export function deadLetterQueueOf(stats: Pick<QueueStats, 'queue' | 'deadLetter'>): string | null {
  return stats.deadLetter === undefined ? `${stats.queue}.dead` : stats.deadLetter;
}

/**
 * Moves dead letters back onto their queue, in batches: take tasks from the dead-letter queue
 * (leased, so a crash gives them back), put their payloads on the queue, and only then ack the
 * dead ones. Interrupted anywhere, nothing is lost; at worst a batch is put twice.
 * Stops after the tasks that were dead when it began, so tasks that die again meanwhile are
 * not retried in a loop. Resolves with how many tasks were requeued.
 */
export async function requeueDeadLetters(
  client: TaskwireClient,
  queue: string,
  deadQueue: string,
  options: { onProgress?: (moved: number, total: number) => void; isCancelled?: () => boolean } = {},
): Promise<number> {
  const dead = client.queue(deadQueue);
  const target = client.queue(queue);
  const total = (await dead.stats()).ready;
  const batchSize = Math.max(1, Math.min(client.limits.maxBatch, 500));
  let moved = 0;
  while (moved < total && !options.isCancelled?.()) {
    // timeout 0: never wait; a lease long enough for a put and an ack even on a slow link.
    const tasks = await dead.getMany(Math.min(batchSize, total - moved), { timeout: 0, ttr: 60 });
    if (tasks.length === 0) break;
    await target.putMany(tasks.map((t) => ({ payload: t.payload, priority: t.priority, ...(t.replyTo !== undefined ? { replyTo: t.replyTo } : {}) })));
    await dead.ackMany(tasks.map((t) => ({ id: t.id })));
    moved += tasks.length;
    options.onProgress?.(moved, total);
  }
  return moved;
}
