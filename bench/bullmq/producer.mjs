// A BullMQ producer, written as a BullMQ user writes one (https://docs.bullmq.io/guide/returning-job-data):
// Queue.add one job at a time, each awaited (the shape of taskwire-ts's producer), and the
// results read from QueueEvents 'completed' (the job's return value travels in the event; see
// bench/README.md, "BullMQ", for why not a results queue).
//   pipeline: add N jobs, then wait until every one of them completed; clock from the first
//     add to the last completion.
//   latency: add one job, wait for its completion; warm-up round trips, then timed ones.
// Every job is removed when it completes (removeOnComplete), as Taskwire forgets an acked task.
import { Queue, QueueEvents } from 'bullmq';
import { config, emit, nowNs, payload, waitFor } from '../ts/common.mjs';

const connection = { host: config.redisHost ?? '127.0.0.1', port: config.redisPort };
const n = config.mode === 'pipeline' ? config.n : config.warmup + config.count;
// A pipeline's warm-up (config.warmupTasks): that many jobs before "ready", not timed.
const warmupTasks = config.mode === 'pipeline' ? (config.warmupTasks ?? 0) : 0;
const queue = new Queue('tasks', {
  connection,
  defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
  // Four events per job (added, waiting, active, completed) go to a stream trimmed to about
  // maxLen entries (default 10,000): keep every job's events so that a producer falling
  // behind a burst of completions never misses one.
  streams: { events: { maxLen: Math.max(10_000, 5 * (n + warmupTasks)) } },
});
// Redis is fresh for each measurement: read the event stream from its start, so that no
// completion can slip in before the first XREAD.
const events = new QueueEvents('tasks', { connection, lastEventId: '0-0' });

/** Completions by job id: resolvers waiting for one, or results that came first. */
const waiting = new Map();
const early = new Map();
let failure;
events.on('completed', ({ jobId, returnvalue }) => {
  const w = waiting.get(jobId);
  if (w) {
    waiting.delete(jobId);
    w(returnvalue);
  } else early.set(jobId, returnvalue);
});
events.on('failed', ({ jobId, failedReason }) => {
  failure = new Error(`job ${jobId} failed: ${failedReason}`);
  for (const w of waiting.values()) w(undefined);
});
/** The return value of a job (the completion may have come before add() answered). */
function completion(jobId) {
  if (early.has(jobId)) {
    const value = early.get(jobId);
    early.delete(jobId);
    return Promise.resolve(value);
  }
  return new Promise((resolve) => waiting.set(jobId, resolve));
}

/** The payloads of jobs first .. first + count - 1, made before a clock starts. */
const pipelineUrls = (first, count) => Array.from({ length: count }, (_, i) => payload(first + i, config.size ?? 0));

/** Adds a job per url and waits until each completed; the ids of those that did. */
async function pipeline(urls) {
  const seen = new Set();
  const done = [];
  for (const url of urls) {
    const job = await queue.add('task', url);
    done.push(completion(job.id).then((result) => result !== undefined && seen.add(job.id)));
  }
  await Promise.all(done);
  if (failure) throw failure;
  return seen;
}

await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
if (warmupTasks > 0) await pipeline(pipelineUrls(n, warmupTasks));
emit('ready');
await waitFor('go');

if (config.mode === 'pipeline') {
  const urls = pipelineUrls(0, n);
  const start = nowNs();
  const seen = await pipeline(urls);
  const elapsed = Number(nowNs() - start) / 1e9;
  emit('result', { elapsed, n, distinct: seen.size });
} else if (config.mode === 'latency') {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t0 = nowNs();
    const job = await queue.add('task', `image_url_${i}`);
    const result = await completion(job.id);
    const t1 = nowNs();
    if (result === undefined) throw failure;
    if (i >= config.warmup) samples.push(Math.round(Number(t1 - t0) / 100) / 10);
  }
  emit('result', { samples });
}
// The process stays until the runner closes stdin (common.mjs exits then).
