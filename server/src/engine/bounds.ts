import type { ByteBudget } from './byteBudget';
import { EngineError, type QueueLimit } from './engineError';
import type { QueueState } from './queueState';

// Why a put does not fit, in the words of its queue_full error: the queue's maxsize or
// maxBytes, or the manager's byte budget.

/** queue_full at once for a put that no amount of waiting would let in. */
export function neverFits(queue: QueueState, count: number, bytes: number, budget: ByteBudget): EngineError | undefined {
  const { maxsize, maxBytes } = queue.options;
  if (maxsize > 0 && count > maxsize) return fullError(queue, 'maxsize', maxsize, `"${queue.name}" has more tasks than its maxsize (maxsize ${maxsize})`);
  const what = `${tasks(count)} of ${bytes} bytes`;
  if (maxBytes > 0 && bytes > maxBytes) return fullError(queue, 'maxBytes', maxBytes, `"${queue.name}" can never take ${what} (maxBytes ${maxBytes})`);
  if (budget.max > 0 && bytes > budget.max) {
    return fullError(queue, 'maxQueuedBytes', budget.max, `the manager can never hold ${what} (maxQueuedBytes ${budget.max})`);
  }
  return undefined;
}

/** queue_full for a put that found no room (timeout 0) or waited in vain, naming the bound in the way. */
export function queueFull(queue: QueueState, count: number, bytes: number, budget: ByteBudget): EngineError {
  // A put that fits, but waits behind others on the queue, waits for what the first of them does.
  const head = queue.headPutter();
  const limit = boundInTheWay(queue, count, bytes, budget) ?? (head && boundInTheWay(queue, head.request.tasks.length, head.bytes, budget)) ?? 'maxsize';
  const { maxsize, maxBytes } = queue.options;
  switch (limit) {
    case 'maxsize':
      return fullError(queue, limit, maxsize, `"${queue.name}" has no room for ${tasks(count)} (maxsize ${maxsize})`);
    case 'maxBytes':
      return fullError(queue, limit, maxBytes, `"${queue.name}" has no room for ${tasks(count)} of ${bytes} bytes (maxBytes ${maxBytes}, ${queue.bytes} held)`);
    case 'maxQueuedBytes':
      return fullError(queue, limit, budget.max, `the manager has no room for ${tasks(count)} of ${bytes} bytes in "${queue.name}" (maxQueuedBytes ${budget.max}, ${budget.held} held)`);
  }
}

/** The first bound that keeps a put of `count` tasks of `bytes` out of the queue now, if any. */
function boundInTheWay(queue: QueueState, count: number, bytes: number, budget: ByteBudget): QueueLimit | undefined {
  const { maxsize, maxBytes } = queue.options;
  if (maxsize > 0 && queue.size + count > maxsize) return 'maxsize';
  if (maxBytes > 0 && queue.bytes + bytes > maxBytes) return 'maxBytes';
  if (!budget.admits(queue, bytes)) return 'maxQueuedBytes';
  return undefined;
}

function fullError(queue: QueueState, limit: QueueLimit, max: number, message: string): EngineError {
  return new EngineError('queue_full', message, { queue: queue.name, maxsize: queue.options.maxsize, limit, max });
}

function tasks(count: number): string {
  return `${count} task${count === 1 ? '' : 's'}`;
}
