// `taskwire serve` as the standalone benchmarks start it (unique.mjs, redisDrain.mjs,
// admission.mjs): a child on a free port (--port 0) with the shared key given on the command
// line, a TASKWIRE_HOME of its own, ready once its banner names the port; stopped with SIGKILL
// (the benchmarks measure, they do not test a clean shutdown) and its home removed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Keeps at most this much of the manager's stderr for the error when it exits before listening. */
const STDERR_KEPT = 100_000;

/**
 * Starts `node BIN serve --port 0 --authkey KEY ...args`; resolves with its pid and port once it
 * listens, rejects with its stderr if it exits first. `onStderr` sees every chunk (a debug echo).
 */
export function startServe({ bin, authkey, args = [], onStderr }) {
  const home = mkdtempSync(join(tmpdir(), 'tw-bench-serve-'));
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--authkey', authkey, ...args], {
    env: { ...process.env, TASKWIRE_HOME: home },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      onStderr?.(chunk);
      if (stderr.length > STDERR_KEPT) return;
      stderr += chunk;
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (match) resolve({ pid: child.pid, port: Number(match[1]), stop: () => (child.kill('SIGKILL'), rmSync(home, { recursive: true, force: true })) });
    });
    child.once('exit', (code) => reject(new Error(`the manager exited (${code}) before listening: ${stderr}`)));
  });
}
