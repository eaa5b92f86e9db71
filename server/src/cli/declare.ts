import { Command } from 'commander';
import type { DeclareParams } from '../protocol/generated';
import { parseByteSize, BYTE_SIZE_HELP } from './byteSize';
import { connectFromFlags, parseNumber, withConnectionOptions, type ConnectionFlags } from './connection';
import { CliError, ExitCode } from './exitCodes';
import { formatLimits } from './limitsText';
import { rateOption } from './serve';

interface DeclareFlags extends ConnectionFlags {
  maxsize?: number;
  maxBytes?: string;
  ttr?: number;
  maxAttempts?: number;
  deadLetter?: string;
  rate?: string;
  keyRate?: string;
  keyConcurrency?: number;
  quiet?: boolean;
}

export function declareCommand(): Command {
  return withConnectionOptions(
    new Command('declare').description("create a queue with options, or change an existing queue's options (what serve -q NAME:... declares)").argument('<queue>', 'the queue'),
  )
    .option('--maxsize <n>', 'bound on ready + delayed + leased tasks (0: unbounded)', parseNumber('maxsize', { integer: true }))
    .option('--max-bytes <size>', `bound on the queue's payload bytes: ${BYTE_SIZE_HELP} (0: unbounded)`)
    .option('--ttr <seconds>', 'default lease length', parseNumber('ttr', { min: 0.001 }))
    .option('--max-attempts <n>', 'deliveries before dead-lettering (0: unlimited)', parseNumber('max-attempts', { integer: true }))
    .option('--dead-letter <queue>', 'the dead-letter queue ("none": dead tasks are dropped)')
    .option('--rate <max/period>', 'limit every delivery of the queue: 10/s, 2/5s, 100/m ("none" removes it; protocol 2026-12)')
    .option('--key-rate <max/period>', 'limit the deliveries of each rate key (taskwire put --rate-key): 1/s ("none" removes it)')
    .option('--key-concurrency <n>', 'at most N tasks of one rate key leased at once (0: no cap)', parseNumber('key-concurrency', { integer: true }))
    .option('--quiet', 'print nothing on success')
    .addHelpText(
      'after',
      `
Rates are counted by GCRA, spaced evenly (10/s: one every 100 ms); see spec §7.22.

Examples:
  taskwire declare crawl --rate 10/s --key-rate 1/s --key-concurrency 2
  taskwire declare uploads --maxsize 1000 --max-bytes 64MiB --ttr 30`,
    )
    .action(async (queue: string, flags: DeclareFlags) => {
      const params = declareParams(flags);
      const client = await connectFromFlags(flags, 'producer');
      try {
        const { created } = await client.queue(queue).declare(params);
        if (flags.quiet) return;
        const stats = await client.queue(queue).stats();
        const limits = formatLimits(stats);
        process.stdout.write(`${created ? 'created' : 'updated'} ${queue}${limits ? `: ${limits}` : ''}\n`);
      } finally {
        client.close();
      }
    });
}

function declareParams(flags: DeclareFlags): Omit<DeclareParams, 'queue'> {
  const params: Omit<DeclareParams, 'queue'> = {};
  if (flags.maxsize !== undefined) params.maxsize = flags.maxsize;
  if (flags.maxBytes !== undefined) {
    const bytes = parseByteSize(flags.maxBytes);
    if (bytes === undefined) throw new CliError(`invalid max-bytes "${flags.maxBytes}": expected ${BYTE_SIZE_HELP}`, ExitCode.Usage);
    params.maxBytes = bytes;
  }
  if (flags.ttr !== undefined) params.ttr = flags.ttr;
  if (flags.maxAttempts !== undefined) params.maxAttempts = flags.maxAttempts;
  if (flags.deadLetter !== undefined) params.deadLetter = flags.deadLetter === 'none' ? null : flags.deadLetter;
  if (flags.rate !== undefined) params.rate = flags.rate === 'none' ? null : rateOption('rate', flags.rate, '--rate');
  if (flags.keyRate !== undefined) params.keyRate = flags.keyRate === 'none' ? null : rateOption('key-rate', flags.keyRate, '--key-rate');
  if (flags.keyConcurrency !== undefined) params.keyConcurrency = flags.keyConcurrency;
  return params;
}
