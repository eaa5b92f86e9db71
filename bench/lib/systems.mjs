// The systems under test and the processes each one runs: its manager, its workers, its
// producer and its idle-connection holder.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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
};

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
    child,
    stop: () => child.terminate(),
  };
}

function endpoint(manager, keyFile) {
  return { host: '127.0.0.1', port: manager.port, keyFile };
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
export function spawnWorkers(systemName, manager, keyFile, W, { tsMaxProcs = 8, nodeFlags = () => [], size = 0 } = {}) {
  const system = SYSTEMS[systemName];
  const base = endpoint(manager, keyFile);
  if (system.language === 'ts') {
    const procs = Math.min(W, tsMaxProcs);
    return Array.from({ length: procs }, (_, i) => {
      const conns = Math.floor(W / procs) + (i < W % procs ? 1 : 0);
      return nodeChild(`${systemName} worker ${i + 1}/${procs}`, 'ts/worker.mjs', { ...base, conns, batch: system.batch, concurrency: system.concurrency ?? 1, size }, nodeFlags(i));
    });
  }
  const script = system.language === 'python' ? 'seed/worker.py' : 'py/worker.py';
  return Array.from({ length: W }, (_, i) => pythonChild(`${systemName} worker ${i + 1}/${W}`, script, base));
}

export function spawnProducer(systemName, manager, keyFile, cfg, nodeFlags = []) {
  const system = SYSTEMS[systemName];
  const full = { ...endpoint(manager, keyFile), ...cfg, batch: system.batch ?? false, inFlight: system.inFlight ?? 1 };
  if (system.language === 'ts') return nodeChild(`${systemName} producer`, 'ts/producer.mjs', full, nodeFlags);
  return pythonChild(`${systemName} producer`, system.language === 'python' ? 'seed/producer.py' : 'py/producer.py', full);
}

/** `count` authenticated connections blocked in a get on another queue. */
export function spawnIdle(systemName, manager, keyFile, count) {
  const cfg = { ...endpoint(manager, keyFile), count };
  if (SYSTEMS[systemName].language === 'python') return pythonChild(`${systemName} idle connections`, 'seed/idle.py', cfg);
  return nodeChild('taskwire idle connections', 'ts/idle.mjs', cfg);
}

/** What `taskwire serve --help` offers for the durable store (the fsync hook). */
export async function detectDurableOptions() {
  const child = new Child('taskwire serve --help', process.execPath, [taskwireBin(), 'serve', '--help'], { cwd: REPO, env: nodeEnv() });
  let text = '';
  child.proc.stdout.on('data', (d) => (text += d));
  const code = await child.exitedPromise;
  if (code !== 0) throw new Error(`taskwire serve --help failed (${code}): is the package built (npm install at the root)?${child.describeStderr()}`);
  return { fsync: /--fsync\b/.test(text), dataDir: /--data-dir\b/.test(text), help: text };
}

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}
