// A Taskwire producer on the TypeScript client.
//   pipeline, batch false: put one task at a time (awaited), then get the results one at a
//     time with autoAck; clock from the first put to the last result. With
//     config.warmupTasks K > 0, K tasks go through first, before "ready" (not timed).
//   pipeline, inFlight K > 1: the same calls, K of them outstanding at a time (an async
//     client's natural producer: one call per task, without waiting for each answer).
//   pipeline, batch true: putMany of 100, inFlight of them outstanding at a time, then
//     getMany(1000, autoAck) until every result is in (large payloads: lists of at most
//     8 MiB, e.g. 8 tasks of 1 MiB; see listOf).
//   latency: put one task, wait for its result; warm-up round trips, then timed ones.
//   memory: putMany 20-byte tasks in batches of 10,000 (tasks of config.size > 1 KiB: batches
//     of 100) ("filled"), then on "drain" take them all back with getMany + ackMany of as many
//     (the runner reads the manager's RSS in between).
import { config, connect, emit, listOf, nowNs, payload, smallPayload, waitFor } from './common.mjs';

const client = await connect('bench-producer', 'producer');
const tasks = client.queue('tasks');
const results = client.queue('results');
await client.ping();
const { mode } = config;

/** The payloads of tasks first .. first + n - 1, made before a clock starts. */
const pipelineUrls = (first, n, size) => Array.from({ length: n }, (_, i) => payload(first + i, size));

/** Puts the urls as tasks and reads their results, in the system's way; the distinct task ids answered. */
async function pipeline(urls, size, batch) {
  const n = urls.length;
  const seen = new Set();
  if (batch) {
    let next = 0;
    const putList = listOf(size, 100);
    await Promise.all(
      Array.from({ length: config.inFlight ?? 1 }, async () => {
        while (next < n) {
          const from = next;
          next += putList;
          await tasks.putMany(urls.slice(from, from + putList).map((p) => ({ payload: p, replyTo: 'results' })));
        }
      }),
    );
    while (seen.size < n) {
      const got = await results.getMany(listOf(size, 1000), { timeout: 120, autoAck: true });
      if (got.length === 0) throw new Error(`no result in 120 s (${seen.size}/${n})`);
      for (const r of got) seen.add(r.payload.taskId);
    }
  } else if (config.inFlight > 1) {
    let next = 0;
    await Promise.all(
      Array.from({ length: config.inFlight }, async () => {
        while (next < n) await tasks.put(urls[next++], { replyTo: 'results' });
      }),
    );
    let asked = 0;
    await Promise.all(
      Array.from({ length: config.inFlight }, async () => {
        while (asked < n) {
          asked++;
          seen.add((await results.get({ timeout: 120, autoAck: true })).payload.taskId);
        }
      }),
    );
  } else {
    for (const url of urls) await tasks.put(url, { replyTo: 'results' });
    for (let i = 0; i < n; i++) seen.add((await results.get({ timeout: 120, autoAck: true })).payload.taskId);
  }
  return seen;
}

// A warm-up (config.warmupTasks) runs the same way before "ready", not timed.
if (mode === 'pipeline' && config.warmupTasks > 0) await pipeline(pipelineUrls(config.n, config.warmupTasks, config.size ?? 0), config.size ?? 0, config.batch ?? false);
emit('ready');
await waitFor('go');

if (mode === 'pipeline') {
  const { n, size = 0, batch = false } = config;
  const urls = pipelineUrls(0, n, size);
  const start = nowNs();
  const seen = await pipeline(urls, size, batch);
  const elapsed = Number(nowNs() - start) / 1e9;
  emit('result', { elapsed, n, distinct: seen.size });
} else if (mode === 'latency') {
  const { warmup, count } = config;
  const samples = [];
  for (let i = 0; i < warmup + count; i++) {
    const t0 = nowNs();
    await tasks.put(`image_url_${i}`, { replyTo: 'results' });
    await results.get({ timeout: 30, autoAck: true });
    const t1 = nowNs();
    if (i >= warmup) samples.push(Math.round(Number(t1 - t0) / 100) / 10);
  }
  emit('result', { samples });
} else if (mode === 'memory') {
  const { n, size = 20 } = config;
  // 20-byte tasks in lists of 10,000; large ones (64 KiB) in lists of 100, a 6.5 MB request.
  const step = size > 1024 ? 100 : 10_000;
  const make = size > 20 ? (j) => payload(j, size) : smallPayload;
  let start = nowNs();
  for (let i = 0; i < n; i += step) {
    const specs = [];
    for (let j = i; j < Math.min(n, i + step); j++) specs.push({ payload: make(j) });
    await tasks.putMany(specs);
  }
  emit('filled', { elapsed: Number(nowNs() - start) / 1e9, n });
  await waitFor('drain');
  start = nowNs();
  let drained = 0;
  while (drained < n) {
    const got = await tasks.getMany(step, { timeout: 30 });
    if (got.length === 0) throw new Error(`drain stalled at ${drained}/${n}`);
    await tasks.ackMany(got.map((t) => ({ id: t.id })));
    drained += got.length;
  }
  emit('result', { drainElapsed: Number(nowNs() - start) / 1e9, n });
}
client.close();
// The process stays until the runner closes stdin, so that the runner can still read its CPU time.
