import { closeSync, fdatasync, fdatasyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EngineState, JournalRecord } from '../engine/journal';
import { DEFAULT_COMPACTION, FORMAT, shouldCompact, writeSnapshot, writeSnapshotInTurns, type CompactionPolicy } from './compaction';
import { fsyncDir, journalGenerations, journalName, SNAPSHOT, SNAPSHOT_TMP } from './dataDir';
import { DataDirLock } from './dataDirLock';
import { encodeRecord } from './records';
import { recover, type RecoveryReport } from './recovery';
import type { TaskStore } from './store';

/**
 * When the journal is synced to the disk:
 * - always: before any answer that depends on it; concurrent changes share one fsync (group commit);
 * - everysec: once a second; a crash of the machine loses up to about a second of answered changes;
 * - never: when the operating system chooses.
 * In every mode a change is written to the operating system before it is answered, so a crash
 * of the manager process alone (kill -9, an exception) loses nothing.
 */
export type FsyncMode = 'always' | 'everysec' | 'never';

export const FSYNC_MODES: readonly FsyncMode[] = ['always', 'everysec', 'never'];

export interface JournalStoreOptions {
  /** Default 'always'. */
  fsync?: FsyncMode;
  /** Skip damaged records in the middle of a file instead of refusing to start. */
  repair?: boolean;
  compaction?: Partial<CompactionPolicy>;
}

type Callback = (error?: Error) => void;

/**
 * The durable store: an append-only journal of the engine's records with a checksum per record,
 * compacted into a snapshot as it grows (see dataDir.ts for the files, records.ts for the format).
 *
 * Records appended in one turn of the event loop are written together on setImmediate; with
 * `always`, the answers waiting on them are released after one fdatasync, and records arriving
 * while it runs form the next batch (group commit: concurrent puts share an fsync).
 */
export class JournalStore implements TaskStore {
  readonly dir: string;
  readonly fsync: FsyncMode;
  readonly recovered: EngineState;
  readonly recovery: RecoveryReport;
  private readonly policy: CompactionPolicy;
  private readonly lock: DataDirLock;
  private nextGeneration: number;
  private fd = -1;
  private journalBytes = 0;
  private syncedBytes = 0;
  private snapshotBytes = 0;
  /** Encoded records not written yet. */
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  /** Callbacks waiting for the next batch. */
  private waiters: Callback[] = [];
  private flushScheduled = false;
  private syncing = false;
  private syncDone: (() => void)[] = [];
  private failure: Error | undefined;
  private closed = false;
  private snapshot: (() => EngineState) | undefined;
  private onFailure: ((error: Error) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** A snapshot being written in the background. */
  private compacting: Promise<void> | undefined;
  /** Compactions done since open (the one at start included). */
  compactions = 0;
  /** fdatasync calls on the journal since open: with group commit, far fewer than answers. */
  syncs = 0;
  /** Told how long each fdatasync of the journal took (seconds), for the metrics (cli/serve.ts sets it). */
  onSynced: ((seconds: number) => void) | undefined = undefined;

  private constructor(dir: string, lock: DataDirLock, options: JournalStoreOptions) {
    this.dir = dir;
    this.lock = lock;
    this.fsync = options.fsync ?? 'always';
    this.policy = { ...DEFAULT_COMPACTION, ...options.compaction };
    const { state, report, nextGeneration } = recover(this.dir, { repair: options.repair });
    this.recovered = state;
    this.recovery = report;
    this.nextGeneration = nextGeneration;
  }

  /**
   * Claims `dir` (created if missing) and recovers what it holds. Rejects with
   * CorruptRecordError (file and offset) for a damaged record in the middle of a file unless
   * `repair`, DataDirLockedError when another live manager uses it, DataDirError for anything
   * else unusable. A lock left by a manager that died is taken over (see dataDirLock.ts).
   */
  static async open(dir: string, options: JournalStoreOptions = {}): Promise<JournalStore> {
    const absolute = resolve(dir);
    const lock = await DataDirLock.acquire(absolute);
    try {
      return new JournalStore(absolute, lock, options);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** The current journal and how much of it is known to be on the disk: what a power cut now would keep. */
  get durability(): { file: string; bytes: number; syncedBytes: number } {
    return { file: join(this.dir, journalName(this.nextGeneration - 1)), bytes: this.journalBytes, syncedBytes: this.syncedBytes };
  }

  /** Bytes in the snapshot and the current journal. */
  get sizes(): { snapshot: number; journal: number } {
    return { snapshot: this.snapshotBytes, journal: this.journalBytes };
  }

  start(snapshot: () => EngineState, onFailure: (error: Error) => void): void {
    this.snapshot = snapshot;
    this.onFailure = onFailure;
    // A fresh snapshot of the restored state: old files (a torn tail among them) are never appended to.
    this.compactAtStart();
    if (this.fsync === 'everysec') {
      this.timer = setInterval(() => this.syncInBackground(), 1000);
      this.timer.unref();
    }
    this.schedule();
  }

  append(record: JournalRecord): void {
    if (this.failure || this.closed) return;
    const buffer = encodeRecord(record);
    this.chunks.push(buffer);
    this.chunkBytes += buffer.length;
    this.schedule();
  }

  onDurable(callback: Callback): void {
    // Failed, or closed (everything was synced at close): nothing to wait for.
    if (this.failure || (this.closed && this.fd < 0)) {
      const failure = this.failure;
      setImmediate(() => callback(failure));
      return;
    }
    this.waiters.push(callback);
    this.schedule();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    while (this.syncing) await new Promise<void>((done) => this.syncDone.push(done));
    if (this.compacting) await this.compacting;
    const waiters = this.takeWaiters();
    try {
      if (!this.failure && this.fd >= 0) {
        this.writeChunks();
        // Even with `never`: a clean stop leaves nothing to the operating system's discretion.
        fdatasyncSync(this.fd);
        this.syncedBytes = this.journalBytes;
      }
      settle(waiters, this.failure);
    } catch (error) {
      this.fail(error as Error, waiters);
    } finally {
      if (this.fd >= 0) closeSync(this.fd);
      this.fd = -1;
      await this.lock.release();
    }
  }

  // ---- writing --------------------------------------------------------------------------

  private schedule(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  /** Writes the batch; releases its waiters at once, or after an fdatasync with `always`. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    // Before start() records wait for its snapshot; while an fsync runs (always) the next batch forms.
    if (this.failure || this.closed || this.fd < 0 || (this.syncing && this.fsync === 'always')) return;
    const waiters = this.takeWaiters();
    try {
      if (this.chunkBytes > 0 && !this.syncing && !this.compacting && shouldCompact(this.journalBytes + this.chunkBytes, this.snapshotBytes, this.policy)) {
        // It writes and syncs the pending records into the journal it completes.
        this.beginCompaction();
        settle(waiters);
        return;
      }
      this.writeChunks();
      if (this.fsync === 'always' && this.syncedBytes < this.journalBytes) {
        this.startSync((error) => settle(waiters, error));
        return;
      }
      settle(waiters);
    } catch (error) {
      this.fail(error as Error, waiters);
    }
  };

  private writeChunks(): void {
    if (this.chunkBytes === 0) return;
    const buffer = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.chunkBytes);
    this.chunks = [];
    this.chunkBytes = 0;
    for (let written = 0; written < buffer.length;) written += writeSync(this.fd, buffer, written);
    this.journalBytes += buffer.length;
  }

  /** everysec: sync what was written since the last sync, off the event loop. */
  private syncInBackground(): void {
    if (this.syncing || this.failure || this.closed || this.fd < 0 || this.syncedBytes >= this.journalBytes) return;
    this.startSync(() => {});
  }

  private startSync(then: Callback): void {
    this.syncing = true;
    this.syncs++;
    const target = this.journalBytes;
    const started = this.onSynced ? performance.now() : 0;
    fdatasync(this.fd, (error) => {
      this.syncing = false;
      if (this.onSynced && !error) this.onSynced((performance.now() - started) / 1000);
      if (error) {
        // After a failed fsync the kernel may have dropped the pages: nothing written since the
        // last good sync can be trusted, so the store stops rather than retry.
        this.fail(error, []);
        then(this.failure);
      } else {
        this.syncedBytes = Math.max(this.syncedBytes, target);
        then();
      }
      for (const done of this.syncDone.splice(0)) done();
      if (this.chunkBytes > 0 || this.waiters.length > 0) this.schedule();
    });
  }

  // ---- compaction -----------------------------------------------------------------------

  /** Compacts now rather than when the journal outgrows the policy (an operator's or a test's choice). */
  async compactNow(): Promise<void> {
    while (this.syncing || this.compacting) {
      if (this.compacting) await this.compacting;
      else await new Promise<void>((done) => this.syncDone.push(done));
    }
    if (this.failure || this.closed || this.fd < 0) return;
    const waiters = this.takeWaiters();
    try {
      this.beginCompaction();
      settle(waiters);
    } catch (error) {
      this.fail(error as Error, waiters);
    }
    await this.compacting;
  }

  /**
   * The compaction at start, all at once (nobody is connected yet). Order matters for a crash at
   * any step: the snapshot is complete and synced under a temporary name, the next journal exists
   * with its header, and only then does the rename make them current. Older files are deleted
   * last (recovery ignores journals older than the snapshot anyway).
   */
  private compactAtStart(): void {
    const generation = this.nextGeneration++;
    const snapshotBytes = writeSnapshot(this.dir, generation, this.snapshot!());
    this.fd = this.createJournal(generation);
    renameSync(join(this.dir, SNAPSHOT_TMP), join(this.dir, SNAPSHOT));
    fsyncDir(this.dir);
    this.finishCompaction(generation, snapshotBytes);
  }

  /**
   * A compaction while serving. At once: the current journal is completed (pending records, then
   * a seal naming the next generation) and synced, and the next journal takes records from now
   * on. Then, a slice per turn, the snapshot of the state at that instant is written beside the
   * old one and renamed into place. A crash before the rename recovers from the old snapshot,
   * the sealed journal and the new one; after it, from the new snapshot and the new journal.
   * The seal also lets recovery tell a copy taken during a compaction (a backup) from a whole one.
   */
  private beginCompaction(): void {
    const state = this.snapshot!();
    const generation = this.nextGeneration++;
    const seal = encodeRecord({ op: 'sealed', next: generation });
    this.chunks.push(seal);
    this.chunkBytes += seal.length;
    this.writeChunks();
    fdatasyncSync(this.fd);
    const fd = this.createJournal(generation);
    fsyncDir(this.dir);
    closeSync(this.fd);
    this.fd = fd;
    this.compacting = writeSnapshotInTurns(this.dir, generation, state)
      .then((snapshotBytes) => {
        if (this.failure) return;
        renameSync(join(this.dir, SNAPSHOT_TMP), join(this.dir, SNAPSHOT));
        fsyncDir(this.dir);
        this.finishCompaction(generation, snapshotBytes);
      })
      .catch((error: Error) => this.fail(error, []))
      .finally(() => (this.compacting = undefined));
  }

  /** A new journal with its header, synced. */
  private createJournal(generation: number): number {
    const header = encodeRecord({ op: 'journal', format: FORMAT, generation });
    const fd = openSync(join(this.dir, journalName(generation)), 'w');
    try {
      writeSync(fd, header);
      fdatasyncSync(fd);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    this.journalBytes = this.syncedBytes = header.length;
    return fd;
  }

  private finishCompaction(generation: number, snapshotBytes: number): void {
    this.snapshotBytes = snapshotBytes;
    this.compactions++;
    for (const old of journalGenerations(this.dir)) if (old < generation) unlinkSync(join(this.dir, journalName(old)));
  }

  // ---- failure --------------------------------------------------------------------------

  private fail(error: Error, waiters: Callback[]): void {
    const first = this.failure === undefined;
    this.failure ??= error;
    this.chunks = [];
    this.chunkBytes = 0;
    settle([...waiters, ...this.takeWaiters()], this.failure);
    if (first) this.onFailure?.(this.failure);
  }

  private takeWaiters(): Callback[] {
    const waiters = this.waiters;
    this.waiters = [];
    return waiters;
  }
}

function settle(callbacks: Callback[], error?: Error): void {
  for (const callback of callbacks) callback(error);
}
