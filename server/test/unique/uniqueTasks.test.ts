import { strict as assert } from 'node:assert';
import { cleanupCli, lines, makeHome, startServe, type Serve } from '../cli/cliHarness';
import { startRedis, type RunningRedis } from '../helpers/redis';

// Unique tasks (spec §7.21) end to end: the CLI and the TS client against real managers, a
// restart on a data dir, and concurrent puts through three managers on one redis-server.

describe('unique tasks end to end', function () {
  this.timeout(60_000);
  afterEach(cleanupCli);

  describe('taskwire put --unique and the TS client on one manager', () => {
    let serve: Serve;
    beforeEach(async () => (serve = await startServe()));

    it('prints the new id, then "duplicate of <id>" while the key is held; putUnique says duplicate', async () => {
      const first = await serve.run(['put', 'crawl', '{"url":"https://example.com/"}', '--unique', 'https://example.com/']);
      assert.equal(first.code, 0, first.stderr);
      const [id] = lines(first.stdout);
      const again = await serve.run(['put', 'crawl', '{"url":"https://example.com/"}', '--unique', 'https://example.com/']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout, `duplicate of ${id}\n`);

      const client = await serve.client();
      const queue = client.queue('crawl');
      assert.deepEqual(await queue.putUnique({ url: 'https://example.com/' }, 'https://example.com/'), { id, duplicate: true });
      const other = await queue.putUnique({ url: 'https://example.com/b' }, { key: 'https://example.com/b', scope: 'active' });
      assert.equal(other.duplicate, false);
      // put with the option answers the holder's id too.
      assert.equal(await queue.put({ url: 'again' }, { unique: 'https://example.com/b' }), other.id);
      assert.equal((await queue.stats()).ready, 2);
      // Leased: scope queued frees its key, scope active keeps it (a CLI put with the same scopes).
      await queue.getMany(2);
      const afterLease = await serve.run(['put', 'crawl', 'x', '--unique', 'https://example.com/', '--unique-scope', 'active', '--unique-ttl', '60']);
      assert.equal(lines(afterLease.stdout).length, 1);
      assert.doesNotMatch(afterLease.stdout, /duplicate/);
      const held = await serve.run(['put', 'crawl', 'x', '--unique', 'https://example.com/b']);
      assert.equal(held.stdout, `duplicate of ${other.id}\n`);
    });

    it('refuses what it cannot do, with the reason: several payloads, scope without a key, a key too long', async () => {
      const several = await serve.run(['put', 'crawl', 'a', 'b', '--unique', 'k']);
      assert.equal(several.code, 2);
      assert.match(several.stderr, /--unique KEY puts one task: give one payload argument \(for many, give each line its own "unique" with --specs\)/);
      const scopeOnly = await serve.run(['put', 'crawl', 'a', '--unique-scope', 'active']);
      assert.equal(scopeOnly.code, 2);
      assert.match(scopeOnly.stderr, /--unique-scope and --unique-ttl go with --unique KEY/);
      const badScope = await serve.run(['put', 'crawl', 'a', '--unique', 'k', '--unique-scope', 'forever']);
      assert.equal(badScope.code, 2);
      assert.match(badScope.stderr, /argument 'forever' is invalid. Allowed choices are queued, active/);
      const long = await serve.run(['put', 'crawl', 'a', '--unique', 'k'.repeat(257)]);
      assert.notEqual(long.code, 0);
      assert.match(long.stderr, /"tasks\/0\/unique\/key" must be at most 256 characters long/);
      const client = await serve.client();
      await assert.rejects(client.queue('crawl').putUnique('a', 'k'.repeat(257)), /"tasks\/0\/unique\/key" must be at most 256 characters long/);
    });
  });

  it('a held key survives a restart on a data dir; acked, it is free', async () => {
    const home = makeHome();
    const dataDir = makeHome();
    const first = await startServe(['--data-dir', dataDir], { home });
    const put = await first.run(['put', 'crawl', 'page', '--unique', 'https://example.com/a', '--unique-scope', 'active']);
    const [id] = lines(put.stdout);
    await first.stop();
    const second = await startServe(['--data-dir', dataDir], { home });
    const again = await second.run(['put', 'crawl', 'page', '--unique', 'https://example.com/a']);
    assert.equal(again.stdout, `duplicate of ${id}\n`);
    const client = await second.client();
    const task = await client.queue('crawl').get({ timeout: 5 });
    await task.ack();
    const fresh = await client.queue('crawl').putUnique('page', 'https://example.com/a');
    assert.equal(fresh.duplicate, false);
  });

  describe('three managers on one redis-server', () => {
    let redis: RunningRedis;
    before(async () => (redis = await startRedis()));
    after(async () => redis?.stop());

    it('1,000 concurrent puts of 100 distinct keys leave exactly 100 tasks, each key answered with one id', async () => {
      const managers = await Promise.all([0, 1, 2].map(() => startServe(['--store', redis.url])));
      const clients = await Promise.all(managers.map((serve) => serve.client({ name: 'producer' })));
      const queue = `unique-race-${process.pid}`;
      const answers = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          clients[i % 3]!.queue(queue)
            .putUnique({ n: i }, `key-${i % 100}`)
            .then((answer) => ({ key: i % 100, ...answer })),
        ),
      );
      const idsByKey = new Map<number, Set<string>>();
      for (const { key, id } of answers) idsByKey.set(key, (idsByKey.get(key) ?? new Set()).add(id));
      assert.equal(idsByKey.size, 100);
      for (const [key, ids] of idsByKey) assert.equal(ids.size, 1, `key-${key} was answered with ${ids.size} ids`);
      assert.equal(answers.filter((a) => !a.duplicate).length, 100);
      const stats = await clients[0]!.queue(queue).stats();
      assert.deepEqual([stats.ready, stats.totals.put], [100, 100]);
    });
  });
});
