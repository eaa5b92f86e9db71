#!/usr/bin/env node
// Taskwire benchmark runner: the seed's multiprocessing manager and Taskwire (TypeScript
// client one call per task, TypeScript client with batches, Python client) side by side in the
// same run, a fresh manager per measurement. See bench/README.md.
//
//   npm run bench                         the full run (about 15 minutes on 2 cores)
//   node bench/run.mjs --quick --out DIR  the smoke run (under a minute; CI)
//   node bench/run.mjs --help
import { writeFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { killAll, rssBytes, cpuSeconds, machineBusySeconds, sleep } from './lib/proc.mjs';
import {
  ALL_SYSTEMS,
  BENCH,
  FLOOR_SYSTEMS,
  PYTHON,
  REDIS_SYSTEMS,
  REPO,
  SYSTEMS,
  TASKWIRE_REDIS_SYSTEMS,
  detectDurableOptions,
  spawnFloor,
  removeDir,
  serverDir,
  snapshotTaskwire,
  useServerDir,
  spawnIdle,
  spawnProducer,
  spawnWorkers,
  startManager,
  tempDir,
} from './lib/systems.mjs';
import { percentile, mean } from './lib/stats.mjs';
import { commandCostsPerTask, findRedisServer, parseCommandStats, RedisMissingError, startRedis } from './lib/redis.mjs';
import { summarizeCpuProfile } from './lib/profile.mjs';
import { aggregate, renderMarkdown, renderSvg, renderPayloadSvg, renderCompare, evaluateTargets, flameGraphs } from './lib/report.mjs';
import { renderRedisSvg } from './lib/redisReport.mjs';
import { renderFlameGraph } from './lib/flamegraph.mjs';
import { startScraper } from './lib/scraper.mjs';

const WORKLOADS = ['pipeline', 'workers', 'payload', 'latency', 'idle', 'memory', 'durable', 'profile'];
const QUICK_WORKLOADS = ['pipeline', 'latency', 'idle', 'memory', 'durable', 'profile'];

const USAGE = `Usage: node bench/run.mjs [options]      (npm run bench -- [options])

Runs the seed's multiprocessing manager and Taskwire side by side and writes
<out>/latest.json, <out>/latest.md, the charts <out>/pipeline-workers.svg,
<out>/pipeline-payload.svg and <out>/redis.svg, and a flame graph per profiled manager,
<out>/manager-*.flame.svg.

The Redis systems (${REDIS_SYSTEMS.join(', ')}) run the pipeline and
latency workloads on a redis-server the runner starts for each measurement (a free loopback
port, --save "" --appendonly no; $BENCH_REDIS_SERVER, else redis-server on PATH). The
taskwire-redis-* systems need \`taskwire serve --store\`: without it they are left out of the
default and --quick runs (a note says so), and asking for them with --systems is an error.

Options:
  --quick              smoke run: tiny N, 1 run, workloads ${QUICK_WORKLOADS.join(',')} (about 1 min)
  --only LIST          workloads, comma-separated: ${WORKLOADS.join(',')}
  --systems LIST       systems, comma-separated: ${ALL_SYSTEMS.join(',')}
  --runs N             repetitions of each measurement (default 5; --quick: 1)
  --n N                pipeline tasks (default 20000); the other workloads scale from it
  --workers LIST       worker counts of the "workers" workload (default 1,8,64)
  --idle-count N       idle connections of the "idle" workload (default 1000)
  --mem-n N            tasks queued by Taskwire in the "memory" workload (default 1000000)
  --mem-seed-n N       tasks queued by the seed in the "memory" workload (default 50000)
  --mem-big-n N        64 KiB tasks queued by each system in the "memory" workload (default 10000:
                       655 MB of payload, so that a manager's fixed memory, its young
                       generation and the garbage not yet collected, weighs little per task)
  --latency-warmup N   warm-up round trips (default 3000)
  --pipeline-warmup F  before a pipeline's clock starts, run F × its N tasks through the same
                       manager the same way, untimed (default 0: the clock starts with a fresh
                       manager's first task, JIT warm-up included); every system alike
  --latency-count N    timed round trips (default 2000)
  --ts-max-procs N     most Node worker processes; beyond, connections share them (default 8)
  --batch-scale K      taskwire-ts-batch pipelines run K × N tasks, so that their clock runs
                       long enough to mean something (default 5; --quick: 1)
  --no-snapshot        run server/ as it is instead of a copy of its build taken at the start
                       (by default a rebuild during the run cannot change what is measured)
  --server-dir DIR     measure the manager and TypeScript client built in DIR (another
                       checkout's server/, e.g. the commit before a change) instead of this
                       checkout's; the Python client stays this checkout's
  --dry-run            print the plan and the time estimate, run nothing
  --render FILE        rewrite latest.md and the SVGs from a latest.json (next to it, or --out)
  --compare OLD [NEW]  print Markdown tables comparing two latest.json (NEW defaults to
                       <out>/latest.json): the manager's cost per task by group (validation,
                       JSON, engine, syscalls, GC, ...), throughput, manager CPU, latency
  --out DIR            where the results go (default bench/results)
  -h, --help           this text
`;

function parseOptions(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      systems: { type: 'string' },
      runs: { type: 'string' },
      n: { type: 'string' },
      workers: { type: 'string' },
      'idle-count': { type: 'string' },
      'mem-n': { type: 'string' },
      'mem-seed-n': { type: 'string' },
      'mem-big-n': { type: 'string' },
      'latency-warmup': { type: 'string' },
      'pipeline-warmup': { type: 'string' },
      'latency-count': { type: 'string' },
      'ts-max-procs': { type: 'string' },
      'batch-scale': { type: 'string' },
      'no-snapshot': { type: 'boolean', default: false },
      'server-dir': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      render: { type: 'string' },
      compare: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if (positionals.length > (values.compare !== undefined ? 1 : 0)) usage(`unexpected argument "${positionals.at(-1)}"`);
  const int = (name, fallback, min = 1) => {
    if (values[name] === undefined) return fallback;
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min) usage(`--${name} must be a whole number >= ${min}`);
    return v;
  };
  const fraction = (name, fallback) => {
    if (values[name] === undefined) return fallback;
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < 0 || v > 10) usage(`--${name} must be a number from 0 to 10 (a fraction of the tasks)`);
    return v;
  };
  const list = (name, allowed, fallback) => {
    if (values[name] === undefined) return fallback;
    const items = values[name]
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const item of items) if (!allowed.includes(item)) usage(`--${name}: unknown "${item}" (use ${allowed.join(', ')})`);
    return items;
  };
  const quick = values.quick;
  const n = int('n', quick ? 1000 : 20_000);
  const o = {
    quick,
    runs: int('runs', quick ? 1 : 5),
    runsExplicit: values.runs !== undefined,
    n,
    workloads: list('only', WORKLOADS, quick ? QUICK_WORKLOADS : WORKLOADS),
    systems: list('systems', ALL_SYSTEMS, ALL_SYSTEMS),
    systemsExplicit: values.systems !== undefined,
    workersList: values.workers ? values.workers.split(',').map(Number) : quick ? [1, 8] : [1, 8, 64],
    idleCount: int('idle-count', quick ? 50 : 1000),
    memN: int('mem-n', quick ? 20_000 : 1_000_000),
    memSeedN: int('mem-seed-n', quick ? 2_000 : 50_000),
    memBigN: int('mem-big-n', quick ? 200 : 10_000),
    latencyWarmup: int('latency-warmup', quick ? 200 : 3000, 0),
    pipelineWarmup: fraction('pipeline-warmup', 0),
    latencyCount: int('latency-count', quick ? 300 : 2000),
    tsMaxProcs: int('ts-max-procs', 8),
    batchScale: int('batch-scale', quick ? 1 : 5),
    snapshot: !values['no-snapshot'],
    serverDir: values['server-dir'] === undefined ? undefined : resolve(values['server-dir']),
    dryRun: values['dry-run'],
    render: values.render,
    compare: values.compare,
    compareWith: positionals[0],
    outGiven: values.out !== undefined,
    out: resolve(values.out ?? join(BENCH, 'results')),
  };
  if (o.workersList.some((w) => !Number.isInteger(w) || w < 1)) usage('--workers: whole numbers >= 1, comma-separated');
  if (o.serverDir) {
    try {
      useServerDir(o.serverDir);
    } catch (error) {
      usage(`--server-dir: ${error.message}`);
    }
  }
  // Derived sizes (see bench/README.md, "Choices"): the sweep, payloads and the idle pipeline
  // use fewer tasks than the main pipeline so that the full run stays near 15 minutes.
  o.nSweep = Math.max(100, Math.round(n / 4));
  o.n1k = Math.max(100, Math.round(n / 4));
  o.n64k = Math.max(50, Math.round(n / 20));
  o.n1m = Math.max(20, Math.round(n / 80));
  o.nIdle = Math.max(100, Math.round(n / 2));
  o.nDurable = Math.max(100, Math.round(n / 10));
  return o;
}

function usage(message) {
  process.stderr.write(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// The plan: groups (a workload with one configuration) × runs × systems × variants.

/** Rough tasks/s per system for the time estimate, refined by what the run measures. */
const GUESS_RATE = {
  seed: 4500,
  'taskwire-ts': 2500,
  'taskwire-ts-metrics': 2500,
  'taskwire-ts-async': 10000,
  'taskwire-ts-batch': 35000,
  'taskwire-py': 1900,
  'taskwire-mp': 3000,
  'bullmq-c1': 1000,
  'bullmq-c16': 1000,
  'taskwire-redis-1': 1500,
  'taskwire-redis-2': 1500,
  'taskwire-redis-3': 1500,
};

/**
 * Tasks a pipeline of this system runs in a group of N: batches run batchScale × N (their clock
 * would otherwise stop after a fraction of a second), except with 64 KiB payloads.
 */
function tasksFor(system, params, o) {
  return system === 'taskwire-ts-batch' && !(params.size >= 65536) ? params.n * o.batchScale : params.n;
}

function buildPlan(o, durable) {
  const groups = [];
  const want = (w) => o.workloads.includes(w);
  const pick = (list) => list.filter((s) => o.systems.includes(s));
  const all = pick(ALL_SYSTEMS);
  // The Redis systems run the two workloads of issue 16's comparison: pipeline and latency.
  const notRedis = all.filter((s) => !SYSTEMS[s].redis && !SYSTEMS[s].scrapeMetrics);
  // taskwire-ts-metrics runs the pipeline only: next to taskwire-ts it shows what scraping costs.
  const notes = [];
  if (want('pipeline')) {
    groups.push({ workload: 'pipeline', key: 'W=2', title: `pipeline: N = ${fmtInt(o.n)}, W = 2, payload image_url_<i>`, params: { W: 2, n: o.n, size: 0 }, systems: all });
  }
  if (want('workers')) {
    for (const W of o.workersList) {
      groups.push({ workload: 'workers', key: `W=${W}`, title: `pipeline: N = ${fmtInt(o.nSweep)}, W = ${W}`, params: { W, n: o.nSweep, size: 0 }, systems: notRedis });
    }
  }
  if (want('payload')) {
    for (const [size, n, name] of [
      [1024, o.n1k, '1 KiB'],
      [65536, o.n64k, '64 KiB'],
      [1048576, o.n1m, '1 MiB'],
    ]) {
      // 1 MiB: 3 runs (each Taskwire run takes seconds), N = 250 (the results wait in the
      // manager until the producer reads them: 250 MiB, well inside its queued-bytes budget).
      groups.push({
        workload: 'payload',
        key: name,
        title: `pipeline: N = ${fmtInt(n)}, W = 2, payload ${name}`,
        params: { W: 2, n, size },
        systems: notRedis,
        ...(size > 65536 ? { defaultRuns: 3 } : {}),
      });
    }
  }
  if (want('latency')) {
    groups.push({
      workload: 'latency',
      key: 'round trip',
      title: `latency: put one task, wait for its result; ${fmtInt(o.latencyCount)} timed after ${fmtInt(o.latencyWarmup)} warm-up`,
      params: { warmup: o.latencyWarmup, count: o.latencyCount },
      // The floors (no queue, four loopback crossings) show what this machine allows at all.
      systems: [...pick(['seed', 'taskwire-ts', 'taskwire-py', 'taskwire-mp']), ...pick(REDIS_SYSTEMS), ...Object.keys(FLOOR_SYSTEMS)],
    });
  }
  if (want('idle')) {
    groups.push({
      workload: 'idle',
      key: `${o.idleCount} idle`,
      title: `pipeline N = ${fmtInt(o.nIdle)}, W = 2, without and with ${fmtInt(o.idleCount)} idle connections blocked in get on another queue`,
      params: { W: 2, n: o.nIdle, size: 0, idle: o.idleCount },
      variants: ['without', 'with'],
      systems: pick(['seed', 'taskwire-ts', 'taskwire-ts-async', 'taskwire-ts-batch']),
    });
  }
  if (want('memory')) {
    groups.push({
      workload: 'memory',
      key: '20-byte tasks',
      title: `memory: queue 20-byte tasks (Taskwire ${fmtInt(o.memN)} with putMany of 10,000; the seed ${fmtInt(o.memSeedN)}, one put each), then drain them`,
      params: { n: o.memN, seedN: o.memSeedN, size: 20 },
      systems: pick(['seed', 'taskwire-ts-batch']),
      defaultRuns: 3,
    });
    groups.push({
      workload: 'memory',
      key: '64 KiB tasks',
      title: `memory: queue ${fmtInt(o.memBigN)} tasks of 64 KiB (Taskwire with putMany of 100; the seed one put each), then drain them`,
      params: { n: o.memBigN, seedN: o.memBigN, size: 65536 },
      systems: pick(['seed', 'taskwire-ts-batch']),
      defaultRuns: 3,
    });
  }
  if (want('durable')) {
    if (durable.fsync) {
      for (const mode of ['always', 'everysec', 'never']) {
        groups.push({
          workload: 'durable',
          key: `fsync ${mode}`,
          title: `pipeline: N = ${fmtInt(o.nDurable)}, W = 2, durable store --data-dir (a fresh temporary directory) --fsync ${mode}`,
          params: { W: 2, n: o.nDurable, size: 0, fsync: mode },
          systems: pick(['taskwire-ts', 'taskwire-ts-async', 'taskwire-ts-batch']),
          defaultRuns: 3,
        });
      }
    } else {
      notes.push('durable: skipped — `taskwire serve --help` has no `--fsync` option yet (the hook runs pipeline with --data-dir DIR --fsync always|everysec|never once it has).');
    }
  }
  if (want('profile')) {
    // The awaited taskwire-ts pipeline first: issue 15's flame graph and "top costs per task".
    groups.push({
      workload: 'profile',
      key: 'W=2',
      title: `profile: pipeline N = ${fmtInt(o.n)}, W = 2, the manager, the producer and one worker each under node --cpu-prof (the Python client's processes are not profiled)`,
      params: { W: 2, n: o.n, size: 0, profile: true },
      systems: pick(o.quick ? ['taskwire-ts'] : ['taskwire-ts', 'taskwire-py', 'taskwire-ts-async', 'taskwire-ts-batch']),
      runs: 1,
    });
    if (!o.quick) {
      groups.push({
        workload: 'profile',
        key: '64 KiB',
        title: `profile: pipeline N = ${fmtInt(o.n64k)}, W = 2, payload 64 KiB, the manager, the producer and one worker each under node --cpu-prof`,
        params: { W: 2, n: o.n64k, size: 65536, profile: true },
        systems: pick(['taskwire-ts', 'taskwire-ts-batch']),
        runs: 1,
      });
    }
  }
  const items = [];
  for (const group of groups) {
    // Memory and durable default to 3 runs (slow and steady); --runs sets every group.
    group.runs = group.runs ?? (o.runsExplicit ? o.runs : Math.min(o.runs, group.defaultRuns ?? o.runs));
    for (let run = 1; run <= group.runs; run++) {
      for (const system of group.systems) {
        for (const variant of group.variants ?? [undefined]) items.push({ group, system, variant, run });
      }
    }
  }
  return { groups, items, notes };
}

function estimateSeconds(item, o) {
  const { workload, params } = item.group;
  const rate = GUESS_RATE[item.system];
  const lang = (SYSTEMS[item.system] ?? FLOOR_SYSTEMS[item.system]).language;
  const procStart = lang === 'ts' ? 0.25 : item.system === 'seed' ? 0.2 : 0.15;
  const startup = 0.6 + (procStart * Math.min(params.W ?? 1, lang === 'ts' ? 8 : 64)) / 2;
  if (workload === 'latency') {
    const rtt = { seed: 450e-6, 'taskwire-ts': 250e-6, 'taskwire-py': 300e-6 }[item.system] ?? (SYSTEMS[item.system]?.redis ? 900e-6 : 400e-6);
    return startup + (params.warmup + params.count) * rtt + (SYSTEMS[item.system]?.managers ?? 0) * 0.5;
  }
  if (workload === 'memory') {
    if (params.size > 1024) return 3 + params.n / (item.system === 'seed' ? 2000 : 1000);
    if (item.system === 'seed') return 2 + params.seedN / 10_000 + params.seedN / 20_000;
    return 3 + (2 * params.n) / 250_000;
  }
  // Systems without a guess of their own (taskwire-mp, the Redis ones) slow down like the seed.
  const big = { seed: 0.35, 'taskwire-ts': 0.18, 'taskwire-ts-async': 0.1, 'taskwire-ts-batch': 0.02, 'taskwire-py': 0.29 }[item.system] ?? 0.35;
  const huge = { seed: 0.03, 'taskwire-ts': 0.012, 'taskwire-ts-async': 0.003, 'taskwire-ts-batch': 0.001, 'taskwire-py': 0.015 }[item.system] ?? 0.03;
  const sizeFactor = params.size >= 1048576 ? huge : params.size >= 65536 ? big : params.size >= 1024 ? 0.8 : 1;
  let seconds = startup + tasksFor(item.system, params, o) / (rate * sizeFactor) + (SYSTEMS[item.system]?.managers ?? 0) * 0.5;
  if (params.fsync === 'always') seconds *= item.system === 'taskwire-ts' ? 9 : 4;
  if (workload === 'idle' && item.variant === 'with') seconds += item.system === 'seed' ? params.idle / 250 : params.idle / 800;
  if (workload === 'profile') seconds *= 1.5;
  else seconds *= 1 + o.pipelineWarmup;
  return seconds;
}

// ---------------------------------------------------------------------------------------------
// Measurements. Each starts a fresh manager and stops it (and every process it started).

/**
 * What a measurement runs against, `{ managers, redis, stop() }`: one fresh manager; for the
 * Redis systems a fresh redis-server (its own temporary directory) and the system's managers
 * on it (none for BullMQ).
 */
async function startBackend(system, ctx, { extraArgs = [], cpuProfDir } = {}) {
  const s = SYSTEMS[system];
  if (!s.redis) {
    const manager = await startManager(s.manager, { keyFile: ctx.keyFile, extraArgs: s.scrapeMetrics ? [...extraArgs, '--metrics', '127.0.0.1:0'] : extraArgs, cpuProfDir });
    // Scraped every second from the start, as Prometheus would: the runner reads the whole answer each time.
    const scraper = s.scrapeMetrics ? startScraper(manager.metricsPort) : undefined;
    return {
      managers: [manager],
      redis: undefined,
      scraper,
      stop: () => {
        scraper?.stop();
        return manager.stop();
      },
    };
  }
  // Inside the run's work directory, so that an interrupted run removes it too.
  const dir = mkdtempSync(join(ctx.workDir, 'redis-'));
  const managers = [];
  let redis;
  const stop = async () => {
    await Promise.all(managers.map((m) => m.stop()));
    if (redis) await redis.stop();
    removeDir(dir);
  };
  try {
    redis = await startRedis({ dir, executable: ctx.redisServer });
    // One after the other: the first creates what the store keeps once (a race there is the
    // store's tests' business, not the benchmark's).
    for (let i = 0; i < (s.managers ?? 0); i++) {
      managers.push(await startManager('taskwire', { keyFile: ctx.keyFile, extraArgs: ['--store', redis.url, ...extraArgs], cpuProfDir }));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { managers, redis, stop };
}

/** Redis's counters from here on: CONFIG RESETSTAT just before the clock starts. */
async function resetRedisStats(backend) {
  if (backend.redis) await backend.redis.command('CONFIG', 'RESETSTAT');
}

/** What Redis did per task since resetRedisStats (INFO commandstats), for the Redis systems. */
async function redisCosts(backend, tasks) {
  if (!backend.redis) return {};
  return commandCostsPerTask(parseCommandStats(await backend.redis.command('INFO', 'commandstats')), tasks);
}

async function measurePipeline(item, ctx) {
  const { system, group, variant } = item;
  const p = group.params;
  const n = tasksFor(system, p, ctx.o);
  const extraArgs = [];
  let dataDir;
  let profDir;
  const clientProfDirs = {};
  if (p.fsync) {
    dataDir = tempDir('taskwire-bench-data-');
    if (ctx.durable.dataDir) extraArgs.push('--data-dir', dataDir);
    extraArgs.push('--fsync', p.fsync);
  }
  if (p.profile) {
    profDir = tempDir('taskwire-bench-prof-');
    if (SYSTEMS[system].language === 'ts') {
      clientProfDirs.producer = tempDir('taskwire-bench-prof-producer-');
      clientProfDirs.worker = tempDir('taskwire-bench-prof-worker-');
    }
  }
  const profFlags = (dir) => (dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : []);
  const backend = await startBackend(system, ctx, { extraArgs, cpuProfDir: profDir });
  const manager = backend.managers[0];
  const children = [];
  const out = {};
  try {
    if (manager) out.rssStart = rssBytes(manager.pid);
    if (p.idle && variant === 'with') {
      const idle = spawnIdle(system, backend, ctx.keyFile, p.idle);
      children.push(idle);
      await idle.waitFor('warm', 60_000);
      await sleep(300);
      out.rssWarm = rssBytes(manager.pid); // one idle connection open already
      const t0 = Date.now();
      idle.send('go');
      const ready = await idle.waitFor('ready', 180_000);
      out.idleConnectSeconds = (Date.now() - t0) / 1000;
      if (ready.waitingGetters !== undefined) out.idleWaitingGetters = ready.waitingGetters;
      await sleep(500);
      out.rssIdle = rssBytes(manager.pid);
      out.idleRssIncrease = out.rssIdle - out.rssWarm;
      out.idleRssIncreaseFromStart = out.rssIdle - out.rssStart;
      out.idleBytesPerConnection = out.idleRssIncrease / p.idle;
    }
    const workers = spawnWorkers(system, backend, ctx.keyFile, p.W, {
      tsMaxProcs: ctx.o.tsMaxProcs,
      size: p.size,
      nodeFlags: (i) => (i === 0 ? profFlags(clientProfDirs.worker) : []),
    });
    // A warm-up runs before the producer says ready, so the CPU readings below leave it out too
    // (not in a profile, whose samples cover the whole process).
    const warmupTasks = p.profile ? 0 : Math.round(n * ctx.o.pipelineWarmup);
    if (warmupTasks > 0) out.warmupTasks = warmupTasks;
    const producer = spawnProducer(system, backend, ctx.keyFile, { mode: 'pipeline', n, size: p.size, warmupTasks }, profFlags(clientProfDirs.producer));
    children.push(...workers, producer);
    await Promise.all([...workers, producer].map((c) => c.waitFor('ready', 120_000 + item.timeoutMs * ctx.o.pipelineWarmup)));
    out.tasks = n;
    out.workerProcesses = workers.length;
    const cpuOf = (pids) => pids.reduce((a, pid) => a + cpuSeconds(pid), 0);
    const workerPids = workers.map((w) => w.pid);
    const managerPids = backend.managers.map((m) => m.pid);
    await resetRedisStats(backend);
    const cpu0 = cpuOf(managerPids);
    const r0 = backend.redis ? cpuSeconds(backend.redis.pid) : NaN;
    const p0 = cpuSeconds(producer.pid);
    const w0 = cpuOf(workerPids);
    const m0 = machineBusySeconds();
    producer.send('go');
    const result = await producer.waitFor('result', item.timeoutMs);
    const cpu1 = cpuOf(managerPids);
    const r1 = backend.redis ? cpuSeconds(backend.redis.pid) : NaN;
    const w1 = cpuOf(workerPids);
    const m1 = machineBusySeconds();
    const p1 = producer.exited ? NaN : cpuSeconds(producer.pid);
    if (result.distinct !== n) throw new Error(`${n} tasks put but ${result.distinct} distinct results`);
    out.elapsed = result.elapsed;
    out.tasksPerSec = n / result.elapsed;
    if (managerPids.length) {
      // Several managers: their CPU time added up (the cost of the task, wherever it ran).
      out.managerCpuSeconds = cpu1 - cpu0;
      out.managerCpuUsPerTask = ((cpu1 - cpu0) / n) * 1e6;
      out.managerCpuShare = (cpu1 - cpu0) / result.elapsed; // 1.0 = one core busy the whole time
    }
    if (backend.redis) {
      out.redisCpuUsPerTask = ((r1 - r0) / n) * 1e6;
      out.redisCpuShare = (r1 - r0) / result.elapsed;
      Object.assign(out, await redisCosts(backend, n));
    }
    // What serves the queue, all of it: the managers and Redis (BullMQ: Redis alone).
    out.serverCpuUsPerTask = (((managerPids.length ? cpu1 - cpu0 : 0) + (backend.redis ? r1 - r0 : 0)) / n) * 1e6;
    out.producerCpuUsPerTask = ((p1 - p0) / n) * 1e6;
    out.workersCpuUsPerTask = ((w1 - w0) / n) * 1e6;
    out.machineBusyShare = (m1.busy - m0.busy) / Math.max(1e-9, m1.busy - m0.busy + m1.idle - m0.idle);
    if (manager) out.rssEnd = rssBytes(manager.pid);
    if (backend.scraper) {
      const scraped = backend.scraper.stats;
      if (scraped.failures > 0) throw new Error(`${scraped.failures} scrapes of /metrics failed (${scraped.lastError})`);
      out.metricsScrapes = scraped.scrapes;
      out.metricsBytesPerScrape = scraped.scrapes > 0 ? scraped.bytes / scraped.scrapes : 0;
    }
    for (const w of workers) if (w.exited) throw new Error(`${w.label} exited early (${w.exitCode})${w.describeStderr()}`);
    return out;
  } finally {
    await Promise.all(children.map((c) => c.end()));
    await backend.stop();
    if (dataDir) removeDir(dataDir);
    if (profDir) {
      out.profiles = {};
      for (const [who, dir] of [
        ['manager', profDir],
        ['producer', clientProfDirs.producer],
        ['worker', clientProfDirs.worker],
      ]) {
        if (!dir) continue;
        try {
          const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
          out.profiles[who] = file ? summarizeCpuProfile(join(dir, file), { flame: who === 'manager' }) : { error: 'no .cpuprofile written' };
        } catch (error) {
          out.profiles[who] = { error: String(error.message ?? error) };
        }
        removeDir(dir);
      }
    }
  }
}

async function measureLatency(item, ctx) {
  const { system, group } = item;
  if (FLOOR_SYSTEMS[system]) return measureFloor(item);
  const backend = await startBackend(system, ctx);
  const children = [];
  try {
    // One worker: with several managers it is on the second, so each round trip crosses managers.
    const workers = spawnWorkers(system, backend, ctx.keyFile, 1);
    const producer = spawnProducer(system, backend, ctx.keyFile, { mode: 'latency', ...group.params });
    children.push(...workers, producer);
    await Promise.all(children.map((c) => c.waitFor('ready', 60_000)));
    await resetRedisStats(backend);
    producer.send('go');
    const { samples } = await producer.waitFor('result', item.timeoutMs);
    const rounds = group.params.warmup + group.params.count;
    const costs = await redisCosts(backend, rounds);
    return { ...latencySummary(samples), ...(backend.redis ? { redisCallsPerTask: costs.redisCallsPerTask, redisScriptCallsPerTask: costs.redisScriptCallsPerTask } : {}) };
  } finally {
    await Promise.all(children.map((c) => c.end()));
    await backend.stop();
  }
}

async function measureFloor(item) {
  const floor = spawnFloor(item.system, item.group.params);
  try {
    await floor.waitFor('ready', 60_000);
    floor.send('go');
    const { samples } = await floor.waitFor('result', item.timeoutMs);
    return latencySummary(samples);
  } finally {
    await floor.end();
  }
}

function latencySummary(samples) {
  return { p50: percentile(samples, 50), p90: percentile(samples, 90), p99: percentile(samples, 99), mean: mean(samples), max: Math.max(...samples), count: samples.length };
}

async function measureMemory(item, ctx) {
  const { system, group } = item;
  const n = system === 'seed' ? group.params.seedN : group.params.n;
  const size = group.params.size ?? 20;
  const backend = await startBackend(system, ctx);
  const manager = backend.managers[0];
  const children = [];
  try {
    const producer = spawnProducer(system, backend, ctx.keyFile, { mode: 'memory', n, size });
    children.push(producer);
    await producer.waitFor('ready', 60_000);
    // Let the RSS settle before each reading (shorter in the smoke run, which judges nothing).
    const settle = ctx.o.quick ? 0.3 : 1;
    await sleep(500 * settle);
    const rssBefore = rssBytes(manager.pid);
    producer.send('go');
    const filled = await producer.waitFor('filled', item.timeoutMs);
    await sleep(1000 * settle);
    const rssAfter = rssBytes(manager.pid);
    producer.send('drain');
    const result = await producer.waitFor('result', item.timeoutMs);
    await sleep(300 * settle);
    const rssDrained = rssBytes(manager.pid);
    return {
      tasks: n,
      rssBefore,
      rssAfter,
      rssDrained,
      bytesPerTask: (rssAfter - rssBefore) / n,
      payloadBytes: size,
      putSeconds: filled.elapsed,
      putPerSec: n / filled.elapsed,
      drainSeconds: result.drainElapsed,
      drainPerSec: n / result.drainElapsed,
    };
  } finally {
    await Promise.all(children.map((c) => c.end()));
    await backend.stop();
  }
}

function measure(item, ctx) {
  switch (item.group.workload) {
    case 'latency':
      return measureLatency(item, ctx);
    case 'memory':
      return measureMemory(item, ctx);
    default:
      return measurePipeline(item, ctx);
  }
}

function headline(item, r) {
  const w = item.group.workload;
  if (w === 'latency') return `p50 ${fmtInt(r.p50)} µs, p99 ${fmtInt(r.p99)} µs`;
  if (w === 'memory')
    return `${fmtInt(r.bytesPerTask)} B/task${r.payloadBytes > 20 ? ` = ${(r.bytesPerTask / r.payloadBytes).toFixed(2)} × payload` : ''} (RSS ${mb(r.rssBefore)} → ${mb(r.rssAfter)} MB), drain ${fmtInt(r.drainPerSec)} tasks/s`;
  const cpu = [
    ...(r.managerCpuUsPerTask !== undefined ? [`manager CPU ${fmtInt(r.managerCpuUsPerTask)} µs/task`] : []),
    ...(r.redisCpuUsPerTask !== undefined ? [`Redis CPU ${fmtInt(r.redisCpuUsPerTask)} µs/task, ${r.redisCallsPerTask.toFixed(1)} commands/task`] : []),
  ];
  let s = `${fmtInt(r.tasksPerSec)} tasks/s (${r.elapsed.toFixed(2)} s, ${cpu.join(', ')})`;
  if (r.idleRssIncrease !== undefined) s += `, idle RSS +${mb(r.idleRssIncrease)} MB`;
  return s;
}

// ---------------------------------------------------------------------------------------------

function fmtInt(x) {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—';
}
function mb(bytes) {
  return (bytes / 1048576).toFixed(1);
}
function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
function log(line) {
  process.stderr.write(line + '\n');
}

function newestMtime(dir) {
  let newest = 0;
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  try {
    walk(dir);
  } catch {
    return undefined;
  }
  return newest ? new Date(newest).toISOString() : undefined;
}

function environment() {
  const server = serverDir();
  const tryRun = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { cwd: server, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return undefined;
    }
  };
  return {
    date: new Date().toISOString(),
    node: process.version,
    python: tryRun(PYTHON, ['--version']),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    commit: tryRun('git', ['rev-parse', '--short', 'HEAD']),
    serverBuiltAt: newestMtime(join(server, 'dist', 'src')),
    ...(server !== join(REPO, 'server') ? { serverDir: server } : {}),
    worktreeDirty: (tryRun('git', ['status', '--porcelain', '--', '.', '../samples']) ?? '') !== '',
    taskwireVersion: JSON.parse(readFileSync(join(server, 'package.json'), 'utf8')).version,
  };
}

/**
 * Writes latest.md, the charts and the flame graphs of a report into `out`; returns the
 * Markdown and the names of the SVG files written.
 */
function writeOutputs(report, out) {
  mkdirSync(out, { recursive: true });
  const markdown = renderMarkdown(report);
  writeFileSync(join(out, 'latest.md'), markdown);
  const written = [];
  const svgs = [
    ['pipeline-workers.svg', renderSvg(report.groups)],
    ['pipeline-payload.svg', renderPayloadSvg(report.groups)],
    ['redis.svg', renderRedisSvg(report.groups)],
    ...flameGraphs(report.groups).map((f) => [f.file, renderFlameGraph(f.folded, f)]),
  ];
  for (const [file, svg] of svgs) {
    if (!svg) continue;
    writeFileSync(join(out, file), svg);
    written.push(file);
  }
  return { markdown, written };
}

/** Re-renders the Markdown report and the SVGs from a latest.json, measuring nothing. */
function render(o) {
  const file = resolve(o.render);
  const report = JSON.parse(readFileSync(file, 'utf8'));
  report.targets = evaluateTargets(report.groups);
  const out = o.outGiven ? o.out : dirname(file);
  const { markdown, written } = writeOutputs(report, out);
  if (out !== dirname(file)) writeFileSync(join(out, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(markdown);
  log(`bench: rendered ${join(out, 'latest.md')}${written.length ? ` and ${written.join(', ')}` : ''} from ${file}`);
  return 0;
}

/** Prints the before/after tables of two latest.json files. */
function compare(o) {
  const beforeFile = resolve(o.compare);
  const afterFile = resolve(o.compareWith ?? join(o.out, 'latest.json'));
  const read = (f) => {
    try {
      return JSON.parse(readFileSync(f, 'utf8'));
    } catch (error) {
      usage(`--compare: cannot read ${f}: ${error.message}`);
    }
  };
  const before = read(beforeFile);
  const after = read(afterFile);
  process.stdout.write(renderCompare(before, after, { beforeName: relativeName(beforeFile), afterName: relativeName(afterFile) }) + '\n');
  return 0;
}

function relativeName(file) {
  return file.startsWith(REPO + '/') ? file.slice(REPO.length + 1) : file;
}

class RedisSystemsError extends Error {}

/** What the runner says when the Redis store is not built (issue 16's taskwire-redis-* systems). */
const NO_STORE_OPTION = 'taskwire serve has no --store option: build the Redis store first';

/**
 * The Redis systems' prerequisites, checked before anything runs. Without `serve --store`,
 * the taskwire-redis-* systems leave the default and --quick runs (a note says why) and are an
 * error when --systems asks for them. Returns the redis-server to run (undefined when no Redis
 * system is left); throws RedisSystemsError with the message to print.
 */
function checkRedisSystems(o, durable, notes, server) {
  const wanted = o.systems.filter((s) => TASKWIRE_REDIS_SYSTEMS.includes(s));
  const runsRedis = o.workloads.some((w) => w === 'pipeline' || w === 'latency');
  if (wanted.length && !durable.store) {
    if (o.systemsExplicit) throw new RedisSystemsError(`${NO_STORE_OPTION} (--systems asks for ${wanted.join(', ')}; ${server}/bin/taskwire.js serve --help lists no --store)`);
    o.systems = o.systems.filter((s) => !wanted.includes(s));
    if (runsRedis) notes.push(`redis: ${wanted.join(', ')} not run — ${NO_STORE_OPTION}.`);
  }
  if (!runsRedis || !o.systems.some((s) => SYSTEMS[s].redis)) return undefined;
  try {
    return findRedisServer();
  } catch (error) {
    if (error instanceof RedisMissingError) throw new RedisSystemsError(error.message);
    throw error;
  }
}

async function main() {
  const o = parseOptions(process.argv.slice(2));
  if (o.render) return render(o);
  if (o.compare) return compare(o);
  const started = Date.now();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      log(`\nbench: ${signal}: stopping every process this run started`);
      killAll();
      process.exit(130);
    });
  }
  const workDir = tempDir('taskwire-bench-');
  process.on('exit', () => {
    killAll();
    removeDir(workDir);
  });

  const keyFile = join(workDir, 'authkey');
  writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const env = environment(); // before the snapshot: the commit and build of the server measured
  const measuredServer = serverDir();
  if (o.snapshot) snapshotTaskwire(workDir);
  const durable = await detectDurableOptions();
  const redisNotes = [];
  let redisServer;
  try {
    redisServer = checkRedisSystems(o, durable, redisNotes, measuredServer);
  } catch (error) {
    if (!(error instanceof RedisSystemsError)) throw error;
    log(`bench: ${error.message}`);
    return 1;
  }
  const { groups, items, notes } = buildPlan(o, durable);
  notes.unshift(...redisNotes);
  const ctx = { o, keyFile, durable, redisServer, workDir };

  for (const item of items) {
    item.estimate = estimateSeconds(item, o);
    item.timeoutMs = Math.max(120_000, item.estimate * 20_000);
  }
  const estimateTotal = items.reduce((a, i) => a + i.estimate + 0.3, 0);
  const runCounts = [...new Set(groups.map((g) => g.runs))].sort((x, y) => y - x).join(' or ');
  log(`taskwire bench: ${items.length} measurements in ${groups.length} groups, ${runCounts || 0} run(s) each; systems ${o.systems.join(', ')}`);
  log(`  node ${env.node}, ${env.python ?? 'python ?'}, ${env.cpus} CPUs, load ${env.loadavgAtStart.join(' ')}; results to ${o.out}`);
  log(`  estimated total: ~${fmtDuration(estimateTotal)}`);
  for (const note of notes) log(`  ${note}`);
  if (o.dryRun) {
    for (const g of groups) {
      const own = items.filter((i) => i.group === g);
      log(`  ${g.workload} ${g.key}: ${g.title}; ${g.systems.join(', ')}; ${g.runs} run(s); ~${fmtDuration(own.reduce((a, i) => a + i.estimate + 0.3, 0))}`);
    }
    return 0;
  }

  const results = [];
  const errors = [];
  // Measured seconds per (group, system, variant), to refine the estimate of what is left.
  const actual = new Map();
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const { group } = item;
    const label = `[${String(i + 1).padStart(String(items.length).length)}/${items.length}] ${group.workload} ${group.key} | ${item.system}${item.variant ? ` (${item.variant})` : ''} | run ${item.run}/${group.runs}`;
    const t0 = Date.now();
    let record;
    try {
      const r = await measure(item, ctx);
      record = { workload: group.workload, key: group.key, system: item.system, variant: item.variant, run: item.run, ...r };
      results.push(record);
    } catch (error) {
      record = { workload: group.workload, key: group.key, system: item.system, variant: item.variant, run: item.run, error: String(error.message ?? error) };
      errors.push(record);
    }
    const took = (Date.now() - t0) / 1000;
    const akey = `${group.workload}|${group.key}|${item.system}|${item.variant}`;
    actual.set(akey, took);
    item.estimate = took;
    let left = 0;
    for (const rest of items.slice(i + 1)) {
      const known = actual.get(`${rest.group.workload}|${rest.group.key}|${rest.system}|${rest.variant}`);
      left += (known ?? rest.estimate) + 0.3;
    }
    const elapsed = (Date.now() - started) / 1000;
    const what = record.error ? `FAILED: ${record.error.split('\n')[0]}` : headline(item, record);
    log(`${label} … ${what} [${took.toFixed(1)} s; ${fmtDuration(elapsed)} elapsed, ~${fmtDuration(left)} left]`);
    if (record.error && record.error.includes('\n')) log('    ' + record.error.split('\n').slice(1).join('\n    '));
  }
  removeDir(workDir);

  const totalSeconds = (Date.now() - started) / 1000;
  const summary = aggregate(groups, results);
  const targets = evaluateTargets(summary);
  const report = {
    generatedBy: 'bench/run.mjs',
    environment: { ...env, loadavgAtEnd: loadavg().map((x) => Math.round(x * 100) / 100) },
    options: { ...o, out: undefined },
    durableStore: { fsyncOption: durable.fsync, dataDirOption: durable.dataDir },
    notes,
    totalSeconds,
    systems: Object.fromEntries([...o.systems.map((s) => [s, SYSTEMS[s].description]), ...(o.workloads.includes('latency') ? Object.entries(FLOOR_SYSTEMS).map(([s, d]) => [s, d.description]) : [])]),
    groups: summary,
    targets,
    // The profiles are kept once, in their group's row (a profile runs once).
    runs: results.map(({ profiles, ...run }) => run),
    errors,
  };
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
  const { markdown, written } = writeOutputs(report, o.out);
  process.stdout.write(markdown);
  log(
    `\nbench: ${results.length} measurements, ${errors.length} failed, in ${fmtDuration(totalSeconds)}; wrote ${join(o.out, 'latest.md')}, latest.json${written.length ? `, ${written.join(', ')}` : ''}`,
  );
  return errors.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    log(`bench: ${error.stack ?? error}`);
    killAll();
    process.exitCode = 1;
  },
);
