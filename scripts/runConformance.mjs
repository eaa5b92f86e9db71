#!/usr/bin/env node
// Runs the conformance kit's CLI twice — the server cases against the reference server it
// starts itself, and the client cases against the Python sample's driver — and ends with one
// line adding both up: "N passed, N failed, N skipped". Exit code 1 when any case failed.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'server', 'bin', 'taskwire.js');
const options = ['ttr', 'maxAttempts', 'maxFrameBytes', 'maxPayloadBytes', 'maxBatch', 'maxSubscriptions', 'handshakeTimeout']
  .map((name) => `{${name}?--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} $}`)
  .join(' ');
const serverCmd = `"${process.execPath}" "${bin}" serve --port {port} --authkey-file {authkeyFile} ${options} {noAutoCreate?--no-auto-create}`;
const runs = [
  ['conformance', '--server-cmd', serverCmd],
  ['conformance', 'client', '--cmd', `python3 "${join(root, 'samples', 'python', 'conformance_driver.py')}"`],
];

const total = { passed: 0, failed: 0, skipped: 0 };
let failed = false;
for (const args of runs) {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  process.stdout.write(result.stdout);
  const counts = [...result.stdout.matchAll(/^(\d+) passed, (\d+) failed, (\d+) skipped$/gm)].at(-1);
  if (!counts || result.status !== 0) failed = true;
  if (counts) {
    total.passed += +counts[1];
    total.failed += +counts[2];
    total.skipped += +counts[3];
  } else {
    total.failed += 1;
  }
}
process.stdout.write(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
process.exitCode = failed || total.failed > 0 ? 1 : 0;
