import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The layout of a data directory:
 *
 *     snapshot            the state as of the start of journal generation G (header says G)
 *     journal.<G>         records appended since that snapshot, then journal.<G+1>, ...
 *     snapshot.tmp        a snapshot being written (deleted at start: an unfinished compaction)
 *     lock                the pid of the manager using the directory
 *
 * A compaction writes the next snapshot beside the old one and renames it into place, so at
 * every instant the directory holds one complete snapshot and the journals that follow it.
 */
export const SNAPSHOT = 'snapshot';
export const SNAPSHOT_TMP = 'snapshot.tmp';
export const LOCK = 'lock';

export function journalName(generation: number): string {
  return `journal.${String(generation).padStart(8, '0')}`;
}

/** Journal generations present in the directory, in order. */
export function journalGenerations(dir: string): number[] {
  return readdirSync(dir)
    .map((name) => /^journal\.(\d+)$/.exec(name)?.[1])
    .filter((digits): digits is string => digits !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Makes a rename or a new file in `dir` durable: without it a crash may forget the entry. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Another manager runs on the data directory. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`the data dir ${dir} is in use by another manager (pid ${pid}); if no manager runs there, delete ${join(dir, LOCK)}`);
    this.name = 'DataDirLockedError';
  }
}

/**
 * Claims the directory for this process (creating it if needed): two managers appending to one
 * journal would corrupt it. A lock left by a process that no longer runs (a crash) is taken over.
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK);
  try {
    writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid)) throw new DataDirLockedError(dir, pid);
    writeFileSync(file, `${process.pid}\n`);
  }
  return () => {
    try {
      if (Number.parseInt(readFileSync(file, 'utf8'), 10) === process.pid) unlinkSync(file);
    } catch {
      // Already gone: nothing to release.
    }
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
