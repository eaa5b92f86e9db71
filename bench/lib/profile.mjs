// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, per area (a file of
// the server, a dependency, a Node.js subsystem, GC) and per cost group (validation, JSON,
// engine, syscalls, ...), and the folded stacks a flame graph is drawn from; idle time left out.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The package under test, wherever it ran from (server/dist/src or the run's snapshot):
 * `taskwire/<dir>/<file>.js`; the benchmark's own scripts: `bench/...`.
 */
export function tidyLocation(location) {
  const m = /\/(?:server|taskwire)\/dist\/src\/(.*)$/.exec(location);
  if (m) return `taskwire/${m[1]}`;
  const bin = /\/(?:server|taskwire)\/bin\/([^/]*)$/.exec(location);
  if (bin) return `taskwire/bin/${bin[1]}`;
  const b = /\/bench\/((?:ts|lib)\/.*)$/.exec(location);
  if (b) return `bench/${b[1]}`;
  return location;
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function shortUrl(url) {
  if (!url) return '';
  const u = url.replace(/^file:\/\//, '');
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

// ---------------------------------------------------------------------------------------------
// Cost groups: where a task's CPU time goes, in the words of issue 15's "before and after".

/** The groups, in the order the report lists them. */
export const COST_GROUPS = [
  { key: 'validation', label: 'validation', what: 'ajv validators, protocol/validation, the nesting check' },
  { key: 'json', label: 'JSON and framing', what: 'JSON.parse / JSON.stringify (by source line), TextDecoder, Buffer conversions and copies, framing, the frame transport' },
  { key: 'engine', label: 'engine', what: 'taskwire/engine and taskwire/store' },
  { key: 'session', label: 'session and dispatch', what: 'taskwire/server: sessions, dispatch, handlers (their JSON lines are in "JSON")' },
  { key: 'node', label: 'Node.js streams and events', what: 'the JavaScript of node:net, streams, events, nextTick and timers' },
  { key: 'syscalls', label: 'syscalls and event loop', what: 'native socket writes (writeBuffer, writev, write*String) and "(program)": reads, epoll, native code outside JavaScript' },
  { key: 'gc', label: 'GC', what: '(garbage collector)' },
  { key: 'startup', label: 'start-up', what: 'module loading and compiling, ajv compiling the schemas (once per process)' },
  { key: 'other', label: 'other', what: 'everything else' },
];

const NATIVE_SYSCALL = /^(writeBuffer|writev|writeUtf8String|writeLatin1String|writeAsciiString|writeUcs2String|readStart|readStop|shutdown|close|fsync|fdatasync|writeString|writeBuffers)$/;
const NATIVE_BYTES =
  /^(decodeUTF8|decode|encodeInto|encodeUtf8String|utf8Write|latin1Write|asciiWrite|utf8Slice|latin1Slice|asciiSlice|ucs2Slice|byteLengthUtf8|copy|compare|indexOfString|indexOfBuffer|indexOfNumber|fill|createUnsafeArrayBuffer)$/;
const NATIVE_STARTUP =
  /^(compileFunction|compileForInternalLoader|readFileUtf8|internalModuleStat|realpath|lstat|stat|readPackageJSON|getNearestParentPackageJSON|getNearestParentPackageJSONType|getPackageScopeConfig|compileSerializeMain|runInThisContext)$/;

/**
 * The cost group of self time spent in a function (by its name and script url); `lineText` is
 * the source line the samples fell on, when known: a line calling JSON.parse or
 * JSON.stringify counts as JSON, since V8 charges those builtins to their caller.
 */
export function costGroupOf(functionName, url, lineText) {
  if (functionName === '(garbage collector)') return 'gc';
  if (functionName === '(program)') return 'syscalls';
  if (!url) {
    if (NATIVE_SYSCALL.test(functionName)) return 'syscalls';
    if (NATIVE_BYTES.test(functionName)) return 'json';
    if (NATIVE_STARTUP.test(functionName)) return 'startup';
    if (/^validate\d*$/.test(functionName)) return 'validation'; // ajv's generated code has no url
    return 'other';
  }
  if (lineText !== undefined && /\bJSON\.(parse|stringify)\(/.test(lineText)) return 'json';
  const u = shortUrl(url);
  if (u.startsWith('ajv/')) return /\/(compile|vocabularies)\//.test(u) || u.endsWith('/core.js') ? 'startup' : 'validation';
  if (/^(fast-uri|json-schema-traverse|require-from-string)\//.test(u)) return 'startup';
  if (u.startsWith('fast-deep-equal/')) return 'validation';
  if (u.startsWith('taskwire/')) {
    if (/^taskwire\/protocol\/(validation|depth)\b/.test(u) || u.startsWith('taskwire/conformance/messageValidator')) return 'validation';
    if (u.startsWith('taskwire/protocol/framing') || u.startsWith('taskwire/transport/')) return 'json';
    if (u.startsWith('taskwire/engine/') || u.startsWith('taskwire/store/')) return 'engine';
    if (u.startsWith('taskwire/server/')) return 'session';
    if (/^taskwire\/(bin\/|cli\/|protocol\/(specDocument|generated)|index|version)/.test(u)) return 'startup';
    return 'other';
  }
  if (u.startsWith('node:')) {
    if (/^node:internal\/(modules|bootstrap|main|process\/pre_execution|source_map|vm)\b/.test(u) || u === 'node:vm') return 'startup';
    if (/^node:(internal\/)?(encoding|buffer|string_decoder)\b/.test(u) || u.startsWith('node:internal/util/types')) return 'json';
    if (/^node:(internal\/)?(net|streams?|stream_base_commons|events|process\/task_queues|timers|async_hooks|dns|tcp_wrap)\b/.test(u) || u === 'node:stream') return 'node';
    return 'other';
  }
  return 'other';
}

/** Source lines of a file the profile names, read once (undefined when it is gone). */
function sourceLines(url, cache) {
  if (!cache.has(url)) {
    let lines;
    try {
      lines = readFileSync(url.startsWith('file:') ? fileURLToPath(url) : url, 'utf8').split('\n');
    } catch {
      lines = undefined;
    }
    cache.set(url, lines);
  }
  return cache.get(url);
}

// ---------------------------------------------------------------------------------------------
// Folded stacks ("frame;frame;frame value" per line, as flamegraph.pl and speedscope read them).

/** A frame's name in folded stacks and flame graphs: `function location:line`. */
function frameLabel(callFrame) {
  const name = (callFrame.functionName || '(anonymous)').replace(/[;\n]/g, '_');
  return callFrame.url ? `${name} ${shortUrl(callFrame.url).replace(/[;\s]/g, '_')}:${callFrame.lineNumber + 1}` : name;
}

/** The function name and location back from a frame label (for colouring). */
export function parseFrameLabel(label) {
  const space = label.lastIndexOf(' ');
  if (space > 0 && /:\d+$/.test(label.slice(space + 1))) return { functionName: label.slice(0, space), location: label.slice(space + 1) };
  return { functionName: label, location: '' };
}

/**
 * Folded stacks pruned for storage in latest.json: frames narrower than `minShare` of the busy
 * time, or deeper than `maxDepth`, are merged into their caller (the caller's width stays
 * right; only the detail below about one pixel of a 1,200-pixel graph is lost). Values in
 * microseconds.
 */
export function pruneFolded(stacks, minShare = 0.0005, maxDepth = 64) {
  const root = { children: new Map(), total: 0 };
  for (const [stack, us] of stacks) {
    let node = root;
    root.total += us;
    // Deeper frames (ajv compiling its schemas recurses 100 deep) merge into the 64th.
    for (const frame of stack.split(';').slice(0, maxDepth)) {
      let child = node.children.get(frame);
      if (!child) node.children.set(frame, (child = { children: new Map(), total: 0 }));
      child.total += us;
      node = child;
    }
  }
  const min = root.total * minShare;
  const lines = [];
  const walk = (node, path) => {
    let self = node.total;
    for (const [frame, child] of node.children) {
      if (child.total < min) continue;
      self -= child.total;
      walk(child, path ? `${path};${frame}` : frame);
    }
    if (path && Math.round(self) > 0) lines.push(`${path} ${Math.round(self)}`);
  };
  walk(root, '');
  return lines.join('\n');
}

/**
 * Folded stacks stored compactly: each frame label once (`frames`), each stack as the indexes
 * of its frames (`stacks`: "0;4;17 1234", value in µs). Deep Node.js stacks repeat long labels
 * hundreds of times; this keeps a manager's flame graph in latest.json to tens of kilobytes.
 */
export function compactFolded(text) {
  const frames = [];
  const index = new Map();
  const stacks = parseFolded(text).map(([stack, value]) => {
    const ids = stack.split(';').map((frame) => {
      if (!index.has(frame)) {
        index.set(frame, frames.length);
        frames.push(frame);
      }
      return index.get(frame);
    });
    return `${ids.join(';')} ${value}`;
  });
  return { frames, stacks };
}

/** The folded-stack text of a compactFolded() object. */
export function expandFolded(compact) {
  if (!compact) return '';
  if (typeof compact === 'string') return compact;
  return compact.stacks
    .map((line) => {
      const space = line.lastIndexOf(' ');
      return `${line
        .slice(0, space)
        .split(';')
        .map((i) => compact.frames[Number(i)])
        .join(';')}${line.slice(space)}`;
    })
    .join('\n');
}

/** Folded-stack text back into [stack, value] pairs. */
export function parseFolded(text) {
  const out = [];
  for (const line of (text ?? '').split('\n')) {
    const space = line.lastIndexOf(' ');
    if (space <= 0) continue;
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value) && value > 0) out.push([line.slice(0, space), value]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/**
 * @returns {{ totalMs: number, activeMs: number, idleMs: number, functions: object[], areas: object[],
 *   costs: { group: string, selfMs: number }[], flame?: { frames: string[], stacks: string[] } }}
 * `flame`: keep the folded stacks (compactFolded) for a flame graph.
 */
export function summarizeCpuProfile(path, { top = 25, flame = false } = {}) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const selfUs = new Map();
  const { samples = [], timeDeltas = [] } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, dt));
  }
  const functions = new Map();
  const areas = new Map();
  const costs = new Map(COST_GROUPS.map((g) => [g.key, 0]));
  const stacks = new Map();
  const sources = new Map();
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
    // Cost groups: by source line where the profile says which lines the samples fell on.
    const ticks = url && url.startsWith('file:') && Array.isArray(node.positionTicks) ? node.positionTicks : [];
    const tickSum = ticks.reduce((a, t) => a + t.ticks, 0);
    const lines = tickSum > 0 ? sourceLines(url, sources) : undefined;
    if (lines) {
      for (const t of ticks) {
        const group = costGroupOf(name, url, lines[t.line - 1]);
        costs.set(group, costs.get(group) + (us * t.ticks) / tickSum / 1000);
      }
    } else {
      let group = costGroupOf(name, url);
      // A builtin without a script (a RegExp, an anonymous native) works for its caller:
      // charge it to the group of the nearest caller that has one.
      if (group === 'other' && !url) {
        for (let at = parentOf.get(id); at !== undefined; at = parentOf.get(at)) {
          const caller = byId.get(at).callFrame;
          if (!caller.url) continue;
          group = costGroupOf(caller.functionName, caller.url);
          break;
        }
      }
      costs.set(group, costs.get(group) + us / 1000);
    }
    // The stack, root first, without (root).
    const frames = [];
    for (let at = id; at !== undefined; at = parentOf.get(at)) {
      const n = byId.get(at);
      if (n.callFrame.functionName !== '(root)') frames.push(frameLabel(n.callFrame));
    }
    const stack = frames.reverse().join(';');
    stacks.set(stack, (stacks.get(stack) ?? 0) + us);
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
    costs: COST_GROUPS.map((g) => ({ group: g.key, selfMs: round(costs.get(g.key)) })),
    ...(flame ? { flame: compactFolded(pruneFolded(stacks)) } : {}),
  };
}

function round(x) {
  return Math.round(x * 10) / 10;
}
