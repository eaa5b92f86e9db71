#!/usr/bin/env node
// Two builds of the manager side by side: the awaited pipeline (taskwire-ts's producer and W
// workers, one call per task) against a manager of build A, then of build B, then A again, ...
// so that the machine's load, which moves by tens of percent from minute to minute on a shared
// box, hits both alike. Each build runs its own TypeScript client. Prints, per run and as
// medians: tasks/s and the manager's CPU µs per task (/proc), split into its main thread (the
// requests) and its other threads (V8 compiling hot code, GC helpers).
//
//   node bench/ab.mjs OLD_SERVER_DIR NEW_SERVER_DIR [--n 10000] [--runs 8] [--workers 2] [--size BYTES]
//
// A server dir is a built server/ (bin/, dist/src/, package.json), e.g. a copy of the commit
// before a change: mkdir /tmp/old && git archive <commit> server | tar -x -C /tmp/old, then
// build it, or copy server/bin, server/dist, server/package.json and server/protocol.json of a
// build. Run it through the benchmark lock like every benchmark: flock /tmp/bench.lock node bench/ab.mjs ...
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Child } from './lib/proc.mjs';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const REPO = resolve(BENCH, '..');
const TICK_US = 1e6 / 100; // /proc CPU times are in clock ticks of 10 ms

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { n: { type: 'string', default: '10000' }, runs: { type: 'string', default: '8' }, workers: { type: 'string', default: '2' }, size: { type: 'string', default: '0' } },
});
if (positionals.length !== 2) {
  process.stderr.write('usage: node bench/ab.mjs OLD_SERVER_DIR NEW_SERVER_DIR [--n 10000] [--runs 8] [--workers 2] [--size BYTES]\n');
  process.exit(2);
}
const dirs = positionals.map((dir) => resolve(dir));
const n = Number(values.n);
const workers = Number(values.workers);
const size = Number(values.size);

/** CPU ticks of the process and of its main thread (the thread whose id is the pid). */
function cpuTicks(pid) {
  const ticksOf = (stat) => {
    const fields = stat.split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  return { all: ticksOf(readFileSync(`/proc/${pid}/stat`, 'utf8')), main: ticksOf(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8')) };
}

async function measure(dir, keyFile) {
  const env = { ...process.env, BENCH_TASKWIRE_DIST: join(dir, 'dist', 'src'), NODE_PATH: join(REPO, 'node_modules') };
  const manager = new Child('manager', process.execPath, [join(dir, 'bin', 'taskwire.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--json', '--authkey-file', keyFile], { cwd: REPO, env });
  const children = [manager];
  try {
    const { port } = await manager.waitFor('ready', 30_000);
    const config = { host: '127.0.0.1', port, keyFile };
    for (let i = 0; i < workers; i++) children.push(new Child(`worker ${i}`, process.execPath, [join(BENCH, 'ts', 'worker.mjs'), JSON.stringify(config)], { cwd: REPO, env }));
    const producer = new Child('producer', process.execPath, [join(BENCH, 'ts', 'producer.mjs'), JSON.stringify({ ...config, mode: 'pipeline', n, size })], { cwd: REPO, env });
    children.push(producer);
    await Promise.all(children.slice(1).map((child) => child.waitFor('ready', 30_000)));
    const before = cpuTicks(manager.pid);
    producer.send('go');
    const { elapsed, distinct } = await producer.waitFor('result', 300_000);
    const after = cpuTicks(manager.pid);
    if (distinct !== n) throw new Error(`${distinct} distinct results of ${n}`);
    const perTask = (ticks) => (ticks * TICK_US) / n;
    return { tasksPerSecond: n / elapsed, cpu: perTask(after.all - before.all), main: perTask(after.main - before.main), other: perTask(after.all - before.all - (after.main - before.main)) };
  } finally {
    await Promise.all(children.map((child) => child.terminate()));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const work = mkdtempSync(join(tmpdir(), 'taskwire-ab-'));
const keyFile = join(work, 'authkey');
writeFileSync(keyFile, 'bench-ab-0123456789abcdef0123456789abcdef', { mode: 0o600 });
const results = dirs.map(() => []);
try {
  for (let run = 1; run <= Number(values.runs); run++) {
    for (const [i, dir] of dirs.entries()) {
      const r = await measure(dir, keyFile);
      results[i].push(r);
      process.stderr.write(
        `run ${run} ${'AB'[i]}: ${r.tasksPerSecond.toFixed(0)} tasks/s, manager ${r.cpu.toFixed(0)} µs/task (main thread ${r.main.toFixed(0)}, other threads ${r.other.toFixed(0)})\n`,
      );
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(`pipeline N = ${n}, W = ${workers}, payload ${size > 0 ? `${size} bytes` : 'image_url_<i>'}, awaited; medians of ${values.runs} interleaved runs\n\n`);
process.stdout.write('| build | tasks/s | manager CPU µs/task | main thread | other threads | every run (manager µs/task) |\n|---|---|---|---|---|---|\n');
for (const [i, dir] of dirs.entries()) {
  const rs = results[i];
  const cells = [
    median(rs.map((r) => r.tasksPerSecond)).toFixed(0),
    median(rs.map((r) => r.cpu)).toFixed(0),
    median(rs.map((r) => r.main)).toFixed(0),
    median(rs.map((r) => r.other)).toFixed(0),
    rs.map((r) => r.cpu.toFixed(0)).join(' '),
  ];
  process.stdout.write(`| ${'AB'[i]}: ${dir} | ${cells.join(' | ')} |\n`);
}
