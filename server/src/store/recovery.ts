import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineState } from '../engine/journal';
import { FORMAT } from './compaction';
import { journalGenerations, journalName, SNAPSHOT } from './dataDir';
import { scanRecords, type StoredRecord } from './records';
import { Replay } from './replay';

/** A stretch of a file that recovery could not use. */
export interface DamagedStretch {
  file: string;
  offset: number;
  bytes: number;
  reason: string;
}

/** What recovery found, for the banner and the logs. */
export interface RecoveryReport {
  /** The files read, in order. */
  files: string[];
  queues: number;
  tasks: number;
  /** Tasks that were leased when the manager stopped: they come back with attempt + 1. */
  leased: number;
  /** Schedules (protocol 2026-12), each back with its next tick (a passed one runs once at the start). */
  schedules: number;
  /** Records cut short at the end of a journal by a crash, dropped. */
  torn: DamagedStretch[];
  /** Damaged records in the middle of a file, skipped because of --repair. */
  skipped: DamagedStretch[];
  /** Records that named a task no longer there (only after skipped records). */
  unmatched: number;
}

export interface Recovered {
  state: EngineState;
  report: RecoveryReport;
  /** The generation the next journal gets: past every journal in the directory. */
  nextGeneration: number;
}

/** A data directory that cannot be used as it is (other than a corrupt record: CorruptRecordError). */
export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

/**
 * Reads a data directory: the snapshot, then every journal from the snapshot's generation on,
 * and folds their records into the state to restore. A torn tail (the last write of a crash) is
 * dropped and reported; a damaged record with valid ones after it throws CorruptRecordError
 * unless `repair`. Reads only: the store writes a fresh snapshot once the engine has the state.
 */
export function recover(dir: string, options: { repair?: boolean } = {}): Recovered {
  const replay = new Replay();
  const report: RecoveryReport = { files: [], queues: 0, tasks: 0, leased: 0, schedules: 0, torn: [], skipped: [], unmatched: 0 };
  let firstGeneration = 0;

  const snapshotFile = join(dir, SNAPSHOT);
  if (existsSync(snapshotFile)) {
    const records = read(snapshotFile, report, options.repair, false);
    const header = records[0];
    checkHeader(header, 'snapshot', snapshotFile);
    firstGeneration = header!.generation as number;
    if (records.at(-1)?.op !== 'end' && !options.repair) {
      throw new DataDirError(`${snapshotFile} is incomplete (it has no end record); start with --repair to use what it holds, or restore the data dir from a backup`);
    }
    for (const record of records.slice(1)) if (record.op !== 'end') replay.apply(record);
  }

  const generations = journalGenerations(dir).filter((generation) => generation >= firstGeneration);
  // Journals follow the snapshot without a gap (the very first one, 1, needs no snapshot), and
  // each is sealed before the next gets records: otherwise the directory is a copy taken
  // during a compaction, and replaying it would silently lose changes.
  const expectedFirst = firstGeneration || 1;
  generations.forEach((generation, i) => {
    const expected = expectedFirst + i;
    if (generation !== expected)
      throw new DataDirError(
        `${join(dir, journalName(expected))} is missing (the files there do not follow each other: a copy taken during a compaction? copy the data dir again, or restore another backup)`,
      );
  });
  let unsealed: string | undefined;
  for (const generation of generations) {
    const file = join(dir, journalName(generation));
    const records = read(file, report, options.repair, true);
    // A journal cut short before its header was written holds nothing.
    if (records.length === 0) continue;
    checkHeader(records[0], 'journal', file);
    if (unsealed !== undefined && records.length > 1) {
      throw new DataDirError(`${unsealed} ends before its seal but ${file} follows it (a copy taken during a compaction? copy the data dir again, or restore another backup)`);
    }
    unsealed = records.at(-1)?.op === 'sealed' ? undefined : file;
    for (const record of records.slice(1)) if (record.op !== 'sealed') replay.apply(record);
  }

  const state = replay.state();
  report.queues = state.queues.length;
  report.tasks = state.tasks.length;
  report.leased = state.tasks.filter((task) => task.leased).length;
  report.schedules = state.schedules?.length ?? 0;
  report.unmatched = replay.unmatched;
  return { state, report, nextGeneration: Math.max(firstGeneration, generations.at(-1) ?? 0) + 1 };
}

function read(file: string, report: RecoveryReport, repair: boolean | undefined, tornAllowed: boolean): StoredRecord[] {
  report.files.push(file);
  const scan = scanRecords(readFileSync(file), file, { repair });
  for (const skipped of scan.skipped) report.skipped.push({ file, ...skipped });
  if (scan.torn) {
    // A snapshot is complete before it is renamed into place: a damaged end is corruption.
    if (!tornAllowed && !repair) {
      throw new DataDirError(`${file} is corrupt at offset ${scan.torn.offset}: ${scan.torn.reason}; start with --repair to use what it holds, or restore the data dir from a backup`);
    }
    (tornAllowed ? report.torn : report.skipped).push({ file, ...scan.torn });
  }
  return scan.records;
}

function checkHeader(header: StoredRecord | undefined, kind: 'snapshot' | 'journal', file: string): void {
  if (!header || header.op !== kind || typeof header.generation !== 'number') {
    throw new DataDirError(`${file} is not a Taskwire ${kind}: its first record is ${header ? `"${header.op}"` : 'missing'}`);
  }
  if (header.format !== FORMAT) {
    throw new DataDirError(`${file} has format ${String(header.format)}; this Taskwire reads format ${FORMAT} (a newer Taskwire wrote it?)`);
  }
}
