// Issue 16's part of the report: Taskwire on Redis (1, 2, 3 managers) against BullMQ on the same
// Redis and against one in-memory Taskwire manager, pipeline and latency; the two targets; what
// each task costs the managers and Redis; a bar chart (redis.svg).
import { escapeXml, int, med, range, table, x } from './format.mjs';

export const BULLMQ_SYSTEMS = ['bullmq-c1', 'bullmq-c16'];
export const TASKWIRE_REDIS = ['taskwire-redis-1', 'taskwire-redis-2', 'taskwire-redis-3'];
/** The in-memory manager the Redis store's cost is measured against. */
export const IN_MEMORY = 'taskwire-ts';
const ORDER = [IN_MEMORY, ...BULLMQ_SYSTEMS, ...TASKWIRE_REDIS];

const groupOf = (summary, workload, key) => summary.find((g) => g.workload === workload && (key === undefined || g.key === key));
const rowOf = (group, system) => group?.rows.find((r) => r.system === system && r.variant === undefined);
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : undefined);

/**
 * The comparison, or undefined when this run measured no Redis system: one entry per system
 * (the in-memory manager, BullMQ c1 and c16, Taskwire on 1-3 managers) with its pipeline
 * (N, W = 2) and latency medians, the ratios against each BullMQ and the in-memory manager,
 * and the costs per task. The best BullMQ: its higher throughput and its lower p50.
 */
export function redisComparison(summary) {
  const pipe = groupOf(summary, 'pipeline', 'W=2');
  const lat = groupOf(summary, 'latency');
  const systems = ORDER.filter((s) => rowOf(pipe, s) || rowOf(lat, s));
  if (!systems.some((s) => s !== IN_MEMORY)) return undefined;
  const rate = (s) => rowOf(pipe, s)?.metrics.tasksPerSec?.median;
  const p50 = (s) => rowOf(lat, s)?.metrics.p50?.median;
  const bestOf = (values, pick) => {
    const known = values.filter((v) => Number.isFinite(v.value));
    return known.length ? known.reduce((a, b) => (pick(b.value, a.value) ? b : a)) : undefined;
  };
  const bestRate = bestOf(
    BULLMQ_SYSTEMS.map((s) => ({ system: s, value: rate(s) })),
    (a, b) => a > b,
  );
  const bestP50 = bestOf(
    BULLMQ_SYSTEMS.map((s) => ({ system: s, value: p50(s) })),
    (a, b) => a < b,
  );
  const rows = systems.map((system) => {
    const p = rowOf(pipe, system);
    const l = rowOf(lat, system);
    const pm = p?.metrics ?? {};
    return {
      system,
      tasksPerSec: pm.tasksPerSec,
      p50: l?.metrics.p50,
      p99: l?.metrics.p99,
      runs: { pipeline: p ? `${p.runs}/${pipe.runsPlanned}` : '—', latency: l ? `${l.runs}/${lat.runsPlanned}` : '—' },
      vsBullmq: Object.fromEntries(BULLMQ_SYSTEMS.map((b) => [b, { tasksPerSec: ratio(rate(system), rate(b)), p50: ratio(p50(system), p50(b)) }])),
      vsInMemory: { tasksPerSec: ratio(rate(system), rate(IN_MEMORY)), p50: ratio(p50(system), p50(IN_MEMORY)) },
      costs: {
        managerCpuUsPerTask: pm.managerCpuUsPerTask?.median,
        redisCpuUsPerTask: pm.redisCpuUsPerTask?.median,
        serverCpuUsPerTask: pm.serverCpuUsPerTask?.median ?? (system === IN_MEMORY ? pm.managerCpuUsPerTask?.median : undefined),
        redisCallsPerTask: pm.redisCallsPerTask?.median,
        redisScriptCallsPerTask: pm.redisScriptCallsPerTask?.median,
        redisScriptUsecPerTask: pm.redisScriptUsecPerTask?.median,
        latencyRedisCallsPerRoundTrip: l?.metrics.redisCallsPerTask?.median,
        latencyScriptCallsPerRoundTrip: l?.metrics.redisScriptCallsPerTask?.median,
      },
      topCommands: p?.redisTopCommands,
    };
  });
  return { rows, bestRate, bestP50, n: pipe?.params.n, latencyTitle: lat?.title };
}

/**
 * Issue 16's targets for each Taskwire-on-Redis system measured: throughput ≥ 2× BullMQ's and
 * p50 latency ≤ ½ BullMQ's, against the better BullMQ configuration of this run (the higher
 * throughput, the lower p50). Not measured: one entry per target saying what is missing.
 */
export function redisTargets(summary) {
  const G = 'issue16';
  const cmp = redisComparison(summary);
  const out = [];
  const ours = (cmp?.rows ?? []).filter((r) => TASKWIRE_REDIS.includes(r.system));
  const tThroughput = (s) => `throughput, pipeline W=2, one call per task awaited (${s}) ≥ 2× BullMQ (the faster of bullmq-c1, bullmq-c16)`;
  const tLatency = (s) => `latency p50 (${s}) ≤ ½ BullMQ's p50 (the lower of bullmq-c1, bullmq-c16)`;
  if (ours.length === 0) {
    const what = 'taskwire-redis-1, -2, -3';
    out.push({ group: G, target: tThroughput(what), measured: 'not measured in this run (pipeline with taskwire-redis-* and BullMQ)', pass: undefined });
    out.push({ group: G, target: tLatency(what), measured: 'not measured in this run (latency with taskwire-redis-* and BullMQ)', pass: undefined });
    return out;
  }
  for (const r of ours) {
    const rate = r.tasksPerSec?.median;
    const best = cmp.bestRate;
    if (!Number.isFinite(rate) || !best) {
      out.push({ group: G, target: tThroughput(r.system), measured: `not measured in this run (pipeline with ${r.system} and BullMQ)`, pass: undefined });
    } else {
      const k = rate / best.value;
      out.push({ group: G, target: tThroughput(r.system), measured: `${x(k)} ${best.system} (${int(rate)} vs ${int(best.value)} tasks/s)`, pass: k >= 2 });
    }
    const p50 = r.p50?.median;
    const low = cmp.bestP50;
    if (!Number.isFinite(p50) || !low) {
      out.push({ group: G, target: tLatency(r.system), measured: `not measured in this run (latency with ${r.system} and BullMQ)`, pass: undefined });
    } else {
      const k = p50 / low.value;
      out.push({ group: G, target: tLatency(r.system), measured: `${int(p50)} µs vs ${low.system} ${int(low.value)} µs = ${x(k)}`, pass: k <= 0.5 });
    }
  }
  return out;
}

const f1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : '—');

/** The Markdown lines of the "Redis" section (none when this run measured no Redis system). */
export function redisSection(summary, notes = []) {
  const cmp = redisComparison(summary);
  const own = notes.filter((n) => n.startsWith('redis:')).map((n) => n.slice('redis:'.length).trim());
  if (!cmp && own.length === 0) return [];
  const out = ['## Redis: Taskwire on Redis against BullMQ', ''];
  for (const n of own) out.push(`${n}`, '');
  if (!cmp) return out;
  out.push(
    `The same redis-server (started fresh for each measurement, \`--save "" --appendonly no\`) under BullMQ and under 1, 2 or 3 Taskwire managers (\`serve --store redis://…\`); ${IN_MEMORY} is one manager with the in-memory store. Pipeline: N = ${int(cmp.n)}, W = 2, the producer awaits each put / Queue.add, then reads every result (Taskwire: replyTo and get; BullMQ: QueueEvents "completed"). Latency: one put or add, wait for its result (${cmp.latencyTitle ?? '—'}). With several managers the producer is on the first and the workers on the others, so every task crosses managers. "vs" columns: this system's median over that system's (throughput: higher is better; p50: lower is better).`,
    '',
  );
  out.push(
    table(
      [
        'system',
        'tasks/s (median)',
        'min..max',
        'vs bullmq-c1',
        'vs bullmq-c16',
        `vs ${IN_MEMORY} (in memory)`,
        'p50 µs',
        'p99 µs',
        'p50 vs bullmq-c1',
        'p50 vs bullmq-c16',
        'p50 vs in memory',
        'runs ok (pipeline, latency)',
      ],
      cmp.rows.map((r) => [
        `**${r.system}**`,
        med(r.tasksPerSec),
        range(r.tasksPerSec),
        ...BULLMQ_SYSTEMS.map((b) => (r.system === b ? '1×' : x(r.vsBullmq[b].tasksPerSec))),
        r.system === IN_MEMORY ? '1×' : x(r.vsInMemory.tasksPerSec),
        med(r.p50),
        med(r.p99),
        ...BULLMQ_SYSTEMS.map((b) => (r.system === b ? '1×' : x(r.vsBullmq[b].p50))),
        r.system === IN_MEMORY ? '1×' : x(r.vsInMemory.p50),
        `${r.runs.pipeline}, ${r.runs.latency}`,
      ]),
    ),
  );
  out.push('');
  out.push('![Taskwire on Redis against BullMQ: throughput and latency](redis.svg)');
  out.push('');
  out.push('### What a task costs on Redis');
  out.push('');
  out.push(
    "CPU per task during the pipeline's clock (`/proc`): every manager's added up, Redis's, and both (what serves the queue; BullMQ has no manager: Redis alone). Redis commands per task from `INFO commandstats` (reset just before the clock): scripts (EVALSHA/FCALL) and their time inside Redis, and every command counted, the ones a script runs included (INFO cannot tell those from the ones a client sent). Latency: the same counts per round trip.",
  );
  out.push('');
  out.push(
    table(
      [
        'system',
        'manager CPU µs/task',
        'Redis CPU µs/task',
        'managers + Redis µs/task',
        'Redis commands/task',
        'scripts/task',
        'script µs/task (in Redis)',
        'latency: commands per round trip',
        'latency: scripts per round trip',
      ],
      cmp.rows.map((r) => [
        `**${r.system}**`,
        int(r.costs.managerCpuUsPerTask),
        int(r.costs.redisCpuUsPerTask),
        int(r.costs.serverCpuUsPerTask),
        f1(r.costs.redisCallsPerTask),
        f1(r.costs.redisScriptCallsPerTask),
        f1(r.costs.redisScriptUsecPerTask),
        f1(r.costs.latencyRedisCallsPerRoundTrip),
        f1(r.costs.latencyScriptCallsPerRoundTrip),
      ]),
    ),
  );
  out.push('');
  const tops = cmp.rows.filter((r) => r.topCommands?.length);
  if (tops.length) {
    out.push("The heaviest Redis commands per task (the pipeline's last run; calls per task, µs per task inside Redis):");
    out.push('');
    for (const r of tops) {
      out.push(`- **${r.system}**: ${r.topCommands.map((c) => `\`${c.command}\` ${c.callsPerTask.toFixed(2)} × ${c.usecPerTask.toFixed(1)} µs`).join(', ')}`);
    }
    out.push('');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The chart: two panels of bars, pipeline tasks/s and latency p50 (p99 as a tick), one bar per
// system with its min..max; the issue's targets drawn as dashed lines (2× the faster BullMQ,
// ½ the lower BullMQ p50).

const BAR_COLORS = {
  [IN_MEMORY]: '#1f6feb',
  'bullmq-c1': '#cf222e',
  'bullmq-c16': '#fa8072',
  'taskwire-redis-1': '#1a7f37',
  'taskwire-redis-2': '#2da44e',
  'taskwire-redis-3': '#6fdd8b',
};

function niceMax(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function panel({ left, top, width, height, title, unit, bars, target }) {
  const parts = [];
  // The scale fits the bars and the target; a p99 far above them is written, not drawn.
  const values = bars.flatMap((b) => [b.m.max, b.m.median]).concat(target ? [target.value] : []);
  const max = niceMax(Math.max(...values.filter(Number.isFinite), 1) * 1.05);
  const yOf = (v) => top + height - (v / max) * height;
  parts.push(`<text x="${left}" y="${top - 12}" font-size="13" font-weight="bold">${escapeXml(title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    const y = yOf(v).toFixed(1);
    parts.push(`<line x1="${left}" y1="${y}" x2="${left + width}" y2="${y}" stroke="${i === 0 ? '#444' : '#eeeeee'}"/>`);
    parts.push(`<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#444">${escapeXml(v >= 1000 ? `${+(v / 1000).toFixed(1)}k` : +v.toFixed(0))}</text>`);
  }
  parts.push(`<text x="${left - 50}" y="${top + height / 2}" transform="rotate(-90 ${left - 50} ${top + height / 2})" text-anchor="middle" fill="#444">${escapeXml(unit)}</text>`);
  const slot = width / Math.max(1, bars.length);
  bars.forEach((b, i) => {
    const cx = left + slot * (i + 0.5);
    const w = Math.min(46, slot * 0.6);
    const color = BAR_COLORS[b.system] ?? '#000000';
    const y = yOf(b.m.median);
    parts.push(`<rect x="${(cx - w / 2).toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${(top + height - y).toFixed(1)}" fill="${color}"><title>${escapeXml(b.tip)}</title></rect>`);
    parts.push(`<line x1="${cx.toFixed(1)}" y1="${yOf(b.m.min).toFixed(1)}" x2="${cx.toFixed(1)}" y2="${yOf(b.m.max).toFixed(1)}" stroke="#222" stroke-width="1"/>`);
    const labelY = Math.min(y, yOf(b.m.max)) - 6;
    parts.push(`<text x="${cx.toFixed(1)}" y="${labelY.toFixed(1)}" text-anchor="middle" font-size="11">${escapeXml(int(b.m.median))}</text>`);
    if (Number.isFinite(b.tick)) {
      if (b.tick <= max) {
        const ty = yOf(b.tick).toFixed(1);
        parts.push(
          `<line x1="${(cx - w / 2).toFixed(1)}" y1="${ty}" x2="${(cx + w / 2).toFixed(1)}" y2="${ty}" stroke="#222" stroke-width="2" stroke-dasharray="3 2"><title>${escapeXml(`${b.system} p99 ${int(b.tick)} µs`)}</title></line>`,
        );
      } else {
        parts.push(`<text x="${cx.toFixed(1)}" y="${top + 10}" text-anchor="middle" font-size="10" fill="#555">${escapeXml(`p99 ${int(b.tick)} ↑`)}</text>`);
      }
    }
    parts.push(`<text x="${cx.toFixed(1)}" y="${top + height + 14}" text-anchor="end" font-size="11" transform="rotate(-30 ${cx.toFixed(1)} ${top + height + 14})">${escapeXml(b.system)}</text>`);
  });
  if (target) {
    const ty = yOf(target.value).toFixed(1);
    parts.push(`<line x1="${left}" y1="${ty}" x2="${left + width}" y2="${ty}" stroke="#9a6700" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    // The label sits under the panel's title, out of the bars' way.
    parts.push(`<line x1="${left}" y1="${top - 32}" x2="${left + 24}" y2="${top - 32}" stroke="#9a6700" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${left + 30}" y="${top - 32}" dominant-baseline="middle" font-size="11" fill="#9a6700">${escapeXml(target.label)}</text>`);
  }
  return parts;
}

/** redis.svg: throughput and latency of the comparison, or undefined without a Redis system. */
export function renderRedisSvg(summary) {
  const cmp = redisComparison(summary);
  if (!cmp) return undefined;
  const rateBars = cmp.rows
    .filter((r) => Number.isFinite(r.tasksPerSec?.median))
    .map((r) => ({ system: r.system, m: r.tasksPerSec, tip: `${r.system}: ${int(r.tasksPerSec.median)} tasks/s (${range(r.tasksPerSec)})` }));
  const latBars = cmp.rows
    .filter((r) => Number.isFinite(r.p50?.median))
    .map((r) => ({ system: r.system, m: r.p50, tick: r.p99?.median, tip: `${r.system}: p50 ${int(r.p50.median)} µs (${range(r.p50)}), p99 ${int(r.p99?.median)} µs` }));
  if (rateBars.length === 0 && latBars.length === 0) return undefined;
  const W = 900;
  const H = 450;
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="20" y="24" font-size="15" font-weight="bold">Taskwire on Redis against BullMQ on the same Redis</text>`);
  parts.push(
    `<text x="20" y="42" font-size="11" fill="#555">${escapeXml(`pipeline N = ${int(cmp.n)}, W = 2, each put awaited; latency: one task at a time. Bars: medians, whiskers min..max, dotted tick (or number): p99`)}</text>`,
  );
  const panelWidth = (W - 2 * 90 - 60) / 2;
  if (rateBars.length) {
    const target = cmp.bestRate ? { value: 2 * cmp.bestRate.value, label: `target: 2 × ${cmp.bestRate.system}` } : undefined;
    parts.push(...panel({ left: 90, top: 100, width: panelWidth, height: 250, title: 'Pipeline throughput (tasks/s, higher is better)', unit: 'tasks/s', bars: rateBars, target }));
  }
  if (latBars.length) {
    const target = cmp.bestP50 ? { value: cmp.bestP50.value / 2, label: `target: ½ × ${cmp.bestP50.system} p50` } : undefined;
    parts.push(...panel({ left: 90 + panelWidth + 90 + 60, top: 100, width: panelWidth, height: 250, title: 'Latency p50 (µs, lower is better)', unit: 'µs', bars: latBars, target }));
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
