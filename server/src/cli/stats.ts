import { Command } from 'commander';
import type { QueueStats } from '../protocol/generated';
import { connectFromFlags, withConnectionOptions, type ConnectionFlags } from './connection';
import { count, table } from './format';

interface StatsFlags extends ConnectionFlags {
  json?: boolean;
}

export function statsCommand(): Command {
  return withConnectionOptions(
    new Command('stats').description('show queue depths and counters').argument('[queue]', 'one queue (default: every queue)'),
  )
    .option('--json', 'print the raw statistics as JSON')
    .action(async (queue: string | undefined, flags: StatsFlags) => {
      const client = await connectFromFlags(flags, 'monitor');
      try {
        const stats: QueueStats[] = queue ? [await client.queue(queue).stats()] : await client.queues();
        if (flags.json) {
          process.stdout.write(JSON.stringify(queue ? stats[0] : { queues: stats }, null, 2) + '\n');
          return;
        }
        if (stats.length === 0) {
          process.stdout.write('no queues yet (queues are created by their first put or get)\n');
          return;
        }
        const rows = stats
          .sort((a, b) => a.queue.localeCompare(b.queue))
          .map((s) => [
            s.queue,
            count(s.ready),
            count(s.leased),
            count(s.delayed),
            count(s.dead),
            s.maxsize === 0 ? '-' : count(s.maxsize),
            count(s.waitingGetters),
            count(s.totals.put),
            count(s.totals.acked),
            count(s.totals.nacked),
            count(s.totals.expired),
          ]);
        process.stdout.write(table(['QUEUE', 'READY', 'LEASED', 'DELAYED', 'DEAD', 'MAXSIZE', 'GETTERS', 'PUT', 'ACKED', 'NACKED', 'EXPIRED'], rows) + '\n');
      } finally {
        client.close();
      }
    });
}
