import { closeSync, fdatasync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineState } from '../engine/journal';
import { SNAPSHOT_TMP } from './dataDir';
import { encodeInto, HEADER_BYTES } from './records';
import { recordText } from './recordText';

/** The version of the file format; a reader refuses files of a version it does not know. */
export const FORMAT = 1;

/**
 * When to replace the journal by a snapshot: once the journal is both past `minBytes` and
 * `ratio` times the last snapshot. The files then stay within (1 + ratio) × the queued state
 * plus minBytes, and each compaction, which costs one pass over the queued state, is paid for
 * by at least ratio × that state in journal bytes: O(1) per record, amortized.
 */
export interface CompactionPolicy {
  minBytes: number;
  ratio: number;
}

export const DEFAULT_COMPACTION: CompactionPolicy = { minBytes: 8 * 1024 * 1024, ratio: 2 };

export function shouldCompact(journalBytes: number, snapshotBytes: number, policy: CompactionPolicy): boolean {
  return journalBytes >= policy.minBytes && journalBytes >= policy.ratio * snapshotBytes;
}

/** Snapshots are encoded and written in slices of about this size. */
const SLICE_BYTES = 256 * 1024;

/**
 * The records of a snapshot, encoded slice by slice: a header naming the journal generation
 * that follows the snapshot, the queues, the schedules, the tasks in EngineState order, and an end record (a
 * snapshot without it is incomplete).
 */
function* snapshotSlices(generation: number, state: EngineState): Generator<Buffer> {
  let buffer = Buffer.allocUnsafe(SLICE_BYTES);
  let used = 0;
  function* add(record: object): Generator<Buffer> {
    const body = recordText(record);
    let end = encodeInto(buffer, used, body);
    if (end < 0) {
      if (used > 0) yield buffer.subarray(0, used);
      // A fresh buffer: the one yielded is the caller's until it asks for the next slice.
      buffer = Buffer.allocUnsafe(Math.max(SLICE_BYTES, HEADER_BYTES + Buffer.byteLength(body)));
      used = 0;
      end = encodeInto(buffer, 0, body);
    }
    used = end;
  }
  yield* add({ op: 'snapshot', format: FORMAT, generation, queues: state.queues.length, tasks: state.tasks.length });
  for (const queue of state.queues) yield* add({ op: 'queue', queue: queue.name, options: queue.options });
  // A paused queue is a queue record and a pause record, as in the journal (spec/durability.md).
  for (const queue of state.queues) if (queue.paused) yield* add({ op: 'pause', queue: queue.name, paused: true });
  for (const schedule of state.schedules ?? []) yield* add({ op: 'schedule', schedule });
  for (const task of state.tasks) yield* add({ op: 'task', task });
  yield* add({ op: 'end' });
  if (used > 0) yield buffer.subarray(0, used);
}

function writeAll(fd: number, buffer: Buffer): void {
  for (let written = 0; written < buffer.length;) written += writeSync(fd, buffer, written);
}

/** Writes `state` to snapshot.tmp and syncs it, at once; the caller renames it into place. Returns its size. */
export function writeSnapshot(dir: string, generation: number, state: EngineState): number {
  const fd = openSync(join(dir, SNAPSHOT_TMP), 'w');
  try {
    let total = 0;
    for (const slice of snapshotSlices(generation, state)) {
      writeAll(fd, slice);
      total += slice.length;
    }
    fdatasyncSync(fd);
    return total;
  } finally {
    closeSync(fd);
  }
}

/**
 * The same, a slice per turn of the event loop, so that a manager holding a million tasks keeps
 * answering while it compacts.
 */
export async function writeSnapshotInTurns(dir: string, generation: number, state: EngineState): Promise<number> {
  const fd = openSync(join(dir, SNAPSHOT_TMP), 'w');
  try {
    let total = 0;
    for (const slice of snapshotSlices(generation, state)) {
      writeAll(fd, slice);
      total += slice.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
    return total;
  } finally {
    closeSync(fd);
  }
}
