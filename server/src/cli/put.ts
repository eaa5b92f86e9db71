import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import type { TaskwireClient } from '../client';
import type { TaskSpec, Unique } from '../protocol/generated';
import { connectFromFlags, parseNumber, withConnectionOptions, type ConnectionFlags } from './connection';
import { CliError, ExitCode } from './exitCodes';
import { count } from './format';
import { parsePayloadArgument } from './payload';
import { ProgressBar } from './progress';

interface PutFlags extends ConnectionFlags {
  file?: string;
  json?: boolean;
  string?: boolean;
  specs?: boolean;
  priority?: number;
  delay?: number;
  ttr?: number;
  replyTo?: string;
  maxAttempts?: number;
  unique?: string;
  uniqueScope?: 'queued' | 'active';
  uniqueTtl?: number;
  rateKey?: string;
  timeout?: number;
  batch: number;
  quiet?: boolean;
}

export function putCommand(): Command {
  return withConnectionOptions(
    new Command('put')
      .description('enqueue tasks: payloads given as arguments, or one per line (NDJSON) from a file or stdin')
      .argument('<queue>', 'queue name')
      .argument('[payloads...]', 'payloads: JSON if they parse as JSON, text otherwise'),
  )
    .option('-f, --file <file>', 'read one payload per line (NDJSON) from FILE ("-" for stdin); stdin is read when no payload is given and it is not a terminal')
    .option('--json', 'payloads must be valid JSON')
    .option('--string', 'payloads are text, even when they look like JSON')
    .option('--specs', 'each line is a full task spec: {"payload":…, "priority":…, "delay":…, …}')
    .option('--priority <n>', 'priority (higher first)', parseNumber('priority', { integer: true, min: -1_000_000 }))
    .option('--delay <seconds>', 'hold the tasks back', parseNumber('delay'))
    .option('--ttr <seconds>', 'lease length for whoever takes them', parseNumber('ttr', { min: 0.001 }))
    .option('--reply-to <queue>', 'queue for results: an ack with a result puts {taskId, result} there')
    .option('--max-attempts <n>', 'deliveries before dead-lettering (0: unlimited)', parseNumber('max-attempts', { integer: true }))
    .option('--unique <key>', 'a uniqueness key: when a task of the queue holds it, nothing is added and "duplicate of ID" is printed (one payload)')
    .addOption(new Option('--unique-scope <scope>', 'where the key is held: queued (ready or delayed) or active (also while leased)').choices(['queued', 'active']))
    .option('--unique-ttl <seconds>', 'the key is held at most this long after the put', parseNumber('unique-ttl', { min: 0.001 }))
    .option('--rate-key <key>', "the tasks' rate key (e.g. a URL's host), for the queue's key-rate and key-concurrency (protocol 2026-12)")
    .option('-t, --timeout <seconds>', 'wait at most this long for room in a bounded queue (default: as long as it takes)', parseNumber('timeout'))
    .option('--batch <n>', 'tasks per request when reading lines', parseNumber('batch', { integer: true, min: 1 }), 500)
    .option('--quiet', 'print nothing on success')
    .addHelpText(
      'after',
      `
Prints the new task ids, one per line (for lines: a summary on stderr). With --unique, a put
whose key is held prints "duplicate of ID" (the holder's id) and adds nothing.

Examples:
  taskwire put tasks image_url_0 image_url_1
  taskwire put tasks '{"url":"https://example.com/a.png"}' --reply-to results
  seq 100000 | taskwire put tasks
  taskwire put tasks --file tasks.ndjson --specs
  taskwire put crawl '{"url":"https://example.com/"}' --unique https://example.com/`,
    )
    .action(async (queue: string, payloads: string[], flags: PutFlags) => put(queue, payloads, flags));
}

async function put(queue: string, payloads: string[], flags: PutFlags): Promise<void> {
  if (flags.json && flags.string) throw new CliError('--json and --string contradict each other: pick one', ExitCode.Usage);
  const fromLines = flags.file !== undefined || (payloads.length === 0 && !process.stdin.isTTY);
  if (!fromLines && payloads.length === 0) {
    throw new CliError('nothing to put: give payloads as arguments, --file FILE, or pipe lines to stdin', ExitCode.Usage);
  }
  if (fromLines && payloads.length > 0) throw new CliError('give payloads as arguments or as lines (--file / stdin), not both', ExitCode.Usage);
  checkUniqueFlags(flags, fromLines ? undefined : payloads.length);
  const mode = flags.json ? 'json' : flags.string ? 'string' : 'auto';
  // Parsed before connecting: a bad payload is a usage error whether or not a manager answers.
  const specs = fromLines ? [] : payloads.map((text) => toSpec(parsePayloadArgument(text, mode), flags));
  // Likewise a missing input file.
  if (flags.file !== undefined && flags.file !== '-') openFile(flags.file).destroy();
  const client = await connectFromFlags(flags, 'producer');
  try {
    if (!fromLines && flags.unique !== undefined) {
      const { id, duplicate } = await client.queue(queue).putUnique(specs[0]!.payload, uniqueOf(flags, flags.unique), { ...specDefaults(flags), ...timeoutOf(flags) });
      if (!flags.quiet) process.stdout.write(duplicate ? `duplicate of ${id}\n` : `${id}\n`);
      return;
    }
    if (!fromLines) {
      const ids = await client.queue(queue).putMany(specs, timeoutOf(flags));
      if (!flags.quiet) process.stdout.write(ids.join('\n') + '\n');
      return;
    }
    await putLines(client, queue, flags, mode);
  } finally {
    client.close();
  }
}

async function putLines(client: TaskwireClient, queue: string, flags: PutFlags, mode: 'auto' | 'json' | 'string'): Promise<void> {
  const file = flags.file ?? '-';
  const input = file === '-' ? process.stdin : openFile(file);
  const bytes = file === '-' ? undefined : statSync(file).size;
  const progress = new ProgressBar(`put ${queue}`, bytes);
  let bytesRead = 0;
  const started = Date.now();
  const handle = client.queue(queue);
  const batchSize = Math.min(flags.batch, client.limits.maxBatch);
  let batch: TaskSpec[] = [];
  let put = 0;
  let lineNumber = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await handle.putMany(batch, timeoutOf(flags));
    put += batch.length;
    batch = [];
    progress.update(put, bytesRead);
  };
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNumber++;
      bytesRead += Buffer.byteLength(line) + 1;
      if (line.trim() === '') continue;
      batch.push(parseLine(line, lineNumber, mode, flags));
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  } catch (error) {
    progress.done();
    if (put > 0) process.stderr.write(`taskwire: ${count(put)} tasks were put on "${queue}" before this error\n`);
    throw error;
  }
  progress.done();
  const seconds = (Date.now() - started) / 1000;
  if (!flags.quiet) {
    const rate = seconds > 0 ? ` (${count(Math.round(put / seconds))} tasks/s)` : '';
    process.stderr.write(`put ${count(put)} tasks on "${queue}" in ${seconds.toFixed(2)} s${rate}${bytes !== undefined ? ` from ${count(bytes)} bytes` : ''}\n`);
  }
}

function parseLine(line: string, lineNumber: number, mode: 'auto' | 'json' | 'string', flags: PutFlags): TaskSpec {
  if (flags.specs) {
    let spec: unknown;
    try {
      spec = JSON.parse(line);
    } catch (error) {
      throw new CliError(`line ${lineNumber} is not valid JSON: ${(error as Error).message}`, ExitCode.Usage);
    }
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec) || !('payload' in spec)) {
      throw new CliError(`line ${lineNumber} is not a task spec: expected an object with a "payload" field`, ExitCode.Usage);
    }
    return { ...specDefaults(flags), ...(spec as TaskSpec) };
  }
  try {
    return toSpec(parsePayloadArgument(line, mode), flags);
  } catch (error) {
    throw new CliError(`line ${lineNumber}: ${(error as Error).message}`, ExitCode.Usage);
  }
}

/** One key names one task: --unique goes with one payload argument (lines carry their own in --specs). */
function checkUniqueFlags(flags: PutFlags, payloadCount: number | undefined): void {
  if (flags.unique === undefined) {
    if (flags.uniqueScope !== undefined || flags.uniqueTtl !== undefined) throw new CliError('--unique-scope and --unique-ttl go with --unique KEY', ExitCode.Usage);
    return;
  }
  if (payloadCount !== 1) {
    throw new CliError('--unique KEY puts one task: give one payload argument (for many, give each line its own "unique" with --specs)', ExitCode.Usage);
  }
}

function uniqueOf(flags: PutFlags, key: string): Unique {
  const unique: Unique = { key };
  if (flags.uniqueScope !== undefined) unique.scope = flags.uniqueScope;
  if (flags.uniqueTtl !== undefined) unique.ttl = flags.uniqueTtl;
  return unique;
}

function specDefaults(flags: PutFlags): Omit<TaskSpec, 'payload'> {
  const spec: Omit<TaskSpec, 'payload'> = {};
  if (flags.priority !== undefined) spec.priority = flags.priority;
  if (flags.delay !== undefined) spec.delay = flags.delay;
  if (flags.ttr !== undefined) spec.ttr = flags.ttr;
  if (flags.replyTo !== undefined) spec.replyTo = flags.replyTo;
  if (flags.maxAttempts !== undefined) spec.maxAttempts = flags.maxAttempts;
  if (flags.rateKey !== undefined) spec.rateKey = flags.rateKey;
  return spec;
}

function toSpec(payload: unknown, flags: PutFlags): TaskSpec {
  return { payload, ...specDefaults(flags) };
}

function timeoutOf(flags: PutFlags): { timeout?: number } {
  return flags.timeout === undefined ? {} : { timeout: flags.timeout };
}

function openFile(path: string): NodeJS.ReadableStream & { destroy(): void } {
  try {
    statSync(path);
  } catch {
    throw new CliError(`cannot read ${path}: no such file`, ExitCode.Usage);
  }
  return createReadStream(path);
}
