import { strict as assert } from 'node:assert';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEvent } from '../../src/cli/tail';
import type { Event } from '../../src/protocol/generated';
import { startServer, TEST_KEY, type RunningServer } from '../helpers/harness';

const repoRoot = join(__dirname, '..', '..', '..', '..');

/** Runs samples/quickstart/worker.js against the manager; resolves with its exit code and output. */
function runWorker(port: number, home: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, TASKWIRE_HOME: home, TASKWIRE_PORT: String(port), IDLE_TIMEOUT: '1' };
    const child = spawn(process.execPath, [join(repoRoot, 'samples', 'quickstart', 'worker.js')], { cwd: repoRoot, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A worker left running (no idle timeout), with its output so far. */
interface LiveWorker {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  exited: Promise<number | null>;
}

function startWorker(port: number, home: string): LiveWorker {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, TASKWIRE_HOME: home, TASKWIRE_PORT: String(port), IDLE_TIMEOUT: '60' };
  const child = spawn(process.execPath, [join(repoRoot, 'samples', 'quickstart', 'worker.js')], { cwd: repoRoot, env });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, exited };
}

async function until<T>(what: string, probe: () => T | undefined, seconds: number): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('samples/quickstart/worker.js', () => {
  let running: RunningServer;
  let home: string;

  beforeEach(async () => {
    running = await startServer();
    home = mkdtempSync(join(tmpdir(), 'taskwire-quickstart-'));
    // The worker finds the key where `taskwire serve` writes it: $TASKWIRE_HOME/authkey.
    writeFileSync(join(home, 'authkey'), `${TEST_KEY.toString()}\n`, { mode: 0o600 });
  });

  afterEach(async () => {
    await running.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('shares the tasks between two workers and sends every result to replyTo', async () => {
    const producer = await running.client({ name: 'producer', role: 'producer' });
    const urls = Array.from({ length: 10 }, (_, i) => `image_url_${i}`);
    await producer.queue('tasks').putMany(urls.map((payload) => ({ payload, replyTo: 'results' })));

    const [a, b] = await Promise.all([runWorker(running.port, home), runWorker(running.port, home)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const doneA = Number(/done: (\d+) tasks/.exec(a.stdout)?.[1]);
    const doneB = Number(/done: (\d+) tasks/.exec(b.stdout)?.[1]);
    assert.equal(doneA + doneB, 10);
    assert.ok(doneA > 0 && doneB > 0, `both workers should take tasks (got ${doneA} and ${doneB})`);

    const results = await producer.queue('results').getMany(100, { timeout: 1, autoAck: true });
    const texts = results.map((r) => (r.payload as { result: string }).result).sort();
    assert.deepEqual(texts, urls.map((u) => `${u} ---> success`).sort());
  });

  it("the tour's Ctrl+C: with 10,000 tasks queued, the task of a worker stopped mid-task goes to the other worker at once, attempt 2, and tail says released (client stopped)", async () => {
    const producer = await running.client({ name: 'producer', role: 'producer' });
    for (let start = 0; start < 10_000; start += 1000) {
      const urls = Array.from({ length: 1000 }, (_, i) => `image_url_${start + i}`);
      await producer.queue('tasks').putMany(urls.map((payload) => ({ payload, replyTo: 'results' })));
    }
    const monitor = await running.client({ name: 'tail', role: 'monitor' });
    const released: Event[] = [];
    await monitor.subscribe({ queues: ['tasks'], kinds: ['released'] }, (event) => released.push(event));

    const stopped = startWorker(running.port, home);
    const other = startWorker(running.port, home);
    try {
      await until('the first worker to run a task', () => (/run task /.test(stopped.stdout()) ? true : undefined), 20);
      stopped.child.kill('SIGINT');
      assert.equal(await stopped.exited, 0, stopped.stdout());
      assert.match(stopped.stdout(), /stopping \(Ctrl\+C\): its task goes back to the queue/);
      const event = await until('the released event', () => released[0], 10);
      assert.deepEqual([event.kind, event.attempt, event.error], ['released', 1, 'client stopped']);
      assert.match(formatEvent(event, monitor.managerId), new RegExp(`^\\S+ released +tasks ${event.taskId} by quickstart-worker-\\d+ \\(\\S+\\) \\(client stopped\\)$`));
      // Within seconds, not behind the 9,990-odd tasks that waited: the head of the queue.
      const line = await until('the other worker to run it with attempt 2', () => new RegExp(`run task ${event.taskId}: "image_url_\\d+" \\(attempt 2\\)`).exec(other.stdout())?.[0], 10);
      assert.ok(line);
    } finally {
      for (const worker of [stopped, other]) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      await Promise.all([stopped.exited, other.exited]);
    }
  });

  it('says what went wrong when no manager is listening', async () => {
    const port = running.port;
    await running.server.shutdown();
    const { code, stderr } = await runWorker(port, home);
    assert.equal(code, 1);
    assert.match(stderr, /worker failed: cannot connect to the manager at 127\.0\.0\.1:\d+: connection refused/);
  });
});
