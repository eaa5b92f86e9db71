import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('says what went wrong when no manager is listening', async () => {
    const port = running.port;
    await running.server.shutdown();
    const { code, stderr } = await runWorker(port, home);
    assert.equal(code, 1);
    assert.match(stderr, /worker failed: cannot connect to the manager at 127\.0\.0\.1:\d+: connection refused/);
  });
});
