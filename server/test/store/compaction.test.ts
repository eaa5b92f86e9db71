import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirError, encodeRecord, recover } from '../../src/store';
import { journalName, SNAPSHOT, SNAPSHOT_TMP } from '../../src/store/dataDir';
import { FORMAT } from '../../src/store/compaction';
import { dirBytes, processCrash, removeTempDirs, startStoreServer, tempDir, type StoreServer } from './storeHarness';

// Compaction: the journal is replaced by a snapshot of what is queued, so the files stay
// proportional to the queued tasks, and recovery reads the same state before and after.

describe('store: compaction', function () {
  this.timeout(30_000);
  const running: StoreServer[] = [];
  afterEach(async () => {
    for (const server of running.splice(0)) await server.stop();
    removeTempDirs();
  });

  it('keeps the files proportional to the queued tasks under a long put/ack load', async () => {
    const minBytes = 256 * 1024;
    const a = await startStoreServer({ compaction: { minBytes, ratio: 2 } });
    running.push(a);
    const client = await a.client();
    const jobs = client.queue('jobs');
    let largest = 0;
    for (let round = 0; round < 40; round++) {
      await jobs.putMany(Array.from({ length: 500 }, (_, i) => ({ payload: `image_url_${round}_${i}` })));
      // Ack all but 2 of each round: 80 tasks stay queued in the end.
      const tasks = await jobs.getMany(500, { timeout: 1 });
      await jobs.ackMany(tasks.slice(2).map((task) => ({ id: task.id })));
      largest = Math.max(largest, dirBytes(a.dataDir));
    }
    const journaled = a.store.compactions;
    assert.ok(journaled >= 3, `expected compactions during the load, got ${journaled - 1} (journal ${a.store.sizes.journal} bytes)`);
    // Bounded all along: the journal never outgrows max(minBytes, 2 × snapshot) by more than one batch.
    assert.ok(largest < minBytes + 3 * a.store.sizes.snapshot + 200_000, `the data dir reached ${largest} bytes`);

    await a.store.compactNow();
    const queued = (await jobs.stats()).leased + (await jobs.stats()).ready;
    assert.equal(queued, 80);
    const bytes = dirBytes(a.dataDir);
    // About 170 bytes per task record here, plus a few hundred for the header, queues and lock.
    assert.ok(bytes < queued * 250 + 1024, `${bytes} bytes for ${queued} tasks after compaction`);
    assert.deepEqual(readdirSync(a.dataDir).sort(), [journalName(a.store.compactions), 'lock', 'snapshot']);
  });

  it("recovers the same state before and after a compaction, the engine's own", async () => {
    const a = await startStoreServer();
    running.push(a);
    const client = await a.client();
    const jobs = client.queue('jobs');
    await jobs.declare({ ttr: 30, maxAttempts: 2 });
    await jobs.putMany([{ payload: 'a', priority: 2 }, { payload: 'b' }, { payload: 'c', delay: 600 }, { payload: 'd', replyTo: 'out' }]);
    const [first, second] = await jobs.getMany(2, { timeout: 1 });
    await first!.ack('ok');
    await second!.nack({ error: 'later', delay: 300 });
    await jobs.put('e');
    await jobs.getMany(1, { timeout: 1 }); // leased
    await client.queue('held').pause(); // a paused queue: a pause record in the journal, then in the snapshot
    await client.queue('held').put('waits');

    const before = recover(processCrash(a.store)).state;
    assert.deepEqual(before, a.server.queues.engine.exportState());
    await a.store.compactNow();
    const after = recover(processCrash(a.store)).state;
    assert.deepEqual(after, before);
    assert.deepEqual(
      after.queues.filter((queue) => queue.paused).map((queue) => queue.name),
      ['held'],
    );
    assert.equal(recover(processCrash(a.store)).report.files.length, 2, 'after a compaction: the snapshot and an empty journal');
  });

  it('keeps uniqueness keys in the snapshot: a manager started on it answers a held key with its holder', async () => {
    const a = await startStoreServer();
    running.push(a);
    const client = await a.client();
    const crawl = client.queue('crawl');
    const held = await crawl.putUnique('page', { key: 'https://example.com/a', scope: 'active', ttl: 3600 });
    await crawl.putUnique('other', 'https://example.com/b');
    await crawl.getMany(1, { timeout: 1 }); // leases the first: scope active, still held
    await a.store.compactNow();
    const copy = processCrash(a.store);
    const snapshot = readFileSync(join(copy, SNAPSHOT), 'utf8');
    assert.match(snapshot, /"unique":\{"key":"https:\/\/example.com\/a","scope":"active","until":\d+\}/);
    // The common hold (scope queued, no ttl), kept in memory as its key alone, is written in the same form.
    assert.match(snapshot, /"unique":\{"key":"https:\/\/example.com\/b","scope":"queued"\}/);
    assert.deepEqual(recover(copy).state, a.server.queues.engine.exportState());

    const b = await startStoreServer({ dataDir: copy });
    running.push(b);
    const after = (await b.client()).queue('crawl');
    assert.deepEqual(await after.putUnique('page', 'https://example.com/a'), { id: held.id, duplicate: true });
    assert.equal((await after.putUnique('other', 'https://example.com/b')).duplicate, true);
  });

  it('recovers correctly from a compaction cut short at any step', async () => {
    const a = await startStoreServer();
    running.push(a);
    const client = await a.client();
    await client.queue('jobs').putMany(['a', 'b', 'c'].map((payload) => ({ payload })));
    const [taken] = await client.queue('jobs').getMany(1, { timeout: 1 });
    await taken!.ack();
    const old = processCrash(a.store); // snapshot of generation g, journal g with records
    const expected = recover(old).state;
    const generation = Number(
      readdirSync(old)
        .find((name) => name.startsWith('journal.'))!
        .slice('journal.'.length),
    );

    // Cut after the new journal was created, before the rename: a half-written snapshot.tmp and
    // an empty next journal lie beside the old pair.
    const beforeRename = processCrash(a.store);
    writeFileSync(join(beforeRename, SNAPSHOT_TMP), 'half a snapshot');
    writeFileSync(join(beforeRename, journalName(generation + 1)), encodeRecord({ op: 'journal', format: FORMAT, generation: generation + 1 }));
    assert.deepEqual(recover(beforeRename).state, expected);

    // Cut after the rename, before the old journal was deleted: the old journal is ignored.
    await a.store.compactNow();
    const afterRename = processCrash(a.store);
    copyFileSync(join(old, journalName(generation)), join(afterRename, journalName(generation)));
    assert.deepEqual(recover(afterRename).state, expected);

    // And a manager started on such a directory tidies it up.
    const b = await startStoreServer({ dataDir: beforeRename });
    running.push(b);
    assert.deepEqual(readdirSync(beforeRename).sort(), [journalName(generation + 2), 'lock', 'snapshot']);
    assert.deepEqual(b.server.queues.engine.exportState(), expected);
  });

  it('accepts a copy taken across a compaction when it is whole, and refuses one that is not', async () => {
    const a = await startStoreServer();
    running.push(a);
    const jobs = (await a.client()).queue('jobs');
    await jobs.putMany(['a', 'b'].map((payload) => ({ payload })));
    const early = processCrash(a.store); // snapshot g, journal g: a, b
    const g = Number(
      readdirSync(early)
        .find((name) => name.startsWith('journal.'))!
        .slice('journal.'.length),
    );
    await jobs.put('c');
    const beforeCompaction = processCrash(a.store); // journal g: a, b, c
    await a.store.compactNow(); // seals journal g, snapshot g + 1
    await jobs.put('d');
    const late = processCrash(a.store); // snapshot g + 1, journal g + 1: d
    const expected = recover(late).state;
    assert.equal(expected.tasks.length, 4);

    /** A backup: the snapshot copied from one instant, the journals from others. */
    const backup = (journals: [number, Buffer][]) => {
      const dir = join(tempDir(), 'backup');
      mkdirSync(dir);
      copyFileSync(join(early, SNAPSHOT), join(dir, SNAPSHOT));
      for (const [generation, bytes] of journals) writeFileSync(join(dir, journalName(generation)), bytes);
      return dir;
    };
    const sealed = Buffer.concat([readFileSync(join(beforeCompaction, journalName(g))), encodeRecord({ op: 'sealed', next: g + 1 })]);
    const next = readFileSync(join(late, journalName(g + 1)));

    // Whole: the old journal up to its seal, then the new one.
    assert.deepEqual(
      recover(
        backup([
          [g, sealed],
          [g + 1, next],
        ]),
      ).state,
      expected,
    );
    // The old journal copied before the compaction finished it: changes would be lost silently.
    assert.throws(
      () =>
        recover(
          backup([
            [g, readFileSync(join(early, journalName(g)))],
            [g + 1, next],
          ]),
        ),
      (error: Error) => {
        assert.ok(error instanceof DataDirError);
        assert.match(error.message, new RegExp(`${journalName(g)} ends before its seal but .*${journalName(g + 1)} follows it`));
        return true;
      },
    );
    // The old journal deleted by the compaction before it was copied.
    assert.throws(() => recover(backup([[g + 1, next]])), new RegExp(`${journalName(g)} is missing`));
  });
});
