import { Command } from 'commander';
import type { Event, EventKind } from '../protocol/generated';
import { connectFromFlags, withConnectionOptions, type ConnectionFlags } from './connection';
import { CliError, ExitCode } from './exitCodes';
import { brief } from './format';
import { progressText } from './progressText';
import { PROTOCOL_SPEC } from '../protocol/specDocument';

/** Every event kind, from the spec's EventKind (a list kept here missed each kind added later). */
const KINDS = (PROTOCOL_SPEC.$defs['EventKind'] as { enum: EventKind[] }).enum;

interface TailFlags extends ConnectionFlags {
  queue: string[];
  kind: string[];
  payload?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, ...value.split(',').filter(Boolean)];

/**
 * One readable line per event. With several managers on one store, an event whose client is on
 * another manager than `localManager` (the one tail is connected to) names that manager.
 */
export function formatEvent(event: Event, localManager?: string): string {
  const time = event.at.slice(11, 23);
  const on = event.manager !== undefined && event.manager !== localManager ? ` on ${event.manager}` : '';
  const who = event.client ? ` by ${event.client.name} (${event.client.address ?? event.client.sessionId})${on}` : '';
  const parts = [time, event.kind.padEnd(19)];
  if (event.queue) parts.push(event.queue);
  // "scheduled crawl schedule recrawl t1a2b-9", "schedule-set crawl schedule recrawl by …".
  if (event.schedule) parts.push(`schedule ${event.schedule}`);
  if (event.taskId) parts.push(event.taskId);
  if (event.attempt !== undefined && event.attempt > 1) parts.push(`attempt ${event.attempt}`);
  if (event.count !== undefined) parts.push(`${event.count} removed`);
  // "progress tasks t1a2b-45 40% fetching page 2 by crawler (…)".
  if (event.kind === 'progress') parts.push(progressText(event, 200));
  let line = parts.join(' ') + who;
  if (event.payload !== undefined) line += ` payload=${brief(event.payload)}`;
  if (event.result !== undefined) line += ` result=${brief(event.result)}`;
  if (event.detail !== undefined) line += ` detail=${brief(event.detail)}`;
  // A release says why its holder let go: "released … (client stopped)".
  if (event.error !== undefined) line += event.kind === 'released' ? ` (${event.error})` : ` error=${brief(event.error)}`;
  return line;
}

export function tailCommand(): Command {
  return withConnectionOptions(new Command('tail').description('follow what happens on the manager, results included, until Ctrl+C'))
    .option('-q, --queue <names>', 'only these queues (repeatable or comma-separated)', collect, [])
    .option('-k, --kind <kinds>', `only these kinds: ${KINDS.join(', ')}`, collect, [])
    .option('--payload', 'show task payloads on put, get and dead events')
    .option('--json', 'print each event as a JSON line')
    .addHelpText(
      'after',
      `
Reconnects by itself when the manager restarts.

Examples:
  taskwire tail
  taskwire tail --queue tasks --kind ack --json      (acks of "tasks", with their results)
  taskwire tail --queue results --payload --json    (results routed to "results" by replyTo)
  taskwire tail --kind progress                     (what the workers say they are doing)`,
    )
    .action(async (flags: TailFlags) => {
      const unknown = flags.kind.filter((k) => !KINDS.includes(k as EventKind));
      if (unknown.length > 0) throw new CliError(`unknown event kind "${unknown[0]}": use ${KINDS.join(', ')}`, ExitCode.Usage);
      const client = await connectFromFlags(flags, 'monitor', true);
      const params = {
        ...(flags.queue.length ? { queues: flags.queue } : {}),
        ...(flags.kind.length ? { kinds: flags.kind as EventKind[] } : {}),
        includePayload: flags.payload === true,
      };
      await client.subscribe(params, (event) => {
        process.stdout.write((flags.json ? JSON.stringify(event) : formatEvent(event, client.managerId)) + '\n');
      });
      client.on('disconnected', () => process.stderr.write('connection lost: reconnecting…\n'));
      client.on('reconnected', () => process.stderr.write('reconnected\n'));
      await new Promise<void>((resolve, reject) => {
        const stop = () => {
          client.close();
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        client.once('error', (error: Error) => reject(error));
        // Announced once Ctrl+C is handled: whoever waits for this line may signal at once.
        process.stderr.write(`following events on ${client.host}:${client.port} (Ctrl+C to stop)\n`);
      });
    });
}
