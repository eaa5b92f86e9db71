#!/usr/bin/env node
// A backlog drained by workers on Redis: Taskwire on Redis (`serve --store`, 1 or 2 managers)
// against BullMQ, each on a fresh redis-server of its own. The pipeline of bench/run.mjs is paced
// by its producer (each put awaited, the workers mostly idle); here the queue is full before the
// workers start, the shape of a worker loop under load, where each task's ack also takes the
// next one (Taskwire: task/ack with next; BullMQ: moveToFinished, which fetches the next job).
//
//   node bench/redisDrain.mjs [--n 10000] [--workers 2] [--runs 5]
//                             [--systems taskwire-redis-1,taskwire-redis-2,bullmq-c1] [--server-dir DIR]
//
// Each run of each system (runs interleaved: run 1 of every system, then run 2, ...):
//   1. a fresh redis-server (no persistence) and, for Taskwire, M managers on it;
//   2. N tasks queued (`image_url_<i>`): Taskwire putMany of 500 through the first manager, BullMQ
//      addBulk of 500 with removeOnComplete (Taskwire forgets an acked task too);
//   3. W worker processes, each connected and ready before the clock (Taskwire's worker i on
//      manager i mod M), take the tasks one at a time and return `<payload> ---> success`:
//      Taskwire's with ackAndGetNext (the result goes nowhere: no replyTo), BullMQ's a Worker with
//      concurrency 1 (the result stored with the completion and published on its event stream);
//   4. the clock stops when the last worker finds the queue empty; every task must be done once.
// Reported: tasks/s (median of the runs, min..max), the ratio to bullmq-c1, the CPU per task of
// the managers and of redis-server (/proc), and Redis's scripts and commands per task (INFO
// commandstats, reset just before the clock; commands run inside scripts are counted too).
// --server-dir measures another checkout's server/ (its manager and TypeScript client).
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuSeconds } from './lib/proc.mjs';
import { commandCostsPerTask, parseCommandStats, startRedis } from './lib/redis.mjs';
import { startServe } from './lib/serve.mjs';
import { median } from './lib/stats.mjs';

const HERE = fileURLToPath(import.meta.url);
const KEY = 'bench-drain-key';
const QUEUE = 'tasks';
const result = (payload) => `${payload} ---> success`;

if (process.env.BENCH_DRAIN_WORKER) await runWorker(JSON.parse(process.env.BENCH_DRAIN_WORKER));
else await main();

/** A worker process: connects, says ready, takes tasks from 'go' until the queue is empty, says how many. */
async function runWorker({ kind, serverDir, port, redisPort }) {
  const go = once(process, 'message');
  if (kind === 'taskwire') {
    const taskwire = createRequire(HERE)(join(serverDir, 'dist', 'src', 'index.js'));
    const client = await taskwire.connect({ host: '127.0.0.1', port, authkey: KEY, reconnect: false, name: `drain-worker-${process.pid}`, role: 'worker' });
    const tasks = client.queue(QUEUE);
    process.send({ ready: true });
    await go;
    let done = 0;
    let task;
    try {
      task = await tasks.get({ timeout: 0 });
    } catch (error) {
      if (error.name !== 'QueueEmptyError') throw error;
    }
    while (task) {
      done++;
      // The ack also takes the next task; none ready: the backlog is drained.
      [task] = await task.ackAndGetNext(result(task.payload), { timeout: 0 });
    }
    process.send({ done });
    client.close();
  } else {
    const { Worker } = createRequire(HERE)('bullmq');
    let done = 0;
    const worker = new Worker(QUEUE, async (job) => result(job.data), { connection: { host: '127.0.0.1', port: redisPort }, concurrency: 1, autorun: false });
    worker.on('completed', () => done++);
    worker.on('error', (error) => {
      process.stderr.write(`bullmq worker: ${error.stack ?? error}\n`);
      process.exit(1);
    });
    await worker.waitUntilReady();
    process.send({ ready: true });
    await go;
    const drained = once(worker, 'drained');
    void worker.run();
    await drained;
    process.send({ done });
    await worker.close();
  }
  process.exit(0);
}

function startManager(serverDir, redisUrl) {
  return startServe({ bin: join(serverDir, 'bin', 'taskwire.js'), authkey: KEY, args: ['--store', redisUrl] });
}

function startWorker(config) {
  const child = fork(HERE, [], { env: { ...process.env, BENCH_DRAIN_WORKER: JSON.stringify(config) }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const messages = [];
  const waiters = [];
  child.on('message', (message) => (waiters.length > 0 ? waiters.shift()(message) : messages.push(message)));
  const exited = once(child, 'exit');
  const next = () =>
    messages.length > 0 ? Promise.resolve(messages.shift()) : Promise.race([new Promise((r) => waiters.push(r)), exited.then(([code]) => Promise.reject(new Error(`a worker exited (${code})`)))]);
  return { child, next, exited };
}

/** One run of one system: the backlog, the workers, the clock. */
async function measure(system, options) {
  const dir = mkdtempSync(join(tmpdir(), 'tw-bench-drain-redis-'));
  const redis = await startRedis({ dir });
  const managers = [];
  const workers = [];
  try {
    const isBullmq = system.startsWith('bullmq');
    if (isBullmq) {
      const { Queue } = createRequire(HERE)('bullmq');
      const queue = new Queue(QUEUE, { connection: { host: '127.0.0.1', port: redis.port } });
      for (let i = 0; i < options.n; i += 500) {
        const end = Math.min(options.n, i + 500);
        await queue.addBulk(Array.from({ length: end - i }, (_, j) => ({ name: 'task', data: `image_url_${i + j}`, opts: { removeOnComplete: true } })));
      }
      await queue.close();
    } else {
      const count = Number(system.slice('taskwire-redis-'.length));
      for (let i = 0; i < count; i++) managers.push(await startManager(options.serverDir, redis.url));
      const taskwire = createRequire(HERE)(join(options.serverDir, 'dist', 'src', 'index.js'));
      const producer = await taskwire.connect({ host: '127.0.0.1', port: managers[0].port, authkey: KEY, reconnect: false, name: 'drain-producer' });
      const tasks = producer.queue(QUEUE);
      for (let i = 0; i < options.n; i += 500) {
        const end = Math.min(options.n, i + 500);
        await tasks.putMany(Array.from({ length: end - i }, (_, j) => ({ payload: `image_url_${i + j}` })));
      }
      producer.close();
    }
    for (let i = 0; i < options.workers; i++) {
      workers.push(startWorker(isBullmq ? { kind: 'bullmq', redisPort: redis.port } : { kind: 'taskwire', serverDir: options.serverDir, port: managers[i % managers.length].port }));
    }
    for (const worker of workers) await worker.next();
    const pids = managers.map((m) => m.pid);
    await redis.command('CONFIG', 'RESETSTAT');
    const managerCpu0 = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const redisCpu0 = cpuSeconds(redis.pid);
    const started = process.hrtime.bigint();
    for (const worker of workers) worker.child.send('go');
    const reports = await Promise.all(workers.map((worker) => worker.next()));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const managerUs = ((pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - managerCpu0) * 1e6) / options.n;
    const redisUs = ((cpuSeconds(redis.pid) - redisCpu0) * 1e6) / options.n;
    const done = reports.reduce((sum, report) => sum + report.done, 0);
    if (done !== options.n) throw new Error(`${system}: the workers did ${done} tasks, expected ${options.n}`);
    const costs = commandCostsPerTask(parseCommandStats(await redis.command('INFO', 'commandstats')), options.n);
    await Promise.all(workers.map((worker) => worker.exited));
    return { tasksPerSecond: options.n / seconds, managerUs, redisUs, scriptsPerTask: costs.redisScriptCallsPerTask, commandsPerTask: costs.redisCallsPerTask };
  } finally {
    for (const worker of workers) worker.child.kill('SIGKILL');
    for (const manager of managers) manager.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const { values: flags } = parseArgs({
    options: {
      n: { type: 'string', default: '10000' },
      workers: { type: 'string', default: '2' },
      runs: { type: 'string', default: '5' },
      systems: { type: 'string', default: 'taskwire-redis-1,taskwire-redis-2,bullmq-c1' },
      'server-dir': { type: 'string', default: join(dirname(HERE), '..', 'server') },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (flags.help) {
    console.log('usage: node bench/redisDrain.mjs [--n 10000] [--workers 2] [--runs 5] [--systems taskwire-redis-1,taskwire-redis-2,bullmq-c1] [--server-dir DIR]');
    return;
  }
  const systems = flags.systems.split(',');
  for (const system of systems) {
    if (system !== 'bullmq-c1' && !/^taskwire-redis-[1-9]$/.test(system)) {
      process.stderr.write(`redisDrain: unknown system "${system}" (taskwire-redis-M with M managers, or bullmq-c1)\n`);
      process.exit(2);
    }
  }
  const options = { n: Number(flags.n), workers: Number(flags.workers), serverDir: resolve(flags['server-dir']) };
  const results = Object.fromEntries(systems.map((system) => [system, []]));
  for (let run = 1; run <= Number(flags.runs); run++) {
    for (const system of systems) {
      const measured = await measure(system, options);
      results[system].push(measured);
      process.stderr.write(
        `${system} run ${run}: ${Math.round(measured.tasksPerSecond)} tasks/s, managers ${measured.managerUs.toFixed(0)} µs/task, redis ${measured.redisUs.toFixed(0)} µs/task, ${measured.scriptsPerTask.toFixed(2)} scripts/task\n`,
      );
    }
  }
  const medianOf = (system, field) => median(results[system].map((r) => r[field]));
  const base = results['bullmq-c1'] ? medianOf('bullmq-c1', 'tasksPerSecond') : undefined;
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  const lines = [
    `# A backlog of ${fmt(options.n)} tasks drained by ${options.workers} workers on Redis, one task at a time (medians of ${flags.runs} runs)`,
    '',
    '| system | tasks/s (median) | min..max | vs bullmq-c1 | managers CPU µs/task | Redis CPU µs/task | scripts/task | Redis commands/task |',
    '|---|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const system of systems) {
    const rates = results[system].map((r) => r.tasksPerSecond);
    const rate = median(rates);
    lines.push(
      `| ${system} | ${fmt(rate)} | ${fmt(Math.min(...rates))}..${fmt(Math.max(...rates))} | ${base ? `${(rate / base).toFixed(2)}×` : '—'} | ${system.startsWith('bullmq') ? '—' : fmt(medianOf(system, 'managerUs'))} | ${fmt(medianOf(system, 'redisUs'))} | ${medianOf(system, 'scriptsPerTask').toFixed(2)} | ${medianOf(system, 'commandsPerTask').toFixed(1)} |`,
    );
  }
  console.log(lines.join('\n'));
}
