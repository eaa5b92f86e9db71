import { Command } from 'commander';
import { MethodNotFoundError, type TaskwireClient } from '../client';
import type { QueueStats } from '../protocol/generated';
import { connectFromFlags, withConnectionOptions, type ConnectionFlags } from './connection';
import { CliError, ExitCode } from './exitCodes';
import { count } from './format';
import { requireKnownQueue } from './knownQueues';

interface PauseFlags extends ConnectionFlags {
  json?: boolean;
}

/**
 * What `taskwire pause QUEUE` (pause.ts) and `taskwire resume QUEUE` (resume.ts) share (spec §7.19). A pause creates a queue that
 * does not exist yet, as the protocol does, so that a queue can be paused before its first put;
 * a resume refuses an unknown queue (exit 7, naming the known ones): there is nothing to resume,
 * and a typo should not create a queue.
 */
export function queueStateCommand(name: 'pause' | 'resume', pause: boolean): Command {
  const description = pause
    ? 'pause a queue: puts are still accepted, gets deliver nothing until `taskwire resume`; tasks already taken run on (creates the queue if it does not exist)'
    : 'resume a paused queue: its ready tasks are delivered again, first to the gets that waited';
  return withConnectionOptions(new Command(name).description(description).argument('<queue>', pause ? 'the queue to pause' : 'the queue to resume'))
    .option('--json', "print the queue's stats (QueueStats) as JSON")
    .addHelpText(
      'after',
      `
The pause holds for every client and every manager of a shared store (--store), and survives a
restart of a manager with --data-dir. \`taskwire stats\` shows paused queues in its PAUSED column.
Needs a manager of protocol 2026-12 or later (exit 7 from an older one).

Examples:
  taskwire pause thumbnails
  taskwire resume thumbnails
  taskwire ${name} thumbnails --json`,
    )
    .action(async (queue: string, flags: PauseFlags) => {
      const client = await connectFromFlags(flags, 'monitor');
      try {
        const existed = pause ? await queueExists(client, queue) : (await requireKnownQueue(client, queue), true);
        const stats = await setPaused(client, queue, pause);
        if (flags.json) {
          process.stdout.write(JSON.stringify(stats, null, 2) + '\n');
          return;
        }
        process.stdout.write(summary(stats, pause, existed) + '\n');
      } finally {
        client.close();
      }
    });
}

async function queueExists(client: TaskwireClient, queue: string): Promise<boolean> {
  return (await client.queues()).some((stats) => stats.queue === queue);
}

async function setPaused(client: TaskwireClient, queue: string, pause: boolean): Promise<QueueStats> {
  try {
    return pause ? await client.queue(queue).pause() : await client.queue(queue).resume();
  } catch (error) {
    if (error instanceof MethodNotFoundError) {
      throw new CliError(`the manager does not support pausing queues (protocol ${client.protocolVersion ?? 'unknown'}; queue/pause needs 2026-12)`, ExitCode.Refused);
    }
    throw error;
  }
}

/** `paused queue "jobs": 3 ready, 1 leased (runs on), 0 delayed; 2 gets waiting`. */
function summary(stats: QueueStats, pause: boolean, existed: boolean): string {
  const state = `${count(stats.ready)} ready, ${count(stats.leased)} leased${pause && stats.leased > 0 ? ' (they run on)' : ''}, ${count(stats.delayed)} delayed`;
  const waiting = stats.waitingGetters > 0 ? `; ${count(stats.waitingGetters)} get${stats.waitingGetters === 1 ? '' : 's'} waiting` : '';
  const created = existed ? '' : ' (created: it did not exist)';
  return `${pause ? 'paused' : 'resumed'} queue ${JSON.stringify(stats.queue)}${created}: ${state}${waiting}`;
}
