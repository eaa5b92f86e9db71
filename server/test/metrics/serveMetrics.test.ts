import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cleanupCli, jsonLines, lines, runCli, startServe, type Serve } from '../cli/cliHarness';
import { startRedis, type RunningRedis } from '../helpers/redis';
import { httpGet, Scrape } from '../helpers/prometheus';

// `taskwire serve --metrics`: a real manager in a child process on each store, a known sequence
// of operations through the client library, then /metrics scraped over HTTP and parsed with a
// parser of the exposition format; /healthz and /readyz, also while Redis is away.

/** The metrics port from the banner ("Metrics: http://127.0.0.1:<port>/metrics ..."). */
async function metricsPort(serve: Serve): Promise<number> {
  return serve.waitFor('the metrics line of the banner', () => {
    const match = /Metrics: http:\/\/127\.0\.0\.1:(\d+)\/metrics \(Prometheus\), http:\/\/127\.0\.0\.1:\1\/healthz, http:\/\/127\.0\.0\.1:\1\/readyz/.exec(serve.stderr);
    return match ? Number(match[1]) : undefined;
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

const HELD_MS = 300;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * The sequence every store runs, on queue "jobs": 4 puts; 2 tasks got and acked; one got with
 * a short lease that expires; got again and nacked (retry); got again and nacked without retry
 * (dead-lettered); one left ready; a wrong key tried once.
 */
async function knownSequence(serve: Serve, queue = 'jobs'): Promise<void> {
  const producer = await serve.client({ role: 'producer', name: 'metrics-producer' });
  const worker = await serve.client({ role: 'worker', name: 'metrics-worker' });
  const jobs = producer.queue(queue);
  for (const payload of ['a', 'b', 'c']) await jobs.put(payload);
  // Each of the three waits in the queue at least this long, and a and b are held this long before their acks.
  await sleep(HELD_MS);
  const take = worker.queue(queue);
  for (const expected of ['a', 'b']) {
    const task = await take.get({ timeout: 10 });
    assert.equal(task.payload, expected);
    await sleep(HELD_MS);
    await task.ack();
  }
  const short = await take.get({ timeout: 10, ttr: 0.3 });
  assert.equal(short.payload, 'c');
  // Not acked: the lease runs out and "c" comes back (attempt 2).
  const again = await take.get({ timeout: 15 });
  assert.deepEqual([again.payload, again.attempt], ['c', 2]);
  await again.nack({ delay: 0 });
  const last = await take.get({ timeout: 10 });
  assert.deepEqual([last.payload, last.attempt], ['c', 3]);
  await last.nack({ retry: false, error: 'given up' });
  await jobs.put('d');
  await assert.rejects(serve.client({ authkey: 'not the key' }), /authentication failed/i);
}

/**
 * What the sequence leaves in a scrape of the manager it ran on (`others`: the other managers
 * of its Redis; the counters are per manager, and whichever manager notices an expiry first
 * counts it, so the counters are summed over all, as docs/metrics.md tells to).
 */
function assertSequenceCounted(scrape: Scrape, others: Scrape[] = [], queue = 'jobs'): void {
  const q = { queue };
  const total = (name: string) => [scrape, ...others].reduce((sum, s) => sum + (s.value(name, q) ?? 0), 0);
  assert.deepEqual(
    {
      puts: total('taskwire_puts_total'),
      deliveries: total('taskwire_deliveries_total'),
      acks: total('taskwire_acks_total'),
      nacks: total('taskwire_nacks_total'),
      expiries: total('taskwire_expiries_total'),
      deadLetters: total('taskwire_dead_letters_total'),
    },
    { puts: 4, deliveries: 5, acks: 2, nacks: 2, expiries: 1, deadLetters: 1 },
  );
  assert.deepEqual(
    ['ready', 'leased', 'delayed', 'dead'].map((state) => scrape.value('taskwire_queue_tasks', { queue, state })),
    [1, 0, 0, 1],
  );
  assert.equal(scrape.value('taskwire_queue_tasks', { queue: `${queue}.dead`, state: 'ready' }), 1);
  const waited = scrape.histogram('taskwire_queue_wait_seconds', q)!;
  assert.equal(waited.count, 5, 'one observation per delivery');
  const held = HELD_MS / 1000;
  assert.ok(waited.sum >= 3 * held, `a, b and c each waited ${held} s or more: ${waited.sum}`);
  assert.ok(waited.buckets['0.1']! <= 2, `at most the two redeliveries of c were quick: ${JSON.stringify(waited.buckets)}`);
  assert.equal(waited.buckets['+Inf'], 5);
  const processed = scrape.histogram('taskwire_task_processing_seconds', q)!;
  assert.equal(processed.count, 2, 'one observation per ack');
  assert.ok(processed.sum >= 2 * held && processed.sum < 30, `a and b were each held ${held} s: ${processed.sum}`);
  assert.deepEqual([processed.buckets['0.25'], processed.buckets['+Inf']], [0, 2]);
  assert.equal(scrape.value('taskwire_auth_failures_total'), 1);
  assert.deepEqual(
    ['worker', 'producer', 'monitor'].map((role) => scrape.value('taskwire_sessions', { role })),
    [1, 1, 0],
  );
  assert.equal(scrape.value('taskwire_store_up'), 1);
  // prom-client's default process metrics, with the prefix.
  assert.ok(scrape.value('taskwire_process_resident_memory_bytes')! > 0);
  assert.ok(scrape.families.has('taskwire_nodejs_eventloop_lag_seconds'));
}

describe('taskwire serve --metrics', function () {
  this.timeout(60_000);
  afterEach(cleanupCli);

  it('memory store: the counters, gauges and histograms of a known sequence; /healthz and /readyz 200; 404 elsewhere', async () => {
    const serve = await startServe(['--metrics', '0']);
    const port = await metricsPort(serve);
    await knownSequence(serve);
    const scrape = await Scrape.of(port);
    assertSequenceCounted(scrape);
    assert.equal(scrape.value('taskwire_manager_info', { store: 'memory' }), 1);
    assert.equal(scrape.value('taskwire_queue_paused', { queue: 'jobs' }), 0);
    const paused = await serve.run(['pause', 'jobs']);
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal((await Scrape.of(port)).value('taskwire_queue_paused', { queue: 'jobs' }), 1);
    assert.ok(!scrape.families.has('taskwire_journal_fsync_seconds') && !scrape.families.has('taskwire_store_round_trip_seconds'));
    const metrics = await httpGet(port, '/metrics');
    assert.equal(metrics.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    assert.deepEqual(await httpGet(port, '/healthz').then((a) => [a.status, a.body]), [200, 'ok\n']);
    assert.deepEqual(await httpGet(port, '/readyz').then((a) => [a.status, a.body]), [200, 'ready\n']);
    assert.deepEqual(await httpGet(port, '/favicon.ico').then((a) => [a.status, a.body]), [404, 'not found: /favicon.ico (try /metrics, /healthz or /readyz)\n']);
  });

  it('journal store (--data-dir): the same counts, and the fsync histogram', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskwire-metrics-'));
    try {
      const serve = await startServe(['--data-dir', dir, '--metrics', '127.0.0.1:0']);
      const port = await metricsPort(serve);
      await knownSequence(serve);
      const scrape = await Scrape.of(port);
      assertSequenceCounted(scrape);
      assert.equal(scrape.value('taskwire_manager_info', { store: 'journal' }), 1);
      const fsync = scrape.histogram('taskwire_journal_fsync_seconds')!;
      assert.ok(fsync.count >= 1, `every answered change was synced (--fsync always): ${fsync.count}`);
    } finally {
      await cleanupCli();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--json: the ready line gives metricsAddress and metricsPort', async () => {
    const serve = await startServe(['--json', '--metrics', ':0']);
    const ready = jsonLines<Record<string, unknown>>(serve.stdout).find((e) => e['message'] === 'ready')!;
    assert.equal(ready['metricsAddress'], '127.0.0.1');
    assert.equal((await httpGet(ready['metricsPort'] as number, '/healthz')).status, 200);
  });

  it('a bad --metrics value: exit 2 and what to give', async () => {
    for (const value of ['localhost', '127.0.0.1:99999', 'metrics:port']) {
      const result = await runCli(['serve', '--port', '0', '--metrics', value]);
      assert.equal(result.code, 2, result.stderr);
      assert.deepEqual(lines(result.stderr), [`taskwire: error: invalid --metrics "${value}": expected HOST:PORT or PORT (e.g. 127.0.0.1:9464, or 9464 for loopback; port 0: any free port)`]);
    }
  });

  it('the metrics port in use: exit 3, one line naming it, and the manager does not stay up', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    try {
      const port = (blocker.address() as { port: number }).port;
      const result = await runCli(['serve', '--port', '0', '--metrics', String(port)]);
      assert.equal(result.code, 3, result.stderr);
      assert.deepEqual(
        lines(result.stderr).filter((line) => line.startsWith('taskwire:')),
        [`taskwire: error: --metrics: port ${port} on 127.0.0.1 is already in use: stop what uses it or pick another port (e.g. --metrics 127.0.0.1:9465)`],
      );
    } finally {
      await new Promise((done) => blocker.close(done));
    }
  });

  it('a manager without --metrics never loads prom-client (it is imported only with --metrics)', async () => {
    const plain = await startServe([], { env: { NODE_DEBUG: 'module' } });
    assert.match(plain.stderr, /localQueues/, 'NODE_DEBUG=module lists no module: the check below would prove nothing');
    assert.doesNotMatch(plain.stderr, /prom-client|managerMetrics/);
    const withMetrics = await startServe(['--metrics', '0'], { env: { NODE_DEBUG: 'module' } });
    await metricsPort(withMetrics);
    assert.match(withMetrics.stderr, /prom-client/);
  });

  it('--help says that a non-loopback --metrics address shows queue names without a key', async () => {
    const help = await runCli(['serve', '--help']);
    assert.match(
      help.stdout.replace(/\s+/g, ' '),
      /--metrics <host:port> serve Prometheus metrics on HTTP at \/metrics, and \/healthz and \/readyz \(PORT or :PORT: loopback only; they need no key, so a non-loopback address shows queue names to anyone who reaches it\)/,
    );
  });

  describe('on the Redis store', () => {
    let redis: RunningRedis;
    before(async () => (redis = await startRedis()));
    after(async () => redis?.stop());

    it('the Grafana dashboard shipped in docs/ is JSON, uses a datasource variable, and queries only metrics the manager serves', async () => {
      const file = resolve(__dirname, '..', '..', '..', '..', 'docs', 'grafana', 'taskwire-dashboard.json');
      const dashboard = JSON.parse(readFileSync(file, 'utf8')) as { templating: { list: { name: string; type: string }[] }; panels: { datasource?: { uid?: string }; targets?: { expr: string }[] }[] };
      assert.ok(dashboard.templating.list.some((v) => v.type === 'datasource' && v.name === 'datasource'));
      // What a manager on each store serves: the journal's fsync and Redis's round trips are store-specific.
      const dir = mkdtempSync(join(tmpdir(), 'taskwire-metrics-'));
      try {
        const onRedis = await startServe(['--store', redis.url, '--metrics', '0']);
        const onJournal = await startServe(['--data-dir', dir, '--metrics', '0']);
        await knownSequence(onRedis, 'dashboard-jobs');
        const served = new Set<string>();
        for (const serve of [onRedis, onJournal]) for (const name of (await Scrape.of(await metricsPort(serve))).families.keys()) served.add(name);
        const names = (expr: string) => [...expr.matchAll(/\btaskwire_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
        assert.ok(dashboard.panels.length >= 6);
        for (const panel of dashboard.panels) {
          if (!panel.targets) continue;
          assert.equal(panel.datasource?.uid, '${datasource}', 'every panel reads the datasource variable');
          for (const target of panel.targets) for (const name of names(target.expr)) assert.ok(served.has(name), `the dashboard queries ${name}, which the manager does not serve`);
        }
      } finally {
        await cleanupCli();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('the same counts, the round-trip histogram; two managers: gauges describe the shared queue, counters each its own', async () => {
      const a = await startServe(['--store', redis.url, '--metrics', '0']);
      const b = await startServe(['--store', redis.url, '--metrics', '0'], { home: a.home });
      const [portA, portB] = [await metricsPort(a), await metricsPort(b)];
      await knownSequence(a);
      const [scrapeA, scrapeB] = [await Scrape.of(portA), await Scrape.of(portB)];
      assertSequenceCounted(scrapeA, [scrapeB]);
      assert.equal(scrapeA.value('taskwire_manager_info', { store: 'redis' }), 1);
      assert.ok(scrapeA.histogram('taskwire_store_round_trip_seconds', { script: 'put' })!.count >= 4);
      assert.ok(scrapeA.histogram('taskwire_store_round_trip_seconds', { script: 'ack' })!.count >= 2);
      // B served no client: it sees the shared queue, and counted no put.
      assert.equal(scrapeB.value('taskwire_queue_tasks', { queue: 'jobs', state: 'ready' }), 1);
      assert.equal(scrapeB.value('taskwire_queue_tasks', { queue: 'jobs', state: 'dead' }), 1);
      assert.equal(scrapeB.value('taskwire_puts_total', { queue: 'jobs' }) ?? 0, 0);
      assert.equal(scrapeB.value('taskwire_sessions', { role: 'worker' }), 0);
      // A pause through A is the shared queue's: B's gauge says so.
      const paused = await a.run(['pause', 'jobs']);
      assert.equal(paused.code, 0, paused.stderr);
      assert.equal((await Scrape.of(portB)).value('taskwire_queue_paused', { queue: 'jobs' }), 1);
    });

    it('/readyz: 503 with the reason while redis-server is stopped, 200 again once it is back on the same port', async () => {
      const serve = await startServe(['--store', redis.url, '--metrics', '0']);
      const port = await metricsPort(serve);
      assert.equal((await httpGet(port, '/readyz')).status, 200);
      await redis.stop({ keepDir: true });
      try {
        const down = await until('/readyz to say 503', async () => {
          const answer = await httpGet(port, '/readyz');
          return answer.status === 503 ? answer : undefined;
        });
        assert.equal(down.body, `store unavailable: redis://127.0.0.1:${redis.port}: the connection to Redis is down\n`);
        assert.equal((await httpGet(port, '/healthz')).status, 200, 'the process is alive: only readiness fails');
        const scrape = await Scrape.of(port);
        assert.equal(scrape.value('taskwire_store_up'), 0);
        assert.equal(scrape.family('taskwire_queue_tasks', 'GAUGE').metrics.length, 0, 'no stale queue gauges while the store is away');
      } finally {
        await redis.restart();
      }
      const up = await until('/readyz to say 200 again', async () => {
        const answer = await httpGet(port, '/readyz');
        return answer.status === 200 ? answer : undefined;
      });
      assert.equal(up.body, 'ready\n');
      assert.equal((await Scrape.of(port)).value('taskwire_store_up'), 1);
    });
  });
});
