import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Command } from 'commander';
import { DataDirError, DataDirLockedError, JournalStore, recover, type DamagedStretch, type RecoveryReport } from '../store';
import { journalGenerations, SNAPSHOT } from '../store/dataDir';
import { LOCK, probeLock } from '../store/dataDirLock';
import { CliError, ExitCode, ExitWith } from './exitCodes';

/**
 * `taskwire journal check DIR` and `taskwire journal repair DIR`: what an operator runs when a
 * manager refuses to start on a damaged data dir, or before trusting a backup.
 */
export function journalCommand(): Command {
  const journal = new Command('journal').description('check or repair a data dir (--data-dir) without starting a manager');
  journal
    .command('check')
    .description('read every file of a data dir and report what a start would recover, torn tails and damaged records (reads only; safe while a manager runs)')
    .argument('<dir>', 'the data dir')
    .option('--json', 'print the report as one JSON object')
    .addHelpText(
      'after',
      `
Exit 0 when a manager would start on DIR (a torn last record, the write cut short by a crash,
is dropped at start and is no damage); 1 when it would refuse (a damaged record in the middle
of a file, a missing journal): then run \`taskwire journal repair DIR\`, which skips the damaged
records (what they held is lost), or restore DIR from a backup.`,
    )
    .action(async (dir: string, flags: { json?: boolean }) => {
      const code = await check(resolve(dir), flags.json === true);
      if (code !== ExitCode.Ok) throw new ExitWith(code);
    });
  journal
    .command('repair')
    .description('rewrite a data dir without its damaged records (what they held is lost); the manager must be stopped')
    .argument('<dir>', 'the data dir')
    .action(async (dir: string) => {
      await repair(resolve(dir));
    });
  return journal;
}

function requireDataDir(dir: string): void {
  if (!existsSync(dir)) throw new CliError(`${dir} does not exist`, ExitCode.Usage);
  if (!statSync(dir).isDirectory()) throw new CliError(`${dir} is not a directory`, ExitCode.Usage);
  if (!existsSync(join(dir, SNAPSHOT)) && journalGenerations(dir).length === 0) {
    throw new CliError(`${dir} holds no Taskwire data (no snapshot, no journal): is it the directory given to --data-dir?`, ExitCode.Usage);
  }
}

async function check(dir: string, json: boolean): Promise<number> {
  requireDataDir(dir);
  const probe = existsSync(join(dir, LOCK)) ? await probeLock(join(dir, LOCK)) : undefined;
  const runningManager = probe?.state === 'live' ? (probe.holder ? `pid ${probe.holder.pid} on ${probe.holder.host}` : 'a manager that did not say who it is') : undefined;
  let report: RecoveryReport;
  try {
    // With repair, recovery reads past damage to list all of it; it writes nothing either way.
    report = recover(dir, { repair: true }).report;
  } catch (error) {
    if (!(error instanceof DataDirError)) throw error;
    if (json) process.stdout.write(`${JSON.stringify({ dir, ok: false, error: error.message, runningManager })}\n`);
    else process.stdout.write(`${dir}: cannot be recovered as it is\n  ${error.message}\n`);
    return ExitCode.Failure;
  }
  const ok = report.skipped.length === 0;
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ dir, ok, files: report.files, queues: report.queues, tasks: report.tasks, leased: report.leased, schedules: report.schedules, torn: report.torn, damaged: report.skipped, runningManager })}\n`,
    );
    return ok ? ExitCode.Ok : ExitCode.Failure;
  }
  const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
  const where = (stretch: DamagedStretch) => `${basename(stretch.file)} at offset ${stretch.offset.toLocaleString('en-US')} (${plural(stretch.bytes, 'byte')}): ${stretch.reason}`;
  const lines = [`${dir}: ${report.files.map((file) => basename(file)).join(', ')}`];
  if (runningManager) lines.push(`  a manager runs on it (${runningManager}): its last write may be in progress, and what it holds in memory is newer than the files`);
  lines.push(
    `  ${plural(report.tasks, 'task')} in ${plural(report.queues, 'queue')}${report.schedules > 0 ? `, ${plural(report.schedules, 'schedule')}` : ''}${report.leased > 0 ? `; ${plural(report.leased, 'task')} leased when it stopped (back with attempt + 1 at the next start)` : ''}`,
  );
  for (const torn of report.torn) lines.push(`  torn tail: ${where(torn)} — a write cut short by a crash, never answered; dropped at the next start`);
  for (const damaged of report.skipped) lines.push(`  DAMAGED: ${where(damaged)}`);
  lines.push(
    ok
      ? `ok: a manager starts on it${report.torn.length > 0 ? ' (dropping the torn tail, with a warning)' : ''}`
      : `damaged: a manager refuses to start on it. \`taskwire journal repair ${dir}\` (or \`taskwire serve --repair\`) skips the damaged records, losing what they held; or restore the data dir from a backup`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return ok ? ExitCode.Ok : ExitCode.Failure;
}

async function repair(dir: string): Promise<void> {
  requireDataDir(dir);
  let store: JournalStore;
  try {
    store = await JournalStore.open(dir, { repair: true, fsync: 'always' });
  } catch (error) {
    if (error instanceof DataDirLockedError) throw new CliError(`${error.message} (repair needs the manager stopped)`, ExitCode.Failure);
    throw error;
  }
  const report = store.recovery;
  // The state as recovered, leases included (they come back at the next start as after any
  // crash): only the damage is left out. The fresh snapshot replaces every old file.
  let failure: Error | undefined;
  store.start(
    () => store.recovered,
    (error) => (failure = error),
  );
  await store.close();
  if (failure) throw failure;
  const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
  const lost = report.skipped.reduce((sum, stretch) => sum + stretch.bytes, 0);
  process.stdout.write(
    `${dir}: rewritten with ${plural(report.tasks, 'task')} in ${plural(report.queues, 'queue')}; ` +
      (report.skipped.length > 0
        ? `skipped ${report.skipped.length} damaged ${report.skipped.length === 1 ? 'stretch' : 'stretches'} (${plural(lost, 'byte')}: what they held is lost)`
        : 'nothing was damaged') +
      (report.torn.length > 0 ? `; dropped ${plural(report.torn.length, 'torn record')}` : '') +
      '\n',
  );
  for (const stretch of report.skipped) process.stdout.write(`  skipped ${basename(stretch.file)} at offset ${stretch.offset} (${plural(stretch.bytes, 'byte')}): ${stretch.reason}\n`);
}
