// Shared by the store tests: temporary data dirs, an in-process manager on a JournalStore, and a
// simulated power cut (what the disk holds when only synced bytes survive).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { JournalStore, type JournalStoreOptions } from '../../src/store';
import { LOCK } from '../../src/store/dataDirLock';
import { startServer, type RunningServer } from '../helpers/harness';

const dirs: string[] = [];

/** A fresh directory, removed by removeTempDirs(). */
export function tempDir(prefix = 'taskwire-store-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface StoreServer extends RunningServer {
  store: JournalStore;
  dataDir: string;
}

/** A manager on a JournalStore in `dataDir` (a fresh one by default); stop() closes both. */
export async function startStoreServer(options: JournalStoreOptions & { dataDir?: string } = {}): Promise<StoreServer> {
  const dataDir = options.dataDir ?? join(tempDir(), 'data');
  const store = await JournalStore.open(dataDir, options);
  try {
    const running = await startServer({ store });
    return { ...running, store, dataDir };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/**
 * Copies into a new directory what a power cut at this instant would leave: the snapshot (synced
 * before it was renamed into place) and the journals, the current one cut at its last synced
 * byte. Synchronous, so no write or compaction interleaves. Returns the copy's path.
 */
export function powerCut(store: JournalStore): string {
  const copy = join(tempDir('taskwire-powercut-'), 'data');
  const { file: current, syncedBytes } = store.durability;
  copyDir(store.dir, copy, (name, from, to) => {
    if (name === basename(current)) writeFileSync(to, readFileSync(from).subarray(0, syncedBytes));
    else copyFileSync(from, to);
  });
  return copy;
}

/** What a crash of the process alone would leave: every written byte (the OS keeps them). */
export function processCrash(store: JournalStore): string {
  const copy = join(tempDir('taskwire-crash-'), 'data');
  copyDir(store.dir, copy, (_name, from, to) => copyFileSync(from, to));
  return copy;
}

function copyDir(from: string, to: string, copy: (name: string, from: string, to: string) => void): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    // The lock is the live manager's socket; a copy is nobody's.
    if (name === LOCK) continue;
    copy(name, join(from, name), join(to, name));
  }
}

/** Total bytes of the files in a data dir. */
export function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}
