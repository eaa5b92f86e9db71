import { strict as assert } from 'node:assert';
import { symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskwireClient } from '../../src';
import { recover } from '../../src/store';
import { journalName } from '../../src/store/dataDir';
import { eventually } from '../helpers/harness';
import { powerCut, processCrash, removeTempDirs, startStoreServer, type StoreServer } from './storeHarness';

// The JournalStore behind a real manager, in this process: what survives a crash (simulated by
// copying the data dir as a crash would leave it), group commit, and the fsync modes.

/** Takes every ready task off `queue` (autoAck); returns them by id, in delivery order. */
async function drain(client: TaskwireClient, queue: string): Promise<Map<string, { attempt: number; payload: unknown; lastError?: string; deadLetteredFrom?: string }>> {
  const found = new Map<string, { attempt: number; payload: unknown; lastError?: string; deadLetteredFrom?: string }>();
  for (;;) {
    const tasks = await client.queue(queue).getMany(1000, { timeout: 0, autoAck: true });
    if (tasks.length === 0) return found;
    for (const task of tasks) found.set(task.id, { attempt: task.attempt, payload: task.payload, lastError: task.lastError, deadLetteredFrom: task.deadLetteredFrom });
  }
}

/** The ids in a recovered copy of a data dir. */
function idsIn(dir: string): Set<string> {
  return new Set(recover(dir).state.tasks.map((task) => task.id));
}

describe('store: JournalStore behind a manager', function () {
  this.timeout(20_000);
  const running: StoreServer[] = [];
  const start = async (options: Parameters<typeof startStoreServer>[0] = {}) => {
    const server = await startStoreServer(options);
    running.push(server);
    return server;
  };
  afterEach(async () => {
    for (const server of running.splice(0)) await server.stop();
    removeTempDirs();
  });

  it('after a crash: puts not acked are back, leased ones with attempt + 1, acked ones gone, dead letters dead, delays and queue options kept', async () => {
    const a = await start();
    const client = await a.client();
    const jobs = client.queue<string>('jobs');
    await jobs.declare({ maxsize: 100, ttr: 7, maxAttempts: 3, deadLetter: 'graveyard' });
    await jobs.putMany(['ack me', 'lease me', 'kill me', 'leave me'].map((payload) => ({ payload, replyTo: 'results' })));
    const later = await jobs.put('later', { delay: 3600 });
    const [toAck, toLease, toKill] = await jobs.getMany(3, { timeout: 1 });
    assert.deepEqual([toAck!.payload, toLease!.payload, toKill!.payload], ['ack me', 'lease me', 'kill me']);
    await toAck!.ack('done');
    await toKill!.nack({ error: 'no such image', retry: false });
    const laterBefore = a.server.queues.engine.exportState().tasks.find((task) => task.id === later)!;

    // The copy holds every written byte, as after kill -9: a crash of the manager alone.
    const b = await start({ dataDir: processCrash(a.store) });
    assert.deepEqual(b.server.restored, { queues: 3, tasks: 5, leasesReturned: 1 });
    assert.deepEqual([b.store.recovery.tasks, b.store.recovery.leased, b.store.recovery.torn.length], [5, 1, 0]);
    const c = await b.client();
    const stats = await c.queue('jobs').stats();
    assert.deepEqual([stats.maxsize, stats.ttr, stats.maxAttempts, stats.deadLetter], [100, 7, 3, 'graveyard']);
    assert.deepEqual([stats.ready, stats.delayed, stats.leased], [2, 1, 0]);
    const laterAfter = b.server.queues.engine.exportState().tasks.find((task) => task.id === later)!;
    assert.equal(laterAfter.readyAt, laterBefore.readyAt, 'a delayed task keeps its ready time');

    const ready = await drain(c, 'jobs');
    assert.deepEqual(
      [...ready.values()].map((t) => [t.payload, t.attempt]),
      [
        ['leave me', 1],
        ['lease me', 2],
      ],
    );
    assert.ok(!ready.has(toAck!.id), 'an acked task came back');
    const dead = [...(await drain(c, 'graveyard')).values()];
    assert.deepEqual(
      dead.map((t) => [t.payload, t.deadLetteredFrom, t.lastError]),
      [['kill me', 'jobs', 'no such image']],
    );
    const results = [...(await drain(c, 'results')).values()];
    assert.deepEqual(
      results.map((t) => t.payload),
      [{ taskId: toAck!.id, result: 'done' }],
    );
  });

  it('with fsync always, a power cut right after any answer keeps the put it answered (group commit)', async () => {
    const a = await start({ fsync: 'always' });
    const producers = await Promise.all([1, 2, 3, 4].map(() => a.client()));
    const checks: Promise<void>[] = [];
    let answered = 0;
    for (let round = 0; round < 25; round++) {
      for (const producer of producers) {
        checks.push(
          producer
            .queue('jobs')
            .put({ round })
            .then((id) => {
              answered++;
              // At this instant (the client has the answer), only synced bytes would survive.
              if (answered % 10 === 0 || round === 24) assert.ok(idsIn(powerCut(a.store)).has(id), `put ${id} was answered before it was on disk`);
            }),
        );
      }
    }
    await Promise.all(checks);
    assert.equal(answered, 100);
    // Four producers put concurrently: they share fsyncs.
    assert.ok(a.store.syncs < answered, `expected fewer fsyncs than puts, got ${a.store.syncs} for ${answered}`);
  });

  it('with fsync everysec, a power cut loses at most about the last second of answered puts, and a process crash nothing', async () => {
    const a = await start({ fsync: 'everysec' });
    const client = await a.client();
    const answeredAt = new Map<string, number>();
    const started = Date.now();
    while (Date.now() - started < 2300) {
      const id = await client.queue('jobs').put('x');
      answeredAt.set(id, Date.now());
    }
    const cutAt = Date.now();
    const afterPowerCut = idsIn(powerCut(a.store));
    const afterProcessCrash = idsIn(processCrash(a.store));
    const lost = [...answeredAt].filter(([id]) => !afterPowerCut.has(id));
    const oldestLoss = Math.min(...lost.map(([, at]) => at));
    // The window: one second between syncs, plus a sync's own time and timer slack.
    assert.ok(lost.length === 0 || cutAt - oldestLoss <= 1500, `lost a put answered ${cutAt - oldestLoss} ms before the cut`);
    assert.ok(lost.length < answeredAt.size, 'everything was lost');
    assert.deepEqual(
      [...answeredAt.keys()].filter((id) => !afterProcessCrash.has(id)),
      [],
      'a process crash lost answered puts',
    );
    console.log(`      everysec power cut: ${lost.length} of ${answeredAt.size} answered puts lost, oldest answered ${lost.length ? cutAt - oldestLoss : 0} ms before the cut`);
  });

  it('with fsync never, changes reach the OS before they are answered, and a clean stop syncs them', async () => {
    const a = await start({ fsync: 'never' });
    const client = await a.client();
    const ids = await client.queue('jobs').putMany([1, 2, 3].map((payload) => ({ payload })));
    assert.deepEqual([...idsIn(processCrash(a.store))].sort(), [...ids].sort());
    assert.equal(a.store.syncs, 0);
    await a.stop();
    running.splice(running.indexOf(a), 1);
    assert.deepEqual([...idsIn(a.dataDir)].sort(), [...ids].sort());
  });

  it('a clean stop releases leases (attempt + 1, as the protocol says) and they are kept', async () => {
    const a = await start();
    const client = await a.client();
    await client.queue('jobs').put('held');
    const [task] = await client.queue('jobs').getMany(1, { timeout: 1 });
    assert.equal(task!.attempt, 1);
    await a.stop();
    running.splice(running.indexOf(a), 1);
    const b = await start({ dataDir: a.dataDir });
    assert.deepEqual(b.server.restored, { queues: 1, tasks: 1, leasesReturned: 0 });
    const again = await (await b.client()).queue('jobs').getMany(1, { timeout: 1 });
    assert.deepEqual(
      again.map((t) => [t.id, t.attempt]),
      [[task!.id, 2]],
    );
  });

  it('a released task is still at the head of its priority level after a restart, a crash or a clean stop (spec §7.3)', async () => {
    const a = await start();
    const producer = await a.client();
    const jobs = producer.queue<string>('jobs');
    await jobs.putMany(['a', 'b', 'c', 'd'].map((payload) => ({ payload })));
    await jobs.put('urgent', { priority: 1 });
    const worker = await a.client({ name: 'stopping-worker' });
    const taken = await worker.queue<string>('jobs').getMany(3, { timeout: 1 });
    assert.deepEqual(
      taken.map((t) => t.payload),
      ['urgent', 'a', 'b'],
    );
    // The worker stops: its tasks go back to the head of their levels, in the order it took them.
    worker.close();
    await eventually(async () => (await jobs.stats()).leased === 0, 10_000, 'the stopped worker’s leases released');
    const expected = [
      ['urgent', 2],
      ['a', 2],
      ['b', 2],
      ['c', 1],
      ['d', 1],
    ];
    const order = async (server: StoreServer) => [...(await drain(await server.client(), 'jobs')).values()].map((t) => [t.payload, t.attempt]);

    const crashed = await start({ dataDir: processCrash(a.store) });
    assert.deepEqual(await order(crashed), expected, 'after a crash (the journal replayed)');
    await a.stop();
    running.splice(running.indexOf(a), 1);
    const restarted = await start({ dataDir: a.dataDir });
    assert.deepEqual(await order(restarted), expected, 'after a clean stop');
  });

  it('stops the manager when the disk refuses a write, keeping what was answered before', async () => {
    const a = await start();
    const client = await a.client();
    const [kept] = await client.queue('jobs').putMany([{ payload: 'kept' }]);
    // The next journal is /dev/full: its first write fails with ENOSPC, as on a full disk.
    const next = join(a.dataDir, journalName(a.store.compactions + 1));
    symlinkSync('/dev/full', next);
    await a.store.compactNow();
    await a.server.closed;
    assert.match(String(a.server.storeFailure?.message), /ENOSPC/);
    unlinkSync(next);
    const b = await start({ dataDir: a.dataDir });
    assert.deepEqual([...(await drain(await b.client(), 'jobs')).keys()], [kept]);
  });
});
