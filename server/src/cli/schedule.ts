import { Command } from 'commander';
import type { Schedule, TaskSpec } from '../protocol/generated';
import { connectFromFlags, parseNumber, withConnectionOptions, type ConnectionFlags } from './connection';
import { CliError, ExitCode } from './exitCodes';
import { duration, table } from './format';
import { parsePayloadArgument } from './payload';

// `taskwire schedule add|list|rm` (spec §5.25): schedules live in the manager (and its store),
// which puts their task at each tick whether or not anyone is connected.

interface AddFlags extends ConnectionFlags {
  cron?: string;
  tz?: string;
  every?: number;
  startAt?: string;
  json?: boolean;
  string?: boolean;
  priority?: number;
  delay?: number;
  ttr?: number;
  replyTo?: string;
  maxAttempts?: number;
}

interface ListFlags extends ConnectionFlags {
  queue?: string;
  json?: boolean;
}

const UNITS: Record<string, number> = { s: 1, m: 60, min: 60, h: 3600, d: 86400 };

/** "10s", "5m", "1h", "2d" or plain seconds ("90"). */
export function parseInterval(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|min|h|d)?$/.exec(value.trim());
  if (!match) throw new CliError(`invalid --every "${value}": expected seconds or a number with s, m, h or d (10s, 5m, 1h)`, ExitCode.Usage);
  const seconds = Number(match[1]) * UNITS[match[2] ?? 's']!;
  if (seconds < 1) throw new CliError(`invalid --every "${value}": at least 1 second`, ExitCode.Usage);
  return seconds;
}

function addCommand(): Command {
  return withConnectionOptions(
    new Command('add')
      .description('create or replace a schedule: put a task on QUEUE at each tick of a cron expression or an interval')
      .argument('<name>', 'schedule name (an existing one is replaced)')
      .argument('<queue>', 'queue the task is put on')
      .argument('[payload]', 'the task payload: JSON if it parses as JSON, text otherwise (default null)'),
  )
    .option('--cron <expr>', 'cron expression: 5 fields (min hour day month weekday), or 6 with seconds first')
    .option('--tz <zone>', 'IANA time zone of the cron expression (default UTC), e.g. Europe/Berlin')
    .option('--every <interval>', 'a fixed interval: 10s, 5m, 1h, 1d (at least 1 s)', parseInterval)
    .option('--start-at <time>', 'no tick before this ISO time; with --every, the first tick')
    .option('--json', 'the payload must be valid JSON')
    .option('--string', 'the payload is text, even when it looks like JSON')
    .option('--priority <n>', 'priority of each task put (higher first)', parseNumber('priority', { integer: true, min: -1_000_000 }))
    .option('--delay <seconds>', 'hold each task back this long after its tick', parseNumber('delay'))
    .option('--ttr <seconds>', 'lease length of each task', parseNumber('ttr', { min: 0.001 }))
    .option('--reply-to <queue>', 'queue for results')
    .option('--max-attempts <n>', 'deliveries before dead-lettering (0: unlimited)', parseNumber('max-attempts', { integer: true }))
    .addHelpText(
      'after',
      `
Each tick puts one task, once across every manager of a shared store. Ticks missed while no
manager ran are not made up one by one: the latest runs once. A tick whose queue is full is
skipped (a "scheduled" event says so), never waited on.

Examples:
  taskwire schedule add recrawl crawl https://example.com/ --cron "0 * * * *" --tz Europe/Berlin
  taskwire schedule add heartbeat checks '{"ping":true}' --every 30s --priority 5`,
    )
    .action(async (name: string, queue: string, payload: string | undefined, flags: AddFlags) => add(name, queue, payload, flags));
}

async function add(name: string, queue: string, payloadText: string | undefined, flags: AddFlags): Promise<void> {
  if ((flags.cron === undefined) === (flags.every === undefined)) throw new CliError('give one of --cron EXPR or --every INTERVAL', ExitCode.Usage);
  if (flags.tz !== undefined && flags.cron === undefined) throw new CliError('--tz applies to --cron only', ExitCode.Usage);
  if (flags.json && flags.string) throw new CliError('--json and --string contradict each other: pick one', ExitCode.Usage);
  if (flags.startAt !== undefined && Number.isNaN(Date.parse(flags.startAt)))
    throw new CliError(`invalid --start-at "${flags.startAt}": expected an ISO time such as 2026-12-24T18:00:00Z`, ExitCode.Usage);
  const payload = payloadText === undefined ? null : parsePayloadArgument(payloadText, flags.json ? 'json' : flags.string ? 'string' : 'auto');
  const task: TaskSpec = { payload };
  if (flags.priority !== undefined) task.priority = flags.priority;
  if (flags.delay !== undefined) task.delay = flags.delay;
  if (flags.ttr !== undefined) task.ttr = flags.ttr;
  if (flags.replyTo !== undefined) task.replyTo = flags.replyTo;
  if (flags.maxAttempts !== undefined) task.maxAttempts = flags.maxAttempts;
  const client = await connectFromFlags(flags, 'producer');
  try {
    const { schedule, created } = await client.schedules.set({
      name,
      queue,
      task,
      ...(flags.cron !== undefined ? { cron: flags.cron } : {}),
      ...(flags.tz !== undefined ? { timezone: flags.tz } : {}),
      ...(flags.every !== undefined ? { every: flags.every } : {}),
      ...(flags.startAt !== undefined ? { startAt: new Date(flags.startAt).toISOString() } : {}),
    });
    process.stdout.write(`${created ? 'created' : 'replaced'} schedule "${schedule.name}" on "${schedule.queue}": ${when(schedule)}, next run ${schedule.nextRun}\n`);
  } finally {
    client.close();
  }
}

/** "cron 0 * * * * Europe/Berlin", "every 30 s". */
export function when(schedule: Schedule): string {
  if (schedule.cron !== undefined) return `cron ${schedule.cron}${schedule.timezone !== undefined ? ` ${schedule.timezone}` : ''}`;
  return `every ${schedule.every! < 60 || schedule.every! % 60 !== 0 ? `${schedule.every} s` : duration(schedule.every!)}`;
}

function lastText(schedule: Schedule): string {
  const run = schedule.lastRun;
  if (!run) return '-';
  return run.skipped !== undefined ? `${run.at} skipped (${run.skipped})` : `${run.at} ${run.taskId ?? ''}`.trimEnd();
}

function listCommand(): Command {
  return withConnectionOptions(new Command('list').description('list the schedules, with their next and last runs'))
    .option('-q, --queue <queue>', 'only the schedules of this queue')
    .option('--json', 'print the schedules as JSON, one per line')
    .action(async (flags: ListFlags) => {
      const client = await connectFromFlags(flags, 'monitor');
      try {
        const schedules = await client.schedules.list(flags.queue);
        if (flags.json) {
          for (const schedule of schedules) process.stdout.write(`${JSON.stringify(schedule)}\n`);
          return;
        }
        if (schedules.length === 0) {
          process.stdout.write('no schedules\n');
          return;
        }
        const rows = schedules.map((s) => [s.name, s.queue, when(s), s.nextRun, lastText(s)]);
        process.stdout.write(`${table(['NAME', 'QUEUE', 'WHEN', 'NEXT', 'LAST'], rows)}\n`);
      } finally {
        client.close();
      }
    });
}

function removeCommand(): Command {
  return withConnectionOptions(new Command('rm').description('delete a schedule (tasks it already put stay queued)').argument('<name>', 'schedule name')).action(
    async (name: string, flags: ConnectionFlags) => {
      const client = await connectFromFlags(flags, 'producer');
      try {
        await client.schedules.delete(name);
        process.stdout.write(`deleted schedule "${name}"\n`);
      } finally {
        client.close();
      }
    },
  );
}

export function scheduleCommand(): Command {
  return new Command('schedule')
    .description('tasks put on a timetable by the manager: add (or replace), list, rm')
    .addCommand(addCommand())
    .addCommand(listCommand())
    .addCommand(removeCommand())
    .addHelpText(
      'after',
      `
Examples:
  taskwire schedule add recrawl crawl https://example.com/ --cron "0 * * * *" --tz Europe/Berlin
  taskwire schedule list
  taskwire schedule rm recrawl`,
    );
}
