import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ScheduleNotFoundError, type Event } from '../../src/client';
import { startRedis, type RunningRedis } from '../helpers/redis';
import { cleanupCli, jsonLines, lines, makeHome, runCli, startServe } from './cliHarness';

// Schedules end to end (spec §5.25): `taskwire schedule add|list|rm` against a real manager
// process, a schedule surviving a restart of the manager on a data dir (its missed ticks run
// once), and three managers on one redis-server putting one task per tick, not three.

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A queue's ready tasks, read from Redis with redis-cli while no manager runs (a manager would run the due ticks itself). */
function readyInRedis(url: string, queue: string): number {
  const { hostname, port } = new URL(url);
  return Number(
    execFileSync('redis-cli', ['-h', hostname, '-p', port, 'ZCARD', `tw:{${queue}}:q:${queue}:r`])
      .toString()
      .trim(),
  );
}

describe('cli e2e: taskwire schedule', function () {
  this.timeout(60_000);
  afterEach(cleanupCli);

  it('add (cron with a zone, or an interval), list (NAME QUEUE WHEN NEXT LAST), rm; tasks arrive on the queue', async () => {
    const serve = await startServe();
    const added = await serve.run(['schedule', 'add', 'nightly', 'crawl', 'https://example.com/', '--cron', '30 2 * * *', '--tz', 'Europe/Berlin', '--priority', '3']);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^created schedule "nightly" on "crawl": cron 30 2 \* \* \* Europe\/Berlin, next run \d{4}-\d\d-\d\dT(00|01):30:00\.000Z\n$/);
    const every = await serve.run(['schedule', 'add', 'pulse', 'checks', '{"ping":true}', '--every', '1s']);
    assert.equal(every.code, 0, every.stderr);
    const replaced = await serve.run(['schedule', 'add', 'pulse', 'checks', '{"ping":true}', '--every', '1s', '--ttr', '5']);
    assert.match(replaced.stdout, /^replaced schedule "pulse" on "checks": every 1 s/);
    await sleep(2500);
    const listed = await serve.run(['schedule', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    const [header, ...rows] = lines(listed.stdout);
    assert.match(header!, /^NAME\s+QUEUE\s+WHEN\s+NEXT\s+LAST$/);
    assert.match(rows[0]!, /^nightly\s+crawl\s+cron 30 2 \* \* \* Europe\/Berlin\s+\S+Z\s+-$/);
    assert.match(rows[1]!, /^pulse\s+checks\s+every 1 s\s+\S+Z\s+\S+Z \S+-\w+$/);
    const json = jsonLines<{ name: string; task: unknown }>((await serve.run(['schedule', 'list', '--json', '--queue', 'crawl'])).stdout);
    assert.deepEqual(
      json.map((s) => [s.name, s.task]),
      [['nightly', { payload: 'https://example.com/', priority: 3 }]],
    );

    const client = await serve.client();
    const tasks = await client.queue('checks').getMany(10, { timeout: 0 });
    assert.ok(tasks.length >= 2, `expected a task a second, got ${tasks.length}`);
    assert.deepEqual(tasks[0]!.payload, { ping: true });

    const removed = await serve.run(['schedule', 'rm', 'pulse']);
    assert.deepEqual([removed.code, removed.stdout], [0, 'deleted schedule "pulse"\n']);
    const again = await serve.run(['schedule', 'rm', 'pulse']);
    assert.deepEqual([again.code, again.stderr], [7, 'taskwire: error: schedule not found: no schedule is named "pulse"\n']);
    await assert.rejects(client.schedules.delete('pulse'), (error: unknown) => error instanceof ScheduleNotFoundError && error.data?.schedule === 'pulse');
  });

  it('refuses a bad cron, an unknown zone and a bad interval with the reason, and usage errors with exit 2', async () => {
    const serve = await startServe();
    const cases: [string[], number, string][] = [
      [['--cron', '0 25 * * *'], 7, 'taskwire: error: invalid params: "cron" "0 25 * * *" is not a valid cron expression: Invalid value for hour: 25\n'],
      [['--cron', '0 9 * * *', '--tz', 'Europe/Atlantis'], 7, 'taskwire: error: invalid params: "timezone" "Europe/Atlantis" is not an IANA time zone this manager knows\n'],
      [['--every', '10 parsecs'], 2, 'taskwire: error: invalid --every "10 parsecs": expected seconds or a number with s, m, h or d (10s, 5m, 1h)\n'],
      [['--every', '0.5s'], 2, 'taskwire: error: invalid --every "0.5s": at least 1 second\n'],
      [[], 2, 'taskwire: error: give one of --cron EXPR or --every INTERVAL\n'],
      [['--every', '5s', '--cron', '* * * * *'], 2, 'taskwire: error: give one of --cron EXPR or --every INTERVAL\n'],
      [['--every', '5s', '--tz', 'UTC'], 2, 'taskwire: error: --tz applies to --cron only\n'],
    ];
    for (const [flags, code, stderr] of cases) {
      const result = await serve.run(['schedule', 'add', 's', 'q', 'x', ...flags]);
      assert.deepEqual([result.code, result.stderr], [code, stderr], flags.join(' '));
    }
    assert.equal((await serve.run(['schedule', 'list'])).stdout, 'no schedules\n');
    const noKey = await runCli(['schedule', 'list', '--port', '1']);
    assert.equal(noKey.code, 4, 'no authkey in a fresh TASKWIRE_HOME');
  });

  it('a schedule survives a restart on a data dir; the ticks missed while the manager was down run once, not in a burst', async () => {
    const home = makeHome();
    const dataDir = join(home, 'data');
    const first = await startServe(['--data-dir', dataDir], { home });
    const producer = await first.client();
    await producer.schedules.set({ name: 'often', queue: 'jobs', task: { payload: { n: 1 } }, every: 1 });
    await producer.schedules.set({ name: 'hourly', queue: 'jobs', task: { payload: 'h' }, cron: '0 * * * *', timezone: 'Asia/Kolkata' });
    await sleep(1500);
    const beforeStop = (await producer.schedules.list()).find((s) => s.name === 'often')!;
    assert.ok(beforeStop.lastRun?.taskId !== undefined, 'it ticked before the stop');
    producer.close();
    await first.stop('SIGKILL');
    const check = await runCli(['journal', 'check', dataDir]);
    assert.match(check.stdout, /^ {2}\d+ tasks? in 1 queue, 2 schedules$/m, check.stdout);
    await sleep(4000); // about four ticks missed

    const second = await startServe(['--data-dir', dataDir], { home });
    const client = await second.client();
    const events: Event[] = [];
    await client.subscribe({ kinds: ['scheduled'] }, (event) => events.push(event));
    const listed = await client.schedules.list();
    assert.deepEqual(
      listed.map((s) => [s.name, s.queue, s.every ?? s.cron, s.timezone]),
      [
        ['hourly', 'jobs', '0 * * * *', 'Asia/Kolkata'],
        ['often', 'jobs', 1, undefined],
      ],
    );
    // Kolkata is UTC+5:30: its hours start at :30 UTC.
    assert.equal(new Date(listed[0]!.nextRun).getUTCMinutes(), 30);
    const queued = (await client.queue('jobs').stats()).ready;
    assert.ok(queued >= 1, 'the tasks put before the stop are still there');
    await sleep(1700);
    const stats = await client.queue('jobs').stats();
    // Since the restart: one run for all the missed ticks at once, then one a second (1 or 2 in 1.7 s).
    const since = stats.ready - queued;
    assert.ok(since >= 1 && since <= 3, `expected 1 to 3 tasks since the restart, got ${since} (no burst of the ~4 missed ticks)`);
    assert.ok(events.length >= 1 && events.every((e) => e.kind === 'scheduled' && e.schedule === 'often' && e.taskId !== undefined));
  });

  describe('on one redis-server shared by three managers', function () {
    let redis: RunningRedis;
    before(async () => (redis = await startRedis()));
    after(async () => redis?.stop());

    it('ticks missed while no manager ran run once when one starts again, not in a burst', async () => {
      const home = makeHome();
      const first = await startServe(['--store', redis.url], { home });
      const producer = await first.client();
      await producer.schedules.set({ name: 'missed', queue: 'missed', task: { payload: 'm' }, every: 1 });
      await sleep(1500);
      producer.close();
      await first.stop();
      const before = readyInRedis(redis.url, 'missed');
      assert.ok(before >= 1, 'it ticked before the stop');
      await sleep(4000); // about four ticks with no manager
      const second = await startServe(['--store', redis.url], { home });
      const client = await second.client();
      await sleep(1700);
      const since = (await client.queue('missed').stats()).ready - before;
      assert.ok(since >= 1 && since <= 3, `expected 1 to 3 tasks since the restart, got ${since} (no burst of the ~4 missed ticks)`);
      await client.schedules.delete('missed');
    });

    it('a 1 s interval schedule puts one task a second, not three; deleted on one manager, it stops on all; every manager reports the set and the delete', async () => {
      const home = makeHome();
      const managers = await Promise.all([0, 1, 2].map(() => startServe(['--store', redis.url], { home })));
      const clients = await Promise.all(managers.map((m) => m.client()));
      const events: Event[] = [];
      await clients[0]!.subscribe({ kinds: ['scheduled'], queues: ['ticks'] }, (event) => events.push(event));
      const changes: Event[] = [];
      await clients[0]!.subscribe({ kinds: ['schedule-set', 'schedule-deleted'] }, (event) => changes.push(event));
      const { schedule } = await clients[1]!.schedules.set({ name: 'pulse', queue: 'ticks', task: { payload: 'tick' }, every: 1 });
      const firstTick = Date.parse(schedule.nextRun);
      // Count over the ticks of a 5 s window that starts half a second after the first tick.
      await sleep(firstTick - Date.now() + 5500);
      const stats = await clients[2]!.queue('ticks').stats();
      const ticks = Math.floor((Date.now() - firstTick) / 1000) + 1;
      assert.ok(Math.abs(stats.ready - ticks) <= 1, `expected about ${ticks} tasks (one a tick), got ${stats.ready}`);
      assert.ok(stats.ready >= 5 && stats.ready <= 7, `expected 5 to 7 tasks over ~5.5 s, got ${stats.ready}`);
      const tasks = await clients[0]!.queue('ticks').getMany(20, { timeout: 0 });
      assert.deepEqual(new Set(tasks.map((t) => t.payload)), new Set(['tick']));
      // Every tick was put by one manager or another, each once; the events name the schedule.
      await sleep(300);
      const ids = events.map((e) => e.taskId);
      assert.equal(new Set(ids).size, ids.length);
      assert.ok(events.every((e) => e.schedule === 'pulse'));
      const managersThatPut = new Set(tasks.map((t) => t.id.split('-')[0]));
      assert.ok(managersThatPut.size >= 1);

      const listed = await clients[2]!.schedules.list();
      assert.deepEqual(
        listed.map((s) => [s.name, s.queue, s.every]),
        [['pulse', 'ticks', 1]],
      );
      await clients[2]!.schedules.delete('pulse');
      await sleep(300);
      const after = (await clients[0]!.queue('ticks').stats()).ready;
      await sleep(2200);
      assert.equal((await clients[0]!.queue('ticks').stats()).ready, after, 'a deleted schedule still ticked on some manager');
      assert.deepEqual(await clients[0]!.schedules.list(), []);
      // Set through manager 1, deleted through manager 2, seen once each by a subscriber on manager 0.
      const [setBy, deletedBy] = [clients[1]!.managerId, clients[2]!.managerId];
      assert.notEqual(setBy, deletedBy);
      assert.deepEqual(
        changes.map((e) => [e.kind, e.schedule, e.queue, e.manager]),
        [
          ['schedule-set', 'pulse', 'ticks', setBy],
          ['schedule-deleted', 'pulse', 'ticks', deletedBy],
        ],
      );
    });
  });
});
