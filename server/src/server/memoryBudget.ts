import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';

const MiB = 1024 * 1024;

/**
 * The default manager-wide budget for queued payload bytes (maxQueuedBytes): a quarter of the
 * smaller of the machine's memory (or the container's limit) and the JavaScript heap's limit.
 *
 * Why: payloads live in the JavaScript heap, and a manager that reaches the heap's limit is
 * killed at once ("heap out of memory"), losing every task an in-memory manager holds. The
 * budget counts payloads as their JSON text, which is what the heap holds (spec §7.17): about as
 * much for ASCII text, up to twice for other text (two bytes a character), plus a record per
 * task; and the manager also needs room for what is in flight: a
 * frame being parsed, an answer being written, tasks being delivered. A quarter leaves that
 * room. On a machine with 24 GiB and Node's default 4 GiB heap limit, that is about 1 GiB.
 * `taskwire serve --max-queued-bytes` changes it; raising the heap limit
 * (`--max-old-space-size`) raises the default with it.
 */
export function defaultMaxQueuedBytes(memory = machineMemory(), heapLimit = getHeapStatistics().heap_size_limit): number {
  const bytes = Math.min(memory, heapLimit) / 4;
  return Math.max(MiB, Math.floor(bytes / MiB) * MiB);
}

/** The machine's memory, or the container's (cgroup) limit when it has a smaller one. */
export function machineMemory(): number {
  const total = totalmem();
  // Node reports no constraint as a huge number (or 0 where unsupported).
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
}
