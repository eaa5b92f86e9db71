// Number and Markdown formatting shared by the report's modules.
export function int(v) {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—';
}
export function mb(bytes) {
  return Number.isFinite(bytes) ? (bytes / 1048576).toFixed(1) : '—';
}
export function x(ratio) {
  if (!Number.isFinite(ratio)) return '—';
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio >= 1 ? ratio.toFixed(1) : ratio.toFixed(2)}×`;
}
export function kib(bytes) {
  return Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(1)} KiB` : '—';
}
export function pct(f) {
  return `${(f * 100).toFixed(1)}%`;
}
export function range(m, f = int) {
  return m ? `${f(m.min)}..${f(m.max)}` : '—';
}
export function med(m, f = int) {
  return m ? f(m.median) : '—';
}
export function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
export function escapeXml(s) {
  return String(s).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]);
}
