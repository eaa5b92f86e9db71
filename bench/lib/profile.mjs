// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per area
// (a file of the server, a dependency, a Node.js subsystem, GC), idle time left out.
import { readFileSync } from 'node:fs';

/**
 * The package under test, wherever it ran from (server/dist/src or the run's snapshot):
 * `taskwire/<dir>/<file>.js`; the benchmark's own scripts: `bench/...`.
 */
export function tidyLocation(location) {
  const m = /\/(?:server|taskwire)\/dist\/src\/(.*)$/.exec(location);
  if (m) return `taskwire/${m[1]}`;
  const b = /\/bench\/((?:ts|lib)\/.*)$/.exec(location);
  if (b) return `bench/${b[1]}`;
  return location;
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function shortUrl(url) {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length);
  return tidyLocation(u);
}

function areaOf(functionName, url) {
  if (!url) {
    if (SPECIAL.has(functionName)) return functionName;
    return '(V8 builtins / native)';
  }
  const u = shortUrl(url);
  if (u.startsWith('taskwire/')) return u.replace(/\.js$/, '');
  if (url.includes('/node_modules/')) {
    const parts = u.split('/');
    return (parts[0].startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]) + ' (dependency)';
  }
  if (u.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(u);
    return `node:${m ? m[1] : u}`;
  }
  return u;
}

/**
 * @returns {{ totalMs: number, activeMs: number, idleMs: number, functions: object[], areas: object[] }}
 */
export function summarizeCpuProfile(path, top = 25) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const { samples = [], timeDeltas = [] } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, dt));
  }
  const functions = new Map();
  const areas = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    total += us;
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    const key = `${name} ${shortUrl(url)}:${lineNumber + 1}`;
    const f = functions.get(key) ?? { function: name, location: url ? `${shortUrl(url)}:${lineNumber + 1}` : '', selfMs: 0 };
    f.selfMs += us / 1000;
    functions.set(key, f);
    const area = areaOf(name, url);
    areas.set(area, (areas.get(area) ?? 0) + us / 1000);
  }
  const activeMs = (total - idle) / 1000;
  const pct = (ms) => (activeMs > 0 ? (100 * ms) / activeMs : 0);
  return {
    totalMs: total / 1000,
    activeMs,
    idleMs: idle / 1000,
    functions: [...functions.values()]
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top)
      .map((f) => ({ ...f, selfMs: round(f.selfMs), percent: round(pct(f.selfMs)) })),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([area, ms]) => ({ area, selfMs: round(ms), percent: round(pct(ms)) })),
  };
}

function round(x) {
  return Math.round(x * 10) / 10;
}
