import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as vscode from 'vscode';

/** The port a local manager was to listen on is taken. */
export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`Port ${port} is already in use (another manager, or another program, listens there).`);
    this.name = 'PortInUseError';
  }
}

/** The manager process did not come up; `detail` is the last thing it said. */
export class ManagerStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManagerStartError';
  }
}

/** A manager this extension started and still runs. */
export interface LocalManagerInfo {
  pid: number;
  host: string;
  port: number;
  keyFile: string;
  protocolVersion: string | undefined;
  version: string | undefined;
  startedAt: Date;
}

/** How a started manager ended when nobody asked it to. */
export interface ManagerExit {
  /** The port it listened on. */
  port: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last line it logged (often the reason). */
  lastLine: string | undefined;
}

const READY_TIMEOUT_MS = 20_000;
/** How long a stop waits for a graceful exit (SIGTERM) before it kills the process group. */
const STOP_GRACE_MS = 10_000;
/** After SIGKILL, how long to wait for the exit to be reported (it is near-instant). */
const KILL_WAIT_MS = 2_000;

/** The fields of one `--json` log line of `taskwire serve`. */
interface LogLine {
  time?: string;
  level?: string;
  message?: string;
  [field: string]: unknown;
}

/**
 * Runs the bundled manager (dist/server.js) as a separate process, `taskwire serve --json`,
 * and shows its log lines in an output channel. The process is detached into its own process
 * group: the manager survives the extension host crashing (and the extension host survives the
 * manager dying — it reports the exit); deactivate() stops it.
 */
export class LocalManager implements vscode.Disposable {
  private child: ChildProcess | undefined;
  private stopping = false;
  /** The stop in progress, so a second stop (deactivate, then dispose) waits for the same one. */
  private stopInProgress: Promise<void> | undefined;
  private lastLine: string | undefined;
  private readonly exitEmitter = new vscode.EventEmitter<ManagerExit>();
  private readonly changeEmitter = new vscode.EventEmitter<void>();

  info: LocalManagerInfo | undefined;
  /** A started manager exited without stop() (a crash, a kill, manager/shutdown from a client). */
  readonly onDidExitUnexpectedly = this.exitEmitter.event;
  /** Started or stopped. */
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    private readonly serverScript: string,
    readonly log: vscode.LogOutputChannel,
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts a manager on 127.0.0.1:`port` (0: any free port); resolves once it logged `ready`. */
  async start(port: number, keyFile: string): Promise<LocalManagerInfo> {
    if (this.child) throw new ManagerStartError(`a local manager is already running (pid ${this.child.pid})`);
    const args = [this.serverScript, 'serve', '--host', '127.0.0.1', '--port', String(port), '--authkey-file', keyFile, '--json'];
    this.write('info', `starting: ${process.execPath} ${args.join(' ')}`);
    // ELECTRON_RUN_AS_NODE: on desktop VS Code, execPath is Electron; it then runs as plain Node.
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      windowsHide: true,
    });
    this.child = child;
    this.stopping = false;
    this.lastLine = undefined;
    let stderr = '';
    let onReady: ((line: LogLine) => void) | undefined;
    const readyLine = new Promise<LogLine>((resolve) => (onReady = resolve));

    createInterface({ input: child.stdout! }).on('line', (text) => {
      const line = this.showLogLine(text);
      if (line?.message === 'ready') onReady?.(line);
    });
    createInterface({ input: child.stderr! }).on('line', (text) => {
      stderr += `${text}\n`;
      this.lastLine = text;
      this.write('error', text);
    });
    // 'close', not 'exit': by then everything it wrote to stderr has been read.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));

    let timer: NodeJS.Timeout | undefined;
    type Outcome = { kind: 'ready'; line: LogLine } | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null } | { kind: 'error'; error: Error } | { kind: 'timeout' };
    const outcome = await Promise.race<Outcome>([
      readyLine.then((line) => ({ kind: 'ready', line })),
      exited.then(({ code, signal }) => ({ kind: 'exit', code, signal })),
      spawnFailed.then((error) => ({ kind: 'error', error })),
      new Promise<Outcome>((resolve) => (timer = setTimeout(() => resolve({ kind: 'timeout' }), READY_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);

    if (outcome.kind !== 'ready') {
      this.child = undefined;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (outcome.kind === 'error') throw new ManagerStartError(`cannot run the manager (${process.execPath}): ${outcome.error.message}`);
      if (/already in use/.test(stderr)) throw new PortInUseError(port);
      const said = stderr
        .trim()
        .split('\n')
        .pop()
        ?.replace(/^taskwire: error: /, '');
      if (outcome.kind === 'timeout') throw new ManagerStartError(`the manager did not report ready within ${READY_TIMEOUT_MS / 1000} s${said ? `: ${said}` : ''}`);
      throw new ManagerStartError(`the manager exited at once (${describeExit(outcome.code, outcome.signal)})${said ? `: ${said}` : ''}`);
    }

    const ready = outcome.line;
    this.info = {
      pid: child.pid!,
      host: typeof ready.address === 'string' ? ready.address : '127.0.0.1',
      port: typeof ready.port === 'number' ? ready.port : port,
      keyFile,
      protocolVersion: typeof ready.protocol === 'string' ? ready.protocol : undefined,
      version: typeof ready.version === 'string' ? ready.version : undefined,
      startedAt: new Date(),
    };
    const listening = this.info.port;
    void exited.then(({ code, signal }) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.info = undefined;
      this.write('warn', `the manager exited (${describeExit(code, signal)})`);
      this.changeEmitter.fire();
      if (!this.stopping) this.exitEmitter.fire({ port: listening, code, signal, lastLine: this.lastLine });
    });
    this.changeEmitter.fire();
    return this.info;
  }

  /**
   * Stops the manager gracefully (SIGTERM: leases released, clients closed); after `graceMs`
   * without an exit, kills it (SIGKILL). Both signals go to its whole process group, so nothing
   * it started survives it. Resolves once the process has exited and been reaped.
   */
  stop(graceMs = STOP_GRACE_MS): Promise<void> {
    const child = this.child;
    if (!child) return Promise.resolve();
    this.stopInProgress ??= this.terminate(child, graceMs).finally(() => {
      this.stopInProgress = undefined;
      if (this.child === child) {
        this.child = undefined;
        this.info = undefined;
        this.changeEmitter.fire();
      }
    });
    return this.stopInProgress;
  }

  private async terminate(child: ChildProcess, graceMs: number): Promise<void> {
    this.stopping = true;
    const exited = new Promise<boolean>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(true);
      else child.once('exit', () => resolve(true));
    });
    const within = (ms: number) => Promise.race([exited, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]);
    signalGroup(child, 'SIGTERM');
    if (await within(graceMs)) return;
    signalGroup(child, 'SIGKILL');
    this.write('warn', `the manager did not exit within ${graceMs / 1000} s of SIGTERM: killed it (SIGKILL)`);
    if (!(await within(KILL_WAIT_MS))) this.write('error', `the manager (pid ${child.pid}) did not exit after SIGKILL`);
  }

  dispose(): void {
    void this.stop();
    this.exitEmitter.dispose();
    this.changeEmitter.dispose();
  }

  /** One line of the manager's stdout, shown at its level; the parsed line when it is JSON. */
  private showLogLine(text: string): LogLine | undefined {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      this.write('info', text);
      return undefined;
    }
    const { time: _time, level, message, ...fields } = line;
    const rest = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    const shown = `${message ?? ''}${rest}`;
    this.lastLine = shown;
    this.write(level === 'error' || level === 'warn' || level === 'debug' ? level : 'info', shown);
    return line;
  }

  /**
   * Writes to the output channel. While VS Code deactivates the extension, the channel is
   * disposed as soon as deactivate() yields, and writing to it throws "Channel has been
   * closed": that must not stop the stop (a throw before SIGKILL left a manager running).
   */
  private write(level: 'debug' | 'info' | 'warn' | 'error', text: string): void {
    try {
      this.log[level](text);
    } catch {
      // the channel is closed: the window is going away, and nobody can read it any more
    }
  }
}

/**
 * Sends `signal` to the manager's process group (it leads one: it was spawned detached), or to
 * the process alone where there are no process groups (Windows) or the group is already gone.
 */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (process.platform !== 'win32' && child.pid !== undefined) {
    try {
      process.kill(-child.pid, signal);
      return;
    } catch {
      // ESRCH: no such group any more; fall through to the process itself.
    }
  }
  child.kill(signal);
}

export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code}`;
}
