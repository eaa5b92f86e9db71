import { Command } from 'commander';
import { MethodNotFoundError, type TaskwireClient } from '../client';
import type { ManagerStats, QueueStats } from '../protocol/generated';
import { connectFromFlags, withConnectionOptions, type ConnectionFlags } from './connection';
import { bytes, count, duration, rate, table } from './format';
import { requireKnownQueue } from './knownQueues';
import { formatLimits } from './limitsText';

interface StatsFlags extends ConnectionFlags {
  json?: boolean;
}

export function statsCommand(): Command {
  return withConnectionOptions(new Command('stats').description("show the manager's counters, and queue depths, counters and rates").argument('[queue]', 'one queue (default: every queue)'))
    .option('--json', "print the raw statistics as JSON: {manager, queues} (with QUEUE: that queue's QueueStats)")
    .action(async (queue: string | undefined, flags: StatsFlags) => {
      const client = await connectFromFlags(flags, 'monitor');
      try {
        // queue/stats creates a queue it does not know (on a manager that creates queues on first use): refuse a typo first.
        if (queue) await requireKnownQueue(client, queue);
        const stats: QueueStats[] = queue ? [await client.queue(queue).stats()] : await client.queues();
        if (flags.json && queue) {
          process.stdout.write(JSON.stringify(stats[0], null, 2) + '\n');
          return;
        }
        const manager = await managerStats(client);
        if (flags.json) {
          process.stdout.write(JSON.stringify(manager ? { manager, queues: stats } : { queues: stats }, null, 2) + '\n');
          return;
        }
        if (manager) process.stdout.write(managerLine(manager) + '\n');
        if (stats.length === 0) {
          process.stdout.write('no queues yet (queues are created by their first put or get)\n');
          return;
        }
        const activity = new Map(manager?.queues.map((q) => [q.queue, q]));
        const rows = stats
          .sort((a, b) => a.queue.localeCompare(b.queue))
          .map((s) => {
            const row = [
              s.queue,
              count(s.ready),
              count(s.leased),
              count(s.delayed),
              count(s.dead),
              s.maxsize === 0 ? '-' : count(s.maxsize),
              s.bytes === undefined ? '-' : cell(bytes(s.bytes)),
              !s.maxBytes ? '-' : cell(bytes(s.maxBytes)),
              count(s.waitingGetters),
              count(s.totals.put),
              count(s.totals.acked),
              count(s.totals.nacked),
              // Since 2026-12 releases are counted apart; expired then means the ttr ran out.
              count(s.totals.expired - (s.totals.released ?? 0)),
              s.totals.released === undefined ? '-' : count(s.totals.released),
              // A manager of 2026-11 cannot pause queues: '-' rather than a "no" it cannot know.
              s.paused === undefined ? '-' : s.paused ? 'yes' : 'no',
            ];
            if (manager) {
              const a = activity.get(s.queue);
              row.push(a ? rate(a.putsPerSecond) : '-', a ? rate(a.acksPerSecond) : '-');
            }
            return row;
          });
        const headers = ['QUEUE', 'READY', 'LEASED', 'DELAYED', 'DEAD', 'MAXSIZE', 'BYTES', 'MAXBYTES', 'GETTERS', 'PUT', 'ACKED', 'NACKED', 'EXPIRED', 'RELEASED', 'PAUSED'];
        if (manager) headers.push('PUT/S', 'ACK/S');
        process.stdout.write(table(headers, rows) + '\n');
        // Queues with rate limits (protocol 2026-12): one line each, below the table.
        for (const s of stats) {
          const limits = formatLimits(s);
          if (limits) process.stdout.write(`${s.queue}: ${limits}; ${count(s.throttled ?? 0)} ready waiting for budget\n`);
        }
      } finally {
        client.close();
      }
    });
}

/** The manager's counters, or undefined from a manager that does not have manager/stats. */
async function managerStats(client: TaskwireClient): Promise<ManagerStats | undefined> {
  try {
    return await client.managerStats();
  } catch (error) {
    if (error instanceof MethodNotFoundError) return undefined;
    throw error;
  }
}

/** "12.3 MiB" as one table cell: "12.3MiB". */
function cell(text: string): string {
  return text.replace(' ', '');
}

/**
 * One line above the table:
 * `manager 0.1.0, up 2 h 5 min: 3 connections (2 sessions; 17 since start, 0 refused, 1 dropped), 4 auth failures, 0 events dropped, rss 59.0 MiB, queued 12.3 MiB of 1.0 GiB`
 */
export function managerLine(m: ManagerStats): string {
  const c = m.connections;
  const plural = (n: number, word: string) => `${count(n)} ${word}${n === 1 ? '' : 's'}`;
  return (
    `manager ${m.version}, up ${duration(m.uptime)}: ` +
    `${plural(c.current, 'connection')} (${plural(c.sessions, 'session')}; ${count(c.total)} since start, ${count(c.refused)} refused, ${count(c.dropped)} dropped), ` +
    `${plural(m.authFailures, 'auth failure')}, ${plural(m.events.dropped, 'event')} dropped, rss ${bytes(m.memory.rss)}` +
    queuedText(m)
  );
}

/** The byte budget, from a manager that reports it. */
function queuedText(m: ManagerStats): string {
  if (m.queuedBytes === undefined) return '';
  return `, queued ${bytes(m.queuedBytes)} ${m.maxQueuedBytes ? `of ${bytes(m.maxQueuedBytes)}` : '(no limit)'}`;
}
