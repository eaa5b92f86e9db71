import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { DataDirLock, DataDirLockedError } from '../../src/store';
import { LOCK } from '../../src/store/dataDirLock';
import { removeTempDirs, tempDir } from './storeHarness';
import { processState } from '../helpers/os';

// The data dir's lock is a Unix socket the holder listens on: the kernel closes it when the
// holder dies, whatever state it is left in. These tests kill real processes to show it.

const HOLDER_SCRIPT = resolve(__dirname, '../../../test/fixtures/lockHolder.js');
const NEVER_REAPS = resolve(__dirname, '../../../test/fixtures/neverReaps.py');
const LIBRARY_INDEX = resolve(__dirname, '../../src/index.js');

const children: ChildProcess[] = [];

/** Resolves with the first line of `stream` that matches. */
function lineMatching(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((done, fail) => {
    let text = '';
    child[stream]!.setEncoding('utf8');
    child[stream]!.on('data', (chunk: string) => {
      text += chunk;
      const match = pattern.exec(text);
      if (match) done(match);
    });
    child.once('exit', (code, signal) => fail(new Error(`the process exited (${code ?? signal}) before ${pattern}: ${text}`)));
  });
}

/** A process holding the lock of `dir` (node lockHolder.js), once it holds it. */
async function holderProcess(dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [HOLDER_SCRIPT, dir], { env: { ...process.env, TASKWIRE_INDEX: LIBRARY_INDEX }, stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  await lineMatching(child, 'stdout', /^HELD \d+$/m);
  return child;
}

function killed(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill(signal);
  });
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !check(); await new Promise((done) => setTimeout(done, 10))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

async function refusal(promise: Promise<unknown>): Promise<DataDirLockedError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DataDirLockedError, `not a DataDirLockedError: ${String(error)}`);
    return error;
  }
  assert.fail('the lock was granted');
}

describe('store: the data dir lock', function () {
  this.timeout(30_000);
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => killed(child)));
    removeTempDirs();
  });

  it('is a socket in the data dir; a second claim is refused naming the holder, and release frees it', async () => {
    const dir = join(tempDir(), 'data');
    const lock = await DataDirLock.acquire(dir);
    assert.ok(lstatSync(join(dir, LOCK)).isSocket());
    const error = await refusal(DataDirLock.acquire(dir));
    assert.deepEqual([error.holder?.pid, error.holder?.host], [process.pid, hostname()]);
    assert.match(
      error.message,
      new RegExp(
        `^the data dir ${dir} is in use by another manager \\(pid ${process.pid} on ${hostname()}, since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); stop that manager first, or give this one another --data-dir$`,
      ),
    );
    await lock.release();
    assert.equal(existsSync(join(dir, LOCK)), false, 'the socket file outlived its release');
    await (await DataDirLock.acquire(dir)).release();
  });

  it('a live holder in another process is refused; killed with SIGKILL, its lock is taken over at once', async () => {
    const dir = join(tempDir(), 'data');
    const holder = await holderProcess(dir);
    const error = await refusal(DataDirLock.acquire(dir));
    assert.equal(error.pid, holder.pid);
    await killed(holder);
    // The socket file is still there; nobody listens on it any more.
    assert.ok(lstatSync(join(dir, LOCK)).isSocket());
    const started = Date.now();
    const lock = await DataDirLock.acquire(dir);
    assert.ok(Date.now() - started < 1000, `the takeover took ${Date.now() - started} ms`);
    await lock.release();
  });

  it('a holder that died and was never reaped (a zombie) does not hold the lock', async function () {
    const dir = join(tempDir(), 'data');
    // python3 neverReaps.py node lockHolder.js DIR: the holder's parent never calls wait().
    const parent = spawn('python3', [NEVER_REAPS, process.execPath, HOLDER_SCRIPT, dir], { env: { ...process.env, TASKWIRE_INDEX: LIBRARY_INDEX }, stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(parent);
    parent.once('error', (error) => assert.fail(`cannot run python3 (the tests need it): ${error.message}`));
    const [, pid] = await lineMatching(parent, 'stderr', /^CHILD (\d+)$/m);
    await lineMatching(parent, 'stdout', /^HELD \d+$/m);
    process.kill(Number(pid), 'SIGKILL');
    await until('the holder to become a zombie', () => processState(Number(pid)) === 'Z');
    // What a pid file would have believed: the zombie's pid answers signal 0 as a running process.
    assert.doesNotThrow(() => process.kill(Number(pid), 0));
    const lock = await DataDirLock.acquire(dir);
    assert.equal(processState(Number(pid)), 'Z', 'the holder was reaped during the test: it proves nothing');
    await lock.release();
  });

  it('a holder stopped with SIGSTOP still holds it, and the refusal says it did not answer', async () => {
    const dir = join(tempDir(), 'data');
    const holder = await holderProcess(dir);
    holder.kill('SIGSTOP');
    try {
      const error = await refusal(DataDirLock.acquire(dir));
      assert.equal(error.holder, undefined);
      assert.match(
        error.message,
        new RegExp(
          `^the data dir ${dir} is in use by another manager: its lock ${join(dir, LOCK)} accepts connections but the manager did not say who it is \\(it may be stopped with SIGSTOP, or very busy\\)`,
        ),
      );
    } finally {
      holder.kill('SIGCONT');
    }
  });

  it('something else listening on the lock that closes connections unanswered is refused with what to do', async () => {
    const dir = join(tempDir(), 'data');
    mkdirSync(dir, { recursive: true });
    const impostor = createServer((socket) => socket.destroy());
    await new Promise<void>((done) => impostor.listen(join(dir, LOCK), done));
    try {
      await assert.rejects(DataDirLock.acquire(dir), {
        message: `the lock ${join(dir, LOCK)} accepts connections and closes them without naming a manager: is something other than a Taskwire manager listening there? stop it, or give this manager another --data-dir`,
      });
    } finally {
      await new Promise<void>((done) => impostor.close(() => done()));
    }
  });

  it('a pid file left by an older version is taken over, even when the pid it names runs', async () => {
    const dir = join(tempDir(), 'data');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, LOCK), `${process.ppid}\n`);
    const lock = await DataDirLock.acquire(dir);
    assert.ok(lstatSync(join(dir, LOCK)).isSocket());
    await lock.release();
  });

  it('managers starting together on a stale lock: exactly one gets it, the others are refused naming it', async () => {
    const dir = join(tempDir(), 'data');
    const holder = await holderProcess(dir);
    await killed(holder);
    for (let round = 0; round < 5; round++) {
      const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => DataDirLock.acquire(dir)));
      const granted = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      const refused = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      assert.equal(granted.length, 1, `round ${round}: ${granted.length} managers got the lock`);
      for (const { reason } of refused) assert.ok(reason instanceof DataDirLockedError, String(reason));
      assert.deepEqual(readdirSync(dir), [LOCK], 'a moved-aside socket was left behind');
      // Die without releasing, as a crash would: close the socket but leave its file.
      await (granted[0] as PromiseFulfilledResult<DataDirLock>).value.release();
      const stale = await holderProcess(dir);
      await killed(stale);
    }
  });

  it('a data dir whose path is too long for a socket address still gets its lock (Linux: through the directory descriptor)', async () => {
    const dir = join(tempDir(), 'a'.repeat(60), 'b'.repeat(60), 'data');
    assert.ok(Buffer.byteLength(join(dir, LOCK)) > 108);
    const holder = await holderProcess(dir);
    assert.ok(lstatSync(join(dir, LOCK)).isSocket(), 'the socket is not in the data dir');
    const error = await refusal(DataDirLock.acquire(dir));
    assert.equal(error.pid, holder.pid);
    await killed(holder);
    const lock = await DataDirLock.acquire(dir);
    await lock.release();
    assert.equal(existsSync(join(dir, LOCK)), false);
  });
});
