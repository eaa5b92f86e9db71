#!/usr/bin/env node
// Runs every test suite of the repository — the server's and each sample's, in their own
// languages — and ends with one line counting them all: "N passed, N failed, N skipped".
// Usage: node scripts/runTests.mjs [suite-name ...]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The lines that name a failed test, per runner, repeated in the summary. */
const failureLines = {
  mocha: /^failed: .*$/gm,
  pytest: /^FAILED .*$/gm,
  nodeTest: /^\s*not ok \d+ - .*$/gm,
  go: /^\s*--- FAIL: .*$/gm,
};

/** How to read each runner's own closing counts. */
const parsers = {
  /** Our mocha reporter's last line: "12 passed, 0 failed, 1 skipped". */
  mocha(output) {
    const m = [...output.matchAll(/^(\d+) passed, (\d+) failed, (\d+) skipped$/gm)].at(-1);
    return m && { passed: +m[1], failed: +m[2], skipped: +m[3] };
  },
  /** pytest's summary: "3 failed, 40 passed, 2 skipped in 4.1s" (any order, any subset). */
  pytest(output) {
    const line = output
      .split('\n')
      .reverse()
      .find((l) => / in [\d.]+s/.test(l) && /(passed|failed|error|skipped)/.test(l));
    if (!line) return undefined;
    const count = (word) => Number(new RegExp(`(\\d+) ${word}`).exec(line)?.[1] ?? 0);
    return { passed: count('passed'), failed: count('failed') + count('errors?'), skipped: count('skipped') };
  },
  /** node --test (TAP): "# pass 10", "# fail 0", "# skipped 0". */
  nodeTest(output) {
    const count = (word) => [...output.matchAll(new RegExp(`^# ${word} (\\d+)$`, 'gm'))].at(-1)?.[1];
    const passed = count('pass');
    return passed === undefined ? undefined : { passed: +passed, failed: +(count('fail') ?? 0), skipped: +(count('skipped') ?? 0) };
  },
  /** A command whose exit code is its one verdict (the benchmark's smoke run). */
  exitCode(_output, code) {
    return code === 0 ? { passed: 1, failed: 0, skipped: 0 } : { passed: 0, failed: 1, skipped: 0 };
  },
  /** go test -v: one "--- PASS/FAIL/SKIP" line per test and subtest. */
  go(output) {
    const count = (word) => (output.match(new RegExp(`^\\s*--- ${word}:`, 'gm')) ?? []).length;
    const result = { passed: count('PASS'), failed: count('FAIL'), skipped: count('SKIP') };
    return result.passed + result.failed + result.skipped > 0 ? result : undefined;
  },
};

const suites = [
  // The formatter's verdict on every TypeScript and JavaScript file (one config at the root:
  // .prettierrc.json); `npm run format` fixes what it reports.
  { name: 'format', cwd: '.', command: 'npx', args: ['prettier', '--check', '.'], parser: 'exitCode', failures: /^\[warn\] (?!Code style issues).*$/gm },
  // The linter's verdict on the same files (eslint.config.mjs at the root: @eslint/js and
  // typescript-eslint's recommended rules); `npm run lint` shows the same report.
  // In the summary: each file with problems, and its errors.
  { name: 'lint', cwd: '.', command: 'npx', args: ['eslint', '.'], parser: 'exitCode', failures: /^(\/.*|\s+\d+:\d+\s+error\s.*)$/gm },
  { name: 'server', cwd: 'server', command: 'npx', args: ['mocha'], parser: 'mocha' },
  { name: 'seed-typescript', cwd: 'samples/seed-typescript', command: 'npx', args: ['mocha'], parser: 'mocha' },
  { name: 'python', cwd: 'samples/python', command: 'python3', args: ['-m', 'pytest', '-q', '-p', 'no:cacheprovider'], parser: 'pytest' },
  // GOPROXY=off: the Go sample uses the standard library only, and CI has no module proxy.
  { name: 'go', cwd: 'samples/go', command: 'go', args: ['test', '-count=1', '-v', './...'], parser: 'go', env: { GOPROXY: 'off', GOFLAGS: '-mod=mod' }, quiet: /^(=== (RUN|PAUSE|CONT)|\s*--- PASS)/ },
  { name: 'crawler', cwd: 'samples/crawler', command: 'npx', args: ['mocha'], parser: 'mocha' },
  // The conformance kit itself, as CI users run it: every server case against the reference
  // server the kit starts (options included), then the Python, TypeScript and Go clients through their drivers.
  // The CLI ends each run with "N passed, N failed, N skipped", read by the mocha parser.
  { name: 'conformance', cwd: '.', command: 'node', args: ['scripts/runConformance.mjs'], parser: 'mocha' },
  // The benchmark's report (targets, tables, charts, flame graphs, --render, --compare, the Redis section) on made-up summaries and a real .cpuprofile; the runner's own redis-server (needs redis-server, as the Redis store's tests do).
  { name: 'bench-report', cwd: '.', command: 'node', args: ['--test', 'bench/test/'], parser: 'nodeTest' },
  // The benchmark's quick smoke run: tiny N, one run, every system; it checks the runner still works (no timings are asserted).
  { name: 'bench-smoke', cwd: '.', command: 'node', args: ['bench/run.mjs', '--quick', '--out', join(root, 'test-output', 'bench')], parser: 'exitCode' },
  // The extension's suite inside a real VS Code (code-server's, offline), then UI tests that
  // click through the sidebar in Chromium and install the packaged .vsix. The first run
  // installs code-server and Chromium (extension/scripts/setupVscode.sh), cached afterwards.
  { name: 'extension', cwd: 'extension', command: 'node', args: ['test/launch/runCodeServer.js'], parser: 'mocha' },
  { name: 'extension-ui', cwd: 'extension', command: 'npx', args: ['mocha', '--config', 'test/ui/.mocharc.json'], parser: 'mocha' },
];

function run(suite) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(suite.command, suite.args, { cwd: join(root, suite.cwd), env: { ...process.env, ...suite.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let pending = '';
    const echo = (chunk) => {
      const text = chunk.toString();
      output += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) if (!suite.quiet?.test(line)) process.stdout.write(line + '\n');
    };
    child.stdout.on('data', echo);
    child.stderr.on('data', echo);
    child.on('error', (error) => {
      output += `\ncannot run ${suite.command}: ${error.message}\n`;
    });
    child.on('close', (code) => {
      if (pending) process.stdout.write(pending + '\n');
      const counts = parsers[suite.parser](output, code);
      resolve({ suite, code, counts, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

// System tools the suites call (openssl, for the TLS tests), installed on a clean CI machine;
// without them the tests that need them fail and say which tool is missing.
if (process.platform !== 'win32') spawnSync('bash', [join(root, 'scripts', 'setupTestTools.sh')], { stdio: 'inherit' });

const only = process.argv.slice(2);
const selected = suites.filter((s) => (only.length === 0 || only.includes(s.name)) && existsSync(join(root, s.cwd)));
const results = [];
for (const suite of selected) {
  process.stdout.write(`\n=== ${suite.name} (${suite.cwd}: ${suite.command} ${suite.args.join(' ')})\n`);
  results.push(await run(suite));
}

const total = { passed: 0, failed: 0, skipped: 0 };
process.stdout.write('\n=== summary\n');
for (const { suite, code, counts, seconds, output } of results) {
  // A runner that crashed before counting, or exited non-zero with no failure counted, is one failure.
  const c = counts ?? { passed: 0, failed: 1, skipped: 0 };
  if (code !== 0 && c.failed === 0) c.failed = 1;
  total.passed += c.passed;
  total.failed += c.failed;
  total.skipped += c.skipped;
  const status = code === 0 && c.failed === 0 ? 'ok  ' : 'FAIL';
  process.stdout.write(`${status} ${suite.name.padEnd(16)} ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped (${seconds.toFixed(1)} s)\n`);
  const failures = suite.failures ?? failureLines[suite.parser];
  if (status === 'FAIL' && failures) for (const line of output.match(failures) ?? []) process.stdout.write(`       ${line.trim()}\n`);
}
process.stdout.write(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
process.exitCode = total.failed > 0 || results.length === 0 ? 1 : 0;
