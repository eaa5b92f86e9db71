import { closeSync, fsyncSync, openSync, readdirSync } from 'node:fs';

/**
 * The layout of a data directory:
 *
 *     snapshot            the state as of the start of journal generation G (header says G)
 *     journal.<G>         records appended since that snapshot, then journal.<G+1>, ...
 *     snapshot.tmp        a snapshot being written (deleted at start: an unfinished compaction)
 *     lock                a Unix socket the manager using the directory listens on (dataDirLock.ts)
 *
 * A compaction writes the next snapshot beside the old one and renames it into place, so at
 * every instant the directory holds one complete snapshot and the journals that follow it.
 */
export const SNAPSHOT = 'snapshot';
export const SNAPSHOT_TMP = 'snapshot.tmp';

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
