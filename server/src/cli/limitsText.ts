import { formatRate } from '../engine/rateLimit';
import type { QueueStats } from '../protocol/generated';

/** A queue's limits as `stats` and `declare` print them (`rate 10/s, keyRate 1/s, keyConcurrency 2`), or '' when it has none. */
export function formatLimits(stats: QueueStats): string {
  const parts: string[] = [];
  if (stats.rate) parts.push(`rate ${formatRate(stats.rate)}`);
  if (stats.keyRate) parts.push(`keyRate ${formatRate(stats.keyRate)}`);
  if (stats.keyConcurrency) parts.push(`keyConcurrency ${stats.keyConcurrency}`);
  return parts.join(', ');
}
