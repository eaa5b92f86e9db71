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
  /** Clients must authenticate with this password (AUTH). */
  requirepass?: string;
  /** Serve TLS only (rediss://), with this certificate, key and CA; clients need no certificate of their own. */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** A replica of the Redis on this loopback port (read-only until `REPLICAOF NO ONE`). */
  replicaOf?: number;
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
  /**
   * Holds every client's writes for `ms` (`CLIENT PAUSE ms WRITE`): scripts that write wait,
   * which lets a test make a store's answer come after a socket's close.
   */
  pauseWrites(ms: number): void;
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

function launch(port: number, dir: string, options: RedisServerOptions, extra: string[] = []): Promise<ChildProcess> {
  const listen = options.tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', options.tls.certFile, '--tls-key-file', options.tls.keyFile, '--tls-ca-cert-file', options.tls.caFile, '--tls-auth-clients', 'no']
    : ['--port', String(port)];
  const args = [...extra, ...listen, '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', options.appendonly ? 'yes' : 'no', '--daemonize', 'no', '--protected-mode', 'yes'];
  if (options.appendfsync) args.push('--appendfsync', options.appendfsync);
  if (options.requirepass) args.push('--requirepass', options.requirepass);
  if (options.replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(options.replicaOf));
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
    url: `${options.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
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
    pauseWrites(ms) {
      if (options.tls) throw new Error('pauseWrites: redis-cli here speaks plain TCP only');
      const auth = options.requirepass === undefined ? [] : ['-a', options.requirepass, '--no-auth-warning'];
      const paused = spawnSync('redis-cli', ['-p', String(port), ...auth, 'client', 'pause', String(ms), 'WRITE'], { encoding: 'utf8' });
      if (paused.stdout.trim() !== 'OK') throw new Error(`redis-cli client pause failed: ${paused.stdout}${paused.stderr}`);
    },
  };
  return running;
}

export interface RunningRedisCluster {
  /** redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3 */
  url: string;
  ports: number[];
  /** Stops every node (SIGTERM) and removes their dirs. */
  stop(): Promise<void>;
}

/**
 * A 3-node Redis Cluster (no replicas) on free loopback ports, made with `redis-cli --cluster
 * create`; resolves once every node reports cluster_state:ok.
 */
export async function startRedisCluster(): Promise<RunningRedisCluster> {
  requireRedisServer();
  const ports = [await freePort(), await freePort(), await freePort()];
  const dirs = ports.map(() => mkdtempSync(join(tmpdir(), 'taskwire-redis-cluster-')));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = exited(child);
        process.kill(child.pid!, 'SIGTERM');
        await gone;
      }),
    );
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) children.push(await launch(ports[i]!, dirs[i]!, {}, ['--cluster-enabled', 'yes', '--cluster-config-file', join(dirs[i]!, 'nodes.conf')]));
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed (${created.error?.message ?? created.status}):\n${created.stdout}${created.stderr}`);
    const deadline = Date.now() + 20_000;
    for (const port of ports) {
      for (;;) {
        const info = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' });
        if (info.stdout.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`the cluster did not reach cluster_state:ok on port ${port}:\n${info.stdout}`);
        await new Promise((done) => setTimeout(done, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, ports, stop };
}
