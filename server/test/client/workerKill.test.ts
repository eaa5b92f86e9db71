import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TaskwireClient } from '../../src';
import { eventually, startServer, TEST_KEY, type RunningServer } from '../helpers/harness';
import { within } from './util';

// This file runs from dist/test/client; the fixture stays in test/fixtures (plain JavaScript,
// not compiled), and the library it loads is the compiled dist/src/index.js.
const WORKER_SCRIPT = resolve(__dirname, '../../../test/fixtures/killableWorker.js');
const LIBRARY_INDEX = resolve(__dirname, '../../src/index.js');

/** A child process running killableWorker.js, with its stdout split into lines. */
class Worker {
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    let buffer = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      buffer += text;
      for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
        this.lines.push(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => (this.stderr += text));
    this.exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
    void this.exited.then(() => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The rest of the first stdout line starting with `prefix `. */
  async line(prefix: string, ms = 10_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.lines.find((l) => l.startsWith(`${prefix} `));
      if (found) return found.slice(prefix.length + 1);
      if (!this.alive) throw new Error(`the worker exited before printing "${prefix}"; stderr: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the worker did not print "${prefix}" within ${ms} ms; stdout: ${this.lines.join(' | ')}; stderr: ${this.stderr}`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }
}

describe('client: a worker process killed mid-task', function () {
  let running: RunningServer;
  let client: TaskwireClient;
  const workers: Worker[] = [];
  let counter = 0;

  before(function () {
    assert.ok(existsSync(WORKER_SCRIPT), `missing fixture ${WORKER_SCRIPT}`);
    assert.ok(existsSync(LIBRARY_INDEX), `missing build output ${LIBRARY_INDEX}; run npm run build`);
  });

  beforeEach(async () => {
    running = await startServer();
    client = await running.client({ name: 'test-observer' });
  });

  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      if (worker.alive) worker.child.kill('SIGKILL');
      await within(worker.exited, 5000, 'the worker to exit');
    }
    await running.stop();
  });

  function startWorker(queue: string): Worker {
    const child = spawn(process.execPath, [WORKER_SCRIPT], {
      env: {
        ...process.env,
        TASKWIRE_INDEX: LIBRARY_INDEX,
        TASKWIRE_HOST: '127.0.0.1',
        TASKWIRE_PORT: String(running.port),
        TASKWIRE_AUTHKEY: TEST_KEY.toString('utf8'),
        WORKER_QUEUE: queue,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const worker = new Worker(child);
    workers.push(worker);
    return worker;
  }

  it('its task is redelivered at once to another client, with attempt 2', async () => {
    const queue = `kill-${process.pid}-${++counter}`;
    const q = client.queue(queue);
    const id = await q.put({ work: 'long' }, { ttr: 60 });
    const worker = startWorker(queue);
    const took = await worker.line('TOOK');
    assert.equal(took, id);
    const before = await q.stats();
    assert.equal(before.leased, 1);
    assert.equal(before.ready, 0);

    const killedAt = Date.now();
    worker.child.kill('SIGKILL');
    const redelivered = await q.get({ timeout: 15 });
    const waited = Date.now() - killedAt;
    assert.equal(redelivered.id, id);
    assert.equal(redelivered.attempt, 2);
    assert.deepEqual(redelivered.payload, { work: 'long' });
    // Far sooner than the 60 s lease would have run out.
    assert.ok(waited < 15_000, `redelivery took ${waited} ms`);
    await redelivered.ack();
    const after = await q.stats();
    assert.equal(after.totals.expired, 1);
    assert.equal(after.totals.acked, 1);
  });

  it('the killed process exits and the registry no longer lists it', async () => {
    const queue = `kill-${process.pid}-${++counter}`;
    const worker = startWorker(queue);
    const sessionId = await worker.line('READY');
    const listed = await client.clients();
    const entry = listed.find((c) => c.sessionId === sessionId);
    assert.ok(entry, 'the worker is not in the registry');
    assert.equal(entry.pid, worker.child.pid);
    assert.equal(entry.name, 'killable-worker');
    assert.equal(entry.role, 'worker');

    worker.child.kill('SIGKILL');
    const { code, signal } = await within(worker.exited, 5000, 'the killed worker to exit');
    assert.equal(signal, 'SIGKILL');
    assert.equal(code, null);
    await eventually(async () => !(await client.clients()).some((c) => c.sessionId === sessionId), 5000, 'the registry to drop the worker');
    assert.ok((await client.clients()).some((c) => c.sessionId === client.sessionId));
  });
});
