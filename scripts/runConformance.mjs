#!/usr/bin/env node
// Runs the conformance kit's CLI: the server cases against the reference server it starts
// itself, over plain TCP and then over TLS (a certificate the kit makes with openssl; every
// case inside TLS, and the tls.* cases that only make sense there), then the client cases
// against the driver of each client library in the repository (Python, TypeScript, Go), then
// the server cases once more against a reference manager on Redis (`--store`, a redis-server
// this script starts on a free loopback port and stops by its PID), and
// ends with one line adding them all up: "N passed, N failed, N skipped". Exit code 1 when
// any case failed.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'server', 'bin', 'taskwire.js');
const total = { passed: 0, failed: 0, skipped: 0 };
let failed = false;

function countRun(args) {
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

/** Builds the Go client's driver; undefined (and one failure counted) when it does not build. */
function buildGoDriver(folder) {
  const output = join(folder, process.platform === 'win32' ? 'conformance-driver.exe' : 'conformance-driver');
  // GOPROXY=off: the Go sample uses the standard library only, and CI has no module proxy.
  const built = spawnSync('go', ['build', '-o', output, './cmd/conformance-driver'], {
    cwd: join(root, 'samples', 'go'),
    env: { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (built.status === 0) return output;
  process.stdout.write(`\ncannot build the Go driver (go build ./cmd/conformance-driver): ${built.error?.message ?? `exit ${built.status}`}\n`);
  failed = true;
  total.failed += 1;
  return undefined;
}

/** A free loopback port (redis-server has no --port 0). */
function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a throwaway redis-server (no persistence) in `dir`; resolves with it once it accepts connections. */
async function startRedis(dir) {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`cannot start redis-server (Debian: apt-get install -y redis-server): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)));
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve();
    });
  });
  child.stdout.resume();
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, exited: new Promise((resolve) => child.once('exit', resolve)) };
}

/** The server cases against a reference manager whose queues are in Redis. */
async function countRedisRun(folder) {
  let redis;
  try {
    redis = await startRedis(folder);
  } catch (error) {
    process.stdout.write(`\n${error.message}\n`);
    failed = true;
    total.failed += 1;
    return;
  }
  try {
    countRun(['conformance', '--reference', '--reference-args', `--store ${redis.url}`, '--exclude', 'tls.*']);
  } finally {
    process.kill(redis.pid, 'SIGTERM');
    await redis.exited;
  }
}

const goFolder = mkdtempSync(join(tmpdir(), 'taskwire-go-driver-'));
try {
  // The tls.* cases check TLS itself: they run in the TLS pass, not as skips in this one.
  countRun(['conformance', '--reference', '--exclude', 'tls.*']);
  countRun(['conformance', '--reference', '--tls']);
  countRun(['conformance', 'client', '--cmd', `python3 "${join(root, 'samples', 'python', 'conformance_driver.py')}"`]);
  countRun(['conformance', 'client', '--cmd', `"${process.execPath}" "${join(root, 'server', 'dist', 'src', 'conformance', 'typescriptDriver.js')}"`]);
  const goDriver = buildGoDriver(goFolder);
  if (goDriver !== undefined) countRun(['conformance', 'client', '--cmd', `"${goDriver}"`]);
  await countRedisRun(goFolder);
} finally {
  rmSync(goFolder, { recursive: true, force: true });
}
process.stdout.write(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
process.exitCode = failed || total.failed > 0 ? 1 : 0;
