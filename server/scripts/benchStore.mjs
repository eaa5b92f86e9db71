#!/usr/bin/env node
// Throughput of each fsync mode beside the in-memory store, with the TypeScript client against a
// real `taskwire serve` process on loopback.
//
//   npm run build -w server && node server/scripts/benchStore.mjs [N] [runs]
//
// Workloads, each N tasks (default 20,000), timed from the first put to the last ack:
//   single:  4 producers put one task per request while 4 workers get one and ack it
//            (many small concurrent requests: what group commit is for);
//   batched: one producer puts batches of 100 while one worker gets 100 and acks them in one request.
// Each (store, workload) runs `runs` times (default 5) on a fresh manager and data dir; the
// median is printed. Machines are noisy: compare the columns of one run, not numbers across runs.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { connect } = createRequire(import.meta.url)(join(here, '..', 'dist', 'src', 'index.js'));
const BIN = join(here, '..', 'bin', 'taskwire.js');
const N = Number(process.argv[2] ?? 20_000);
const RUNS = Number(process.argv[3] ?? 5);
const KEY = 'bench-key';

const STORES = [
  { name: 'memory', args: [] },
  { name: 'never', args: ['--fsync', 'never'] },
  { name: 'everysec', args: ['--fsync', 'everysec'] },
  { name: 'always', args: ['--fsync', 'always'] },
];

async function startManager(store) {
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-storebench-'));
  const dataArgs = store.name === 'memory' ? [] : ['--data-dir', join(dir, 'data'), ...store.args];
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--json', '--authkey', KEY, ...dataArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (text) => {
      out += text;
      for (const line of out.split('\n')) {
        if (line.includes('"ready"')) return resolve(JSON.parse(line).port);
      }
    });
    child.once('exit', (code) => reject(new Error(`the manager exited (${code})`)));
  });
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const client = (port, name) => connect({ host: '127.0.0.1', port, authkey: KEY, name, reconnect: false });

async function single(port) {
  const producers = await Promise.all([0, 1, 2, 3].map((i) => client(port, `producer-${i}`)));
  const workers = await Promise.all([0, 1, 2, 3].map((i) => client(port, `worker-${i}`)));
  let done = 0;
  const started = performance.now();
  await Promise.all([
    ...producers.map(async (c, p) => {
      const q = c.queue('bench');
      for (let i = p; i < N; i += producers.length) await q.put(`image_url_${i}`);
    }),
    ...workers.map(async (c) => {
      const q = c.queue('bench');
      while (done < N) {
        const tasks = await q.getMany(1, { timeout: 0.2 });
        if (tasks.length === 0) continue;
        done++;
        await tasks[0].ack();
      }
    }),
  ]);
  const seconds = (performance.now() - started) / 1000;
  for (const c of [...producers, ...workers]) c.close();
  return N / seconds;
}

async function batched(port) {
  const producer = await client(port, 'producer');
  const worker = await client(port, 'worker');
  const started = performance.now();
  await Promise.all([
    (async () => {
      const q = producer.queue('bench');
      for (let i = 0; i < N; i += 100) await q.putMany(Array.from({ length: Math.min(100, N - i) }, (_, j) => ({ payload: `image_url_${i + j}` })));
    })(),
    (async () => {
      const q = worker.queue('bench');
      for (let done = 0; done < N;) {
        const tasks = await q.getMany(100, { timeout: 1 });
        await q.ackMany(tasks.map((t) => ({ id: t.id })));
        done += tasks.length;
      }
    })(),
  ]);
  const seconds = (performance.now() - started) / 1000;
  producer.close();
  worker.close();
  return N / seconds;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString('en-US');

console.log(`N = ${N} tasks per run (put + get + ack), ${RUNS} runs each, median tasks/s; Node ${process.version}`);
const table = [];
for (const workload of [single, batched]) {
  for (const store of STORES) {
    const results = [];
    for (let run = 0; run < RUNS; run++) {
      const manager = await startManager(store);
      try {
        results.push(await workload(manager.port));
      } finally {
        await manager.stop();
      }
    }
    const row = { workload: workload.name, store: store.name, median: fmt(median(results)), runs: results.map(fmt).join(' ') };
    table.push(row);
    console.log(`${row.workload.padEnd(8)} ${row.store.padEnd(9)} ${row.median.padStart(8)} tasks/s   (${row.runs})`);
  }
}
