// Turns the runs into medians with min..max, ratios against the seed, the targets, a Markdown
// report and a hand-made SVG chart.
import { summarize } from './stats.mjs';
import { tidyLocation } from './profile.mjs';

const PIPELINE_LIKE = new Set(['pipeline', 'workers', 'payload', 'idle', 'durable', 'profile']);

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

/** The project's performance targets, checked against this run's medians. */
export function evaluateTargets(summary) {
  const targets = [];
  const add = (target, measured, pass) => targets.push({ target, measured, pass });
  const pipe = find(summary, 'pipeline', 'W=2');
  const ts = rowOf(pipe, 'taskwire-ts');
  const tsAsync = rowOf(pipe, 'taskwire-ts-async');
  const batch = rowOf(pipe, 'taskwire-ts-batch');
  const py = rowOf(pipe, 'taskwire-py');
  if (tsAsync?.vsSeed?.tasksPerSec !== undefined)
    add('pipeline W=2, one call per task, calls in flight (taskwire-ts-async) ≥ 3× seed', `${x(tsAsync.vsSeed.tasksPerSec)} seed`, tsAsync.vsSeed.tasksPerSec >= 3);
  if (ts?.vsSeed?.tasksPerSec !== undefined) add('pipeline W=2, one call per task, each awaited (taskwire-ts) ≥ 3× seed', `${x(ts.vsSeed.tasksPerSec)} seed`, ts.vsSeed.tasksPerSec >= 3);
  if (py?.vsSeed?.tasksPerSec !== undefined) add('pipeline W=2, one call per task (taskwire-py) ≥ 3× seed', `${x(py.vsSeed.tasksPerSec)} seed`, py.vsSeed.tasksPerSec >= 3);
  if (batch?.vsSeed?.tasksPerSec !== undefined) add('pipeline W=2, batches (taskwire-ts-batch) ≥ 25× seed', `${x(batch.vsSeed.tasksPerSec)} seed`, batch.vsSeed.tasksPerSec >= 25);
  const lat = find(summary, 'latency');
  const lts = rowOf(lat, 'taskwire-ts');
  const lseed = rowOf(lat, 'seed');
  if (lts?.vsSeed?.p50 !== undefined) {
    add('latency p50 (taskwire-ts) ≤ ½ seed p50', `${int(lts.metrics.p50.median)} µs vs seed ${int(lseed.metrics.p50.median)} µs = ${x(lts.vsSeed.p50)}`, lts.vsSeed.p50 <= 0.5);
    add(
      'latency p99 (taskwire-ts) ≤ 2 × seed p50',
      `${int(lts.metrics.p99.median)} µs vs 2 × ${int(lseed.metrics.p50.median)} = ${int(2 * lseed.metrics.p50.median)} µs`,
      lts.vsSeed.p99OverSeedP50 <= 2,
    );
  }
  const mem = rowOf(find(summary, 'memory'), 'taskwire-ts-batch');
  if (mem?.metrics.bytesPerTask) add('manager memory ≤ 300 bytes per queued 20-byte task', `${int(mem.metrics.bytesPerTask.median)} B/task`, mem.metrics.bytesPerTask.median <= 300);
  const idle = find(summary, 'idle');
  for (const system of ['taskwire-ts', 'taskwire-ts-async', 'taskwire-ts-batch']) {
    const w = rowOf(idle, system, 'with');
    if (!w?.metrics.idleRssIncrease) continue;
    const count = idle.params.idle;
    const inc = w.metrics.idleRssIncrease.median;
    add(
      `${int(count)} idle connections: manager RSS increase < ${count === 1000 ? '50 MB' : `${(50 * count) / 1000} MB (50 MB per 1,000)`} (${system})`,
      `+${mb(inc)} MB (${int(inc / count)} B/connection)`,
      inc < (50 * 1048576 * count) / 1000,
    );
    if (w.withOverWithout !== undefined) {
      const r = w.withOverWithout;
      add(
        `${int(count)} idle connections: pipeline slowdown < 10% (${system})`,
        `with / without = ${r.toFixed(3)} (${r < 1 ? `${pct(1 - r)} slower` : `no slowdown: ${pct(r - 1)} faster, within the noise`})`,
        r > 0.9,
      );
    }
  }
  return targets;
}

// ---------------------------------------------------------------------------------------------
// Formatting

function int(v) {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—';
}
function mb(bytes) {
  return Number.isFinite(bytes) ? (bytes / 1048576).toFixed(1) : '—';
}
function x(ratio) {
  if (!Number.isFinite(ratio)) return '—';
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio >= 1 ? ratio.toFixed(1) : ratio.toFixed(2)}×`;
}
function pct(f) {
  return `${(f * 100).toFixed(1)}%`;
}
function range(m, f = int) {
  return m ? `${f(m.min)}..${f(m.max)}` : '—';
}
function med(m, f = int) {
  return m ? f(m.median) : '—';
}
function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function pipelineTable(group, versus = 'seed') {
  const rows = group.rows.map((r) => {
    const m = r.metrics;
    return [
      `**${r.system}**`,
      med(m.tasksPerSec),
      range(m.tasksPerSec),
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
    ['system', 'tasks/s (median)', 'min..max', `vs ${versus}`, 'seconds', 'manager CPU µs/task', 'manager cores busy', 'producer CPU µs/task', 'workers CPU µs/task', 'tasks', 'runs ok'],
    rows,
  );
}

export function renderMarkdown(report) {
  const { environment: env, groups, targets } = report;
  const out = [];
  out.push(`# Taskwire benchmark`);
  out.push('');
  out.push(
    `${env.date} · commit ${env.commit ?? '?'}${env.worktreeDirty ? ' + uncommitted changes in server/ or samples/' : ''}${env.serverBuiltAt ? ` (server build of ${env.serverBuiltAt.slice(0, 16).replace('T', ' ')} UTC${report.options.snapshot ? ', snapshot taken at the start' : ''})` : ''} · taskwire ${env.taskwireVersion} · node ${env.node} · ${env.python ?? 'python ?'} · ${env.cpus} × ${env.cpuModel ?? 'CPU'} · ${env.memoryGiB} GiB · load ${env.loadavgAtStart.join(' ')} → ${env.loadavgAtEnd.join(' ')} · ${report.options.quick ? 'QUICK (smoke) run, ' : ''}${report.options.runs} run(s) per measurement · total ${Math.round(report.totalSeconds)} s`,
  );
  out.push('');
  out.push(
    'Medians over runs, with min..max; "vs seed" divides by the seed\'s median measured in the same run (throughput: higher is better; latency and memory: lower is better). Every measurement starts a fresh manager. Machines like this one are shared and noisy: compare ratios, not absolute numbers across runs.',
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
    out.push(
      table(
        ['target', 'measured (medians)', ''],
        targets.map((t) => [t.target, t.measured, t.pass ? 'met' : '**not met**']),
      ),
    );
    out.push('');
  }

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

  for (const g of groups.filter((g) => g.workload === 'payload')) {
    out.push(`## Payload ${g.key}`);
    out.push('');
    out.push(`${g.title} (the result is the payload plus " ---> success").`);
    out.push('');
    out.push(pipelineTable(g));
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
    out.push('## Memory of queued tasks');
    out.push('');
    out.push(`${g.title}. Bytes per task = (manager VmRSS after the puts − before) / tasks, no forced GC. Drain: Taskwire getMany(10,000) + ackMany; the seed one get per task.`);
    out.push('');
    out.push(
      table(
        ['system', 'tasks', 'RSS before → after (MB)', 'bytes per task', 'min..max', 'put tasks/s', 'drain seconds', 'drain tasks/s', 'drain vs seed'],
        g.rows.map((r) => [
          `**${r.system}**`,
          med(r.metrics.tasks),
          `${med(r.metrics.rssBefore, mb)} → ${med(r.metrics.rssAfter, mb)}`,
          med(r.metrics.bytesPerTask),
          range(r.metrics.bytesPerTask),
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
        if (!p || p.error) {
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
  const otherNotes = report.notes.filter((n) => !n.startsWith('durable'));
  if (otherNotes.length) {
    out.push('## Notes');
    out.push('');
    for (const n of otherNotes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// SVG: pipeline throughput against workers, log-log, one line per system.

const COLORS = { seed: '#777777', 'taskwire-ts': '#1f6feb', 'taskwire-ts-async': '#8250df', 'taskwire-ts-batch': '#2da44e', 'taskwire-py': '#d4a72c' };

export function renderSvg(summary) {
  const cols = summary.filter((g) => g.workload === 'workers');
  const pipe = summary.find((g) => g.workload === 'pipeline');
  if (cols.length === 0) return undefined;
  if (pipe && !cols.some((g) => g.params.W === 2)) cols.push(pipe);
  cols.sort((a, b) => a.params.W - b.params.W);
  const systems = [...new Set(cols.flatMap((c) => c.rows.map((r) => r.system)))];
  const series = systems.map((s) => ({
    system: s,
    points: cols.map((c) => ({ W: c.params.W, m: rowOf(c, s)?.metrics.tasksPerSec })).filter((p) => p.m && Number.isFinite(p.m.median)),
  }));
  const values = series.flatMap((s) => s.points.flatMap((p) => [p.m.min, p.m.max]));
  if (values.length === 0) return undefined;
  const W = 760;
  const H = 440;
  const left = 80;
  const right = 170;
  const top = 50;
  const bottom = 60;
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values))));
  const ws = cols.map((c) => c.params.W);
  const xOf = (w) => left + ((Math.log(w) - Math.log(ws[0])) / (Math.log(ws.at(-1)) - Math.log(ws[0]) || 1)) * (W - left - right);
  const yOf = (v) => top + (1 - (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (H - top - bottom);
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${left}" y="24" font-size="15" font-weight="bold">Pipeline throughput against workers (tasks/s, log scale; median, bar = min..max)</text>`);
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    for (const m of [1, 2, 5]) {
      const v = d * m;
      if (v > hi * 1.0001) break;
      const y = yOf(v).toFixed(1);
      parts.push(`<line x1="${left}" y1="${y}" x2="${W - right}" y2="${y}" stroke="${m === 1 ? '#cccccc' : '#eeeeee'}"/>`);
      parts.push(`<text x="${left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#444">${v >= 1000 ? `${v / 1000}k` : v}</text>`);
    }
  }
  for (const w of ws) {
    const xx = xOf(w).toFixed(1);
    parts.push(`<line x1="${xx}" y1="${top}" x2="${xx}" y2="${H - bottom}" stroke="#eeeeee"/>`);
    parts.push(`<text x="${xx}" y="${H - bottom + 18}" text-anchor="middle" fill="#444">${w}</text>`);
  }
  parts.push(`<text x="${(left + W - right) / 2}" y="${H - 16}" text-anchor="middle">workers W (log scale)</text>`);
  const ns = [...new Set(cols.map((c) => c.params.n))];
  parts.push(
    `<text x="${left}" y="40" font-size="11" fill="#555">N = ${ns.map((n) => n.toLocaleString('en-US')).join(' / ')} tasks per run (taskwire-ts-batch runs more, see latest.md); 2-core machine</text>`,
  );
  parts.push(`<line x1="${left}" y1="${H - bottom}" x2="${W - right}" y2="${H - bottom}" stroke="#444"/>`);
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${H - bottom}" stroke="#444"/>`);
  series.forEach((s, i) => {
    const color = COLORS[s.system] ?? '#000000';
    if (s.points.length > 1) {
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${s.points.map((p) => `${xOf(p.W).toFixed(1)},${yOf(p.m.median).toFixed(1)}`).join(' ')}"/>`);
    }
    for (const p of s.points) {
      const xx = xOf(p.W).toFixed(1);
      parts.push(`<line x1="${xx}" y1="${yOf(p.m.min).toFixed(1)}" x2="${xx}" y2="${yOf(p.m.max).toFixed(1)}" stroke="${color}" stroke-width="1"/>`);
      parts.push(
        `<circle cx="${xx}" cy="${yOf(p.m.median).toFixed(1)}" r="4" fill="${color}"><title>${s.system}, W = ${p.W}: ${Math.round(p.m.median)} tasks/s (${Math.round(p.m.min)}..${Math.round(p.m.max)})</title></circle>`,
      );
    }
    const ly = top + 10 + i * 22;
    parts.push(`<line x1="${W - right + 16}" y1="${ly}" x2="${W - right + 40}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
    parts.push(`<text x="${W - right + 46}" y="${ly}" dominant-baseline="middle">${s.system}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
