import type { TaskwireClient } from '../client';
import { CliError, ExitCode } from './exitCodes';

/**
 * Refuses a queue name the manager does not know, naming the ones it does (and the nearest, for
 * a typo): with queues created on first use, `taskwire get taks` would otherwise create "taks"
 * and wait on it for ever. Commands that may rightly wait for a queue to appear offer --create.
 */
export async function requireKnownQueue(client: TaskwireClient, queue: string, hint = ''): Promise<void> {
  const known = (await client.queues()).map((stats) => stats.queue);
  if (known.includes(queue)) return;
  throw new CliError(unknownQueueMessage(queue, known) + hint, ExitCode.Refused);
}

/** `queue "taks" does not exist (did you mean "tasks"?; known queues: results, tasks)`. */
export function unknownQueueMessage(queue: string, known: string[]): string {
  const sorted = [...known].sort();
  const nearest = sorted.filter((name) => editDistance(name, queue) <= Math.max(1, Math.floor(queue.length / 4)));
  const suggestion = nearest.length > 0 ? `did you mean ${nearest.map((name) => JSON.stringify(name)).join(' or ')}? ` : '';
  const list = sorted.length === 0 ? 'the manager has no queues yet' : `known queues: ${sorted.slice(0, 20).join(', ')}${sorted.length > 20 ? `, … (${sorted.length} in all)` : ''}`;
  return `queue ${JSON.stringify(queue)} does not exist (${suggestion}${list})`;
}

/** Levenshtein distance, small strings only (queue names). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
