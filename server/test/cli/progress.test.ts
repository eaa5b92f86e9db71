import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientInfo, Event } from '../../src';
import { startRedis, type RunningRedis } from '../helpers/redis';
import { cleanupCli, lines, makeHome, startServe, type RunningCli, type Serve } from './cliHarness';

// Task progress end to end (spec §5.20): a worker reports, `taskwire tail` prints it, and
// `taskwire workers` shows it on the worker's row: on one manager in memory, on a data dir,
// and across two managers on one Redis (reported through A, seen through B).

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function eventually<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function startTail(serve: Serve, args: string[]): Promise<RunningCli> {
  const tail = serve.background(['tail', ...args]);
  await tail.waitFor('the subscription', () => tail.stderr.includes('following events on'));
  return tail;
}

/** The worker's row of `taskwire workers` once it shows `pattern`. */
async function workersRow(serve: Serve, name: string, pattern: RegExp): Promise<{ header: string; row: string }> {
  return eventually(`${name}'s row to match ${pattern}`, async () => {
    const result = await serve.run(['workers']);
    assert.equal(result.code, 0, result.stderr);
    const [header, ...rows] = lines(result.stdout);
    const row = rows.find((r) => r.includes(name));
    return row !== undefined && pattern.test(row) ? { header: header!, row } : undefined;
  });
}

describe('cli e2e: task progress in tail and workers', function () {
  this.timeout(40_000);
  afterEach(cleanupCli);

  for (const store of ['memory', 'data dir'] as const) {
    it(`tail prints each progress report and workers shows the held task with its last progress (${store})`, async () => {
      const dataDir = store === 'data dir' ? mkdtempSync(join(tmpdir(), 'taskwire-progress-')) : undefined;
      try {
        const serve = await startServe(dataDir ? ['--data-dir', dataDir] : []);
        const tail = await startTail(serve, ['--kind', 'progress']);
        const worker = await serve.client({ name: 'crawler-1', role: 'worker' });
        const queue = worker.queue('crawl');
        await queue.put({ url: 'https://example.com/' });
        const task = await queue.get({ timeout: 5 });
        await task.progress(40, 'fetching page 2');
        const line = await tail.waitForLine(/progress/);
        assert.match(line, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} progress\\s+crawl ${task.id} 40% fetching page 2 by crawler-1 \\(127\\.0\\.0\\.1:\\d+\\)$`));

        const { header, row } = await workersRow(serve, 'crawler-1', /40%/);
        assert.match(header, /CONNECTED\s+TASK$/);
        assert.ok(row.endsWith(`crawl#${task.id} 40% fetching page 2`), row);

        await sleep(300);
        await task.progress({ percent: 100, message: 'parsed', detail: { links: 3 } });
        assert.match(await tail.waitForLine(/100%/), new RegExp(`progress\\s+crawl ${task.id} 100% parsed by crawler-1 .* detail=\\{"links":3\\}$`));
        await task.ack();
        const { row: idle } = await workersRow(serve, 'crawler-1', /\s-$/);
        assert.match(idle, /\s-$/);
        assert.equal((await tail.stop('SIGTERM')).code, 0);
      } finally {
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }

  describe('two managers on one Redis', () => {
    let redis: RunningRedis;
    before(async () => (redis = await startRedis()));
    after(async () => redis?.stop());

    it('a report through manager A reaches subscribers, manager/clients and taskwire workers of manager B', async () => {
      const home = makeHome();
      const a = await startServe(['--store', redis.url], { home });
      const b = await startServe(['--store', redis.url], { home });
      const watcher = await b.client({ name: 'watcher', role: 'monitor' });
      const events: Event[] = [];
      await watcher.subscribe({ queues: ['peers-crawl'], kinds: ['progress', 'ack'] }, (event) => events.push(event));
      const tail = await startTail(b, ['--queue', 'peers-crawl']);
      // Manager A hears of B's subscribers on tw:control at once.
      await sleep(300);

      const worker = await a.client({ name: 'worker-on-a', role: 'worker' });
      const q = worker.queue('peers-crawl');
      await q.put('https://example.com/');
      const task = await q.get({ timeout: 5 });
      await task.progress(25, 'fetching');
      const seen = await eventually('the progress event on B', () => events.find((e) => e.kind === 'progress'));
      assert.deepEqual([seen.taskId, seen.percent, seen.message, seen.client?.name, seen.manager], [task.id, 25, 'fetching', 'worker-on-a', worker.managerId]);
      assert.match(await tail.waitForLine(/progress/), new RegExp(`progress\\s+peers-crawl ${task.id} 25% fetching by worker-on-a .* on ${worker.managerId}$`));

      const entry = await eventually("the progress in B's registry", async () => {
        const info = (await watcher.clients()).find((c: ClientInfo) => c.name === 'worker-on-a');
        return info?.tasks?.[0]?.progress?.percent === 25 ? info : undefined;
      });
      assert.deepEqual(
        entry.tasks?.map((t) => [t.id, t.queue, t.progress?.message]),
        [[task.id, 'peers-crawl', 'fetching']],
      );
      const { row } = await workersRow(b, 'worker-on-a', /25%/);
      assert.ok(row.endsWith(`peers-crawl#${task.id} 25% fetching`), row);

      // A burst through A: B's subscriber gets a few events, the last with the final value.
      const burstStart = Date.now();
      for (let i = 1; i <= 200; i++) await task.progress(25 + (i * 75) / 200, `step ${i}`);
      const last = await eventually('the last report of the burst on B', () => events.find((e) => e.message === 'step 200'));
      assert.equal(last.percent, 100);
      const burstEvents = events.filter((e) => e.kind === 'progress' && e.message?.startsWith('step ')).length;
      const bound = Math.ceil((Date.now() - burstStart) / 250) + 2;
      assert.ok(burstEvents <= bound, `${burstEvents} events for 200 reports (at most ${bound})`);

      await task.ack();
      await eventually("the task to leave B's registry", async () => {
        const info = (await watcher.clients()).find((c: ClientInfo) => c.name === 'worker-on-a');
        return info?.tasks?.length === 0;
      });
      assert.equal((await tail.stop('SIGTERM')).code, 0);
    });
  });
});
