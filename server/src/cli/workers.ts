import { Command } from 'commander';
import type { TaskwireClient } from '../client/client';
import type { ClientInfo } from '../protocol/generated';
import { connectFromFlags, withConnectionOptions, type ConnectionFlags } from './connection';
import { CliError, ExitCode } from './exitCodes';
import { count, since, table } from './format';
import { heldTasksText } from './progressText';

interface WorkersFlags extends ConnectionFlags {
  json?: boolean;
  all?: boolean;
}

export function workersCommand(): Command {
  const workers = withConnectionOptions(new Command('workers').description('show who is connected: workers, producers and monitors; quiet or stop a worker'))
    // `workers quiet S --port 7401`: the options after a subcommand are the subcommand's.
    .enablePositionalOptions()
    .option('--json', 'print the registry as JSON')
    .option('-a, --all', "include this command's own connection")
    .addHelpText(
      'after',
      `
STATE is what an operator told the session: active, quiet (it is handed no task) or stopping
(it finishes the tasks it holds, then leaves). SESSION is the id to give to:
  taskwire workers quiet SESSION   take no new task; finish and ack those held
  taskwire workers stop SESSION    finish and ack the tasks held, then disconnect and exit
A unique prefix of the id is enough. A client that reconnects is a new session, active again.
TASK is the task a worker holds (the one it reported progress on last), as queue#id with its
last progress, e.g. "crawl#t1a2b-45 40% fetching page 2".`,
    )
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
          c.sessionId,
          c.name,
          c.role,
          c.state ?? '-',
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
        process.stdout.write(
          table([...(withManager ? ['MANAGER'] : []), 'SESSION', 'NAME', 'ROLE', 'STATE', 'LANGUAGE', 'HOST', 'PID', 'ADDRESS', 'HOLDING', 'ACKED', 'NACKED', 'CONNECTED', 'TASK'], rows) + '\n',
        );
      } finally {
        client.close();
      }
    });
  workers.addCommand(controlCommand('quiet', 'tell a session to take no new task: it finishes and acks the tasks it holds (the manager hands it nothing from now on)'));
  workers.addCommand(controlCommand('stop', 'tell a session to finish and ack the tasks it holds, then disconnect and exit (the manager closes it once it holds nothing, after a grace period)'));
  return workers;
}

/** `taskwire workers quiet|stop SESSION` (spec §7.20). */
function controlCommand(action: 'quiet' | 'stop', description: string): Command {
  return withConnectionOptions(new Command(action).description(description))
    .argument('<session>', 'the session id as `taskwire workers` shows it (a unique prefix is enough)')
    .action(async (target: string, flags: ConnectionFlags) => {
      const client = await connectFromFlags(flags, 'monitor');
      try {
        const session = await resolveSession(client, target);
        const result = action === 'quiet' ? await client.quietClient(session.sessionId) : await client.stopClient(session.sessionId);
        const what = result.state === 'quiet' ? 'is quiet: it is handed no new task' : 'is stopping: it finishes the tasks it holds, then leaves';
        const told = result.notified ? '' : ' (a 2026-11 client, which cannot be told: the manager enforces it' + (result.state === 'stopping' ? ' and closes it once it holds nothing)' : ')');
        process.stdout.write(`session ${result.session} (${session.name}) ${what}${told}\n`);
      } finally {
        client.close();
      }
    });
}

/** The session a full id or a unique prefix names; a clear usage error otherwise. */
export async function resolveSession(client: TaskwireClient, target: string): Promise<ClientInfo> {
  if (target === '') throw new CliError('give the id of a session (taskwire workers lists them)', ExitCode.Usage);
  const clients = await client.clients();
  const exact = clients.find((c) => c.sessionId === target);
  if (exact) return exact;
  const matches = clients.filter((c) => c.sessionId.startsWith(target));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new CliError(`session ${target} is ambiguous: it starts ${matches.map((c) => `${c.sessionId} (${c.name})`).join(', ')}`, ExitCode.Usage);
  throw new CliError(`no session ${target} is connected (taskwire workers lists the sessions)`, ExitCode.Refused);
}
