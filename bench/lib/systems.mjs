// The systems under test and the processes each one runs: its manager, its workers, its
// producer and its idle-connection holder.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child } from './proc.mjs';

export const BENCH = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = resolve(BENCH, '..');
export const PYTHON = process.env.BENCH_PYTHON || 'python3';

/** The taskwire package under test: the repository's server/ (or --server-dir), or a snapshot of its build. */
const taskwire = { root: join(REPO, 'server') };

/**
 * Runs the manager and the TypeScript client of another checkout's built server/ (to measure
 * "before" and "after" on the same machine in the same hour); throws when it is not built.
 */
export function useServerDir(dir) {
  for (const file of [join('bin', 'taskwire.js'), join('dist', 'src', 'index.js'), 'package.json']) {
    if (!existsSync(join(dir, file))) throw new Error(`${dir} has no ${file}: give the server/ folder of a checkout built with npm install`);
  }
  taskwire.root = dir;
}

/** The server/ folder the run measures (before the snapshot is taken). */
export function serverDir() {
  return taskwire.root;
}
const nodeEnv = () => ({ ...process.env, BENCH_TASKWIRE_DIST: join(taskwire.root, 'dist', 'src'), NODE_PATH: join(REPO, 'node_modules') });
const taskwireBin = () => join(taskwire.root, 'bin', 'taskwire.js');

/**
 * Copies the built package (bin, dist/src, package.json, protocol.json) into `dir` and runs
 * everything from there (dependencies from the repository's node_modules through NODE_PATH),
 * so that a rebuild of server/ by someone else during the run cannot change the manager
 * under test halfway through.
 */
export function snapshotTaskwire(dir) {
  const from = taskwire.root;
  const to = join(dir, 'taskwire');
  mkdirSync(join(to, 'dist'), { recursive: true });
  cpSync(join(from, 'bin'), join(to, 'bin'), { recursive: true });
  cpSync(join(from, 'dist', 'src'), join(to, 'dist', 'src'), { recursive: true, filter: (src) => !src.endsWith('.map') && !src.endsWith('.d.ts') });
  cpSync(join(from, 'package.json'), join(to, 'package.json'));
  if (existsSync(join(from, 'protocol.json'))) cpSync(join(from, 'protocol.json'), join(to, 'protocol.json'));
  // NODE_PATH serves require() only: a dynamic import() (how the Redis store loads ioredis)
  // resolves from the importing file up through its parents' node_modules. Link the checkout's
  // own (server/node_modules, then its root's) at the same places above the copy, so that the
  // copy finds the dependencies the original finds. Removing the copy removes the links only.
  // (A --server-dir whose checkout has no node_modules of its own: this checkout's, as NODE_PATH.)
  const rootModules = existsSync(join(dirname(from), 'node_modules')) ? join(dirname(from), 'node_modules') : join(REPO, 'node_modules');
  for (const [target, link] of [
    [join(from, 'node_modules'), join(to, 'node_modules')],
    [rootModules, join(dir, 'node_modules')],
  ]) {
    if (existsSync(target)) symlinkSync(target, link, 'dir');
  }
  taskwire.root = to;
  return to;
}

const pyEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' };

export const SYSTEMS = {
  seed: {
    description: 'Python multiprocessing.managers.BaseManager with two queue.Queue, authkey; Python producer and worker processes',
    manager: 'seed',
    language: 'python',
  },
  'taskwire-ts': {
    description: "Taskwire manager; TypeScript client, one call per task, each awaited before the next (the shape of the seed's synchronous proxies)",
    manager: 'taskwire',
    language: 'ts',
    batch: false,
  },
  'taskwire-ts-metrics': {
    description: 'taskwire-ts with `serve --metrics 127.0.0.1:0` and the runner scraping /metrics every second, as Prometheus would (issue 20: scraping must cost nothing measurable); pipeline only',
    manager: 'taskwire',
    language: 'ts',
    batch: false,
    scrapeMetrics: true,
  },
  'taskwire-ts-async': {
    description:
      'Taskwire manager; TypeScript client, one call per task with many in flight: the producer keeps 64 puts (then 64 result gets) outstanding, each worker runs work() with concurrency 16',
    manager: 'taskwire',
    language: 'ts',
    batch: false,
    inFlight: 64,
    concurrency: 16,
  },
  'taskwire-ts-batch': {
    description:
      'Taskwire manager; TypeScript client with batch calls: putMany(100), 4 in flight / each worker 2 loops of getMany(100) + ackMany / the producer reads results with getMany(1000, autoAck)',
    manager: 'taskwire',
    language: 'ts',
    batch: true,
    inFlight: 4,
    concurrency: 2,
  },
  'taskwire-mp': {
    description:
      "Taskwire manager's multiprocessing listener (serve --mp-listen); the seed's own Python producer and worker processes, unchanged (BaseManager.connect(), queue proxies), on Taskwire's queues with leases",
    manager: 'taskwire-mp',
    language: 'python',
  },
  'taskwire-py': {
    description: 'Taskwire manager; the standard-library Python client of samples/python, one call per task (a worker acks each task and takes the next in one request)',
    manager: 'taskwire',
    language: 'py',
  },
  // Issue 16: the same Redis (a fresh redis-server per measurement, started by the runner) under
  // BullMQ and under 1, 2 or 3 Taskwire managers (`serve --store redis://…`).
  'bullmq-c1': {
    description: 'BullMQ on Redis, no manager: the producer awaits each Queue.add and reads results from QueueEvents "completed"; each worker process runs one Worker with concurrency 1',
    manager: 'none',
    language: 'bullmq',
    redis: true,
    concurrency: 1,
  },
  'bullmq-c16': {
    description: 'BullMQ on Redis, as bullmq-c1 with Worker concurrency 16 (16 jobs in flight per worker process)',
    manager: 'none',
    language: 'bullmq',
    redis: true,
    concurrency: 16,
  },
  ...Object.fromEntries(
    [1, 2, 3].map((count) => [
      `taskwire-redis-${count}`,
      {
        description: `${count === 1 ? 'one Taskwire manager' : `${count} Taskwire managers`} with \`serve --store redis://127.0.0.1:PORT\` on the same Redis; the taskwire-ts client shapes (one call per task, each awaited)${count > 1 ? ': the producer on manager 1, the workers on the others in turn' : ''}`,
        manager: 'taskwire',
        language: 'ts',
        batch: false,
        redis: true,
        managers: count,
      },
    ]),
  ),
};

/** The systems that run on the runner's redis-server (pipeline and latency only). */
export const REDIS_SYSTEMS = Object.keys(SYSTEMS).filter((s) => SYSTEMS[s].redis);
/** The Redis systems that need `taskwire serve --store`. */
export const TASKWIRE_REDIS_SYSTEMS = REDIS_SYSTEMS.filter((s) => SYSTEMS[s].manager === 'taskwire');

/**
 * Not queues: the latency workload's floor, a raw TCP relay crossing the loopback four times
 * per sample, as a brokered put -> result round trip does (see ts/floor.mjs).
 */
export const FLOOR_SYSTEMS = {
  'floor-node': {
    description: 'no queue: three Node processes relay a 60-byte line producer → relay → echo → relay → producer (the four loopback crossings of a put → result round trip through a manager)',
    manager: 'none',
    language: 'ts',
  },
  'floor-python': {
    description: 'no queue: the same relay between three Python processes',
    manager: 'none',
    language: 'python',
  },
};

export const ALL_SYSTEMS = Object.keys(SYSTEMS);

/** The floor of the latency workload, as a child process speaking the runner's control protocol. */
export function spawnFloor(systemName, cfg) {
  if (FLOOR_SYSTEMS[systemName].language === 'ts') return nodeChild(`${systemName}`, 'ts/floor.mjs', cfg);
  return pythonChild(`${systemName}`, 'py/floor.py', cfg);
}

/**
 * Starts a fresh manager of the given kind; resolves with { kind, pid, port, child, stop() }.
 * taskwire: `node server/bin/taskwire.js serve --port 0 --json --authkey-file KEY [extra]`,
 * the port read from the `ready` log line, stopped with SIGTERM. taskwire-mp: the same with
 * `--mp-listen 127.0.0.1:0` and the seed's type ids mapped to queues; `port` is the mp port.
 */
export async function startManager(kind, { keyFile, extraArgs = [], cpuProfDir } = {}) {
  let child;
  if (kind === 'taskwire' || kind === 'taskwire-mp') {
    const nodeFlags = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
    const mpArgs = kind === 'taskwire-mp' ? ['--mp-listen', '127.0.0.1:0', ...['get_task_queue=tasks', 'get_result_queue=results', 'get_idle_queue=idle'].flatMap((m) => ['--mp-typeid', m])] : [];
    const args = [...nodeFlags, taskwireBin(), 'serve', '--host', '127.0.0.1', '--port', '0', '--json', '--authkey-file', keyFile, ...mpArgs, ...extraArgs];
    child = new Child('taskwire manager', process.execPath, args, { cwd: REPO, env: nodeEnv() });
  } else {
    child = new Child('seed manager', PYTHON, [join(BENCH, 'seed', 'manager.py'), JSON.stringify({ host: '127.0.0.1', keyFile })], { cwd: REPO, env: pyEnv });
  }
  const ready = await child.waitFor('ready', 30_000);
  return {
    kind,
    pid: child.pid,
    port: kind === 'taskwire-mp' ? ready.mpPort : ready.port,
    ...(ready.metricsPort !== undefined ? { metricsPort: ready.metricsPort } : {}),
    child,
    stop: () => child.terminate(),
  };
}

/**
 * What a measurement runs against: `{ managers, redis }` (startBackend in run.mjs), or one
 * manager as startManager returns it.
 */
function managersOf(backend) {
  return backend.managers ?? [backend];
}

/** The endpoint of the producer: the first manager (the Redis systems: also the Redis port). */
function endpoint(backend, keyFile) {
  const first = managersOf(backend)[0];
  return { host: '127.0.0.1', port: first?.port, keyFile, ...(backend.redis ? { redisPort: backend.redis.port } : {}) };
}

/**
 * The manager of worker process `i`: with several managers, the workers go to the managers
 * after the producer's first (2 managers: 2nd, 1st, 2nd, …; 3 managers: 2nd, 3rd, 1st, …), so
 * that a task crosses managers on its way and the load spreads over all of them.
 */
export function workerManagerIndex(i, count) {
  return count > 1 ? (i + 1) % count : 0;
}

function workerEndpoint(backend, keyFile, i) {
  const managers = managersOf(backend);
  const m = managers[workerManagerIndex(i, managers.length)];
  return { ...endpoint(backend, keyFile), ...(m ? { port: m.port } : {}) };
}

function pythonChild(label, script, cfg) {
  return new Child(label, PYTHON, [join(BENCH, script), JSON.stringify(cfg)], { cwd: REPO, env: pyEnv });
}

function nodeChild(label, script, cfg, nodeFlags = []) {
  return new Child(label, process.execPath, [...nodeFlags, join(BENCH, script), JSON.stringify(cfg)], { cwd: REPO, env: nodeEnv() });
}

/**
 * W workers. Python systems: W processes. TypeScript: W processes up to `tsMaxProcs`, beyond
 * that `tsMaxProcs` processes sharing W connections (each connection its own worker loop).
 */
export function spawnWorkers(systemName, backend, keyFile, W, { tsMaxProcs = 8, nodeFlags = () => [], size = 0 } = {}) {
  const system = SYSTEMS[systemName];
  if (system.language === 'ts') {
    const procs = Math.min(W, tsMaxProcs);
    return Array.from({ length: procs }, (_, i) => {
      const conns = Math.floor(W / procs) + (i < W % procs ? 1 : 0);
      const cfg = { ...workerEndpoint(backend, keyFile, i), conns, batch: system.batch, concurrency: system.concurrency ?? 1, size };
      return nodeChild(`${systemName} worker ${i + 1}/${procs}`, 'ts/worker.mjs', cfg, nodeFlags(i));
    });
  }
  if (system.language === 'bullmq') {
    // One Worker per process, as the Python systems run one worker per process.
    return Array.from({ length: W }, (_, i) => nodeChild(`${systemName} worker ${i + 1}/${W}`, 'bullmq/worker.mjs', { ...endpoint(backend, keyFile), concurrency: system.concurrency }, nodeFlags(i)));
  }
  const script = system.language === 'python' ? 'seed/worker.py' : 'py/worker.py';
  return Array.from({ length: W }, (_, i) => pythonChild(`${systemName} worker ${i + 1}/${W}`, script, endpoint(backend, keyFile)));
}

export function spawnProducer(systemName, backend, keyFile, cfg, nodeFlags = []) {
  const system = SYSTEMS[systemName];
  const full = { ...endpoint(backend, keyFile), ...cfg, batch: system.batch ?? false, inFlight: system.inFlight ?? 1 };
  if (system.language === 'ts') return nodeChild(`${systemName} producer`, 'ts/producer.mjs', full, nodeFlags);
  if (system.language === 'bullmq') return nodeChild(`${systemName} producer`, 'bullmq/producer.mjs', full, nodeFlags);
  return pythonChild(`${systemName} producer`, system.language === 'python' ? 'seed/producer.py' : 'py/producer.py', full);
}

/** `count` authenticated connections blocked in a get on another queue. */
export function spawnIdle(systemName, backend, keyFile, count) {
  const cfg = { ...endpoint(backend, keyFile), count };
  if (SYSTEMS[systemName].language === 'python') return pythonChild(`${systemName} idle connections`, 'seed/idle.py', cfg);
  return nodeChild('taskwire idle connections', 'ts/idle.mjs', cfg);
}

/** What `taskwire serve --help` offers: the durable store (the fsync hook), the Redis store (--store). */
export async function detectDurableOptions() {
  const child = new Child('taskwire serve --help', process.execPath, [taskwireBin(), 'serve', '--help'], { cwd: REPO, env: nodeEnv() });
  let text = '';
  child.proc.stdout.on('data', (d) => (text += d));
  const code = await child.exitedPromise;
  if (code !== 0) throw new Error(`taskwire serve --help failed (${code}): is the package built (npm install at the root)?${child.describeStderr()}`);
  return { fsync: /--fsync\b/.test(text), dataDir: /--data-dir\b/.test(text), store: /--store\b/.test(text), help: text };
}

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}
