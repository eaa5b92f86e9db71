/**
 * End-to-end harness for the `taskwire` executable: runs bin/taskwire.js as child processes,
 * each test with its own TASKWIRE_HOME and an environment free of the parent's TASKWIRE_*.
 * Call `cleanupCli()` in afterEach: it stops every child (SIGTERM, then SIGKILL after 5 s),
 * closes in-process clients and removes the temporary folders.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, type ConnectOptions, type TaskwireClient } from '../../src';

/** dist/test/cli → ../../../bin/taskwire.js */
export const BIN = resolve(__dirname, '..', '..', '..', 'bin', 'taskwire.js');

/** The package version, from package.json. */
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(resolve(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

const children = new Set<ChildProcess>();
const clients = new Set<TaskwireClient>();
const homes: string[] = [];

/** A fresh, empty TASKWIRE_HOME, removed by cleanupCli(). */
export function makeHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'taskwire-cli-'));
  homes.push(home);
  return home;
}

/** The parent's environment without any TASKWIRE_* variable, plus `extra`. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('TASKWIRE_') && value !== undefined) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The whole environment of the child (default: cleanEnv() with a fresh TASKWIRE_HOME). */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed; without it stdin is an empty pipe (not a TTY). */
  input?: string | Buffer;
  /** The child is killed (SIGKILL) and the promise rejected after this long (default 15 s). */
  timeoutMs?: number;
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function spawnCli(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return track(spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] }));
}

/** Runs `taskwire ...args` to completion. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const env = options.env ?? cleanEnv({ TASKWIRE_HOME: makeHome() });
  const timeoutMs = options.timeoutMs ?? 15_000;
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  child.stdin!.on('error', () => {}); // the CLI may exit before reading its input
  child.stdin!.end(options.input ?? '');
  return new Promise<CliResult>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`taskwire ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'close' (not 'exit'): every byte of stdout and stderr has been read.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** A child that keeps running (serve, tail, a blocked get): its output so far and how to end it. */
export class RunningCli {
  stdout = '';
  stderr = '';
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<CliResult>;
  private listeners: (() => void)[] = [];

  constructor(
    readonly child: ChildProcess,
    readonly args: string[],
  ) {
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      this.stdout += text;
      this.wake();
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
      this.wake();
    });
    child.stdin!.on('error', () => {});
    this.exited = new Promise((resolvePromise) => {
      child.once('close', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        this.wake();
        resolvePromise({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Complete stdout lines so far. */
  get stdoutLines(): string[] {
    return this.stdout.split('\n').filter((line, i, all) => i < all.length - 1 && line !== '');
  }

  /** Waits until `test` holds for the output (checked on every chunk) or fails after timeoutMs. */
  async waitFor<T>(what: string, test: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = test();
      if (value !== undefined && value !== false) return value;
      const left = deadline - Date.now();
      // exitCode/exitSignal are set on 'close', after the last output: the test above saw it all.
      if (left <= 0 || this.exitCode !== null || this.exitSignal !== null) {
        throw new Error(
          `waiting for ${what} from taskwire ${this.args.join(' ')}: ${left <= 0 ? 'timed out' : `it exited (${this.exitCode ?? this.exitSignal})`}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
        );
      }
      await new Promise<void>((resolvePromise) => {
        const timer = setTimeout(done, Math.min(left, 250));
        function done() {
          clearTimeout(timer);
          resolvePromise();
        }
        this.listeners.push(done);
      });
    }
  }

  /** Waits for a stdout line matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string> {
    return this.waitFor(`a line matching ${pattern}`, () => this.stdoutLines.find((line) => pattern.test(line)), timeoutMs);
  }

  /** Sends a signal and waits for the exit; SIGKILL if it is still running after graceMs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<CliResult> {
    if (this.running) {
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      try {
        return await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    return this.exited;
  }

  private wake(): void {
    for (const listener of this.listeners.splice(0)) listener();
  }
}

/** Starts `taskwire ...args` in the background. */
export function spawnBackground(args: string[], env: NodeJS.ProcessEnv): RunningCli {
  return new RunningCli(spawnCli(args, env), args);
}

/** A running `taskwire serve`. */
export class Serve extends RunningCli {
  port = 0;

  constructor(
    child: ChildProcess,
    args: string[],
    readonly home: string,
    /** The serve's environment; clients of the same machine use it too. */
    readonly env: NodeJS.ProcessEnv,
  ) {
    super(child, args);
  }

  /** The default key file of this TASKWIRE_HOME. */
  get authkeyFile(): string {
    return join(this.home, 'authkey');
  }

  /** `--port <port>` for client commands. */
  get portArgs(): string[] {
    return ['--port', String(this.port)];
  }

  /** Runs a client command against this manager (same TASKWIRE_HOME, so the same key). */
  run(args: string[], options: Omit<RunOptions, 'env'> & { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
    return runCli([...args, ...this.portArgs], { env: this.env, ...options });
  }

  /** Starts a long-running client command (tail, a blocking get) against this manager. */
  background(args: string[]): RunningCli {
    return spawnBackground([...args, ...this.portArgs], this.env);
  }

  /** An in-process client library connection to this manager, closed by cleanupCli(). */
  async client(options: Partial<ConnectOptions> = {}): Promise<TaskwireClient> {
    const client = await connect({ host: '127.0.0.1', port: this.port, authkeyFile: this.authkeyFile, reconnect: false, name: 'cli-test', ...options });
    clients.add(client);
    return client;
  }
}

export interface ServeOptions {
  /** TASKWIRE_HOME (default: a fresh one). */
  home?: string;
  /** Extra environment variables. */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/**
 * Spawns `taskwire serve --port 0 ...args` and resolves once it listens: the port comes from
 * the stderr banner "listening on 127.0.0.1:<port>" (or, with --json, the stdout "ready" line).
 */
export async function startServe(args: string[] = [], options: ServeOptions = {}): Promise<Serve> {
  const home = options.home ?? makeHome();
  const env = cleanEnv({ TASKWIRE_HOME: home, ...options.env });
  const fullArgs = ['serve', '--port', '0', ...args];
  const serve = new Serve(spawnCli(fullArgs, env), fullArgs, home, env);
  const json = args.includes('--json');
  serve.port = await serve.waitFor(
    'the listening banner',
    () => {
      if (json) {
        for (const line of serve.stdoutLines) {
          let entry: { message?: string; port?: number };
          try {
            entry = JSON.parse(line) as typeof entry;
          } catch {
            continue;
          }
          if (entry.message === 'ready' && typeof entry.port === 'number') return entry.port;
        }
        return undefined;
      }
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(serve.stderr);
      return match ? Number(match[1]) : undefined;
    },
    options.timeoutMs ?? 15_000,
  );
  return serve;
}

/** afterEach: closes in-process clients, stops every child (SIGKILL after 5 s), removes temp folders. */
export async function cleanupCli(): Promise<void> {
  for (const client of clients) client.close();
  clients.clear();
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolvePromise) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolvePromise();
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolvePromise();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  children.clear();
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
}

/** JSON values of the non-empty lines of `text`. */
export function jsonLines<T = unknown>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/** Lines of `text`, without the empty last one. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}
