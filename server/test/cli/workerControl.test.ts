import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { python3, REPO, startChild, waitForOutput, type Child } from '../mp/mpHelpers';
import type { TaskwireClient } from '../../src';
import { cleanupCli, lines, startServe, type Serve } from './cliHarness';

// Quiet and stop through the CLI (spec §7.20), with a real worker process of each client
// library holding a task: `taskwire workers quiet` makes it take no new task, `taskwire
// workers stop` makes it finish and ack the task in hand, close and exit 0. Each worker's
// handler waits for a file the test writes, so the test decides when the task is finished.

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures');

describe('cli e2e: taskwire workers quiet|stop on TypeScript, Python and Go workers', function () {
  this.timeout(120_000);
  let dir: string;
  let goWorker: string;
  const children: Child[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'taskwire-control-'));
    const go = spawnSync('go', ['version'], { encoding: 'utf8' });
    if (go.status !== 0) throw new Error('go is required by this test (it runs a Go worker): install Go 1.22+');
    goWorker = join(dir, 'controlled-go-worker');
    execFileSync('go', ['build', '-o', goWorker, './internal/controlledworker'], {
      cwd: join(REPO, 'samples', 'go'),
      env: { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=mod' },
      stdio: 'pipe',
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill();
    await cleanupCli();
  });

  const workers: Record<string, () => [string, string[], NodeJS.ProcessEnv]> = {
    TypeScript: () => [process.execPath, [join(FIXTURES, 'controlledWorker.js')], { TASKWIRE_INDEX: join(__dirname, '..', '..', 'src', 'index.js') }],
    Python: () => [python3(), [join(FIXTURES, 'controlled_worker.py')], { PYTHONPATH: join(REPO, 'samples', 'python') }],
    Go: () => [goWorker, [], {}],
  };

  /** The worker's row of `taskwire workers`. */
  async function row(serve: Serve, session: string): Promise<string> {
    const table = await serve.run(['workers']);
    assert.equal(table.code, 0, table.stderr);
    const [header, ...rows] = lines(table.stdout);
    assert.match(header!, /^SESSION\s+NAME\s+ROLE\s+STATE\s+/);
    const found = rows.find((r) => r.startsWith(session));
    assert.ok(found, table.stdout);
    return found;
  }

  for (const [language, command] of Object.entries(workers)) {
    it(`${language}: quieted while holding a task it takes no other; stopped, it finishes and acks the task, closes and exits 0`, async () => {
      const serve = await startServe();
      const queue = `control-${language.toLowerCase()}`;
      const release = join(dir, `release-${language}`);
      const producer = await serve.client({ name: 'producer', role: 'producer' });
      const tasks = producer.queue(queue);
      const held = await tasks.put({ release });

      const [program, args, env] = command();
      const worker = startChild(program, args, {
        env: { ...env, TASKWIRE_HOST: '127.0.0.1', TASKWIRE_PORT: String(serve.port), TASKWIRE_AUTHKEY_FILE: serve.authkeyFile, WORKER_QUEUE: queue },
      });
      children.push(worker);
      const session = (await waitForOutput(worker, /SESSION (\S+)/))[1]!;
      await waitForOutput(worker, new RegExp(`TOOK ${held}`));
      assert.match(await row(serve, session), /\sworker\s+active\s/);

      const quiet = await serve.run(['workers', 'quiet', session.slice(0, 8)]);
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.match(quiet.stdout, new RegExp(`^session ${session} \\(controlled-\\w+-worker\\) is quiet: it is handed no new task\\n$`));
      await waitForOutput(worker, /STATE quiet/);
      assert.match(await row(serve, session), /\sworker\s+quiet\s/);
      const waiting = await tasks.put({ release });

      const stop = await serve.run(['workers', 'stop', session]);
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, /is stopping: it finishes the tasks it holds, then leaves\n$/);
      await waitForOutput(worker, /STATE stopping/);
      assert.match(await row(serve, session), /\sworker\s+stopping\s/);
      assert.equal((await tasks.stats()).ready, 1, 'the task put while it was quiet waits for another worker');

      writeFileSync(release, 'go');
      assert.equal(await worker.exited, 0, worker.output());
      assert.match(worker.output(), new RegExp(`DONE ${held}`));
      assert.match(worker.output(), /EXIT 1\b/);
      assert.doesNotMatch(worker.output(), new RegExp(`TOOK ${waiting}`));
      const stats = await tasks.stats();
      assert.equal(stats.totals.acked, 1, 'the task in hand was acked');
      assert.equal(stats.totals.released, 0, 'nothing was released: the worker finished before it left');
      assert.equal(stats.ready, 1);
      const after = await serve.run(['workers', 'quiet', session]);
      assert.equal(after.code, 7, 'the session is gone');
      assert.equal(after.stderr, `taskwire: error: no session ${session} is connected (taskwire workers lists the sessions)\n`);
    });
  }
  it('usage: a missing SESSION is a usage error (exit 2); a prefix that names several sessions is refused with their ids, and so is an empty id (exit 2); --help lists quiet and stop', async () => {
    const serve = await startServe();
    const missing = await serve.run(['workers', 'stop']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument 'session'/);
    // Session ids are hex: of 17 sessions, two share their first digit (pigeonhole).
    const sessions = await Promise.all(Array.from({ length: 17 }, (_, i) => serve.client({ name: `worker-${i}` })));
    const byDigit = new Map<string, TaskwireClient[]>();
    for (const client of sessions) byDigit.set(client.sessionId![0]!, [...(byDigit.get(client.sessionId![0]!) ?? []), client]);
    const [prefix, [a, b]] = [...byDigit].find(([, group]) => group.length >= 2) as [string, [TaskwireClient, TaskwireClient]];
    const ambiguous = await serve.run(['workers', 'quiet', prefix]);
    assert.equal(ambiguous.code, 2);
    assert.match(ambiguous.stderr, new RegExp(`^taskwire: error: session ${prefix} is ambiguous: it starts .*${a.sessionId} \\(worker-\\d+\\)`));
    assert.ok(ambiguous.stderr.includes(b.sessionId!), ambiguous.stderr);
    const empty = await serve.run(['workers', 'quiet', '']);
    assert.equal(empty.code, 2);
    assert.equal(empty.stderr, 'taskwire: error: give the id of a session (taskwire workers lists them)\n');
    const help = await serve.run(['workers', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /quiet \[options\] <session>/);
    assert.match(help.stdout, /stop \[options\] <session>/);
    assert.match(help.stdout, /taskwire workers stop SESSION/);
  });
});
