import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, truncateSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cleanupCli, makeHome, startServe, type Serve } from '../cli/cliHarness';
import { assertNothingLost, drain, loadThenKill } from './crashLoad';
import { freePort } from '../helpers/os';

// Crash tests with real processes: `taskwire serve --data-dir` killed with SIGKILL in the middle
// of a load, then restarted on the same data dir. Run the first one in a loop to shake out
// timing: for i in $(seq 20); do npx mocha --no-config --exit dist/test/store/crash.test.js -g 'not one'; done

const WORKER_SCRIPT = resolve(__dirname, '../../../test/fixtures/killableWorker.js');
const LIBRARY_INDEX = resolve(__dirname, '../../src/index.js');

interface ReadyLine {
  store: string;
  dataDir: string;
  fsync: string;
  recovered: { tasks: number; queues: number; leasesReturned: number; tornRecords: number; skippedRecords: number };
}

function readyLine(serve: Serve): ReadyLine {
  for (const line of serve.stdoutLines) {
    const entry = JSON.parse(line) as { message?: string };
    if (entry.message === 'ready') return entry as unknown as ReadyLine;
  }
  throw new Error(`no ready line: ${serve.stdout}`);
}

/** A serve on `dataDir` with `--json`; the same home keeps the same key across restarts. */
function serveArgs(dataDir: string, fsync: string, extra: string[] = []): string[] {
  return ['--json', '--data-dir', dataDir, '--fsync', fsync, ...extra];
}

async function killHard(serve: Serve): Promise<number> {
  const at = Date.now();
  serve.child.kill('SIGKILL');
  const { signal } = await serve.exited;
  assert.equal(signal, 'SIGKILL');
  return at;
}

describe('store: crash tests with real processes', function () {
  this.timeout(60_000);
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await cleanupCli();
  });

  it('fsync always, kill -9 under load: not one answered put lost, no acked task back, leased ones back with attempt + 1', async () => {
    const home = makeHome();
    const dataDir = join(makeHome(), 'data');
    const first = await startServe(serveArgs(dataDir, 'always'), { home });
    const load = await loadThenKill(
      (options) => first.client(options),
      () => killHard(first),
      700,
    );

    const second = await startServe(serveArgs(dataDir, 'always'), { home });
    const ready = readyLine(second);
    const present = await drain(await second.client(), 'jobs');

    const { heldAtKill } = assertNothingLost(load, present);
    assert.ok(ready.recovered.leasesReturned >= heldAtKill);
    assert.equal(ready.recovered.tasks, present.size);
    assert.deepEqual([ready.store, ready.fsync, ready.dataDir], ['journal', 'always', dataDir]);
    console.log(
      `      always: ${load.produced.size} puts and ${load.acked.size} acks answered before the kill (${load.ackSent.size - load.acked.size} acks in flight); ${present.size} tasks back, ${ready.recovered.leasesReturned} leases returned, ${heldAtKill} of them held by a worker`,
    );
  });

  it('fsync everysec, kill -9 under load: losses are bounded by the last second (a process crash loses nothing)', async () => {
    const home = makeHome();
    const dataDir = join(makeHome(), 'data');
    const first = await startServe(serveArgs(dataDir, 'everysec'), { home });
    const load = await loadThenKill(
      (options) => first.client(options),
      () => killHard(first),
      700,
    );
    const second = await startServe(serveArgs(dataDir, 'everysec'), { home });
    const present = await drain(await second.client(), 'jobs');

    const lost = [...load.produced].filter(([id]) => !load.ackSent.has(id) && !present.has(id));
    const cameBack = [...load.acked].filter(([id]) => present.has(id));
    for (const [id, answeredAt] of [...lost, ...cameBack]) {
      assert.ok(load.killedAt - answeredAt <= 1500, `task ${id} was answered ${load.killedAt - answeredAt} ms before the kill and not kept`);
    }
    console.log(`      everysec: ${load.produced.size} puts and ${load.acked.size} acks answered; lost ${lost.length} puts and ${cameBack.length} acks`);
  });

  it('workers killed mid-task: their tasks come back with attempt + 1 after a restart, once', async () => {
    const home = makeHome();
    const dataDir = join(makeHome(), 'data');
    const first = await startServe(serveArgs(dataDir, 'always'), { home });
    const producer = await first.client();
    const [a, b, c] = await producer.queue('jobs').putMany(['a', 'b', 'c'].map((payload) => ({ payload })));
    const key = readFileSync(first.authkeyFile, 'utf8').trim();
    const startWorker = async () => {
      const child = spawn(process.execPath, [WORKER_SCRIPT], {
        env: { ...process.env, TASKWIRE_INDEX: LIBRARY_INDEX, TASKWIRE_PORT: String(first.port), TASKWIRE_AUTHKEY: key, WORKER_QUEUE: 'jobs' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      let out = '';
      child.stdout!.setEncoding('utf8');
      return new Promise<{ child: ChildProcess; took: string }>((done, fail) => {
        child.stdout!.on('data', (text: string) => {
          out += text;
          const took = /^TOOK (\S+)$/m.exec(out);
          if (took) done({ child, took: took[1]! });
        });
        child.once('exit', () => fail(new Error(`the worker exited: ${out}`)));
      });
    };
    const one = await startWorker();
    const two = await startWorker();
    assert.deepEqual([one.took, two.took].sort(), [a, b].sort());

    // Worker one dies first: the manager releases its task (attempt 2) and journals that.
    one.child.kill('SIGKILL');
    for (let stats = await producer.queue('jobs').stats(); stats.leased !== 1; stats = await producer.queue('jobs').stats()) {
      await new Promise((done) => setTimeout(done, 20));
    }
    // Then the manager dies while worker two holds its task; then worker two.
    await killHard(first);
    two.child.kill('SIGKILL');

    const second = await startServe(serveArgs(dataDir, 'always'), { home });
    assert.equal(readyLine(second).recovered.leasesReturned, 1);
    const present = await drain(await second.client(), 'jobs');
    assert.deepEqual(Object.fromEntries(present), { [one.took]: 2, [two.took]: 2, [c!]: 1 });
  });

  it('five crashes: a task leased at each is dead-lettered at the third as a possible poison task; tasks leased at one crash keep going, even past maxAttempts', async () => {
    const home = makeHome();
    const dataDir = join(makeHome(), 'data');
    const args = serveArgs(dataDir, 'always', ['--max-attempts', '1']);
    let serve = await startServe(args, { home });
    const setup = await serve.client();
    await setup.queue('suspect').put('poison');
    await setup.queue('jobs').putMany([0, 1, 2, 3, 4].map((n) => ({ payload: `innocent-${n}` })));
    const deadAtRestart: number[] = [];
    for (let crash = 1; crash <= 5; crash++) {
      const worker = await serve.client({ name: 'worker' });
      await worker.queue('suspect').getMany(1, { timeout: 0 });
      const [innocent] = await worker.queue('jobs').getMany(1, { timeout: 0 });
      assert.equal(innocent?.payload, `innocent-${crash - 1}`);
      await killHard(serve);
      serve = await startServe(args, { home });
      const stats = await (await serve.client()).queue('suspect.dead').stats();
      if (stats.ready > 0) deadAtRestart.push(crash);
    }
    assert.equal(deadAtRestart[0], 3, `the poison task was dead-lettered at restarts ${JSON.stringify(deadAtRestart)}`);
    const checker = await serve.client();
    const [dead] = await checker.queue('suspect.dead').getMany(10, { timeout: 0, autoAck: true });
    assert.deepEqual([dead?.payload, dead?.lastError], ['poison', 'leased when the manager crashed, 3 times: dead-lettered as a possible poison task']);
    const alive = await checker.queue('jobs').getMany(10, { timeout: 0, autoAck: true });
    assert.deepEqual(
      alive.map((task) => [task.payload, task.attempt]),
      [0, 1, 2, 3, 4].map((n) => [`innocent-${n}`, 2]),
    );
    assert.equal((await checker.queue('jobs.dead').stats()).ready, 0);
  });

  it('a client that reconnects by itself carries on after the manager restarts', async () => {
    const home = makeHome();
    const dataDir = join(makeHome(), 'data');
    const port = await freePort();
    const first = await startServe([...serveArgs(dataDir, 'always'), '--port', String(port)], { home });
    const reconnect = { initialDelay: 50, maxDelay: 200 };
    const producer = await first.client({ reconnect, role: 'producer' });
    const worker = await first.client({ reconnect, name: 'worker' });
    const handled: unknown[] = [];
    const working = worker.queue('jobs').work(async (task) => {
      handled.push(task.payload);
    });
    await producer.queue('jobs').put('before');
    const waitFor = async (count: number) => {
      for (const deadline = Date.now() + 10_000; handled.length < count; await new Promise((done) => setTimeout(done, 20))) {
        if (Date.now() > deadline) throw new Error(`handled only ${JSON.stringify(handled)}`);
      }
    };
    await waitFor(1);
    // Acked, not only handled: otherwise it would rightly come back after the crash.
    await producer.queue('jobs').join();
    const reconnected = new Promise((done) => producer.once('reconnected', done));

    await killHard(first);
    const second = await startServe([...serveArgs(dataDir, 'always'), '--port', String(port)], { home });
    assert.equal(second.port, port);
    // The put waits for the reconnect, then goes through; the worker's loop carries on.
    await producer.queue('jobs').put('after');
    await reconnected;
    await waitFor(2);
    assert.deepEqual(handled, ['before', 'after']);
    worker.close();
    await working.catch(() => {});
  });

  it('a torn last record: the manager starts, warns, and has everything before it', async () => {
    const home = makeHome();
    const dataDir = join(makeHome(), 'data');
    const first = await startServe(serveArgs(dataDir, 'always'), { home });
    const producer = await first.client();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await producer.queue('jobs').put({ i }));
    await killHard(first);
    const journal = readdirSync(dataDir).filter((name) => name.startsWith('journal.'));
    assert.equal(journal.length, 1);
    const file = join(dataDir, journal[0]!);
    const size = readFileSync(file).length;
    truncateSync(file, size - 3);

    const second = await startServe(serveArgs(dataDir, 'always'), { home });
    const ready = readyLine(second);
    assert.deepEqual([ready.recovered.tasks, ready.recovered.tornRecords], [9, 1]);
    const warning = second.stdoutLines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.level === 'warn');
    assert.ok(warning, `no warning: ${second.stdout}`);
    assert.match(String(warning.message), /torn record/);
    assert.equal(warning.file, file);
    const present = await drain(await second.client(), 'jobs');
    assert.deepEqual([...present.keys()], ids.slice(0, 9));

    // The start wrote a fresh snapshot: the torn bytes are gone for good.
    assert.equal((await second.stop('SIGTERM')).code, 0);
    const third = await startServe(serveArgs(dataDir, 'always'), { home });
    assert.deepEqual([readyLine(third).recovered.tasks, readyLine(third).recovered.tornRecords], [0, 0]);
  });
});
