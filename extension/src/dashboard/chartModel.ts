// Turns the sampled history into what the dashboard's webview draws: SVG paths in a fixed
// coordinate box, colours as theme variables, and a sentence per chart with its current numbers
// (the chart's <title>/<desc> for screen readers). Plain TypeScript, so it is unit-tested
// without VS Code and the webview stays a renderer that makes no decisions.
import { DEPTH_STATES, RATE_KINDS, type ActivitySnapshot, type QueueDepth, type QueueHistory, type QueueRates } from './queueActivity';

/**
 * At most this many queues are drawn (the busiest): beyond that a page of charts is no longer
 * read, and each queue costs seven paths of up to one point a second in every post.
 */
export const MAX_QUEUES = 20;

/** The SVG's viewBox; the webview stretches it to the width it has. */
export const VIEW_WIDTH = 600;
export const VIEW_HEIGHT = 120;

/** A series' colour: a VS Code theme variable, so light, dark and high-contrast themes all fit. */
const COLOURS: Record<(typeof DEPTH_STATES)[number] | (typeof RATE_KINDS)[number], string> = {
  ready: '--vscode-charts-blue',
  leased: '--vscode-charts-yellow',
  delayed: '--vscode-charts-purple',
  dead: '--vscode-charts-red',
  puts: '--vscode-charts-blue',
  acks: '--vscode-charts-green',
  failures: '--vscode-charts-red',
};

export interface ChartLine {
  /** ready, leased, delayed, dead; puts, acks, failures. */
  key: string;
  /** For the legend: "ready 12", "acks 38/s". */
  legend: string;
  /** The CSS variable of its colour. */
  colour: string;
  /** SVG path data in the VIEW_WIDTH × VIEW_HEIGHT box ("" when there is no point yet). */
  path: string;
  /** How many samples the path goes through. */
  points: number;
}

export interface ChartModel {
  /** Unique in the page: `depth-0`, `throughput-0`, … */
  id: string;
  /** "jobs: depth". */
  title: string;
  /** The current numbers in words, for <desc> and aria-label. */
  summary: string;
  /** The top of the y axis (a round number). */
  max: number;
  /** The y axis' unit: "tasks" or "per second". */
  unit: string;
  lines: ChartLine[];
}

export interface QueueCharts {
  queue: string;
  depth: ChartModel;
  throughput: ChartModel;
}

/** The whole page, as the host posts it to the webview. */
export interface DashboardModel {
  /** Why there is nothing to draw ("Not connected…"), or undefined when there is. */
  notice: string | undefined;
  /** "last 5 minutes". */
  windowLabel: string;
  /** The time axis' left end: "−5 min", "−90 s". */
  axisStart: string;
  /** Where the manager is ("127.0.0.1:7400"). */
  source: string | undefined;
  /** Said when some queues are left out ("The 20 busiest of 130 queues …"). */
  note: string | undefined;
  queues: QueueCharts[];
}

export interface ModelContext {
  /** undefined when connected; otherwise what to say instead of charts. */
  notice?: string;
  source?: string;
}

export function buildDashboard(snapshot: ActivitySnapshot, context: ModelContext = {}, maxQueues = MAX_QUEUES): DashboardModel {
  const windowLabel = `last ${describeDuration(snapshot.windowMs)}`;
  const shown = context.notice ? [] : busiest(snapshot.queues, maxQueues);
  const queues = shown.map((history, index) => queueCharts(snapshot, history, index, windowLabel));
  const notice = context.notice ?? (queues.length === 0 ? 'The manager has no queues yet: they appear here once a task is put.' : undefined);
  const left = context.notice ? 0 : snapshot.queues.length - shown.length;
  const note = left > 0 ? `The ${shown.length} busiest of ${snapshot.queues.length} queues over the ${windowLabel} (events and tasks held); ${left} more not drawn.` : undefined;
  return { notice, windowLabel, axisStart: axisStart(snapshot.windowMs), source: context.source, note, queues };
}

/** The `max` queues with the most events over the window plus tasks now, in name order. */
function busiest(queues: QueueHistory[], max: number): QueueHistory[] {
  if (queues.length <= max) return queues;
  const activity = (history: QueueHistory): number => {
    let sum = 0;
    for (const sample of history.samples) if (sample) sum += sample.rates.puts + sample.rates.acks + sample.rates.failures;
    const now = history.samples.at(-1)?.depth;
    return sum + (now ? now.ready + now.leased + now.delayed + now.dead : 0);
  };
  const chosen = new Set(
    [...queues]
      .sort((a, b) => activity(b) - activity(a) || a.queue.localeCompare(b.queue))
      .slice(0, max)
      .map((q) => q.queue),
  );
  return queues.filter((q) => chosen.has(q.queue));
}

function queueCharts(snapshot: ActivitySnapshot, history: QueueHistory, index: number, windowLabel: string): QueueCharts {
  const depths = history.samples.map((s) => s?.depth ?? null);
  const rates = history.samples.map((s) => (s ? s.rates : null));
  const currentDepth = depths.at(-1) ?? null;
  const currentRates = rates.at(-1) ?? null;
  const depthMax = niceCeiling(peak(depths, DEPTH_STATES));
  const rateMax = niceCeiling(peak(rates, RATE_KINDS));
  const q = history.queue;
  return {
    queue: q,
    depth: {
      id: `depth-${index}`,
      title: `${q}: depth`,
      summary: currentDepth
        ? `${q} depth now: ${DEPTH_STATES.map((s) => `${currentDepth[s]} ${s}`).join(', ')}; at most ${peak(depths, DEPTH_STATES)} in one state over the ${windowLabel}.`
        : `${q} depth: not listed by the manager now.`,
      max: depthMax,
      unit: 'tasks',
      lines: DEPTH_STATES.map((state) => ({
        key: state,
        legend: `${state} ${currentDepth ? currentDepth[state] : '–'}`,
        colour: COLOURS[state],
        ...linePath(snapshot, depths, (d) => d[state], depthMax),
      })),
    },
    throughput: {
      id: `throughput-${index}`,
      title: `${q}: throughput`,
      summary: `${q} throughput over the last step: ${RATE_KINDS.map((k) => `${formatRate(currentRates?.[k] ?? 0)} ${k}/s`).join(', ')}; at most ${formatRate(peak(rates, RATE_KINDS))}/s over the ${windowLabel}.`,
      max: rateMax,
      unit: 'per second',
      lines: RATE_KINDS.map((kind) => ({
        key: kind,
        legend: `${kind} ${formatRate(currentRates?.[kind] ?? 0)}/s`,
        colour: COLOURS[kind],
        ...linePath(snapshot, rates, (r) => r[kind], rateMax),
      })),
    },
  };
}

/** The largest value of any of `keys` over the samples (0 when there is none). */
function peak<T extends QueueDepth | QueueRates>(samples: (T | null)[], keys: readonly (keyof T)[]): number {
  let max = 0;
  for (const sample of samples) if (sample) for (const key of keys) max = Math.max(max, sample[key] as number);
  return max;
}

/**
 * A path through the samples' values, newest at the right edge and the window's start at the
 * left; a sample without a value (the queue unknown then) breaks the line rather than
 * pretending it was zero.
 */
function linePath<T>(snapshot: ActivitySnapshot, samples: (T | null)[], value: (sample: T) => number, max: number): { path: string; points: number } {
  const end = snapshot.times.at(-1) ?? 0;
  const start = end - snapshot.windowMs;
  const parts: string[] = [];
  let points = 0;
  let drawing = false;
  samples.forEach((sample, i) => {
    if (sample === null) {
      drawing = false;
      return;
    }
    const x = ((snapshot.times[i]! - start) / snapshot.windowMs) * VIEW_WIDTH;
    const y = VIEW_HEIGHT - (Math.min(value(sample), max) / max) * VIEW_HEIGHT;
    parts.push(`${drawing ? 'L' : 'M'}${round(x)},${round(y)}`);
    drawing = true;
    points += 1;
  });
  return { path: parts.join(' '), points };
}

/** The smallest of 1, 2, 5 × 10ⁿ at or above `value` (at least 1), so the axis reads well. */
export function niceCeiling(value: number): number {
  if (!(value > 1)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

/** Rates to a precision a reader can use: 0.5, 12.5, 340. */
export function formatRate(perSecond: number): string {
  if (perSecond === 0) return '0';
  if (perSecond >= 100) return String(Math.round(perSecond));
  return String(Math.round(perSecond * 10) / 10);
}

function axisStart(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds % 60 === 0 ? `−${seconds / 60} min` : `−${seconds} s`;
}

export function describeDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds % 60 !== 0) return `${seconds} seconds`;
  const minutes = seconds / 60;
  return minutes === 1 ? 'minute' : `${minutes} minutes`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
