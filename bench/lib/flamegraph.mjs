// A flame graph as a static SVG, drawn from folded stacks ("frame;frame;frame value" lines;
// profile.mjs makes them from a V8 .cpuprofile).
//
// Why our own, in about 130 lines: no npm package does this job and is kept up. 0x (MIT) draws
// HTML, not SVG, runs the profiled process itself and brings ~30 dependencies (browserify
// among them); flamegraph 1.3.0 (thlorenz, MIT) writes SVG but was last built in 2018, reads
// only the old Chrome .cpuprofile shape (a `head` tree; node --cpu-prof writes `nodes`) and
// pins 2014 stream libraries; flamebearer 2.x prints text summaries only; d3-flame-graph,
// d3-fg, speedscope, react-flame-graph and @grafana/flamegraph are browser components that
// need a DOM. Brendan Gregg's flamegraph.pl and inferno are not npm packages (Perl; Rust).
// A static SVG is what bench/results needs: a picture in the repository that GitHub and any
// image viewer show, with a tooltip (<title>) per frame.
import { COST_GROUPS, costGroupOf, parseFolded, parseFrameLabel } from './profile.mjs';

/** One colour per cost group (the legend explains them). */
const GROUP_COLORS = {
  validation: '#e8a33d',
  json: '#d9534f',
  engine: '#4c9f70',
  session: '#3b7dd8',
  node: '#8c6bc8',
  syscalls: '#7f8c8d',
  gc: '#c0392b',
  startup: '#b8b8b8',
  other: '#e0c080',
};

function escapeXml(s) {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]);
}

/** The cost group of a frame label (`function location:line`), for its colour. */
function groupOfLabel(label) {
  const { functionName, location } = parseFrameLabel(label);
  if (!location) return costGroupOf(functionName, '');
  const path = location.replace(/:\d+$/, '');
  // Labels carry short locations; give costGroupOf a url of the shape it expects.
  const url = path.startsWith('node:') ? path : path.startsWith('taskwire/') ? `file:///x/taskwire/dist/src/${path.slice('taskwire/'.length)}` : `file:///x/node_modules/${path}`;
  return costGroupOf(functionName, url);
}

/**
 * @param {string} folded  folded stacks, values in microseconds
 * @param {{ title: string, subtitle?: string, tasks?: number, width?: number }} options
 * @returns {string | undefined} the SVG, or undefined when there is nothing to draw
 */
export function renderFlameGraph(folded, { title, subtitle = '', tasks, width = 1200 } = {}) {
  const stacks = parseFolded(folded);
  if (stacks.length === 0) return undefined;
  // Merge into a tree; children sorted by name, as flamegraph.pl does (x is not time).
  const root = { name: 'all', total: 0, children: new Map() };
  for (const [stack, us] of stacks) {
    root.total += us;
    let node = root;
    for (const frame of stack.split(';')) {
      let child = node.children.get(frame);
      if (!child) node.children.set(frame, (child = { name: frame, total: 0, children: new Map() }));
      child.total += us;
      node = child;
    }
  }
  const frameHeight = 17;
  const pad = 10;
  const top = 74;
  const bottomPad = 28;
  const usable = width - 2 * pad;
  const scale = usable / root.total;
  const rects = [];
  let depthMax = 0;
  const place = (node, x, depth, callerGroup = 'other') => {
    // Builtins without a script (RegExp, anonymous natives) take their caller's colour.
    let group = node === root ? 'other' : groupOfLabel(node.name);
    if (group === 'other' && node !== root && !parseFrameLabel(node.name).location) group = callerGroup;
    node.group = group;
    rects.push({ node, x, depth, w: node.total * scale });
    depthMax = Math.max(depthMax, depth);
    let cx = x;
    for (const child of [...node.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const w = child.total * scale;
      if (w >= 0.3) place(child, cx, depth + 1, node.group);
      cx += w;
    }
  };
  place(root, pad, 0);
  const height = top + (depthMax + 1) * frameHeight + bottomPad;
  const yOf = (depth) => height - bottomPad - (depth + 1) * frameHeight;
  const ms = (us) => (us / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 });
  const perTask = (us) => (tasks ? `, ${(us / tasks).toFixed(1)} µs/task` : '');
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Verdana, sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fdfdf6"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  if (subtitle) out.push(`<text x="${width / 2}" y="40" text-anchor="middle" fill="#444">${escapeXml(subtitle)}</text>`);
  // Legend: the cost groups, coloured as the frames are.
  let lx = pad;
  for (const g of COST_GROUPS) {
    out.push(`<rect x="${lx}" y="52" width="12" height="12" fill="${GROUP_COLORS[g.key]}"><title>${escapeXml(`${g.label}: ${g.what}`)}</title></rect>`);
    out.push(`<text x="${lx + 16}" y="62" fill="#333">${escapeXml(g.label)}</text>`);
    lx += 16 + g.label.length * 6.6 + 14;
  }
  for (const { node, x, depth, w } of rects) {
    const y = yOf(depth);
    const color = node === root ? '#d0d0d0' : GROUP_COLORS[node.group];
    const share = ((100 * node.total) / root.total).toFixed(2);
    out.push('<g>');
    out.push(`<title>${escapeXml(`${node.name}: ${ms(node.total)} ms, ${share}%${perTask(node.total)}`)}</title>`);
    out.push(`<rect x="${x.toFixed(2)}" y="${y}" width="${Math.max(0.3, w - 0.5).toFixed(2)}" height="${frameHeight - 1}" fill="${color}" rx="1.5"/>`);
    const chars = Math.floor((w - 6) / 6.6);
    if (chars >= 3) {
      const label = node === root ? `all: ${ms(root.total)} ms busy${perTask(root.total)}` : node.name;
      const text = label.length <= chars ? label : `${label.slice(0, chars - 2)}..`;
      out.push(`<text x="${(x + 3).toFixed(2)}" y="${y + frameHeight - 5}" fill="#111">${escapeXml(text)}</text>`);
    }
    out.push('</g>');
  }
  out.push(
    `<text x="${pad}" y="${height - 8}" fill="#555">Width: sampled time (self + callees; the profiler samples wall time, idle left out); frames narrower than 0.05% or deeper than 64 merged into their caller. Hover a frame for its time.</text>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}
