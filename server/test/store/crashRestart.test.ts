import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { connect, type ConnectOptions, type TaskwireClient } from '../../src';
import { cleanEnv, cleanupCli, makeHome } from '../cli/cliHarness';
import { assertNothingLost, drain, loadThenKill } from './crashLoad';
import { freePort, processState } from '../helpers/os';

// A supervisor's view of a crash: `npx taskwire serve --data-dir` under load, its whole process
// group (npx and node) killed with SIGKILL, and started again at once on the same directory,
// round after round. Then the same with the manager a child of a parent that never reaps it, so
// that the dead manager stays a zombie: the case a pid-file lock got wrong.

const REPO_ROOT = resolve(__dirname, '../../../..');
const BIN = resolve(__dirname, '../../../bin/taskwire.js');
const NEVER_REAPS = resolve(__dirname, '../../../test/fixtures/neverReaps.py');

interface Manager {
  /** The process group to kill: npx's, or the node manager's own under neverReaps.py. */
  group: number;
  /** The manager's node process (for its state in /proc). */
  managerPid: number | undefined;
  /** The spawned process (npx, or the python parent). */
  child: ChildProcess;
  /** Resolves when the spawned process exits. */
  exited: Promise<void>;
  output: () => string;
}

type Launcher = (args: string[], env: NodeJS.ProcessEnv) => ChildProcess;

/** `npx taskwire serve ...` in a process group of its own, as a shell or a supervisor starts it. */
const viaNpx: Launcher = (args, env) => spawn('npx', ['taskwire', ...args], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });

/** `node taskwire.js serve ...` as the child of a python process that never calls wait(). */
const underNeverReaps: Launcher = (args, env) => spawn('python3', [NEVER_REAPS, process.execPath, BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });

const started: ChildProcess[] = [];

/** Starts a manager and waits for its ready line; rejects with its output if it exits first (a refused start). */
async function startManager(launcher: Launcher, args: string[], home: string): Promise<Manager> {
  const child = launcher(['serve', '--json', ...args], cleanEnv({ TASKWIRE_HOME: home }));
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return new Promise<Manager>((done, fail) => {
    const output = () => `stdout: ${stdout}\nstderr: ${stderr}`;
    const check = () => {
      if (!/"message":"ready"/.test(stdout)) return;
      const pid = /^CHILD (\d+)$/m.exec(stderr)?.[1];
      if (launcher === underNeverReaps && pid === undefined) return;
      done({ group: pid === undefined ? child.pid! : Number(pid), managerPid: pid === undefined ? undefined : Number(pid), child, exited, output });
    };
    child.stdout!.on('data', (text: string) => {
      stdout += text;
      check();
    });
    child.stderr!.on('data', (text: string) => {
      stderr += text;
      check();
    });
    child.once('error', (error) => fail(new Error(`cannot start the manager: ${error.message}`)));
    child.once('exit', (code, signal) => fail(new Error(`the manager exited (${code ?? signal}) before it was ready\n${output()}`)));
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Runs `rounds` crash rounds: load, SIGKILL of the manager's process group, a restart at once
 * (no wait for anything but the killed process's exit), and the checks on what came back.
 */
async function crashRounds(launcher: Launcher, rounds: number, afterKill: (manager: Manager) => Promise<void>): Promise<string> {
  const home = makeHome();
  const dataDir = join(makeHome(), 'data');
  const port = await freePort();
  const args = ['--data-dir', dataDir, '--fsync', 'always', '--port', String(port)];
  const clients: TaskwireClient[] = [];
  const client = async (options: Partial<ConnectOptions>) => {
    const opened = await connect({ host: '127.0.0.1', port, authkeyFile: join(home, 'authkey'), reconnect: false, ...options });
    clients.push(opened);
    return opened;
  };
  const restartMs: number[] = [];
  let refused = 0;
  let puts = 0;
  let held = 0;
  let manager = await startManager(launcher, args, home);
  for (let round = 1; round <= rounds; round++) {
    const load = await loadThenKill(
      client,
      async () => {
        const at = Date.now();
        process.kill(-manager.group, 'SIGKILL');
        // Under neverReaps.py the spawned process is the parent, which lives on: afterKill waits for the zombie.
        if (manager.managerPid === undefined) await manager.exited;
        await afterKill(manager);
        return at;
      },
      300,
    );
    for (const opened of clients.splice(0)) opened.close();
    const restartAt = Date.now();
    try {
      manager = await startManager(launcher, args, home);
    } catch (error) {
      refused++;
      throw new Error(`round ${round}: the restart was refused (${refused} of ${round})\n${(error as Error).message}`, { cause: error });
    }
    restartMs.push(Date.now() - restartAt);
    const present = await drain(await client({ name: 'checker' }), 'jobs');
    const check = assertNothingLost(load, present, `round ${round}: `);
    puts += load.produced.size;
    held += check.heldAtKill;
  }
  for (const opened of clients.splice(0)) opened.close();
  process.kill(-manager.group, 'SIGKILL');
  return `${rounds} rounds, ${refused} restarts refused, ${puts} answered puts, ${held} tasks held at a kill came back with attempt + 1; restart to ready: median ${median(restartMs)} ms, max ${Math.max(...restartMs)} ms`;
}

describe('store: crash and restart at once, round after round', function () {
  this.timeout(300_000);
  afterEach(async () => {
    for (const child of started.splice(0)) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await cleanupCli();
  });

  it('npx taskwire serve under load, its process group killed with SIGKILL and restarted at once, 20 times: never refused, nothing answered lost', async () => {
    const summary = await crashRounds(viaNpx, 20, async () => {});
    console.log(`      npx: ${summary}`);
  });

  it('the same with the manager a child of a parent that never reaps it: the dead manager is a zombie at each restart', async () => {
    const summary = await crashRounds(underNeverReaps, 3, async (manager) => {
      for (const deadline = Date.now() + 10_000; processState(manager.managerPid!) !== 'Z'; await new Promise((done) => setTimeout(done, 10))) {
        if (Date.now() > deadline) assert.fail(`the killed manager ${manager.managerPid} is ${processState(manager.managerPid!) ?? 'gone'}, not a zombie: the test would prove nothing`);
      }
    });
    console.log(`      zombie: ${summary}`);
  });
});
