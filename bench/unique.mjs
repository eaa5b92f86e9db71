#!/usr/bin/env node
// The cost of a put with a uniqueness key (spec §7.21) against a plain put, on one in-memory
// manager and on a manager whose queues are in Redis (issue 21's target: at most 1.3× the plain
// cost). A real `taskwire serve` child and, for Redis, a fresh `redis-server`; the producer is
// the TypeScript client in this process, keeping 64 puts in flight (taskwire-ts-async's shape;
// --in-flight 1 awaits each put, taskwire-ts's).
//
//   node bench/unique.mjs [--n 20000] [--runs 8] [--stores memory,redis] [--in-flight 64] [--json FILE]
//
// Scenarios, each on a fresh queue, runs interleaved (run 1 of each, then run 2, ...), each run
// starting one scenario later than the run before (plain first, then put-unique first, ...):
// a scenario's purge leaves the garbage of N tasks (and keys) for the manager's collector, which
// the next scenario pays for in part, so a fixed order would always charge the same scenarios.
// With --runs a multiple of 4 each scenario follows each other one equally often.
//   plain:      put(payload)
//   put-unique: put(payload, {unique: `https://example.com/items/<i>`}): every key is new, so
//               every put adds a task (the check and the hold); a URL, a crawl's usual key
//   put-unique-short: the same with keys `k-<i>` of at most 7 characters, which V8's
//               JSON.parse internalizes, as it does string values of about 10 characters or
//               fewer (looks each up in its string table): a table that grows with every key
//               the manager holds
//   duplicate:  put(payload, {unique: 'one'}): every put after the first finds the key held
// Per scenario: the manager's CPU µs per put (/proc/<pid>/stat), puts/s, and on Redis the
// redis-server's CPU µs per put too; medians over the runs, and each median's ratio to plain's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds } from './lib/proc.mjs';
import { startRedis } from './lib/redis.mjs';
import { startServe } from './lib/serve.mjs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVER = join(dirname(fileURLToPath(import.meta.url)), '..', 'server');
const BIN = join(SERVER, 'bin', 'taskwire.js');
const taskwire = createRequire(import.meta.url)(join(SERVER, 'dist', 'src', 'index.js'));
const { values: flags } = parseArgs({
  options: {
    n: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '8' },
    stores: { type: 'string', default: 'memory,redis' },
    'in-flight': { type: 'string', default: '64' },
    json: { type: 'string' },
  },
});
const N = Number(flags.n);
const RUNS = Number(flags.runs);
const KEY = 'bench-unique-key';
const IN_FLIGHT = Number(flags['in-flight']);
const SCENARIOS = ['plain', 'put-unique', 'put-unique-short', 'duplicate'];

function startManager(args) {
  return startServe({ bin: BIN, authkey: KEY, args });
}

function optionsFor(scenario, i) {
  if (scenario === 'put-unique') return { unique: `https://example.com/items/${i}` };
  if (scenario === 'put-unique-short') return { unique: `k-${i}` };
  if (scenario === 'duplicate') return { unique: 'one' };
  return undefined;
}

/** N puts, IN_FLIGHT outstanding; the manager's (and redis-server's) CPU over them. */
async function measure(client, queueName, scenario, pids) {
  const queue = client.queue(queueName);
  await queue.put('warm-up');
  await queue.purge();
  const cpu0 = pids.map(cpuSeconds);
  const started = process.hrtime.bigint();
  let next = 0;
  const loop = async () => {
    while (next < N) {
      const i = next++;
      await queue.put(`image_url_${i}`, optionsFor(scenario, i));
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, loop));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = pids.map((pid, j) => ((cpuSeconds(pid) - cpu0[j]) * 1e6) / N);
  const ready = (await queue.stats()).ready;
  const expected = scenario === 'duplicate' ? 1 : N;
  if (ready !== expected) throw new Error(`${scenario}: ${ready} tasks queued, expected ${expected}`);
  await queue.purge();
  return { putsPerSecond: N / seconds, managerUs: cpu[0], redisUs: cpu[1] };
}

/** `list` rotated left by `by`: run r's order. */
const rotated = (list, by) => list.map((_, i) => list[(i + by) % list.length]);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function benchStore(store) {
  let redis;
  const dir = mkdtempSync(join(tmpdir(), 'tw-bench-unique-redis-'));
  if (store === 'redis') redis = await startRedis({ dir });
  const manager = await startManager(redis ? ['--store', redis.url] : []);
  const client = await taskwire.connect({ host: '127.0.0.1', port: manager.port, authkey: KEY, reconnect: false, name: 'bench-unique' });
  const pids = redis ? [manager.pid, redis.pid] : [manager.pid];
  const results = Object.fromEntries(SCENARIOS.map((s) => [s, []]));
  try {
    // A warm-up of every scenario, not counted: the first puts of a process pay for the JIT.
    for (const scenario of SCENARIOS) await measure(client, `bench-warm-up-${scenario}`, scenario, pids);
    for (let run = 1; run <= RUNS; run++) {
      for (const scenario of rotated(SCENARIOS, run - 1)) {
        const result = await measure(client, `bench-${scenario}-${run}`, scenario, pids);
        results[scenario].push(result);
        process.stderr.write(
          `${store} ${scenario} run ${run}: ${Math.round(result.putsPerSecond)} puts/s, manager ${result.managerUs.toFixed(1)} µs/put${redis ? `, redis ${result.redisUs.toFixed(1)} µs/put` : ''}\n`,
        );
      }
    }
  } finally {
    client.close();
    manager.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

const report = { n: N, runs: RUNS, inFlight: IN_FLIGHT, command: `node bench/unique.mjs ${process.argv.slice(2).join(' ')}`.trim(), stores: {} };
const lines = [`# put with a uniqueness key vs a plain put (N = ${N} puts, ${IN_FLIGHT} in flight, medians of ${RUNS} runs)`, ''];
lines.push('| store | scenario | puts/s | manager µs/put | vs plain | redis-server µs/put | vs plain | manager + redis vs plain |');
lines.push('|---|---|---:|---:|---:|---:|---:|---:|');
for (const store of flags.stores.split(',')) {
  const results = await benchStore(store);
  const medians = Object.fromEntries(
    Object.entries(results).map(([scenario, runs]) => [
      scenario,
      { putsPerSecond: median(runs.map((r) => r.putsPerSecond)), managerUs: median(runs.map((r) => r.managerUs)), redisUs: store === 'redis' ? median(runs.map((r) => r.redisUs)) : undefined },
    ]),
  );
  report.stores[store] = { runs: results, medians };
  const plain = medians.plain;
  for (const scenario of SCENARIOS) {
    const m = medians[scenario];
    const total = (x) => x.managerUs + (x.redisUs ?? 0);
    lines.push(
      `| ${store} | ${scenario} | ${Math.round(m.putsPerSecond).toLocaleString('en-US')} | ${m.managerUs.toFixed(1)} | ${(m.managerUs / plain.managerUs).toFixed(2)}× | ${m.redisUs === undefined ? '—' : m.redisUs.toFixed(1)} | ${m.redisUs === undefined ? '—' : `${(m.redisUs / plain.redisUs).toFixed(2)}×`} | ${(total(m) / total(plain)).toFixed(2)}× |`,
    );
  }
}
if (flags.json) writeFileSync(flags.json, JSON.stringify(report, null, 2));
console.log(lines.join('\n'));
