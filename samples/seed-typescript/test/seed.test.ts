import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const dist = join(__dirname, '..', 'src');

/** A port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Resolves once the output contains `text`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

const running: ChildProcess[] = [];

function start(program: 'scheduler' | 'worker', port: number, downloadSeconds = 0.05): Run {
  const child = spawn(process.execPath, [join(dist, `${program}.js`)], {
    env: { PATH: process.env.PATH, TASKWIRE_PORT: String(port), DOWNLOAD_SECONDS: String(downloadSeconds) },
  });
  running.push(child);
  let output = '';
  const listeners: (() => void)[] = [];
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    listeners.splice(0).forEach((wake) => wake());
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    async waitFor(text, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!output.includes(text)) {
        if (Date.now() > deadline) throw new Error(`${program} never printed "${text}"; it printed:\n${output}`);
        await new Promise<void>((resolve) => {
          listeners.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
  };
}

const expectedResults = Array.from({ length: 10 }, (_, i) => `result in image_url_${i} ---> success`);

function resultLines(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('result in '))
    .sort();
}

describe('samples/seed-typescript: the seed scheduler and workers', () => {
  afterEach(() => {
    for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('shares the ten tasks between two workers and the scheduler reads all ten results', async () => {
    const port = await freePort();
    const scheduler = start('scheduler', port);
    await scheduler.waitFor('try get result...');
    // A fifth of a second per "download": long enough that both workers are up before the
    // ten tasks are gone, even on a busy machine.
    const workers = [start('worker', port, 0.2), start('worker', port, 0.2)];
    assert.equal(await scheduler.exited, 0, scheduler.output());
    assert.deepEqual(resultLines(scheduler.output()), [...expectedResults].sort());
    // The scheduler shuts its manager down when done; the workers then stop.
    const codes = await Promise.all(workers.map((w) => w.exited));
    const took = workers.map((w) => (w.output().match(/run task download/g) ?? []).length);
    assert.equal(took[0]! + took[1]!, 10, workers.map((w) => w.output()).join('\n---\n'));
    assert.ok(took[0]! > 0 && took[1]! > 0, `both workers take tasks (took ${took.join(' and ')})`);
    assert.deepEqual(codes, [0, 0], workers.map((w) => w.output()).join('\n---\n'));
    for (const worker of workers) assert.match(worker.output(), /worker exit/);
  });

  it('loses nothing when a worker is killed in the middle of a task', async () => {
    const port = await freePort();
    const scheduler = start('scheduler', port);
    await scheduler.waitFor('try get result...');
    const doomed = start('worker', port, 30);
    await doomed.waitFor('run task download');
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const workers = [start('worker', port), start('worker', port)];
    assert.equal(await scheduler.exited, 0, scheduler.output());
    assert.deepEqual(resultLines(scheduler.output()), [...expectedResults].sort());
    await Promise.all(workers.map((w) => w.exited));
  });

  it('tells the worker what is wrong when no manager is there', async () => {
    const port = await freePort();
    const worker = start('worker', port);
    assert.equal(await worker.exited, 1);
    assert.match(worker.output(), /worker failed: cannot connect to the manager at 127\.0\.0\.1:\d+: connection refused/);
  });
});
