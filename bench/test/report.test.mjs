// The benchmark's report: targets, Markdown, charts, flame graphs, cost groups and the
// before/after comparison, on made-up summaries (no timing is measured here) and on a real
// .cpuprofile written by `node --cpu-prof`. Run: node --test bench/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateTargets, renderMarkdown, renderPayloadSvg, renderSvg, renderCompare, costsOf, flameGraphs } from '../lib/report.mjs';
import { COST_GROUPS, compactFolded, costGroupOf, expandFolded, parseFolded, pruneFolded, summarizeCpuProfile } from '../lib/profile.mjs';
import { renderFlameGraph } from '../lib/flamegraph.mjs';

const RUN = join(dirname(fileURLToPath(import.meta.url)), '..', 'run.mjs');

const m = (median, min = median, max = median) => ({ median, min, max, n: 1 });

/** A pipeline-like row: tasks/s, manager CPU µs/task and the ratio against `seedRate`. */
function row(system, rate, cpu, seedRate, extra = {}) {
  return {
    system,
    runs: 1,
    metrics: { tasksPerSec: m(rate), managerCpuUsPerTask: m(cpu), tasks: m(1000), elapsed: m(1000 / rate) },
    ...(system === 'seed' ? {} : { vsSeed: { tasksPerSec: rate / seedRate } }),
    ...extra,
  };
}

function pipelineGroup(workload, key, params, rates) {
  const seedRate = rates.seed[0];
  return { workload, key, title: `${workload} ${key}`, params, runsPlanned: 1, rows: Object.entries(rates).map(([s, [rate, cpu]]) => row(s, rate, cpu, seedRate)) };
}

/** A summary in which every issue-15 target is met but the 1 MiB throughput (1.4× < 1.5×). */
function summary() {
  return [
    pipelineGroup(
      'pipeline',
      'W=2',
      { W: 2, n: 20000, size: 0 },
      {
        seed: [4000, 170],
        'taskwire-ts': [8400, 85],
        'taskwire-ts-async': [21000, 40],
        'taskwire-ts-batch': [130000, 8],
        'taskwire-py': [8100, 88],
        'taskwire-mp': [4400, 150],
      },
    ),
    ...[1, 8, 64].map((W) => pipelineGroup('workers', `W=${W}`, { W, n: 5000, size: 0 }, { seed: [4000, 170], 'taskwire-ts': [9000, 80], 'taskwire-py': [8500, 85] })),
    pipelineGroup('payload', '64 KiB', { W: 2, n: 1000, size: 65536 }, { seed: [1700, 420], 'taskwire-ts': [2600, 300] }),
    pipelineGroup('payload', '1 MiB', { W: 2, n: 250, size: 1048576 }, { seed: [100, 3500], 'taskwire-ts': [140, 2600] }),
    {
      workload: 'memory',
      key: '64 KiB tasks',
      title: 'memory 64 KiB',
      params: { n: 2000, seedN: 2000, size: 65536 },
      runsPlanned: 1,
      rows: [
        { system: 'seed', runs: 1, metrics: { bytesPerTask: m(69000), tasks: m(2000) } },
        { system: 'taskwire-ts-batch', runs: 1, metrics: { bytesPerTask: m(70000), tasks: m(2000) } },
      ],
    },
    {
      workload: 'latency',
      key: 'round trip',
      title: 'latency',
      params: {},
      runsPlanned: 1,
      rows: [
        { system: 'seed', runs: 1, metrics: { p50: m(370), p99: m(540) } },
        { system: 'taskwire-ts', runs: 1, metrics: { p50: m(210), p99: m(700) }, vsSeed: { p50: 210 / 370, p99OverSeedP50: 700 / 370 } },
        { system: 'floor-node', runs: 1, metrics: { p50: m(175), p99: m(400) } },
      ],
    },
  ];
}

test('every issue-15 target is checked against the medians, with the numbers it was judged on', () => {
  const targets = evaluateTargets(summary());
  const issue = targets.filter((t) => t.group === 'issue15');
  assert.equal(issue.length, 16);
  const byName = (start) => issue.find((t) => t.target.startsWith(start));
  assert.deepEqual(byName('manager CPU per task, pipeline W=2, one call per task awaited (taskwire-ts)'), {
    group: 'issue15',
    target: "manager CPU per task, pipeline W=2, one call per task awaited (taskwire-ts) ≤ 90 µs (½ the seed's manager)",
    measured: '85 µs/task (seed 170 µs)',
    pass: true,
  });
  assert.equal(byName('throughput, pipeline W=2, batches').measured, '33× seed, 130,000 tasks/s');
  assert.equal(byName('Workers table (W = 1, 8, 64): taskwire-ts').measured, 'W=1 2.3×, W=8 2.3×, W=64 2.3×');
  const mib = byName('1 MiB payloads: throughput');
  assert.equal(mib.pass, false);
  assert.equal(mib.measured, '1.4× seed (140 vs 100 tasks/s)');
  assert.equal(byName('1 MiB payloads: manager CPU').measured, '2,600 vs seed 3,500 µs/task = 0.74×');
  assert.equal(byName('manager memory per queued 64 KiB task').measured, '68.4 KiB per task = 1.07 × 64 KiB (seed 67.4 KiB)');
  assert.equal(byName('latency p50 (taskwire-ts) within 50 µs').measured, '210 µs vs floor-node 175 µs: +35 µs');
  assert.deepEqual(
    issue.filter((t) => t.pass !== true).map((t) => t.target),
    ['1 MiB payloads: throughput (taskwire-ts) ≥ 1.5× seed'],
  );
});

test("the issue-17 target: the seed's own programs over the multiprocessing listener at least as fast as on the seed's manager", () => {
  const [target] = evaluateTargets(summary()).filter((t) => t.group === 'issue17');
  assert.deepEqual(target, {
    group: 'issue17',
    target: "throughput, pipeline W=2, the seed's own Python producer and workers over the multiprocessing listener (taskwire-mp) ≥ 1× seed",
    measured: '1.1× seed (4,400 vs 4,000 tasks/s)',
    pass: true,
  });
});

test('the issue-20 target: throughput with /metrics scraped every second within the noise of the same pipeline unscraped', () => {
  const withMetrics = (scraped, plain) => {
    const groups = summary();
    const pipe = groups.find((g) => g.workload === 'pipeline');
    pipe.rows.find((r) => r.system === 'taskwire-ts').metrics.tasksPerSec = plain;
    pipe.rows.push({ system: 'taskwire-ts-metrics', runs: 3, metrics: { tasksPerSec: scraped, metricsScrapes: m(4) } });
    return evaluateTargets(groups).find((t) => t.group === 'issue20');
  };
  assert.equal(evaluateTargets(summary()).find((t) => t.group === 'issue20').pass, undefined, 'not measured without taskwire-ts-metrics');
  const near = withMetrics(m(1940, 1900, 2000), m(2000, 1950, 2100));
  assert.deepEqual([near.measured, near.pass], ['0.970 (1,940 vs 2,000 tasks/s; unscraped runs 1,950–2,100; 4 scrapes per run)', true]);
  assert.equal(withMetrics(m(1800), m(2000, 1700, 2100)).pass, true, 'inside the spread of the unscraped runs');
  assert.equal(withMetrics(m(1800), m(2000, 1950, 2100)).pass, false, 'slower than every unscraped run and by more than 5%');
});

test('a target whose workload did not run says so instead of passing or failing', () => {
  const targets = evaluateTargets(summary().filter((g) => g.workload !== 'latency'));
  const p50 = targets.find((t) => t.target === 'latency p50 (taskwire-ts) ≤ 0.6× seed p50');
  assert.deepEqual(p50, { group: 'issue15', target: 'latency p50 (taskwire-ts) ≤ 0.6× seed p50', measured: 'not measured in this run (latency with the seed)', pass: undefined });
  const kept = targets.filter((t) => t.group === 'kept').map((t) => t.measured);
  assert.deepEqual(kept, ['not measured in this run (memory of 20-byte tasks)', 'not measured in this run (idle)']);
});

/** A real .cpuprofile of a script that spends its time on JSON lines and in a plain loop. */
function realProfile() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-report-test-'));
  const script = join(dir, 'work.js');
  writeFileSync(
    script,
    [
      'function jsonWork(text) {',
      '  let s = 0;',
      '  for (let i = 0; i < 3000; i++) s += JSON.parse(text).a.length + JSON.stringify({ b: text }).length;',
      '  return s;',
      '}',
      "const text = JSON.stringify({ a: 'x'.repeat(2000) });",
      'let total = 0;',
      'const until = Date.now() + 400;',
      'while (Date.now() < until) total += jsonWork(text);',
      'console.log(total > 0);',
      '',
    ].join('\n'),
  );
  execFileSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, script]);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  return { dir, file: join(dir, file) };
}

test('a real profile: JSON.parse and JSON.stringify count as JSON by source line, and the flame graph draws its stacks', () => {
  const { dir, file } = realProfile();
  try {
    const p = summarizeCpuProfile(file, { flame: true });
    assert.deepEqual(
      p.costs.map((c) => c.group),
      COST_GROUPS.map((g) => g.key),
    );
    const json = p.costs.find((c) => c.group === 'json').selfMs;
    assert.ok(json > 0.5 * p.activeMs, `JSON ${json} ms of ${p.activeMs} ms busy`);
    const folded = expandFolded(p.flame);
    assert.match(folded, /jsonWork .*work\.js:1 \d+/);
    const svg = renderFlameGraph(folded, { title: 'test <profile>', tasks: 10 });
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /test &lt;profile&gt;/);
    assert.match(svg, /<title>jsonWork [^<]*work\.js:1: [\d,.]+ ms, [\d.]+%, [\d.]+ µs\/task<\/title>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("folded stacks: pruning keeps each frame's width, merging narrow callees into their caller; compact form round-trips", () => {
  const stacks = new Map([
    ['main;work;parse', 9000],
    ['main;work;tiny', 2],
    ['main;idle', 998],
  ]);
  const pruned = parseFolded(pruneFolded(stacks, 0.001));
  assert.deepEqual(pruned, [
    ['main;work;parse', 9000],
    ['main;work', 2],
    ['main;idle', 998],
  ]);
  const text = pruneFolded(stacks, 0.001);
  const compact = compactFolded(text);
  assert.deepEqual(compact.frames, ['main', 'work', 'parse', 'idle']);
  assert.equal(expandFolded(compact), text);
});

test('cost groups of native and library frames', () => {
  assert.equal(costGroupOf('writeBuffer', ''), 'syscalls');
  assert.equal(costGroupOf('(program)', ''), 'syscalls');
  assert.equal(costGroupOf('(garbage collector)', ''), 'gc');
  assert.equal(costGroupOf('validate26', ''), 'validation');
  assert.equal(costGroupOf('compileSchema', 'file:///r/node_modules/ajv/dist/compile/index.js'), 'startup');
  assert.equal(costGroupOf('ucs2length', 'file:///r/node_modules/ajv/dist/runtime/ucs2length.js'), 'validation');
  assert.equal(costGroupOf('send', 'file:///tmp/x/taskwire/dist/src/server/session.js'), 'session');
  assert.equal(costGroupOf('send', 'file:///tmp/x/taskwire/dist/src/server/session.js', '      text = JSON.stringify(message);'), 'json');
  assert.equal(costGroupOf('lease', 'file:///repo/server/dist/src/engine/engine.js'), 'engine');
  assert.equal(costGroupOf('decode', 'node:internal/encoding'), 'json');
  assert.equal(costGroupOf('onStreamRead', 'node:internal/stream_base_commons'), 'node');
  assert.equal(costGroupOf('wrapSafe', 'node:internal/modules/cjs/loader'), 'startup');
});

/** A report as run.mjs writes it, with one profiled manager. */
function report(groups, costs) {
  const profile = {
    workload: 'profile',
    key: 'W=2',
    title: 'profile',
    params: { W: 2, n: 1000, size: 0, profile: true },
    runsPlanned: 1,
    rows: [
      {
        system: 'taskwire-ts',
        runs: 1,
        metrics: { tasks: m(1000), tasksPerSec: m(3000), managerCpuUsPerTask: m(180) },
        profiles: {
          manager: {
            totalMs: 400,
            activeMs: 200,
            idleMs: 200,
            areas: [],
            functions: [{ function: 'writeBuffer', location: '', selfMs: 50, percent: 25 }],
            costs: COST_GROUPS.map((g) => ({ group: g.key, selfMs: costs[g.key] ?? 0 })),
            flame: compactFolded('onStreamRead node:internal/stream_base_commons:168;onFrame taskwire/server/session.js:293 150000\n(garbage collector) 50000'),
          },
        },
      },
    ],
  };
  const all = [...groups, profile];
  return {
    environment: { date: '2026-12-06T19:00:00.000Z', commit: 'abc1234', node: 'v20', cpus: 2, memoryGiB: 23.5, loadavgAtStart: [1, 1, 1], loadavgAtEnd: [1, 1, 1], taskwireVersion: '0.1.0' },
    options: { quick: false, runs: 1, tsMaxProcs: 8, snapshot: true },
    notes: [],
    totalSeconds: 10,
    systems: { seed: 'the seed', 'taskwire-ts': 'Taskwire' },
    groups: all,
    targets: evaluateTargets(all),
    errors: [],
  };
}

test('latest.md: the two target tables, the payload chart, the costs per task and the flame graph are there', () => {
  const md = renderMarkdown(report(summary(), { syscalls: 100, json: 60, gc: 40 }));
  assert.match(md, /### Issue 15: the manager's cost per task at half the seed's, with any client\n\n\| target \| measured \(medians\) \|  \|/);
  assert.match(md, /### Kept from earlier issues/);
  assert.match(md, /\| 1 MiB payloads: throughput \(taskwire-ts\) ≥ 1\.5× seed \| 1\.4× seed \(140 vs 100 tasks\/s\) \| \*\*not met\*\* \|/);
  assert.match(md, /!\[pipeline throughput against workers\]\(pipeline-workers\.svg\)/);
  assert.match(md, /!\[pipeline throughput against payload size\]\(pipeline-payload\.svg\)/);
  assert.match(md, /\| µs per task \| taskwire-ts \(W=2\) \|\n\|---\|---\|\n\| validation \| 0\.0 \|\n\| JSON and framing \| 60\.0 \|/);
  assert.match(md, /\| \*\*total busy\*\* \| \*\*200\.0\*\* \|/);
  // Scaled to the CPU time /proc measured: 60 of 200 busy ms × 180 µs/task.
  assert.match(md, /Scaled to the manager's CPU time[^\n]*\n\n\| µs per task \| taskwire-ts \(W=2\) \|\n\|---\|---\|\n\| validation \| 0\.0 \|\n\| JSON and framing \| 54\.0 \|/);
  assert.match(md, /\| \*\*total\*\* \(= manager CPU µs\/task\) \| \*\*180\.0\*\* \|/);
  assert.match(md, /- \[Manager CPU: taskwire-ts, pipeline W=2, N = 1,000\]\(manager-taskwire-ts\.flame\.svg\)/);
  assert.match(md, /\| payload MB\/s \|/);
});

test('charts: workers and payload size on log axes, the seed dashed beside Taskwire', () => {
  const groups = summary();
  const workers = renderSvg(groups);
  assert.match(workers, /<circle [^>]*><title>taskwire-ts, W = 64: 9000 tasks\/s \(9000\.\.9000\)<\/title>/);
  const payload = renderPayloadSvg(groups);
  assert.match(payload, /Pipeline throughput against payload size/);
  for (const label of ['>15 B<', '>64 KiB<', '>1 MiB<']) assert.ok(payload.includes(label), label);
  assert.match(payload, /<title>taskwire-ts, payload 1 MiB: 140 tasks\/s \(140\.\.140\), 146\.8 MB\/s of payload<\/title>/);
  assert.match(payload, /stroke-dasharray="6 4"/);
  assert.equal(renderPayloadSvg(groups.filter((g) => g.workload !== 'payload')), undefined);
});

test('flame graphs are named per profiled manager; a report without cost groups is grouped approximately', () => {
  const r = report([], {});
  assert.deepEqual(
    flameGraphs(r.groups).map((f) => f.file),
    ['manager-taskwire-ts.flame.svg'],
  );
  const old = { activeMs: 200, functions: [{ function: 'writeBuffer', location: '', selfMs: 50 }] };
  const c = costsOf(old);
  assert.equal(c.approximate, true);
  assert.equal(c.groups.syscalls, 50);
  assert.equal(c.groups.other, 150);
});

test('before and after: the manager cost per task by group, side by side', () => {
  const before = report(summary(), { syscalls: 100, json: 60 });
  const after = report(summary(), { syscalls: 50, json: 30 });
  const md = renderCompare(before, after, { beforeName: 'old.json', afterName: 'new.json' });
  assert.match(md, /^Before: old\.json \(2026-12-06 19:00 UTC, commit abc1234\)\. After: new\.json/);
  assert.match(md, /### Manager cost per task: taskwire-ts \(W=2\)\n\n\| µs per task \| sampled before \| sampled after \| change \| CPU before \| CPU after \| change \|/);
  // Sampled: 60 ms × 1000 / 1,000 tasks; CPU: 60 of 200 busy ms × 180 µs/task measured by /proc.
  assert.match(md, /\| JSON and framing \| 60\.0 \| 30\.0 \| −50% \| 54\.0 \| 27\.0 \| −50% \|/);
  assert.match(md, /\| syscalls and event loop \| 100\.0 \| 50\.0 \| −50% \| 90\.0 \| 45\.0 \| −50% \|/);
  assert.match(md, /\| \*\*total busy\*\* \| \*\*200\.0\*\* \| \*\*200\.0\*\* \| \+0% \| \*\*180\.0\*\* \| \*\*180\.0\*\* \| \+0% \|/);
  assert.match(md, /\| pipeline W=2 \| taskwire-ts \| 8,400 \(2\.1× seed\) \| 8,400 \(2\.1× seed\) \| \+0% \| 85 \| 85 \|/);
  assert.match(md, /### Latency \(µs\)/);
});

test('run.mjs --render rewrites latest.md and every SVG from a latest.json; --compare prints the tables', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-render-test-'));
  try {
    const file = join(dir, 'latest.json');
    writeFileSync(file, JSON.stringify(report(summary(), { syscalls: 100 })));
    const rendered = spawnSync(process.execPath, [RUN, '--render', file], { encoding: 'utf8' });
    assert.equal(rendered.status, 0, rendered.stderr);
    assert.deepEqual(readdirSync(dir).sort(), ['latest.json', 'latest.md', 'manager-taskwire-ts.flame.svg', 'pipeline-payload.svg', 'pipeline-workers.svg']);
    assert.match(readFileSync(join(dir, 'manager-taskwire-ts.flame.svg'), 'utf8'), /onFrame taskwire\/server\/session\.js:293/);
    const compared = spawnSync(process.execPath, [RUN, '--compare', file, file], { encoding: 'utf8' });
    assert.equal(compared.status, 0, compared.stderr);
    assert.match(compared.stdout, /### Manager cost per task: taskwire-ts \(W=2\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run.mjs --compare with a file that is not there: exit 2 and which file', () => {
  const missing = join(tmpdir(), 'bench-no-such-report.json');
  const r = spawnSync(process.execPath, [RUN, '--compare', missing, missing], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.split('\n')[0], `bench: --compare: cannot read ${missing}: ENOENT: no such file or directory, open '${missing}'`);
});

test('run.mjs --pipeline-warmup that is not a fraction from 0 to 10: exit 2 and why, nothing run', () => {
  for (const bad of ['-1', 'half', '11']) {
    const r = spawnSync(process.execPath, [RUN, `--pipeline-warmup=${bad}`, '--dry-run'], { encoding: 'utf8' });
    assert.equal(r.status, 2, bad);
    assert.equal(r.stderr.split('\n')[0], 'bench: --pipeline-warmup must be a number from 0 to 10 (a fraction of the tasks)', bad);
  }
  const ok = spawnSync(process.execPath, [RUN, '--pipeline-warmup', '0.5', '--dry-run', '--only', 'pipeline', '--systems', 'seed'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
});

test('exchange-floor.mjs prints the CPU per exchange of a Node server that does nothing, per number of clients', () => {
  const out = execFileSync(process.execPath, [join(dirname(RUN), 'exchange-floor.mjs'), '--clients', '1,2', '--n', '300', '--runs', '1'], { encoding: 'utf8' });
  const rows = out.trim().split('\n').slice(2);
  assert.equal(rows.length, 2, out);
  for (const [i, clients] of [1, 2].entries()) {
    const cells = rows[i].split('|').map((c) => c.trim());
    assert.equal(cells[1], String(clients));
    // user + system = total, to the rounding of the printed values
    assert.ok(Math.abs(Number(cells[3]) + Number(cells[4]) - Number(cells[2])) < 0.25, out);
    assert.ok(Math.abs(Number(cells[5]) - 3 * Number(cells[2])) <= 1, out);
  }
});
