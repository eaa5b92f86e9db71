// Turns the runs into medians with min..max, ratios against the seed, the targets, a Markdown
// report and a hand-made SVG chart.
import { summarize } from './stats.mjs';
import { COST_GROUPS, costGroupOf, expandFolded, tidyLocation } from './profile.mjs';
import { escapeXml, int, kib, mb, med, pct, range, table, x } from './format.mjs';
import { redisSection, redisTargets } from './redisReport.mjs';

/** Per group: one row per system (and variant) with each numeric metric summarised over runs. */
export function aggregate(groups, results) {
  const summary = groups.map((g) => {
    const rows = [];
    for (const system of g.systems) {
      for (const variant of g.variants ?? [undefined]) {
        const runs = results.filter((r) => r.workload === g.workload && r.key === g.key && r.system === system && r.variant === variant);
        const metrics = {};
        const names = new Set(runs.flatMap((r) => Object.keys(r).filter((k) => typeof r[k] === 'number' && k !== 'run')));
        for (const name of names) metrics[name] = summarize(runs.map((r) => r[name]));
        const row = { system, ...(variant ? { variant } : {}), runs: runs.length, metrics };
        const profiles = runs.map((r) => r.profiles).filter(Boolean);
        if (profiles.length) row.profiles = profiles[0];
        // Redis systems: the heaviest commands of the last run (INFO commandstats).
        const top = runs.map((r) => r.redisTopCommands).filter(Boolean);
        if (top.length) row.redisTopCommands = top.at(-1);
        rows.push(row);
      }
    }
    // Ratios against the seed's row with the same variant (medians over medians).
    for (const row of rows) {
      const seed = rows.find((r) => r.system === 'seed' && r.variant === row.variant);
      if (!seed || row.system === 'seed') continue;
      const ratio = (name) => {
        const a = row.metrics[name]?.median;
        const b = seed.metrics[name]?.median;
        return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : undefined;
      };
      row.vsSeed = {};
      for (const name of ['tasksPerSec', 'p50', 'p99', 'bytesPerTask', 'drainPerSec', 'idleRssIncrease']) {
        const r = ratio(name);
        if (r !== undefined) row.vsSeed[name] = r;
      }
      const seedP50 = seed.metrics.p50?.median;
      if (Number.isFinite(seedP50) && row.metrics.p99) row.vsSeed.p99OverSeedP50 = row.metrics.p99.median / seedP50;
    }
    if (g.workload === 'idle') {
      for (const system of g.systems) {
        const without = rows.find((r) => r.system === system && r.variant === 'without');
        const withIdle = rows.find((r) => r.system === system && r.variant === 'with');
        const a = withIdle?.metrics.tasksPerSec?.median;
        const b = without?.metrics.tasksPerSec?.median;
        if (withIdle && Number.isFinite(a) && Number.isFinite(b)) withIdle.withOverWithout = a / b;
      }
    }
    return { workload: g.workload, key: g.key, title: g.title, params: g.params, runsPlanned: g.runs, rows };
  });
  // Durable store: each system against itself in memory (the pipeline group, same N).
  const memory = summary.find((g) => g.workload === 'pipeline');
  for (const g of summary.filter((g) => g.workload === 'durable')) {
    if (!memory) continue;
    for (const row of g.rows) {
      const a = row.metrics.tasksPerSec?.median;
      const b = rowOf(memory, row.system)?.metrics.tasksPerSec?.median;
      if (Number.isFinite(a) && Number.isFinite(b)) row.vsInMemory = a / b;
    }
  }
  return summary;
}

const memory = (summary) => summary.find((g) => g.workload === 'pipeline');
const find = (summary, workload, key) => summary.find((g) => g.workload === workload && (key === undefined || g.key === key));
const rowOf = (group, system, variant) => group?.rows.find((r) => r.system === system && r.variant === variant);

/** Issue 15's speed targets (bench/README.md, "Targets"), then the ones kept from earlier issues. */
export const TARGET_GROUPS = [
  { key: 'issue16', title: 'Issue 16: Taskwire on Redis against BullMQ on the same Redis' },
  { key: 'issue15', title: "Issue 15: the manager's cost per task at half the seed's, with any client" },
  { key: 'issue17', title: "Issue 17: the seed's own Python programs on Taskwire's multiprocessing listener" },
  { key: 'issue20', title: 'Issue 20: Prometheus scraping costs nothing measurable' },
  { key: 'kept', title: 'Kept from earlier issues' },
];

/**
 * The project's performance targets, checked against this run's medians. `pass` is true or
 * false, or undefined when this run did not measure what the target needs.
 */
export function evaluateTargets(summary) {
  const targets = [];
  const add = (group, target, measured, pass) => targets.push({ group, target, measured, pass });
  const missing = (group, target, what) => add(group, target, `not measured in this run (${what})`, undefined);
  const I = 'issue15';
  const pipe = find(summary, 'pipeline', 'W=2');
  const seedPipe = rowOf(pipe, 'seed');
  const seedCpu = seedPipe?.metrics.managerCpuUsPerTask?.median;

  // Manager CPU per task, awaited pipeline.
  for (const system of ['taskwire-ts', 'taskwire-py']) {
    const target = `manager CPU per task, pipeline W=2, one call per task awaited (${system}) ≤ 90 µs (½ the seed's manager)`;
    const cpu = rowOf(pipe, system)?.metrics.managerCpuUsPerTask?.median;
    if (!Number.isFinite(cpu)) missing(I, target, 'pipeline');
    else add(I, target, `${int(cpu)} µs/task${Number.isFinite(seedCpu) ? ` (seed ${int(seedCpu)} µs)` : ''}`, cpu <= 90);
  }
  // Throughput, pipeline N = 20,000, W = 2.
  const throughput = [
    ['taskwire-ts', 'one call per task awaited', 2],
    ['taskwire-py', 'one call per task awaited', 2],
    ['taskwire-ts-async', 'one call per task, calls in flight', 5],
  ];
  for (const [system, how, factor] of throughput) {
    const target = `throughput, pipeline W=2, ${how} (${system}) ≥ ${factor}× seed`;
    const row = rowOf(pipe, system);
    const r = row?.vsSeed?.tasksPerSec;
    if (r === undefined) missing(I, target, 'pipeline with the seed');
    else add(I, target, `${x(r)} seed (${int(row.metrics.tasksPerSec.median)} vs ${int(seedPipe.metrics.tasksPerSec.median)} tasks/s)`, r >= factor);
  }
  {
    const target = 'throughput, pipeline W=2, batches (taskwire-ts-batch) ≥ 30× seed and ≥ 120,000 tasks/s';
    const row = rowOf(pipe, 'taskwire-ts-batch');
    const r = row?.vsSeed?.tasksPerSec;
    if (r === undefined) missing(I, target, 'pipeline with the seed');
    else {
      const rate = row.metrics.tasksPerSec.median;
      add(I, target, `${x(r)} seed, ${int(rate)} tasks/s`, r >= 30 && rate >= 120_000);
    }
  }
  {
    // Issue 17: the seed's own programs must not be slower for switching to Taskwire's listener.
    const target = "throughput, pipeline W=2, the seed's own Python producer and workers over the multiprocessing listener (taskwire-mp) ≥ 1× seed";
    const row = rowOf(pipe, 'taskwire-mp');
    const r = row?.vsSeed?.tasksPerSec;
    if (r === undefined) missing('issue17', target, 'pipeline with the seed');
    else add('issue17', target, `${x(r)} seed (${int(row.metrics.tasksPerSec.median)} vs ${int(seedPipe.metrics.tasksPerSec.median)} tasks/s)`, r >= 1);
  }
  // The Workers table: every W of the sweep.
  const sweep = summary.filter((g) => g.workload === 'workers').sort((a, b) => a.params.W - b.params.W);
  for (const system of ['taskwire-ts', 'taskwire-py']) {
    const ws = sweep.map((g) => g.params.W);
    const target = `Workers table (W = ${ws.length ? ws.join(', ') : '1, 8, 64'}): ${system} ≥ 2× seed at every W`;
    const ratios = sweep.map((g) => ({ W: g.params.W, r: rowOf(g, system)?.vsSeed?.tasksPerSec }));
    if (ratios.length === 0 || ratios.some((p) => p.r === undefined)) missing(I, target, 'workers with the seed');
    else
      add(
        I,
        target,
        ratios.map((p) => `W=${p.W} ${x(p.r)}`).join(', '),
        ratios.every((p) => p.r >= 2),
      );
  }
  // Large payloads: throughput and the manager's CPU per task against the seed's.
  for (const key of ['64 KiB', '1 MiB']) {
    const g = find(summary, 'payload', key);
    const ts = rowOf(g, 'taskwire-ts');
    const seed = rowOf(g, 'seed');
    const t1 = `${key} payloads: throughput (taskwire-ts) ≥ 1.5× seed`;
    if (ts?.vsSeed?.tasksPerSec === undefined) missing(I, t1, `payload ${key} with the seed`);
    else add(I, t1, `${x(ts.vsSeed.tasksPerSec)} seed (${int(ts.metrics.tasksPerSec.median)} vs ${int(seed.metrics.tasksPerSec.median)} tasks/s)`, ts.vsSeed.tasksPerSec >= 1.5);
    const t2 = `${key} payloads: manager CPU per task (taskwire-ts) ≤ ¾ the seed's`;
    const a = ts?.metrics.managerCpuUsPerTask?.median;
    const b = seed?.metrics.managerCpuUsPerTask?.median;
    if (!Number.isFinite(a) || !Number.isFinite(b)) missing(I, t2, `payload ${key} with the seed`);
    else add(I, t2, `${int(a)} vs seed ${int(b)} µs/task = ${x(a / b)}`, a <= 0.75 * b);
  }
  {
    const target = 'manager memory per queued 64 KiB task (taskwire-ts-batch, putMany) ≤ 1.2 × 64 KiB';
    const g = find(summary, 'memory', '64 KiB tasks');
    const m = rowOf(g, 'taskwire-ts-batch')?.metrics.bytesPerTask?.median;
    const seed = rowOf(g, 'seed')?.metrics.bytesPerTask?.median;
    if (!Number.isFinite(m)) missing(I, target, 'memory of 64 KiB tasks');
    else add(I, target, `${kib(m)} per task = ${(m / 65536).toFixed(2)} × 64 KiB${Number.isFinite(seed) ? ` (seed ${kib(seed)})` : ''}`, m <= 1.2 * 65536);
  }
  // Latency.
  const lat = find(summary, 'latency');
  const lts = rowOf(lat, 'taskwire-ts');
  const lseed = rowOf(lat, 'seed');
  const floor = rowOf(lat, 'floor-node');
  {
    const t1 = 'latency p50 (taskwire-ts) ≤ 0.6× seed p50';
    if (lts?.vsSeed?.p50 === undefined) missing(I, t1, 'latency with the seed');
    else add(I, t1, `${int(lts.metrics.p50.median)} µs vs seed ${int(lseed.metrics.p50.median)} µs = ${x(lts.vsSeed.p50)}`, lts.vsSeed.p50 <= 0.6);
    const t2 = 'latency p50 (taskwire-ts) within 50 µs of floor-node (same run)';
    const a = lts?.metrics.p50?.median;
    const f = floor?.metrics.p50?.median;
    if (!Number.isFinite(a) || !Number.isFinite(f)) missing(I, t2, 'latency with floor-node');
    else add(I, t2, `${int(a)} µs vs floor-node ${int(f)} µs: +${int(a - f)} µs`, a - f <= 50);
    const t3 = 'latency p99 (taskwire-ts) ≤ 2 × seed p50';
    if (lts?.vsSeed?.p99OverSeedP50 === undefined) missing(I, t3, 'latency with the seed');
    else add(I, t3, `${int(lts.metrics.p99.median)} µs vs 2 × ${int(lseed.metrics.p50.median)} = ${int(2 * lseed.metrics.p50.median)} µs`, lts.vsSeed.p99OverSeedP50 <= 2);
  }

  targets.push(...redisTargets(summary));

  // Kept from earlier issues.
  const K = 'kept';
  const mem = rowOf(find(summary, 'memory', '20-byte tasks'), 'taskwire-ts-batch');
  if (mem?.metrics.bytesPerTask) add(K, 'manager memory ≤ 300 bytes per queued 20-byte task', `${int(mem.metrics.bytesPerTask.median)} B/task`, mem.metrics.bytesPerTask.median <= 300);
  else missing(K, 'manager memory ≤ 300 bytes per queued 20-byte task', 'memory of 20-byte tasks');
  {
    // Issue 20: /metrics scraped every second, against the same pipeline unscraped. "Within the
    // noise": the scraped median is at least 95% of the unscraped one, or inside the spread of
    // the unscraped runs.
    const target = "throughput, pipeline W=2, /metrics scraped every second (taskwire-ts-metrics) within the noise of taskwire-ts (median ratio ≥ 0.95, or inside its runs' spread)";
    const scraped = rowOf(pipe, 'taskwire-ts-metrics')?.metrics.tasksPerSec;
    const plain = rowOf(pipe, 'taskwire-ts')?.metrics.tasksPerSec;
    if (!scraped || !plain) missing('issue20', target, 'pipeline with taskwire-ts and taskwire-ts-metrics');
    else {
      const r = scraped.median / plain.median;
      const scrapes = rowOf(pipe, 'taskwire-ts-metrics').metrics.metricsScrapes?.median;
      add(
        'issue20',
        target,
        `${r.toFixed(3)} (${int(scraped.median)} vs ${int(plain.median)} tasks/s; unscraped runs ${int(plain.min)}–${int(plain.max)}${Number.isFinite(scrapes) ? `; ${int(scrapes)} scrapes per run` : ''})`,
        r >= 0.95 || scraped.median >= plain.min,
      );
    }
  }
  const idle = find(summary, 'idle');
  if (!idle) missing(K, '1,000 idle connections: manager RSS increase < 50 MB and pipeline slowdown < 10%', 'idle');
  for (const system of ['taskwire-ts', 'taskwire-ts-async', 'taskwire-ts-batch']) {
    const w = rowOf(idle, system, 'with');
    if (!w?.metrics.idleRssIncrease) continue;
    const count = idle.params.idle;
    const inc = w.metrics.idleRssIncrease.median;
    add(
      K,
      `${int(count)} idle connections: manager RSS increase < ${count === 1000 ? '50 MB' : `${(50 * count) / 1000} MB (50 MB per 1,000)`} (${system})`,
      `+${mb(inc)} MB (${int(inc / count)} B/connection)`,
      inc < (50 * 1048576 * count) / 1000,
    );
    if (w.withOverWithout !== undefined) {
      const r = w.withOverWithout;
      add(
        K,
        `${int(count)} idle connections: pipeline slowdown < 10% (${system})`,
        `with / without = ${r.toFixed(3)} (${r < 1 ? `${pct(1 - r)} slower` : `no slowdown: ${pct(r - 1)} faster, within the noise`})`,
        r > 0.9,
      );
    }
  }
  return targets;
}

/**
 * A profile summary's self time per cost group (ms). Summaries written before the cost groups
 * existed only list the heaviest functions: those are grouped, the rest counted as "other",
 * and the result marked approximate.
 */
export function costsOf(p) {
  const groups = Object.fromEntries(COST_GROUPS.map((g) => [g.key, 0]));
  if (Array.isArray(p.costs)) {
    for (const c of p.costs) groups[c.group] = c.selfMs;
    return { groups, activeMs: p.activeMs, approximate: false };
  }
  let listed = 0;
  for (const f of p.functions ?? []) {
    const loc = f.location.replace(/:\d+$/, '');
    const url = !loc ? '' : loc.startsWith('node:') ? loc : loc.startsWith('taskwire/') ? `file:///x/taskwire/dist/src/${loc.slice(9)}` : `file:///x/node_modules/${loc}`;
    groups[costGroupOf(f.function, url)] += f.selfMs;
    listed += f.selfMs;
  }
  groups.other += Math.max(0, p.activeMs - listed);
  return { groups, activeMs: p.activeMs, approximate: true };
}

/**
 * A profiled row's cost groups in µs per task: `sampled` (self ms × 1000 / tasks, what the
 * profiler saw, wall time) and `cpu` (each group's share of the busy time without start-up ×
 * the manager CPU µs/task /proc measured during the clock; start-up left out).
 */
export function perTaskCosts(row, costs) {
  const tasks = row.metrics.tasks?.median;
  const us = (ms) => (Number.isFinite(ms) && tasks ? (ms * 1000) / tasks : NaN);
  const sampled = Object.fromEntries(COST_GROUPS.map((g) => [g.key, us(costs.groups[g.key])]));
  const startup = costs.groups.startup ?? 0;
  sampled.total = us(costs.activeMs);
  sampled.withoutStartup = us(costs.activeMs - startup);
  const cpuPerTask = row.metrics.managerCpuUsPerTask?.median;
  const busy = costs.activeMs - startup;
  const cpu = Object.fromEntries(COST_GROUPS.filter((g) => g.key !== 'startup').map((g) => [g.key, busy > 0 && Number.isFinite(cpuPerTask) ? (costs.groups[g.key] / busy) * cpuPerTask : NaN]));
  cpu.total = cpuPerTask;
  return { sampled, cpu };
}

/** The flame graphs a report has: one per profiled manager, file name and title. */
export function flameGraphs(groups) {
  const out = [];
  for (const g of groups.filter((g) => g.workload === 'profile')) {
    for (const r of g.rows) {
      const p = r.profiles?.manager;
      if (!p?.flame) continue;
      const suffix = g.key === 'W=2' ? '' : `-${g.key.replace(/\s+/g, '')}`;
      const tasks = r.metrics.tasks?.median;
      out.push({
        file: `manager-${r.system}${suffix}.flame.svg`,
        title: `Manager CPU: ${r.system}, pipeline ${g.key === 'W=2' ? 'W=2' : `W=2, payload ${g.key}`}, N = ${int(tasks)}`,
        subtitle: `busy ${int(p.activeMs)} ms of ${int(p.totalMs)} ms profiled (start-up included); ${int(r.metrics.tasksPerSec?.median)} tasks/s under the profiler`,
        folded: expandFolded(p.flame),
        tasks,
      });
    }
  }
  return out;
}

function pipelineTable(group, versus = 'seed', payloadSize = 0) {
  const rows = group.rows.map((r) => {
    const m = r.metrics;
    return [
      `**${r.system}**`,
      med(m.tasksPerSec),
      range(m.tasksPerSec),
      ...(payloadSize ? [med(m.tasksPerSec, (v) => ((v * payloadSize) / 1e6).toFixed(1))] : []),
      versus === 'in memory' ? x(r.vsInMemory) : r.system === 'seed' ? '1×' : x(r.vsSeed?.tasksPerSec),
      med(m.elapsed, (v) => v.toFixed(2)),
      med(m.managerCpuUsPerTask),
      med(m.managerCpuShare, (v) => v.toFixed(2)),
      med(m.producerCpuUsPerTask),
      med(m.workersCpuUsPerTask),
      med(m.tasks),
      `${r.runs}/${group.runsPlanned}`,
    ];
  });
  return table(
    [
      'system',
      'tasks/s (median)',
      'min..max',
      ...(payloadSize ? ['payload MB/s'] : []),
      `vs ${versus}`,
      'seconds',
      'manager CPU µs/task',
      'manager cores busy',
      'producer CPU µs/task',
      'workers CPU µs/task',
      'tasks',
      'runs ok',
    ],
    rows,
  );
}

export function renderMarkdown(report) {
  const { environment: env, groups, targets } = report;
  const out = [];
  out.push(`# Taskwire benchmark`);
  out.push('');
  out.push(
    `${env.date} · commit ${env.commit ?? '?'}${env.serverDir ? ` (the server of ${env.serverDir})` : ''}${env.worktreeDirty ? ' + uncommitted changes in server/ or samples/' : ''}${env.serverBuiltAt ? ` (server build of ${env.serverBuiltAt.slice(0, 16).replace('T', ' ')} UTC${report.options.snapshot ? ', snapshot taken at the start' : ''})` : ''} · taskwire ${env.taskwireVersion} · node ${env.node} · ${env.python ?? 'python ?'} · ${env.cpus} × ${env.cpuModel ?? 'CPU'} · ${env.memoryGiB} GiB · load ${env.loadavgAtStart.join(' ')} → ${env.loadavgAtEnd.join(' ')} · ${report.options.quick ? 'QUICK (smoke) run, ' : ''}${report.options.runs} run(s) per measurement · total ${Math.round(report.totalSeconds)} s`,
  );
  out.push('');
  out.push(
    'Medians over runs, with min..max; "vs seed" divides by the seed\'s median measured in the same run (throughput: higher is better; latency and memory: lower is better). Every measurement starts a fresh manager. Machines like this one are shared and noisy: compare ratios, not absolute numbers across runs.' +
      (report.options?.pipelineWarmup > 0
        ? ` Every pipeline first runs ${report.options.pipelineWarmup} × its N tasks through its manager the same way, untimed (--pipeline-warmup ${report.options.pipelineWarmup}), for every system alike: its clock and CPU readings measure a manager that has been running, not a fresh one's first tasks (V8's JIT warm-up).`
        : ''),
  );
  out.push('');
  out.push('Systems:');
  for (const [name, description] of Object.entries(report.systems)) out.push(`- **${name}**: ${description}`);
  out.push('');

  if (targets.length) {
    out.push('## Targets');
    out.push('');
    if (report.options.quick) {
      out.push('**Quick (smoke) run**: tiny N and one run, JIT not warmed up — these numbers only show that every path works; judge the targets on a full run.');
      out.push('');
    }
    const met = (t) => (t.pass === undefined ? '—' : t.pass ? 'met' : '**not met**');
    for (const tg of TARGET_GROUPS) {
      const own = targets.filter((t) => (t.group ?? 'kept') === tg.key);
      if (own.length === 0) continue;
      out.push(`### ${tg.title}`);
      out.push('');
      out.push(
        table(
          ['target', 'measured (medians)', ''],
          own.map((t) => [t.target, t.measured, met(t)]),
        ),
      );
      out.push('');
    }
  }

  out.push(...redisSection(groups, report.notes ?? []));

  const pipeline = groups.filter((g) => g.workload === 'pipeline');
  for (const g of pipeline) {
    out.push(`## Pipeline`);
    out.push('');
    out.push(`${g.title}; clock from the first put to the last result.`);
    out.push('');
    out.push(pipelineTable(g));
    out.push('');
  }

  const sweep = groups.filter((g) => g.workload === 'workers');
  if (sweep.length) {
    const cols = [...sweep];
    const pipe = pipeline[0];
    if (pipe && !cols.some((g) => g.params.W === 2)) cols.push({ ...pipe, key: 'W=2', fromPipeline: true });
    cols.sort((a, b) => a.params.W - b.params.W);
    out.push('## Workers');
    out.push('');
    out.push(
      `Pipeline throughput (tasks/s, median, and × seed) against the number of workers W. N = ${int(sweep[0].params.n)}${cols.some((c) => c.fromPipeline) ? ` (the W = 2 column is the pipeline above, N = ${int(pipe.params.n)})` : ''}. TypeScript workers: W processes up to ${report.options.tsMaxProcs}, beyond that ${report.options.tsMaxProcs} processes with W / ${report.options.tsMaxProcs} connections each; Python workers (seed, taskwire-py): W processes.`,
    );
    out.push('');
    const systems = [...new Set(cols.flatMap((c) => c.rows.map((r) => r.system)))];
    out.push(
      table(
        ['system', ...cols.map((c) => `W = ${c.params.W}`)],
        systems.map((s) => [
          `**${s}**`,
          ...cols.map((c) => {
            const r = rowOf(c, s);
            if (!r?.metrics.tasksPerSec) return '—';
            return `${med(r.metrics.tasksPerSec)} (${range(r.metrics.tasksPerSec)})${s === 'seed' ? '' : ` ${x(r.vsSeed?.tasksPerSec)}`}`;
          }),
        ]),
      ),
    );
    out.push('');
    out.push('![pipeline throughput against workers](pipeline-workers.svg)');
    out.push('');
  }

  const payloads = groups.filter((g) => g.workload === 'payload');
  for (const g of payloads) {
    out.push(`## Payload ${g.key}`);
    out.push('');
    out.push(`${g.title} (the result is the payload plus " ---> success"); payload MB/s = tasks/s × the payload's size, one way.`);
    out.push('');
    out.push(pipelineTable(g, 'seed', g.params.size));
    out.push('');
  }
  if (payloads.length) {
    out.push('![pipeline throughput against payload size](pipeline-payload.svg)');
    out.push('');
  }

  for (const g of groups.filter((g) => g.workload === 'latency')) {
    out.push('## Latency');
    out.push('');
    out.push(`${g.title}; one producer, one worker; round trip in µs.`);
    out.push('');
    if (g.rows.some((r) => r.system.startsWith('floor-'))) {
      out.push(
        'The floors are not queues: three processes relay one line producer → relay → echo → relay → producer, the four loopback crossings of a put → result round trip through a manager, with no work. No brokered round trip in that language can beat its floor on this machine.',
      );
      out.push('');
    }
    out.push(
      table(
        ['system', 'p50 µs', 'min..max', 'p99 µs', 'min..max', 'p50 vs seed', 'p99 vs seed p50', 'mean µs', 'runs ok'],
        g.rows.map((r) => [
          `**${r.system}**`,
          med(r.metrics.p50),
          range(r.metrics.p50),
          med(r.metrics.p99),
          range(r.metrics.p99),
          r.system === 'seed' ? '1×' : x(r.vsSeed?.p50),
          r.system === 'seed' ? `${x(r.metrics.p99?.median / r.metrics.p50?.median)} (its own p50)` : x(r.vsSeed?.p99OverSeedP50),
          med(r.metrics.mean),
          `${r.runs}/${g.runsPlanned}`,
        ]),
      ),
    );
    out.push('');
  }

  for (const g of groups.filter((g) => g.workload === 'idle')) {
    out.push('## Idle connections');
    out.push('');
    out.push(
      `${g.title}. Taskwire's idle connections are TypeScript clients in one Node process; the seed's are threads of one Python process, each with its own connection (the manager serves each with a thread). The RSS increase is the manager's VmRSS after the ${int(g.params.idle)} connections opened minus before, with one idle connection already open (so the one-time costs of a first connection are left out; the column "from a fresh manager" includes them).`,
    );
    out.push('');
    const systems = [...new Set(g.rows.map((r) => r.system))];
    out.push(
      table(
        ['system', 'without: tasks/s', 'with: tasks/s', 'with / without', 'manager RSS increase', 'per connection', 'RSS increase from a fresh manager', 'time to open them'],
        systems.map((s) => {
          const a = rowOf(g, s, 'without');
          const b = rowOf(g, s, 'with');
          return [
            `**${s}**`,
            `${med(a?.metrics.tasksPerSec)} (${range(a?.metrics.tasksPerSec)})`,
            `${med(b?.metrics.tasksPerSec)} (${range(b?.metrics.tasksPerSec)})`,
            b?.withOverWithout !== undefined ? b.withOverWithout.toFixed(3) : '—',
            b?.metrics.idleRssIncrease ? `+${mb(b.metrics.idleRssIncrease.median)} MB (${range(b.metrics.idleRssIncrease, mb)})` : '—',
            b?.metrics.idleBytesPerConnection ? `${(b.metrics.idleBytesPerConnection.median / 1024).toFixed(1)} KiB` : '—',
            b?.metrics.idleRssIncreaseFromStart ? `+${mb(b.metrics.idleRssIncreaseFromStart.median)} MB` : '—',
            b?.metrics.idleConnectSeconds ? `${b.metrics.idleConnectSeconds.median.toFixed(1)} s` : '—',
          ];
        }),
      ),
    );
    out.push('');
  }

  for (const g of groups.filter((g) => g.workload === 'memory')) {
    const size = g.params.size ?? 20;
    out.push(size > 20 ? `## Memory of queued ${g.key}` : '## Memory of queued tasks');
    out.push('');
    out.push(
      `${g.title}. Bytes per task = (manager VmRSS after the puts − before) / tasks, no forced GC${size > 20 ? `; "× payload" divides it by the payload's ${int(size)} bytes` : ''}. Drain: Taskwire getMany + ackMany; the seed one get per task.`,
    );
    out.push('');
    out.push(
      table(
        ['system', 'tasks', 'RSS before → after (MB)', 'bytes per task', 'min..max', ...(size > 20 ? ['× payload'] : []), 'put tasks/s', 'drain seconds', 'drain tasks/s', 'drain vs seed'],
        g.rows.map((r) => [
          `**${r.system}**`,
          med(r.metrics.tasks),
          `${med(r.metrics.rssBefore, mb)} → ${med(r.metrics.rssAfter, mb)}`,
          med(r.metrics.bytesPerTask),
          range(r.metrics.bytesPerTask),
          ...(size > 20 ? [med(r.metrics.bytesPerTask, (v) => (v / size).toFixed(2))] : []),
          med(r.metrics.putPerSec),
          med(r.metrics.drainSeconds, (v) => v.toFixed(2)),
          med(r.metrics.drainPerSec),
          r.system === 'seed' ? '1×' : x(r.vsSeed?.drainPerSec),
        ]),
      ),
    );
    out.push('');
  }

  const durable = groups.filter((g) => g.workload === 'durable');
  if (durable.length || report.notes.some((n) => n.startsWith('durable'))) {
    out.push('## Durable store (fsync modes)');
    out.push('');
    for (const note of report.notes.filter((n) => n.startsWith('durable'))) out.push(note);
    for (const g of durable) {
      out.push(`### ${g.key}`);
      out.push('');
      const inMemory = memory(groups);
      out.push(
        `${g.title}; "vs in memory" divides by the same system's tasks/s in the pipeline above (no --data-dir${inMemory && inMemory.params.n !== g.params.n ? `, N = ${int(inMemory.params.n)}: the shorter durable runs carry more JIT warm-up, so the ratio understates a little` : ''}).`,
      );
      out.push('');
      out.push(pipelineTable(g, 'in memory'));
      out.push('');
    }
    out.push('');
  }

  const profiles = groups.filter((g) => g.workload === 'profile');
  if (profiles.length) {
    out.push('## Where the time goes: `node --cpu-prof`');
    out.push('');
    out.push(
      "Self time with idle left out, as a share of each process's busy time; each process's whole lifetime is profiled (start-up and connecting included). `writeBuffer` is the native socket write (the syscall; on loopback it includes handing the bytes to the receiving socket and waking its reader).",
    );
    out.push('');
    const cols = profiles.flatMap((g) => g.rows.filter((r) => r.profiles?.manager && !r.profiles.manager.error).map((r) => ({ g, r, costs: costsOf(r.profiles.manager) })));
    if (cols.length) {
      out.push('### Top costs per task (the manager)');
      out.push('');
      out.push(
        "The manager's self time grouped by what it does, in µs per task (self ms × 1000 / tasks of that run, under the profiler, start-up included in its own row). V8 charges JSON.parse and JSON.stringify to the function calling them: the samples on a source line that calls them count as JSON. The profiler samples wall time: on a loaded machine, the time a runnable manager waits for a core is charged to what it was doing, so the total can exceed the CPU time /proc measured (compare the two rows at the bottom). `node bench/run.mjs --compare OLD.json NEW.json` prints this table for two runs side by side.",
      );
      out.push('');
      const f = (v) => (Number.isFinite(v) ? v.toFixed(1) : '—');
      const per = cols.map((c) => perTaskCosts(c.r, c.costs));
      const header = ['µs per task', ...cols.map((c) => `${c.r.system} (${c.g.key})${c.costs.approximate ? ' ≈' : ''}`)];
      const rows = COST_GROUPS.map((grp) => [`${grp.label}`, ...per.map((p) => f(p.sampled[grp.key]))]);
      rows.push(['**total busy**', ...per.map((p) => `**${f(p.sampled.total)}**`)]);
      rows.push(['total without start-up', ...per.map((p) => f(p.sampled.withoutStartup))]);
      rows.push(['manager CPU µs/task (/proc, same run)', ...cols.map((c) => med(c.r.metrics.managerCpuUsPerTask))]);
      rows.push(['tasks', ...cols.map((c) => med(c.r.metrics.tasks))]);
      out.push(table(header, rows));
      out.push('');
      out.push(
        "Scaled to the manager's CPU time: each group's share of the busy time without start-up × the manager CPU µs/task `/proc` measured in the same run. The machine's load does not inflate these; compare runs with them.",
      );
      out.push('');
      const scaled = COST_GROUPS.filter((grp) => grp.key !== 'startup').map((grp) => [`${grp.label}`, ...per.map((p) => f(p.cpu[grp.key]))]);
      scaled.push(['**total** (= manager CPU µs/task)', ...per.map((p) => `**${f(p.cpu.total)}**`)]);
      out.push(table(header, scaled));
      out.push('');
      out.push(COST_GROUPS.map((grp) => `**${grp.label}**: ${grp.what}.`).join(' '));
      if (cols.some((c) => c.costs.approximate)) out.push(' ≈: from the 25 heaviest functions only (a latest.json written before the cost groups); the rest is in "other".');
      out.push('');
    }
    const flames = flameGraphs(groups);
    if (flames.length) {
      out.push('### Flame graphs (the manager)');
      out.push('');
      for (const f of flames) out.push(`- [${f.title}](${f.file})`);
      out.push('');
      out.push(`![${flames[0].title}](${flames[0].file})`);
      out.push('');
    }
  }
  for (const g of profiles) {
    out.push(`${g.title}.`);
    out.push('');
    for (const r of g.rows) {
      out.push(`### ${r.system} (${g.key}): ${med(r.metrics.tasksPerSec)} tasks/s under the profiler`);
      out.push('');
      if (!r.profiles) {
        out.push('No profile.');
        out.push('');
        continue;
      }
      for (const who of ['manager', 'producer', 'worker']) {
        const p = r.profiles[who];
        if (!p) continue; // the Python clients are not profiled
        if (p.error) {
          out.push(`${who}: no profile${p?.error ? ` (${p.error})` : ''}.`);
          out.push('');
          continue;
        }
        out.push(`**${who}**: busy ${int(p.activeMs)} ms of ${int(p.totalMs)} ms profiled.`);
        out.push('');
        out.push(
          table(
            ['area (self time)', 'ms', '%'],
            p.areas.slice(0, who === 'manager' ? 15 : 8).map((a) => [tidyLocation(a.area).replace(/\.js$/, ''), int(a.selfMs), a.percent.toFixed(1)]),
          ),
        );
        out.push('');
        out.push(
          table(
            ['function', 'location', 'self ms', '%'],
            p.functions.slice(0, who === 'manager' ? 20 : 8).map((f) => [`\`${f.function}\``, tidyLocation(f.location), int(f.selfMs), f.percent.toFixed(1)]),
          ),
        );
        out.push('');
      }
    }
  }

  if (report.errors.length) {
    out.push('## Failed measurements');
    out.push('');
    for (const e of report.errors) out.push(`- ${e.workload} ${e.key} ${e.system}${e.variant ? ` (${e.variant})` : ''} run ${e.run}: ${e.error.split('\n')[0]}`);
    out.push('');
  }
  const otherNotes = report.notes.filter((n) => !n.startsWith('durable') && !n.startsWith('redis:'));
  if (otherNotes.length) {
    out.push('## Notes');
    out.push('');
    for (const n of otherNotes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// SVG charts: pipeline throughput against workers, and against payload size; log-log, one line
// per system, the seed in grey beside Taskwire.

const COLORS = {
  seed: '#777777',
  'taskwire-mp': '#bf3989',
  'taskwire-ts': '#1f6feb',
  'taskwire-ts-async': '#8250df',
  'taskwire-ts-batch': '#2da44e',
  'taskwire-py': '#d4a72c',
  'bullmq-c1': '#cf222e',
  'bullmq-c16': '#fa8072',
  'taskwire-redis-1': '#1a7f37',
  'taskwire-redis-2': '#2da44e',
  'taskwire-redis-3': '#6fdd8b',
};

/**
 * @param {{ title: string, note: string, xLabel: string, xs: { x: number, label: string }[],
 *   series: { system: string, points: { x: number, m: { median: number, min: number, max: number }, tip: string }[] }[] }} chart
 */
function lineChart({ title, note, xLabel, xs, series }) {
  const values = series.flatMap((s) => s.points.flatMap((p) => [p.m.min, p.m.max, p.m.median])).filter((v) => Number.isFinite(v) && v > 0);
  if (values.length === 0 || xs.length === 0) return undefined;
  const W = 760;
  const H = 440;
  const left = 80;
  const right = 170;
  const top = 50;
  const bottom = 60;
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values))));
  const xMin = Math.log(xs[0].x);
  const xSpan = Math.log(xs.at(-1).x) - xMin || 1;
  const xOf = (v) => left + ((Math.log(v) - xMin) / xSpan) * (W - left - right);
  const yOf = (v) => top + (1 - (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (H - top - bottom);
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${left}" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    for (const m of [1, 2, 5]) {
      const v = d * m;
      if (v > hi * 1.0001) break;
      const y = yOf(v).toFixed(1);
      parts.push(`<line x1="${left}" y1="${y}" x2="${W - right}" y2="${y}" stroke="${m === 1 ? '#cccccc' : '#eeeeee'}"/>`);
      parts.push(`<text x="${left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#444">${v >= 1e6 ? `${v / 1e6}M` : v >= 1000 ? `${v / 1000}k` : v}</text>`);
    }
  }
  for (const t of xs) {
    const xx = xOf(t.x).toFixed(1);
    parts.push(`<line x1="${xx}" y1="${top}" x2="${xx}" y2="${H - bottom}" stroke="#eeeeee"/>`);
    parts.push(`<text x="${xx}" y="${H - bottom + 18}" text-anchor="middle" fill="#444">${escapeXml(t.label)}</text>`);
  }
  parts.push(`<text x="${(left + W - right) / 2}" y="${H - 16}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  parts.push(`<text x="${left}" y="40" font-size="11" fill="#555">${escapeXml(note)}</text>`);
  parts.push(`<line x1="${left}" y1="${H - bottom}" x2="${W - right}" y2="${H - bottom}" stroke="#444"/>`);
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${H - bottom}" stroke="#444"/>`);
  series.forEach((s, i) => {
    const color = COLORS[s.system] ?? '#000000';
    const dash = s.system === 'seed' ? ' stroke-dasharray="6 4"' : '';
    if (s.points.length > 1) {
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${s.points.map((p) => `${xOf(p.x).toFixed(1)},${yOf(p.m.median).toFixed(1)}`).join(' ')}"/>`);
    }
    for (const p of s.points) {
      const xx = xOf(p.x).toFixed(1);
      parts.push(`<line x1="${xx}" y1="${yOf(p.m.min).toFixed(1)}" x2="${xx}" y2="${yOf(p.m.max).toFixed(1)}" stroke="${color}" stroke-width="1"/>`);
      parts.push(`<circle cx="${xx}" cy="${yOf(p.m.median).toFixed(1)}" r="4" fill="${color}"><title>${escapeXml(p.tip)}</title></circle>`);
    }
    const ly = top + 10 + i * 22;
    parts.push(`<line x1="${W - right + 16}" y1="${ly}" x2="${W - right + 40}" y2="${ly}" stroke="${color}" stroke-width="3"${dash}/>`);
    parts.push(`<text x="${W - right + 46}" y="${ly}" dominant-baseline="middle">${escapeXml(s.system)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** Pipeline throughput against the number of workers (the workers groups and the W=2 pipeline). */
export function renderSvg(summary) {
  const cols = summary.filter((g) => g.workload === 'workers');
  const pipe = summary.find((g) => g.workload === 'pipeline');
  if (cols.length === 0) return undefined;
  if (pipe && !cols.some((g) => g.params.W === 2)) cols.push(pipe);
  cols.sort((a, b) => a.params.W - b.params.W);
  const systems = [...new Set(cols.flatMap((c) => c.rows.map((r) => r.system)))];
  const series = systems.map((s) => ({
    system: s,
    points: cols
      .map((c) => ({ x: c.params.W, m: rowOf(c, s)?.metrics.tasksPerSec }))
      .filter((p) => p.m && Number.isFinite(p.m.median))
      .map((p) => ({ ...p, tip: `${s}, W = ${p.x}: ${Math.round(p.m.median)} tasks/s (${Math.round(p.m.min)}..${Math.round(p.m.max)})` })),
  }));
  const ns = [...new Set(cols.map((c) => c.params.n))];
  return lineChart({
    title: 'Pipeline throughput against workers (tasks/s, log scale)',
    note: `N = ${ns.map((n) => n.toLocaleString('en-US')).join(' / ')} per run (batches run more, see latest.md); median, bar = min..max; seed dashed`,
    xLabel: 'workers W (log scale)',
    xs: cols.map((c) => ({ x: c.params.W, label: String(c.params.W) })),
    series,
  });
}

/** The bytes of the pipeline's own payload, image_url_<i> (about 15 for N = 20,000). */
function smallPayloadBytes(n) {
  return `image_url_${Math.floor(n / 2)}`.length;
}

function sizeLabel(bytes) {
  if (bytes >= 1048576) return `${bytes / 1048576} MiB`;
  if (bytes >= 1024) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** Pipeline throughput against payload size (the W=2 pipeline and the payload groups). */
export function renderPayloadSvg(summary) {
  const cols = summary.filter((g) => g.workload === 'payload').map((g) => ({ g, size: g.params.size }));
  if (cols.length === 0) return undefined;
  const pipe = summary.find((g) => g.workload === 'pipeline');
  if (pipe) cols.push({ g: pipe, size: smallPayloadBytes(pipe.params.n) });
  cols.sort((a, b) => a.size - b.size);
  const systems = [...new Set(cols.flatMap((c) => c.g.rows.map((r) => r.system)))];
  const series = systems.map((s) => ({
    system: s,
    points: cols
      .map((c) => ({ x: c.size, m: rowOf(c.g, s)?.metrics.tasksPerSec }))
      .filter((p) => p.m && Number.isFinite(p.m.median))
      .map((p) => ({
        ...p,
        tip: `${s}, payload ${sizeLabel(p.x)}: ${Math.round(p.m.median)} tasks/s (${Math.round(p.m.min)}..${Math.round(p.m.max)}), ${((p.m.median * p.x) / 1e6).toFixed(1)} MB/s of payload`,
      })),
  }));
  return lineChart({
    title: 'Pipeline throughput against payload size (tasks/s, log scale)',
    note: `W = 2; N = ${cols.map((c) => `${c.g.params.n.toLocaleString('en-US')} (${sizeLabel(c.size)})`).join(', ')}; median, bar = min..max; seed dashed`,
    xLabel: 'payload size (log scale; the result is as large)',
    xs: cols.map((c) => ({ x: c.size, label: sizeLabel(c.size) })),
    series,
  });
}

// ---------------------------------------------------------------------------------------------
// Before and after: two latest.json side by side (node bench/run.mjs --compare OLD.json NEW.json).

/** Markdown comparing two reports: the manager's cost per task by group, and the headline numbers. */
export function renderCompare(before, after, { beforeName = 'before', afterName = 'after' } = {}) {
  const out = [];
  const stamp = (r) => `${r.environment?.date?.slice(0, 16).replace('T', ' ') ?? '?'} UTC, commit ${r.environment?.commit ?? '?'}`;
  out.push(`Before: ${beforeName} (${stamp(before)}). After: ${afterName} (${stamp(after)}).`);
  out.push('');
  const change = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && a > 0 ? `${b >= a ? '+' : '−'}${Math.abs((100 * (b - a)) / a).toFixed(0)}%` : '—');
  const profiled = (report) =>
    (report.groups ?? [])
      .filter((g) => g.workload === 'profile')
      .flatMap((g) => g.rows.filter((r) => r.profiles?.manager && !r.profiles.manager.error).map((r) => ({ key: `${r.system} (${g.key})`, r, costs: costsOf(r.profiles.manager) })));
  const a = profiled(before);
  const b = profiled(after);
  for (const col of b) {
    const old = a.find((c) => c.key === col.key);
    if (!old) continue;
    const f = (v) => (Number.isFinite(v) ? v.toFixed(1) : '—');
    const p0 = perTaskCosts(old.r, old.costs);
    const p1 = perTaskCosts(col.r, col.costs);
    out.push(`### Manager cost per task: ${col.key}${old.costs.approximate ? ' (before ≈: from its 25 heaviest functions; the rest is "other")' : ''}`);
    out.push('');
    const both = (a, b) => [f(a), f(b), change(a, b)];
    const rows = COST_GROUPS.map((grp) => [grp.label, ...both(p0.sampled[grp.key], p1.sampled[grp.key]), ...(grp.key === 'startup' ? ['—', '—', ''] : both(p0.cpu[grp.key], p1.cpu[grp.key]))]);
    rows.push(['**total busy**', ...both(p0.sampled.total, p1.sampled.total).map((v, i) => (i < 2 ? `**${v}**` : v)), ...both(p0.cpu.total, p1.cpu.total).map((v, i) => (i < 2 ? `**${v}**` : v))]);
    rows.push(['total without start-up', ...both(p0.sampled.withoutStartup, p1.sampled.withoutStartup), '', '', '']);
    rows.push(['tasks under the profiler', int(old.r.metrics.tasks?.median), int(col.r.metrics.tasks?.median), '', '', '', '']);
    out.push(table(['µs per task', 'sampled before', 'sampled after', 'change', 'CPU before', 'CPU after', 'change'], rows));
    out.push('');
    out.push(
      "Sampled: self ms × 1000 / tasks (the profiler samples wall time, so a loaded machine inflates it). CPU: each group's share of the busy time without start-up × the manager CPU µs/task /proc measured (total busy = that CPU); compare these across runs.",
    );
    out.push('');
  }
  // Headline numbers: throughput and manager CPU of the pipeline-like groups, latency.
  const headline = [];
  for (const g of after.groups ?? []) {
    if (!['pipeline', 'workers', 'payload'].includes(g.workload)) continue;
    const g0 = (before.groups ?? []).find((o) => o.workload === g.workload && o.key === g.key);
    if (!g0) continue;
    for (const r of g.rows) {
      const r0 = rowOf(g0, r.system);
      if (!r0) continue;
      const tp0 = r0.metrics.tasksPerSec?.median;
      const tp1 = r.metrics.tasksPerSec?.median;
      const vs = (row) => (row.system === 'seed' ? '' : ` (${x(row.vsSeed?.tasksPerSec)} seed)`);
      headline.push([
        `${g.workload} ${g.key}`,
        r.system,
        `${int(tp0)}${vs(r0)}`,
        `${int(tp1)}${vs(r)}`,
        change(tp0, tp1),
        int(r0.metrics.managerCpuUsPerTask?.median),
        int(r.metrics.managerCpuUsPerTask?.median),
      ]);
    }
  }
  if (headline.length) {
    out.push('### Throughput and manager CPU');
    out.push('');
    out.push(table(['measurement', 'system', 'tasks/s before', 'tasks/s after', 'change', 'manager µs/task before', 'after'], headline));
    out.push('');
  }
  const l0 = (before.groups ?? []).find((g) => g.workload === 'latency');
  const l1 = (after.groups ?? []).find((g) => g.workload === 'latency');
  if (l0 && l1) {
    const rows = l1.rows
      .map((r) => [r, rowOf(l0, r.system)])
      .filter(([, r0]) => r0)
      .map(([r, r0]) => [r.system, int(r0.metrics.p50?.median), int(r.metrics.p50?.median), int(r0.metrics.p99?.median), int(r.metrics.p99?.median)]);
    out.push('### Latency (µs)');
    out.push('');
    out.push(table(['system', 'p50 before', 'p50 after', 'p99 before', 'p99 after'], rows));
    out.push('');
  }
  if (out.length <= 2) out.push('Nothing to compare: the two reports share no measurement.');
  return out.join('\n');
}
