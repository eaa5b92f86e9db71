// The benchmark's own redis-server: started on a free loopback port in a temporary directory,
// no persistence by default, stopped by its pid (an interrupted run stops it too: it is a Child
// like every other process the runner starts). A few commands over a bare RESP connection (no
// client library in the runner: the systems under test bring their own), for readiness,
// CONFIG RESETSTAT before the clock and INFO commandstats after it.
import { accessSync, constants } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { Child } from './proc.mjs';

/** The error when no redis-server can be run; the runner prints it as it is. */
export class RedisMissingError extends Error {}

/**
 * The redis-server executable: $BENCH_REDIS_SERVER, else the first `redis-server` on PATH.
 * Throws RedisMissingError saying how to get one.
 */
export function findRedisServer(env = process.env) {
  const explicit = env.BENCH_REDIS_SERVER;
  const candidates = explicit
    ? [explicit]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, 'redis-server'));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not there, or not executable: the next one
    }
  }
  throw new RedisMissingError(
    explicit
      ? `redis-server not found: BENCH_REDIS_SERVER=${explicit} is not an executable file`
      : 'redis-server not found on PATH: the Redis systems (bullmq-*, taskwire-redis-*) need Redis 7 (Debian: apt-get install redis-server; scripts/setupTestTools.sh installs it), or set BENCH_REDIS_SERVER to its path',
  );
}

/** A free TCP port on 127.0.0.1 (redis-server has no --port 0): bind port 0, read it, close. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts redis-server on a free loopback port with its working directory in `dir`;
 * resolves once it answers PING with { pid, port, url, child, command(), stop() }.
 * `persistence` false (the default): `--save "" --appendonly no`.
 */
export async function startRedis({ dir, executable = findRedisServer(), persistence = false, extraArgs = [] }) {
  // Another process may take the port between freePort() and redis-server's bind: try again.
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'];
    if (!persistence) args.push('--save', '', '--appendonly', 'no');
    const child = new Child('redis-server', executable, [...args, ...extraArgs], {});
    try {
      await waitForPong(port, child, 10_000);
    } catch (error) {
      lastError = error;
      await child.terminate(2000);
      continue;
    }
    return {
      pid: child.pid,
      port,
      url: `redis://127.0.0.1:${port}`,
      child,
      command: (...words) => redisCommand(port, words),
      stop: () => child.terminate(5000),
    };
  }
  throw lastError;
}

async function waitForPong(port, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exited) throw new Error(`redis-server exited (${child.exitCode}) before answering PING${child.describeStderr()}`);
    try {
      if ((await redisCommand(port, ['PING'])) === 'PONG') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port} within ${timeoutMs / 1000} s${child.describeStderr()}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

/** Sends one command on a fresh connection and resolves with its parsed reply. */
export function redisCommand(port, words, { host = '127.0.0.1', timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`redis ${words[0]}: no reply within ${timeoutMs / 1000} s`)), timeoutMs);
    const finish = (error, value) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    socket.on('error', (error) => finish(error));
    socket.on('connect', () => socket.write(encodeCommand(words)));
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      let parsed;
      try {
        parsed = parseReply(buffer, 0);
      } catch (error) {
        finish(error);
        return;
      }
      if (parsed === undefined) return; // incomplete: wait for more
      if (parsed.value instanceof RedisReplyError) finish(parsed.value);
      else finish(undefined, parsed.value);
    });
  });
}

export class RedisReplyError extends Error {}

/** A command as a RESP array of bulk strings. */
export function encodeCommand(words) {
  const parts = [`*${words.length}\r\n`];
  for (const w of words) {
    const s = String(w);
    parts.push(`$${Buffer.byteLength(s)}\r\n${s}\r\n`);
  }
  return parts.join('');
}

/**
 * Parses one RESP2 reply at `offset`: { value, end }, or undefined when the buffer does not
 * hold all of it yet. Errors (-ERR …) become RedisReplyError values.
 */
export function parseReply(buffer, offset) {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset]);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new RedisReplyError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, at);
        if (item === undefined) return undefined;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`not a RESP reply: ${JSON.stringify(buffer.toString('utf8', offset, Math.min(buffer.length, offset + 40)))}`);
  }
}

/**
 * INFO commandstats as { command: { calls, usec } } (subcommands as "config|resetstat").
 * Commands a script runs (redis.call) are counted under their own name as well as inside the
 * script's EVALSHA/FCALL time.
 */
export function parseCommandStats(info) {
  const stats = {};
  for (const line of info.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):(.*)$/.exec(line.trim());
    if (!match) continue;
    const fields = Object.fromEntries(match[2].split(',').map((kv) => kv.split('=')));
    stats[match[1]] = { calls: Number(fields.calls), usec: Number(fields.usec) };
  }
  return stats;
}

/** Commands that run a script (their time includes the commands the script calls). */
export const SCRIPT_COMMANDS = ['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro'];

/**
 * What Redis did per task between CONFIG RESETSTAT and INFO commandstats: script calls and
 * their time (which includes the commands the scripts called), every command counted (those
 * run inside scripts included: INFO cannot tell them apart from what clients sent), and the
 * heaviest commands by time. The runner's own CONFIG and INFO are left out.
 */
export function commandCostsPerTask(stats, tasks) {
  const own = (name) => name.startsWith('config') || name === 'info';
  let scriptCalls = 0;
  let scriptUsec = 0;
  let calls = 0;
  const top = [];
  for (const [name, s] of Object.entries(stats)) {
    if (own(name)) continue;
    if (SCRIPT_COMMANDS.includes(name)) {
      scriptCalls += s.calls;
      scriptUsec += s.usec;
    }
    calls += s.calls;
    top.push({ command: name, callsPerTask: s.calls / tasks, usecPerTask: s.usec / tasks });
  }
  top.sort((a, b) => b.usecPerTask - a.usecPerTask);
  return {
    redisScriptCallsPerTask: scriptCalls / tasks,
    redisScriptUsecPerTask: scriptUsec / tasks,
    redisCallsPerTask: calls / tasks,
    redisTopCommands: top.slice(0, 8),
  };
}
