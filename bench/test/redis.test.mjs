// Issue 16's part of the benchmark: the Redis section of the report (comparison, targets,
// Markdown, chart) on made-up summaries, the runner's own redis-server (a real one, on a free
// loopback port), and what the runner says when Redis or the Redis store is missing.
// Run: node --test bench/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { evaluateTargets, renderMarkdown } from '../lib/report.mjs';
import { redisComparison, redisSection, redisTargets, renderRedisSvg } from '../lib/redisReport.mjs';
import { snapshotTaskwire } from '../lib/systems.mjs';
import { commandCostsPerTask, findRedisServer, parseCommandStats, parseReply, RedisMissingError, redisCommand, startRedis } from '../lib/redis.mjs';

const RUN = join(dirname(fileURLToPath(import.meta.url)), '..', 'run.mjs');

const m = (median, min = median, max = median) => ({ median, min, max, n: 3 });

/**
 * A run of the Redis comparison: pipeline tasks/s and latency p50/p99 per system. By default
 * taskwire-redis-1 is 2.5× the faster BullMQ (c16) with 0.4× the lower BullMQ p50 (c1): both
 * targets met; taskwire-redis-3 misses both.
 */
function summary(rates = {}, latencies = {}) {
  const r = {
    'taskwire-ts': [4000, 150],
    'bullmq-c1': [1000, 0],
    'bullmq-c16': [1200, 0],
    'taskwire-redis-1': [3000, 120],
    'taskwire-redis-3': [2000, 200],
    ...rates,
  };
  const l = {
    'taskwire-ts': [200, 600],
    'bullmq-c1': [1000, 3000],
    'bullmq-c16': [1500, 4000],
    'taskwire-redis-1': [400, 1200],
    'taskwire-redis-3': [700, 2000],
    ...latencies,
  };
  const redisCosts = (s) =>
    s === 'taskwire-ts'
      ? {}
      : {
          redisCpuUsPerTask: m(s.startsWith('bullmq') ? 300 : 80),
          serverCpuUsPerTask: m(s.startsWith('bullmq') ? 300 : 200),
          redisCallsPerTask: m(6),
          redisScriptCallsPerTask: m(2),
          redisScriptUsecPerTask: m(25),
        };
  return [
    {
      workload: 'pipeline',
      key: 'W=2',
      title: 'pipeline W=2',
      params: { W: 2, n: 20000, size: 0 },
      runsPlanned: 3,
      rows: Object.entries(r)
        .filter(([, v]) => v)
        .map(([system, [rate, cpu]]) => ({
          system,
          runs: 3,
          metrics: { tasksPerSec: m(rate, rate * 0.9, rate * 1.1), ...(cpu ? { managerCpuUsPerTask: m(cpu) } : {}), ...redisCosts(system) },
          ...(system === 'bullmq-c1' ? { redisTopCommands: [{ command: 'evalsha', callsPerTask: 2.5, usecPerTask: 200 }] } : {}),
        })),
    },
    {
      workload: 'latency',
      key: 'round trip',
      title: 'latency: put one task, wait for its result; 2,000 timed after 3,000 warm-up',
      params: { warmup: 3000, count: 2000 },
      runsPlanned: 3,
      rows: Object.entries(l)
        .filter(([, v]) => v)
        .map(([system, [p50, p99]]) => ({ system, runs: 3, metrics: { p50: m(p50), p99: m(p99), ...(system === 'taskwire-ts' ? {} : { redisCallsPerTask: m(7), redisScriptCallsPerTask: m(3) }) } })),
    },
  ];
}

test('the comparison: ratios against each BullMQ and the in-memory manager; the best BullMQ is the faster one and the one with the lower p50', () => {
  const cmp = redisComparison(summary());
  assert.deepEqual(
    cmp.rows.map((r) => r.system),
    ['taskwire-ts', 'bullmq-c1', 'bullmq-c16', 'taskwire-redis-1', 'taskwire-redis-3'],
  );
  assert.deepEqual(cmp.bestRate, { system: 'bullmq-c16', value: 1200 });
  assert.deepEqual(cmp.bestP50, { system: 'bullmq-c1', value: 1000 });
  const one = cmp.rows.find((r) => r.system === 'taskwire-redis-1');
  assert.equal(one.vsBullmq['bullmq-c1'].tasksPerSec, 3);
  assert.equal(one.vsBullmq['bullmq-c16'].tasksPerSec, 2.5);
  assert.equal(one.vsInMemory.tasksPerSec, 0.75);
  assert.equal(one.vsBullmq['bullmq-c1'].p50, 0.4);
  assert.equal(one.vsInMemory.p50, 2);
  assert.equal(one.costs.serverCpuUsPerTask, 200);
  // The in-memory manager's server CPU is its manager's.
  assert.equal(cmp.rows[0].costs.serverCpuUsPerTask, 150);
});

test('no Redis system measured: no comparison, no chart, no section; the targets say what is missing', () => {
  const plain = summary(
    { 'bullmq-c1': undefined, 'bullmq-c16': undefined, 'taskwire-redis-1': undefined, 'taskwire-redis-3': undefined },
    { 'bullmq-c1': undefined, 'bullmq-c16': undefined, 'taskwire-redis-1': undefined, 'taskwire-redis-3': undefined },
  );
  assert.equal(redisComparison(plain), undefined);
  assert.equal(renderRedisSvg(plain), undefined);
  assert.deepEqual(redisSection(plain), []);
  assert.deepEqual(redisTargets(plain), [
    {
      group: 'issue16',
      target: 'throughput, pipeline W=2, one call per task awaited (taskwire-redis-1, -2, -3) ≥ 2× BullMQ (the faster of bullmq-c1, bullmq-c16)',
      measured: 'not measured in this run (pipeline with taskwire-redis-* and BullMQ)',
      pass: undefined,
    },
    {
      group: 'issue16',
      target: "latency p50 (taskwire-redis-1, -2, -3) ≤ ½ BullMQ's p50 (the lower of bullmq-c1, bullmq-c16)",
      measured: 'not measured in this run (latency with taskwire-redis-* and BullMQ)',
      pass: undefined,
    },
  ]);
});

test("issue 16's targets: ≥ 2× the faster BullMQ's throughput and ≤ ½ the lower BullMQ p50, per Taskwire-on-Redis system, met or not met", () => {
  const targets = evaluateTargets(summary()).filter((t) => t.group === 'issue16');
  assert.deepEqual(
    targets.map((t) => [t.target, t.measured, t.pass]),
    [
      ['throughput, pipeline W=2, one call per task awaited (taskwire-redis-1) ≥ 2× BullMQ (the faster of bullmq-c1, bullmq-c16)', '2.5× bullmq-c16 (3,000 vs 1,200 tasks/s)', true],
      ["latency p50 (taskwire-redis-1) ≤ ½ BullMQ's p50 (the lower of bullmq-c1, bullmq-c16)", '400 µs vs bullmq-c1 1,000 µs = 0.40×', true],
      ['throughput, pipeline W=2, one call per task awaited (taskwire-redis-3) ≥ 2× BullMQ (the faster of bullmq-c1, bullmq-c16)', '1.7× bullmq-c16 (2,000 vs 1,200 tasks/s)', false],
      ["latency p50 (taskwire-redis-3) ≤ ½ BullMQ's p50 (the lower of bullmq-c1, bullmq-c16)", '700 µs vs bullmq-c1 1,000 µs = 0.70×', false],
    ],
  );
  // Exactly at the bounds: met.
  const edge = redisTargets(summary({ 'taskwire-redis-1': [2400, 100] }, { 'taskwire-redis-1': [500, 900] })).slice(0, 2);
  assert.deepEqual(
    edge.map((t) => t.pass),
    [true, true],
  );
  // BullMQ's latency was not measured: that target says so, the throughput one is still judged.
  const noLatency = redisTargets(summary({}, { 'bullmq-c1': undefined, 'bullmq-c16': undefined }));
  assert.equal(noLatency[0].pass, true);
  assert.deepEqual(noLatency[1], {
    group: 'issue16',
    target: "latency p50 (taskwire-redis-1) ≤ ½ BullMQ's p50 (the lower of bullmq-c1, bullmq-c16)",
    measured: 'not measured in this run (latency with taskwire-redis-1 and BullMQ)',
    pass: undefined,
  });
});

function report(groups, notes = []) {
  return {
    environment: { date: '2026-12-06T22:00:00.000Z', commit: 'abc1234', node: 'v20', cpus: 2, memoryGiB: 4, loadavgAtStart: [1, 1, 1], loadavgAtEnd: [1, 1, 1], taskwireVersion: '0.1.0' },
    options: { quick: false, runs: 3, tsMaxProcs: 8, snapshot: true },
    notes,
    totalSeconds: 100,
    systems: {},
    groups,
    targets: evaluateTargets(groups),
    errors: [],
  };
}

test('latest.md: the Redis section with its table, the costs per task, the chart and the targets marked met / not met', () => {
  const md = renderMarkdown(report(summary()));
  assert.match(md, /### Issue 16: Taskwire on Redis against BullMQ on the same Redis\n\n\| target \| measured \(medians\) \|  \|/);
  assert.match(
    md,
    /\| throughput, pipeline W=2, one call per task awaited \(taskwire-redis-1\) ≥ 2× BullMQ \(the faster of bullmq-c1, bullmq-c16\) \| 2\.5× bullmq-c16 \(3,000 vs 1,200 tasks\/s\) \| met \|/,
  );
  assert.match(md, /\| latency p50 \(taskwire-redis-3\) ≤ ½ BullMQ's p50 \(the lower of bullmq-c1, bullmq-c16\) \| 700 µs vs bullmq-c1 1,000 µs = 0\.70× \| \*\*not met\*\* \|/);
  assert.match(md, /## Redis: Taskwire on Redis against BullMQ\n/);
  assert.match(
    md,
    /\| system \| tasks\/s \(median\) \| min\.\.max \| vs bullmq-c1 \| vs bullmq-c16 \| vs taskwire-ts \(in memory\) \| p50 µs \| p99 µs \| p50 vs bullmq-c1 \| p50 vs bullmq-c16 \| p50 vs in memory \| runs ok \(pipeline, latency\) \|/,
  );
  assert.match(md, /\| \*\*taskwire-redis-1\*\* \| 3,000 \| 2,700\.\.3,300 \| 3\.0× \| 2\.5× \| 0\.75× \| 400 \| 1,200 \| 0\.40× \| 0\.27× \| 2\.0× \| 3\/3, 3\/3 \|/);
  assert.match(md, /\| \*\*bullmq-c1\*\* \| 1,000 \| 900\.\.1,100 \| 1× \| 0\.83× \| 0\.25× \| 1,000 \| 3,000 \| 1× \| 0\.67× \| 5\.0× \| 3\/3, 3\/3 \|/);
  assert.match(md, /\| \*\*taskwire-ts\*\* \| 4,000 \| 3,600\.\.4,400 \| 4\.0× \| 3\.3× \| 1× \| 200 \| 600 \|/);
  assert.match(md, /!\[Taskwire on Redis against BullMQ: throughput and latency\]\(redis\.svg\)/);
  assert.match(md, /\| \*\*taskwire-redis-1\*\* \| 120 \| 80 \| 200 \| 6\.0 \| 2\.0 \| 25\.0 \| 7\.0 \| 3\.0 \|/);
  assert.match(md, /- \*\*bullmq-c1\*\*: `evalsha` 2\.50 × 200\.0 µs/);
  // The Redis section comes before the in-memory tables.
  assert.ok(md.indexOf('## Redis:') < md.indexOf('## Latency'));
});

test('latest.md: systems left out for want of the Redis store are said in the Redis section, not under Notes', () => {
  const note = 'redis: taskwire-redis-1, taskwire-redis-2, taskwire-redis-3 not run — taskwire serve has no --store option: build the Redis store first.';
  const groups = summary({ 'taskwire-redis-1': undefined, 'taskwire-redis-3': undefined }, { 'taskwire-redis-1': undefined, 'taskwire-redis-3': undefined });
  const md = renderMarkdown(report(groups, [note]));
  assert.match(
    md,
    /## Redis: Taskwire on Redis against BullMQ\n\ntaskwire-redis-1, taskwire-redis-2, taskwire-redis-3 not run — taskwire serve has no --store option: build the Redis store first\.\n/,
  );
  assert.doesNotMatch(md, /## Notes/);
  assert.match(md, /\| throughput, pipeline W=2, one call per task awaited \(taskwire-redis-1, -2, -3\)[^\n]*not measured in this run/);
});

test('redis.svg: a bar per system for throughput and p50, whiskers min..max, the targets as dashed lines, a p99 beyond the scale written out', () => {
  const svg = renderRedisSvg(summary());
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /<rect [^>]*fill="#1a7f37"><title>taskwire-redis-1: 3,000 tasks\/s \(2,700\.\.3,300\)<\/title><\/rect>/);
  assert.match(svg, /<title>bullmq-c1: p50 1,000 µs \(1,000\.\.1,000\), p99 3,000 µs<\/title>/);
  assert.match(svg, />target: 2 × bullmq-c16</);
  assert.match(svg, />target: ½ × bullmq-c1 p50</);
  assert.match(svg, />p99 4,000 ↑</);
  assert.equal((svg.match(/<rect [^>]*><title>/g) ?? []).length, 10);
});

test('run.mjs --render writes redis.svg beside the other charts when the report has Redis systems', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-render-'));
  try {
    const file = join(dir, 'latest.json');
    writeFileSync(file, JSON.stringify(report(summary())));
    const r = spawnSync(process.execPath, [RUN, '--render', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(dir).sort(), ['latest.json', 'latest.md', 'redis.svg']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the runner's redis-server: a free loopback port, no persistence, command statistics per task, stopped by its pid", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-server-'));
  const redis = await startRedis({ dir });
  t.after(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal(await redis.command('PING'), 'PONG');
  assert.deepEqual(await redis.command('CONFIG', 'GET', 'save'), ['save', '']);
  assert.deepEqual(await redis.command('CONFIG', 'GET', 'appendonly'), ['appendonly', 'no']);
  assert.deepEqual(await redis.command('CONFIG', 'GET', 'bind'), ['bind', '127.0.0.1']);
  assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
  await redis.command('CONFIG', 'RESETSTAT');
  // Two "tasks", each one script that runs two commands, and one plain command.
  for (let i = 0; i < 2; i++) await redis.command('EVAL', "redis.call('LPUSH', KEYS[1], ARGV[1]); return redis.call('LLEN', KEYS[1])", '1', 'q', `t${i}`);
  await redis.command('GET', 'x');
  const stats = parseCommandStats(await redis.command('INFO', 'commandstats'));
  assert.equal(stats.eval.calls, 2);
  assert.equal(stats.lpush.calls, 2);
  const costs = commandCostsPerTask(stats, 2);
  assert.equal(costs.redisScriptCallsPerTask, 1);
  // eval + lpush + llen per task, and the GET: 7 commands for 2 tasks; the runner's CONFIG and INFO are left out.
  assert.equal(costs.redisCallsPerTask, 3.5);
  assert.ok(costs.redisScriptUsecPerTask > 0);
  assert.deepEqual(costs.redisTopCommands.map((c) => c.command).sort(), ['eval', 'get', 'llen', 'lpush']);
  await assert.rejects(redis.command('NOSUCHCOMMAND'), /ERR unknown command/);
  const pid = redis.pid;
  await redis.stop();
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
  await assert.rejects(redisCommand(redis.port, ['PING']), { code: 'ECONNREFUSED' });
});

test('RESP replies split across reads are waited for', () => {
  const whole = Buffer.from('*2\r\n$4\r\nsave\r\n$0\r\n\r\n');
  for (let cut = 1; cut < whole.length; cut++) assert.equal(parseReply(whole.subarray(0, cut), 0), undefined, `cut at ${cut}`);
  assert.deepEqual(parseReply(whole, 0), { value: ['save', ''], end: whole.length });
});

test('no redis-server: findRedisServer says how to get one; BENCH_REDIS_SERVER that is not there says so', () => {
  const empty = mkdtempSync(join(tmpdir(), 'bench-no-redis-'));
  try {
    assert.throws(
      () => findRedisServer({ PATH: empty }),
      (e) =>
        e instanceof RedisMissingError &&
        e.message ===
          'redis-server not found on PATH: the Redis systems (bullmq-*, taskwire-redis-*) need Redis 7 (Debian: apt-get install redis-server; scripts/setupTestTools.sh installs it), or set BENCH_REDIS_SERVER to its path',
    );
    assert.throws(() => findRedisServer({ PATH: '/usr/bin', BENCH_REDIS_SERVER: join(empty, 'redis-server') }), {
      message: `redis-server not found: BENCH_REDIS_SERVER=${join(empty, 'redis-server')} is not an executable file`,
    });
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('run.mjs with a BullMQ system and no redis-server: exit 1 with the message, nothing run', () => {
  const empty = mkdtempSync(join(tmpdir(), 'bench-no-redis-'));
  try {
    const env = { ...process.env, PATH: empty };
    delete env.BENCH_REDIS_SERVER;
    const r = spawnSync(process.execPath, [RUN, '--only', 'pipeline', '--systems', 'bullmq-c1', '--dry-run'], { encoding: 'utf8', env });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^bench: redis-server not found on PATH: the Redis systems \(bullmq-\*, taskwire-redis-\*\) need Redis 7/m);
    assert.doesNotMatch(r.stderr, /taskwire bench: \d+ measurements/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

/**
 * A built taskwire package as `--server-dir` takes it, whose `serve --help` lists these
 * options: the runner decides from that help text whether the Redis store exists.
 */
function serverWithHelp(helpOptions) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-server-dir-'));
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dist', 'src'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'taskwire', version: '0.0.0-test' }));
  writeFileSync(join(dir, 'dist', 'src', 'index.js'), '');
  const help = ['Usage: taskwire serve [options]', ...helpOptions.map((o) => `  ${o}`)].join('\n');
  writeFileSync(join(dir, 'bin', 'taskwire.js'), `process.stdout.write(${JSON.stringify(help + '\n')});\n`);
  chmodSync(join(dir, 'bin', 'taskwire.js'), 0o755);
  return dir;
}

test('taskwire serve without --store: asking for taskwire-redis-N is an error with the message; the default and --quick plans leave them out with a note', () => {
  const dir = serverWithHelp(['--port N', '--data-dir DIR', '--fsync MODE']);
  try {
    const asked = spawnSync(process.execPath, [RUN, '--server-dir', dir, '--only', 'pipeline,latency', '--systems', 'taskwire-ts,taskwire-redis-2', '--dry-run'], { encoding: 'utf8' });
    assert.equal(asked.status, 1, asked.stderr);
    assert.equal(
      asked.stderr.trim(),
      `bench: taskwire serve has no --store option: build the Redis store first (--systems asks for taskwire-redis-2; ${dir}/bin/taskwire.js serve --help lists no --store)`,
    );
    const quick = spawnSync(process.execPath, [RUN, '--server-dir', dir, '--quick', '--dry-run'], { encoding: 'utf8' });
    assert.equal(quick.status, 0, quick.stderr);
    assert.match(quick.stderr, /redis: taskwire-redis-1, taskwire-redis-2, taskwire-redis-3 not run — taskwire serve has no --store option: build the Redis store first\./);
    assert.match(quick.stderr, /pipeline W=2: [^\n]*; seed, taskwire-ts, taskwire-ts-metrics, taskwire-ts-async, taskwire-ts-batch, taskwire-mp, taskwire-py, bullmq-c1, bullmq-c16; 1 run\(s\)/);
    assert.match(quick.stderr, /latency round trip: [^\n]*; seed, taskwire-ts, taskwire-py, taskwire-mp, bullmq-c1, bullmq-c16, floor-node, floor-python; 1 run\(s\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('taskwire serve with --store: the taskwire-redis systems are planned, in pipeline and latency only', () => {
  const dir = serverWithHelp(['--port N', '--store URL']);
  try {
    const r = spawnSync(process.execPath, [RUN, '--server-dir', dir, '--dry-run', '--runs', '1'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /not run/);
    const redisSystems = 'bullmq-c1, bullmq-c16, taskwire-redis-1, taskwire-redis-2, taskwire-redis-3';
    assert.match(r.stderr, new RegExp(`pipeline W=2: [^\\n]*taskwire-py, ${redisSystems}; 1 run`));
    assert.match(r.stderr, new RegExp(`latency round trip: [^\\n]*taskwire-py, taskwire-mp, ${redisSystems}, floor-node`));
    assert.doesNotMatch(r.stderr, /NaN/);
    for (const line of r.stderr.split('\n').filter((l) => /^ {2}(workers|payload|idle|memory|profile) /.test(l))) assert.doesNotMatch(line, /bullmq|taskwire-redis/, line);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The children of `pid` whose command name is `comm` (from /proc). */
function childrenNamed(pid, comm) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && name === comm) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Running: there, and not a zombie waiting for a parent to reap it. */
function running(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

test('Ctrl+C during a BullMQ measurement: the runner stops its redis-server by pid and removes its directory', async () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-redis-interrupt-'));
  const runner = spawn(process.execPath, [RUN, '--only', 'pipeline', '--systems', 'bullmq-c1', '--n', '200000', '--runs', '1', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  runner.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => runner.on('exit', (code, signal) => resolve(code ?? signal)));
  let redisPid;
  try {
    const deadline = Date.now() + 60_000;
    while (redisPid === undefined) {
      assert.ok(Date.now() < deadline, `no redis-server started by the runner within 60 s:\n${stderr}`);
      [redisPid] = childrenNamed(runner.pid, 'redis-server');
      if (redisPid === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    // Its directory (--dir) is its cwd once it has changed to it: until then it is the runner's
    // (and redis-server rewrites its command line, so --dir cannot be read there).
    const runnerDir = readlinkSync(`/proc/${runner.pid}/cwd`);
    let redisDir = readlinkSync(`/proc/${redisPid}/cwd`);
    while (redisDir === runnerDir) {
      assert.ok(Date.now() < deadline, `redis-server ${redisPid} never changed to its directory`);
      await new Promise((r) => setTimeout(r, 20));
      redisDir = readlinkSync(`/proc/${redisPid}/cwd`);
    }
    assert.ok(existsSync(redisDir));
    runner.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /bench: SIGINT: stopping every process this run started/);
    assert.equal(running(redisPid), false, `redis-server ${redisPid} still running`);
    assert.equal(existsSync(redisDir), false, `${redisDir} is still there`);
  } finally {
    if (running(runner.pid)) runner.kill('SIGKILL');
    // A failure before the runner was interrupted leaves its redis-server to this test.
    if (redisPid !== undefined && running(redisPid)) process.kill(redisPid, 'SIGKILL');
    rmSync(out, { recursive: true, force: true });
  }
});

test("the build's snapshot resolves a dynamic import() of a dependency (how the Redis store loads ioredis), which NODE_PATH does not serve", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-snapshot-'));
  try {
    const copy = snapshotTaskwire(dir);
    const probe = join(copy, 'dist', 'src', 'probe.mjs');
    writeFileSync(probe, "const { default: Redis } = await import('ioredis');\nexport const name = Redis.name;\n");
    assert.equal((await import(pathToFileURL(probe).href)).name, 'Redis');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Removing the copy removed the links, not what they point to.
  assert.ok(existsSync(join(dirname(RUN), '..', 'node_modules', 'ioredis', 'package.json')));
});

test('redisDrain.mjs drains a small backlog on each system, every task once; a worker on Redis costs one script per task', async () => {
  const drain = join(dirname(fileURLToPath(import.meta.url)), '..', 'redisDrain.mjs');
  const run = spawnSync(process.execPath, [drain, '--n', '300', '--runs', '1'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  const rows = Object.fromEntries(
    run.stdout
      .split('\n')
      .filter((line) => /^\| (taskwire-redis-\d|bullmq-c1) \|/.test(line))
      .map((line) => {
        const cells = line.split('|').map((cell) => cell.trim());
        return [cells[1], { scriptsPerTask: Number(cells[7]) }];
      }),
  );
  assert.deepEqual(Object.keys(rows), ['taskwire-redis-1', 'taskwire-redis-2', 'bullmq-c1'], run.stdout);
  // 300 acks with next, each one script that also takes the next task, and each worker's first get.
  for (const system of ['taskwire-redis-1', 'taskwire-redis-2']) assert.ok(rows[system].scriptsPerTask <= 1.05, `${system}: ${rows[system].scriptsPerTask} scripts per task\n${run.stdout}`);

  const bad = spawnSync(process.execPath, [drain, '--systems', 'bullmq-c16'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^redisDrain: unknown system "bullmq-c16" \(taskwire-redis-M with M managers, or bullmq-c1\)/);
});
