import { Command } from 'commander';
import { connectFromFlags, withConnectionOptions, type ConnectionFlags } from './connection';
import { count, since, table } from './format';
import { heldTasksText } from './progressText';

interface WorkersFlags extends ConnectionFlags {
  json?: boolean;
  all?: boolean;
}

export function workersCommand(): Command {
  return withConnectionOptions(new Command('workers').description('show who is connected: workers, producers and monitors'))
    .option('--json', 'print the registry as JSON')
    .option('-a, --all', "include this command's own connection")
    .addHelpText('after', '\nTASK: the task a worker holds (the one it reported progress on last), as queue#id with its last progress, e.g. "crawl#t1a2b-45 40% fetching page 2".')
    .action(async (flags: WorkersFlags) => {
      const client = await connectFromFlags(flags, 'monitor');
      try {
        const clients = (await client.clients()).filter((c) => flags.all || c.sessionId !== client.sessionId);
        if (flags.json) {
          process.stdout.write(JSON.stringify({ clients }, null, 2) + '\n');
          return;
        }
        if (clients.length === 0) {
          process.stdout.write('no clients connected\n');
          return;
        }
        // Several managers on one store (since 2026-12 each entry names its manager): say which.
        const managers = new Set(clients.map((c) => c.manager).filter((m) => m !== undefined));
        const withManager = managers.size > 1;
        const rows = clients.map((c) => [
          ...(withManager ? [c.manager ?? '-'] : []),
          c.name,
          c.role,
          c.language ?? '-',
          c.host ?? '-',
          c.pid !== undefined ? String(c.pid) : '-',
          c.address,
          count(c.leased),
          count(c.acked),
          count(c.nacked),
          since(c.connectedAt),
          heldTasksText(c.tasks),
        ]);
        process.stdout.write(table([...(withManager ? ['MANAGER'] : []), 'NAME', 'ROLE', 'LANGUAGE', 'HOST', 'PID', 'ADDRESS', 'HOLDING', 'ACKED', 'NACKED', 'CONNECTED', 'TASK'], rows) + '\n');
      } finally {
        client.close();
      }
    });
}
