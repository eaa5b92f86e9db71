import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './os';

// A real redis-server for the tests of the Redis store: on a free loopback port, in a temp dir
// of its own, stopped by its PID. Never a system Redis, never port 6379. When redis-server is
// missing the test fails and says how to install it (scripts/setupTestTools.sh does in CI).

export interface RedisServerOptions {
  /** Keep an append-only file (default: no persistence at all). */
  appendonly?: boolean;
  appendfsync?: 'always' | 'everysec' | 'no';
}

export interface RunningRedis {
  url: string;
  port: number;
  /** The PID of the redis-server running now (it changes with restart). */
  pid: number;
  dir: string;
  /** Stops it (SIGTERM; `kill`: SIGKILL, as a crash) and removes its dir. */
  stop(options?: { kill?: boolean; keepDir?: boolean }): Promise<void>;
  /** Stops it (SIGKILL with `kill`) and starts it again on the same port and dir, with what it persisted. */
  restart(options?: { kill?: boolean; downMs?: number }): Promise<void>;
}

let checked = false;

function requireRedisServer(): void {
  if (checked) return;
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error('redis-server is not installed: the Redis store tests need it (Debian: apt-get install -y redis-server; scripts/setupTestTools.sh does it)');
  }
  checked = true;
}

function launch(port: number, dir: string, options: RedisServerOptions): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', options.appendonly ? 'yes' : 'no', '--daemonize', 'no', '--protected-mode', 'yes'];
  if (options.appendfsync) args.push('--appendfsync', options.appendfsync);
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start on port ${port} within 10 s:\n${output}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${signal ?? code}) before it was ready:\n${output}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

export async function startRedis(options: RedisServerOptions = {}): Promise<RunningRedis> {
  requireRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-redis-'));
  const port = await freePort();
  let child = await launch(port, dir, options);
  const halt = async (kill: boolean) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = exited(child);
    process.kill(child.pid!, kill ? 'SIGKILL' : 'SIGTERM');
    await gone;
  };
  const running: RunningRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    dir,
    async stop({ kill = false, keepDir = false } = {}) {
      await halt(kill);
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
    async restart({ kill = false, downMs = 0 } = {}) {
      await halt(kill);
      if (downMs > 0) await new Promise((done) => setTimeout(done, downMs));
      child = await launch(port, dir, options);
      running.pid = child.pid!;
    },
  };
  return running;
}
