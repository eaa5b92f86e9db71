// How verdicts are shown: a line per case as it finishes and a closing total for people and
// CI logs (the total line is "N passed, N failed, N skipped", the form scripts/runTests.mjs
// reads), a JSON report for tools, and JUnit XML for CI dashboards.
import type { CaseResult, Totals } from './results';
import { totalsOf } from './results';

const VERDICT_WORDS = { pass: 'PASS', fail: 'FAIL', skipped: 'SKIP' } as const;

function indent(text: string, prefix = '        '): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

/** One case's verdict as text: a line, and on failure the reason, expected and actual. */
export function formatResultText(result: CaseResult): string {
  const head = `${VERDICT_WORDS[result.verdict]} ${result.level.padEnd(6)} §${result.section.slice(1).padEnd(5)} ${result.id}  ${result.title}`;
  if (result.verdict === 'pass') return head;
  const lines = [head, indent(result.reason ?? '', '      ')];
  if (result.verdict === 'fail') {
    if (result.expected !== undefined) lines.push('      expected:', indent(result.expected));
    if (result.actual !== undefined) lines.push('      actual:', indent(result.actual));
  }
  return lines.join('\n');
}

/** The closing line. */
export function formatTotals(totals: Totals): string {
  return `${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`;
}

export interface ReportMeta {
  /** What was checked: "server 127.0.0.1:7400", or the client command. */
  target: string;
  kind: 'server' | 'client';
  runId: string;
  startedAt: string;
}

/** The JSON report: the run, the totals and every case. */
export function jsonReport(results: readonly CaseResult[], meta: ReportMeta): string {
  return JSON.stringify({ tool: 'taskwire conformance', ...meta, totals: totalsOf(results), cases: results }, null, 2) + '\n';
}

/** Escapes text for XML content and attribute values; drops characters XML 1.0 cannot hold. */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '') // eslint-disable-line no-control-regex -- XML 1.0's characters, by code point
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** JUnit XML: one testsuite, one testcase per case (classname: its file; name: id and title). */
export function junitReport(results: readonly CaseResult[], meta: ReportMeta): string {
  const totals = totalsOf(results);
  const seconds = results.reduce((sum, r) => sum + r.seconds, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="taskwire conformance" tests="${results.length}" failures="${totals.failed}" skipped="${totals.skipped}" time="${seconds.toFixed(3)}">`,
    `  <testsuite name="${escapeXml(`taskwire conformance (${meta.kind}): ${meta.target}`)}" tests="${results.length}" failures="${totals.failed}" errors="0" skipped="${totals.skipped}" time="${seconds.toFixed(3)}" timestamp="${escapeXml(meta.startedAt)}">`,
  ];
  for (const r of results) {
    const open = `    <testcase classname="${escapeXml(r.file.replace(/\.json$/, '').replace(/\//g, '.'))}" name="${escapeXml(`${r.id} [${r.level} §${r.section.slice(1)}] ${r.title}`)}" time="${r.seconds.toFixed(3)}"`;
    if (r.verdict === 'pass') {
      lines.push(`${open}/>`);
    } else if (r.verdict === 'skipped') {
      lines.push(`${open}>`, `      <skipped message="${escapeXml(r.reason ?? '')}"/>`, '    </testcase>');
    } else {
      const detail = [r.reason ?? '', r.expected !== undefined ? `expected:\n${r.expected}` : '', r.actual !== undefined ? `actual:\n${r.actual}` : ''].filter((s) => s !== '').join('\n');
      lines.push(`${open}>`, `      <failure message="${escapeXml(r.reason ?? 'failed')}" type="${r.level}">${escapeXml(detail)}</failure>`, '    </testcase>');
    }
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
