// Child processes of the benchmark: spawn, read their JSON-line events, talk on stdin, stop
// them, and read their memory and CPU time from /proc. Every child is registered so that an
// interrupted run still stops all of them (each by its own pid).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const live = new Set();

export class Child {
  /**
   * @param {string} label  for messages
   * @param {string} command
   * @param {string[]} args
   * @param {{ cwd?: string, env?: object, jsonEvents?: boolean }} options
   */
  constructor(label, command, args, options = {}) {
    this.label = label;
    this.events = [];
    this.waiters = [];
    this.stderrTail = '';
    this.exited = false;
    this.exitCode = undefined;
    this.proc = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.pid = this.proc.pid;
    live.add(this);
    this.proc.stdin.on('error', () => {}); // EPIPE when the child is gone
    createInterface({ input: this.proc.stdout }).on('line', (line) => this.onLine(line));
    this.proc.stderr.on('data', (chunk) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
    });
    this.exitedPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exited = true;
        this.exitCode = code ?? signal;
        live.delete(this);
        this.flushWaiters();
        resolve(this.exitCode);
      });
      this.proc.on('error', (error) => {
        this.spawnError = error;
        this.exited = true;
        live.delete(this);
        this.flushWaiters();
        resolve(-1);
      });
    });
  }

  onLine(line) {
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      return; // not an event (a stray print)
    }
    if (!event || typeof event !== 'object') return;
    const name = event.event ?? event.message; // benchmark children: event; the manager's --json log: message
    this.events.push({ ...event, name });
    this.flushWaiters();
  }

  flushWaiters() {
    for (const w of [...this.waiters]) {
      const i = this.events.findIndex((e) => e.name === w.name);
      if (i >= 0) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(this.events.splice(i, 1)[0]);
      } else if (this.exited) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.reject(new Error(`${this.label} exited (${this.exitCode}) before "${w.name}"${this.describeStderr()}`));
      }
    }
  }

  describeStderr() {
    const tail = this.stderrTail.trim().split('\n').slice(-6).join('\n    ');
    return tail ? `:\n    ${tail}` : '';
  }

  /** The next event called `name` (a JSON line with that event/message). */
  waitFor(name, timeoutMs) {
    return new Promise((resolve, reject) => {
      const w = { name, resolve, reject, timer: undefined };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.label}: no "${name}" within ${Math.round(timeoutMs / 1000)} s${this.describeStderr()}`));
      }, timeoutMs);
      this.waiters.push(w);
      this.flushWaiters();
    });
  }

  send(word) {
    if (!this.exited) this.proc.stdin.write(word + '\n');
  }

  /** Closes stdin (the children's cue to exit), then SIGKILL if still there after `graceMs`. */
  async end(graceMs = 3000) {
    if (this.exited) return;
    this.proc.stdin.end();
    await this.waitExit(graceMs, 'SIGKILL');
  }

  /** SIGTERM (how the managers are stopped), then SIGKILL after `graceMs`. */
  async terminate(graceMs = 15000) {
    if (this.exited) return;
    this.proc.kill('SIGTERM');
    await this.waitExit(graceMs, 'SIGKILL');
    this.proc.stdin.destroy();
  }

  async waitExit(graceMs, thenSignal) {
    let timer;
    const timedOut = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const outcome = await Promise.race([this.exitedPromise, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout' && !this.exited) {
      this.killedHard = true;
      this.proc.kill(thenSignal);
      await this.exitedPromise;
    }
  }
}

/** Stops every child still running (each by its pid); for an interrupted run. */
export function killAll() {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function liveCount() {
  return live.size;
}

/** Resident set size of a process in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : NaN;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** User + system CPU seconds of a process so far (/proc/<pid>/stat). */
export function cpuSeconds(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return NaN; // gone
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime (fields 14 and 15)
}

/** User + system CPU seconds used by the whole machine so far (/proc/stat), for load context. */
export function machineBusySeconds() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line;
  return { busy: (user + nice + system + irq + softirq + steal) / CLOCK_TICKS, idle: (idle + iowait) / CLOCK_TICKS };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
