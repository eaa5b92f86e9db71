import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import type { QueueStats } from '../../src';
import { validateDefinition } from '../../src/protocol/validation';
import { cleanupCli, lines, makeHome, runCli, startServe, type Serve } from './cliHarness';

// `taskwire pause QUEUE` and `taskwire resume QUEUE` (spec §7.19), the PAUSED column of
// `taskwire stats`, the paused/resumed lines of `taskwire tail`, and a pause that survives a
// restart on a data dir.

/** The cells of QUEUE's row in `taskwire stats`, by header. */
async function statsRow(serve: Serve, queue: string): Promise<Record<string, string>> {
  const result = await serve.run(['stats']);
  assert.equal(result.code, 0, result.stderr);
  const [, header, ...rows] = lines(result.stdout);
  const names = header!.split(/\s+/);
  const row = rows.map((r) => r.split(/\s+/)).find((cells) => cells[0] === queue);
  assert.ok(row, `no row for ${queue} in:\n${result.stdout}`);
  return Object.fromEntries(names.map((name, i) => [name, row[i]!]));
}

describe('cli e2e: taskwire pause and resume', function () {
  this.timeout(60_000);
  afterEach(cleanupCli);

  it('pause creates an unknown queue paused; puts go in, get finds nothing (exit 5), stats says PAUSED yes; resume delivers again', async () => {
    const serve = await startServe();
    const paused = await serve.run(['pause', 'jobs']);
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal(paused.stdout, 'paused queue "jobs" (created: it did not exist): 0 ready, 0 leased, 0 delayed\n');
    assert.equal((await serve.run(['put', 'jobs', 'a', 'b'])).code, 0);
    const empty = await serve.run(['get', 'jobs', '--no-wait']);
    assert.equal(empty.code, 5, `a get on a paused queue: ${empty.stdout}${empty.stderr}`);
    const waited = await serve.run(['get', 'jobs', '--timeout', '0.5']);
    assert.equal(waited.code, 5, waited.stderr);
    const row = await statsRow(serve, 'jobs');
    assert.deepEqual([row['READY'], row['PAUSED']], ['2', 'yes']);
    const json = JSON.parse((await serve.run(['stats', 'jobs', '--json'])).stdout) as QueueStats;
    assert.equal(json.paused, true);

    const again = await serve.run(['pause', 'jobs']);
    assert.equal(again.stdout, 'paused queue "jobs": 2 ready, 0 leased, 0 delayed\n');
    const resumed = await serve.run(['resume', 'jobs']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.stdout, 'resumed queue "jobs": 2 ready, 0 leased, 0 delayed\n');
    const got = await serve.run(['get', 'jobs', '--max', '2', '--no-wait', '--payload']);
    assert.deepEqual(lines(got.stdout), ['"a"', '"b"']);
    assert.equal((await statsRow(serve, 'jobs'))['PAUSED'], 'no');
  });

  it('a get blocked on a paused queue gets its task when another process resumes the queue; tasks taken before the pause are acked', async () => {
    const serve = await startServe();
    assert.equal((await serve.run(['put', 'jobs', 'first', 'second'])).code, 0);
    const worker = await serve.client({ name: 'worker' });
    const [taken] = await worker.queue('jobs').getMany(1, { timeout: 5 });
    assert.equal((await serve.run(['pause', 'jobs'])).code, 0);
    const blocked = serve.background(['get', 'jobs', '--payload', '--timeout', '30']);
    // The get is waiting on the manager, with a task ready that it may not take.
    while ((await worker.queue('jobs').stats()).waitingGetters !== 1) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(blocked.stdout, '', 'a get took a task from a paused queue');
    await taken!.ack('done'); // the lease taken before the pause runs on
    const resumed = await serve.run(['resume', 'jobs']);
    // The stats after the resume: the waiting get (which acks on delivery) has taken the task.
    assert.equal(resumed.stdout, 'resumed queue "jobs": 0 ready, 0 leased, 0 delayed\n');
    const result = await blocked.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '"second"\n');
  });

  it('resume refuses a queue that does not exist (exit 7, naming the known ones); --json prints QueueStats; a missing queue argument is a usage error', async () => {
    const serve = await startServe();
    assert.equal((await serve.run(['put', 'jobs', 'x'])).code, 0);
    const typo = await serve.run(['resume', 'jobz']);
    assert.equal(typo.code, 7);
    assert.equal(typo.stderr, 'taskwire: error: queue "jobz" does not exist (did you mean "jobs"? known queues: jobs)\n');
    const json = await serve.run(['pause', 'jobs', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const stats = JSON.parse(json.stdout) as QueueStats;
    assert.equal(validateDefinition('QueueStats', stats), undefined, json.stdout);
    assert.deepEqual([stats.queue, stats.paused, stats.ready], ['jobs', true, 1]);
    const usage = await serve.run(['pause']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /missing required argument 'queue'/);
  });

  it('on a manager that does not create queues on first use, pausing an unknown queue is refused with exit 7', async () => {
    const serve = await startServe(['--no-auto-create', '--queue', 'jobs']);
    const refused = await serve.run(['pause', 'nosuch']);
    assert.equal(refused.code, 7);
    assert.equal(refused.stderr, 'taskwire: error: queue not found: queue "nosuch" does not exist\n');
    assert.equal((await serve.run(['pause', 'jobs'])).code, 0);
  });

  it('--help explains both commands; tail prints the paused and resumed events with who asked', async () => {
    const help = await runCli(['pause', '--help']);
    assert.equal(help.code, 0);
    for (const text of ['puts are still accepted', 'creates the queue if it does not exist', 'survives a', 'PAUSED', '--json']) assert.ok(help.stdout.includes(text), `pause --help lacks ${text}`);
    const resumeHelp = await runCli(['resume', '--help']);
    assert.match(resumeHelp.stdout, /resume a paused queue/);
    assert.match((await runCli(['--help'])).stdout, /pause \[options\] <queue>[\s\S]*resume \[options\] <queue>/);

    const serve = await startServe();
    const tail = serve.background(['tail', '--kind', 'paused,resumed']);
    await tail.waitFor('the subscription', () => tail.stderr.includes('following events on'));
    await serve.run(['pause', 'jobs']);
    await serve.run(['resume', 'jobs']);
    const [pausedLine, resumedLine] = await tail.waitFor('two events', () => (tail.stdoutLines.length >= 2 ? tail.stdoutLines : undefined));
    assert.match(pausedLine!, /^\d\d:\d\d:\d\d\.\d{3} paused {14}jobs by taskwire-cli \(127\.0\.0\.1:\d+\)$/);
    assert.match(resumedLine!, /^\d\d:\d\d:\d\d\.\d{3} resumed {13}jobs by taskwire-cli \(127\.0\.0\.1:\d+\)$/);
  });

  it('a pause survives a restart on the same data dir, after a crash and after a clean stop; a resume does too', async () => {
    const home = makeHome();
    const dataDir = join(makeHome(), 'data');
    const first = await startServe(['--data-dir', dataDir], { home });
    assert.equal((await first.run(['put', 'jobs', 'a'])).code, 0);
    assert.equal((await first.run(['pause', 'jobs'])).code, 0);
    assert.equal((await first.run(['put', 'jobs', 'b'])).code, 0);
    first.child.kill('SIGKILL'); // the journal alone brings the pause back
    await first.exited;

    const second = await startServe(['--data-dir', dataDir], { home });
    const row = await statsRow(second, 'jobs');
    assert.deepEqual([row['READY'], row['PAUSED']], ['2', 'yes']);
    assert.equal((await second.run(['get', 'jobs', '--no-wait'])).code, 5);
    assert.equal((await second.stop('SIGTERM')).code, 0); // a clean stop: the snapshot keeps it

    const third = await startServe(['--data-dir', dataDir], { home });
    assert.equal((await statsRow(third, 'jobs'))['PAUSED'], 'yes');
    assert.equal((await third.run(['get', 'jobs', '--no-wait'])).code, 5);
    assert.equal((await third.run(['resume', 'jobs'])).code, 0);
    third.child.kill('SIGKILL');
    await third.exited;

    const fourth = await startServe(['--data-dir', dataDir], { home });
    assert.equal((await statsRow(fourth, 'jobs'))['PAUSED'], 'no');
    const got = await fourth.run(['get', 'jobs', '--max', '2', '--no-wait', '--payload']);
    assert.deepEqual(lines(got.stdout), ['"a"', '"b"']);
  });
});
