#!/usr/bin/env node
// The cost of rate limits (issue 21, spec §7.22): a get on a queue whose tasks carry 1,000 rate
// keys, with limits high enough never to throttle, against the same gets on a queue without
// limits. Three levels: the engine alone (in process, no network), one manager over TCP, and a
// manager on Redis. Each measurement alternates the two queues, `--runs` times, and reports
// medians. Target: the limited get costs at most 1.3 times the plain one.
//
//   node bench/rateLimits.mjs [--runs 5] [--n 20000] [--engine-n 200000] [--only engine,manager,redis]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect } from 'taskwire';
import { cpuSeconds } from './lib/proc.mjs';
import { startRedis } from './lib/redis.mjs';
import { median } from './lib/stats.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const RUNS = Number(flag('runs', '5'));
const N = Number(flag('n', '20000'));
const ENGINE_N = Number(flag('engine-n', '200000'));
const ONLY = new Set(flag('only', 'engine,manager,redis').split(','));
const KEYS = 1000;
const WORKERS = 8;
/** High enough never to throttle: a million a second, with a burst as large. */
const NO_THROTTLE = { max: 1_000_000, period: 1, burst: 1_000_000 };
const LIMITS = { rate: NO_THROTTLE, keyRate: NO_THROTTLE };

const results = [];
const report = (level, what, plain, limited, unit) => {
  const ratio = limited / plain;
  results.push({ level, what, plain, limited, ratio, unit });
  process.stderr.write(`${level} ${what}: plain ${plain.toFixed(2)} ${unit}, 1,000 keys ${limited.toFixed(2)} ${unit}, ratio ${ratio.toFixed(2)}\n`);
};

// ---- the engine alone ---------------------------------------------------------------------

async function engineLevel() {
  const { Engine, systemClock } = await import(join(root, 'server/dist/src/engine/index.js'));
  const { jsonTextOf } = await import(join(root, 'server/dist/src/protocol/jsonText.js'));
  const payload = jsonTextOf({ url: 'https://example.com/a.png' });
  const once = (limited) => {
    const engine = new Engine({ clock: systemClock, idPrefix: 'b' });
    if (limited) engine.declareQueue('q', LIMITS);
    const tasks = Array.from({ length: ENGINE_N }, (_, i) => (limited ? { payload, rateKey: `host-${i % KEYS}` } : { payload }));
    for (let i = 0; i < tasks.length; i += 1000) engine.put({ queue: 'q', tasks: tasks.slice(i, i + 1000), timeout: 0 }, () => {});
    const ids = [];
    const started = process.hrtime.bigint();
    for (let i = 0; i < ENGINE_N; i++) {
      engine.get({ queue: 'q', max: 1, timeout: 0, autoAck: false, session: 's' }, (got) => {
        ids.push(got[0].id);
        return true;
      });
      if (ids.length >= 100)
        engine.ack(
          's',
          ids.splice(0).map((id) => ({ id })),
        );
    }
    const ns = Number(process.hrtime.bigint() - started) / ENGINE_N;
    if (engine.queueStats('q').ready !== 0) throw new Error('the engine did not deliver every task');
    return ns;
  };
  once(false);
  once(true); // warm-up
  const plain = [];
  const limited = [];
  for (let run = 0; run < RUNS; run++) {
    plain.push(once(false));
    limited.push(once(true));
  }
  report('engine', `get + ack of ${ENGINE_N.toLocaleString('en-US')} tasks, one at a time`, median(plain), median(limited), 'ns/task');
}

// ---- a manager over TCP (in memory or on Redis) -------------------------------------------

function startManager(extra) {
  const home = mkdtempSync(join(tmpdir(), 'tw-bench-rate-'));
  const keyFile = join(home, 'authkey');
  const child = spawn(process.execPath, [join(root, 'server/bin/taskwire.js'), 'serve', '--port', '0', '--json', '--authkey-file', keyFile, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the manager did not start within 20 s')), 20_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.message === 'listening') {
          clearTimeout(timer);
          resolve({
            port: entry.port,
            keyFile,
            pid: child.pid,
            stop: () =>
              new Promise((done) => {
                child.once('exit', () => {
                  rmSync(home, { recursive: true, force: true });
                  done();
                });
                child.kill('SIGTERM');
              }),
          });
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`the manager exited (${code})`)));
  });
}

/** Puts N tasks, then 8 workers take them one get (and one ack) at a time; returns the wall time and the CPU of the manager (and Redis) per task. */
async function drain(manager, queue, limited, redisPid) {
  const producer = await connect({ port: manager.port, authkeyFile: manager.keyFile, reconnect: false, name: 'bench-producer' });
  if (limited) await producer.queue(queue).declare(LIMITS);
  const specs = Array.from({ length: N }, (_, i) => (limited ? { payload: i, rateKey: `host-${i % KEYS}` } : { payload: i }));
  await producer.queue(queue).putMany(specs);
  const workers = await Promise.all(Array.from({ length: WORKERS }, (_, i) => connect({ port: manager.port, authkeyFile: manager.keyFile, reconnect: false, name: `bench-worker-${i}` })));
  let taken = 0;
  const cpuBefore = cpuSeconds(manager.pid) + (redisPid ? cpuSeconds(redisPid) : 0);
  const started = process.hrtime.bigint();
  await Promise.all(
    workers.map(async (worker) => {
      const q = worker.queue(queue);
      while (taken < N) {
        const [task] = await q.getMany(1, { timeout: 0 });
        if (!task) continue;
        taken++;
        await task.ack();
      }
    }),
  );
  const wallUs = Number(process.hrtime.bigint() - started) / 1000 / N;
  const cpuUs = ((cpuSeconds(manager.pid) + (redisPid ? cpuSeconds(redisPid) : 0) - cpuBefore) * 1e6) / N;
  for (const worker of workers) worker.close();
  await producer.queue(queue).purge();
  producer.close();
  return { wallUs, cpuUs };
}

async function managerLevel(level, startOne, redisPid) {
  const wall = { plain: [], limited: [] };
  const cpu = { plain: [], limited: [] };
  for (let run = -1; run < RUNS; run++) {
    for (const kind of ['plain', 'limited']) {
      // A fresh manager for each measurement; run -1 is a warm-up, not counted.
      const manager = await startOne();
      try {
        const { wallUs, cpuUs } = await drain(manager, `bench-${kind}-${run + 1}`, kind === 'limited', redisPid);
        if (run >= 0) {
          wall[kind].push(wallUs);
          cpu[kind].push(cpuUs);
        }
      } finally {
        await manager.stop();
      }
    }
  }
  report(level, `get + ack of ${N.toLocaleString('en-US')} tasks by ${WORKERS} workers, wall`, median(wall.plain), median(wall.limited), 'µs/task');
  report(level, `the same, CPU of the manager${redisPid ? ' and redis-server' : ''}`, median(cpu.plain), median(cpu.limited), 'µs/task');
}

// ---- main -----------------------------------------------------------------------------------

if (ONLY.has('engine')) await engineLevel();
if (ONLY.has('manager')) await managerLevel('one manager', () => startManager([]));
if (ONLY.has('redis')) {
  const dir = mkdtempSync(join(tmpdir(), 'tw-bench-redis-'));
  const redis = await startRedis({ dir });
  try {
    await managerLevel('Redis', () => startManager(['--store', redis.url]), redis.pid);
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.stdout.write(`| level | measured | plain queue | 1,000 rate keys | ratio |\n|---|---|--:|--:|--:|\n`);
for (const r of results) process.stdout.write(`| ${r.level} | ${r.what} | ${r.plain.toFixed(2)} ${r.unit} | ${r.limited.toFixed(2)} ${r.unit} | ${r.ratio.toFixed(2)}× |\n`);
