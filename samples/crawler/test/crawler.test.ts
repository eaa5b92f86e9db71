import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { connect, type Event } from 'taskwire';
import { startSite, type Site } from '../src/site';

const crawlerRoot = join(__dirname, '..', '..');
const repoRoot = join(crawlerRoot, '..', '..');
const taskwireBin = join(repoRoot, 'server', 'bin', 'taskwire.js');

interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const processes: Proc[] = [];

function launch(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, cwd = crawlerRoot): Proc {
  const child = spawn(command, args, { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, GOCACHE: process.env.GOCACHE, ...env } });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const proc = { name, child, output: () => output, exited };
  processes.push(proc);
  return proc;
}

/** Starts `taskwire serve --port 0 --json` and resolves with its port. */
async function startManager(home: string): Promise<{ port: number; proc: Proc }> {
  const proc = launch('manager', process.execPath, [taskwireBin, 'serve', '--port', '0', '--json'], { TASKWIRE_HOME: home });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ready = proc
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { message?: string; port?: number })
      .find((entry) => entry.message === 'ready');
    if (ready?.port) return { port: ready.port, proc };
    if (Date.now() > deadline) throw new Error(`the manager did not start:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe('samples/crawler: a distributed image crawl in three languages', function () {
  let site: Site;
  let home: string;
  let out: string;
  let goWorker: string;
  const slowRequests: string[] = [];

  before(function () {
    this.timeout(120_000);
    home = mkdtempSync(join(tmpdir(), 'taskwire-crawler-'));
    out = join(home, 'downloads');
    // The Go worker, built from the standard library only (no module proxy needed).
    goWorker = join(home, 'go-crawler-worker');
    execFileSync('go', ['build', '-o', goWorker, '.'], {
      cwd: join(crawlerRoot, 'workers', 'go'),
      env: { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=mod' },
      stdio: 'pipe',
    });
  });

  after(async () => {
    for (const proc of processes.splice(0)) if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    await site?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('downloads every image exactly once, dead-letters broken links, and survives a worker killed mid-download', async () => {
    const workers = new Map<string, Proc>();
    let killed: string | undefined;
    site = await startSite({
      slowMs: 1500,
      // Four hosts, so the per-host rate limit has keys to take turns between.
      hosts: 4,
      onRequest: (path, userAgent) => {
        if (!path.endsWith('/slow.png')) return;
        const worker = userAgent.replace('taskwire-crawler/', '');
        slowRequests.push(worker);
        // The first worker to fetch the slow image dies in the middle of the download.
        if (killed === undefined && workers.has(worker)) {
          killed = worker;
          workers.get(worker)!.child.kill('SIGKILL');
        }
      },
    });
    const { port } = await startManager(home);
    const env = { TASKWIRE_HOME: home, TASKWIRE_PORT: String(port) };
    // Every worker reports where each download stands (task progress, protocol 2026-12).
    const watcher = await connect({ port, authkeyFile: join(home, 'authkey'), reconnect: false, name: 'progress-watcher', role: 'monitor' });
    const progress: Event[] = [];
    await watcher.subscribe({ queues: ['crawl.images'], kinds: ['progress'] }, (event) => progress.push(event));
    const common = ['--out', out, '--idle', '4', '--retry-delay', '0.1'];
    const start = (name: string, command: string, args: string[]) => workers.set(name, launch(name, command, [...args, '--name', name, ...common], env));
    start('ts-1', process.execPath, [join(crawlerRoot, 'dist', 'src', 'worker.js')]);
    start('ts-2', process.execPath, [join(crawlerRoot, 'dist', 'src', 'worker.js')]);
    start('py-1', 'python3', [join(crawlerRoot, 'workers', 'python', 'worker.py')]);
    start('go-1', goWorker, []);

    const summaryFile = join(home, 'summary.json');
    const producer = launch('producer', process.execPath, [join(crawlerRoot, 'dist', 'src', 'producer.js'), '--site', site.url, '--summary-json', summaryFile, '--timeout', '120'], env);
    assert.equal(await producer.exited, 0, producer.output());
    for (const [name, worker] of workers) {
      const code = await worker.exited;
      if (name !== killed) assert.equal(code, 0, `${name}:\n${worker.output()}`);
    }

    // Someone was killed in the middle of the slow download, and the image came anyway.
    assert.ok(killed, `no worker fetched the slow image (${slowRequests.join(', ')})`);
    assert.equal(workers.get(killed)!.child.signalCode, 'SIGKILL');
    assert.ok(slowRequests.length >= 2, 'the slow image was fetched again after the kill');

    const good = site.images.filter((image) => image.kind !== 'broken');
    const broken = site.images.filter((image) => image.kind === 'broken');
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as {
      downloaded: number;
      failed: { url: string; error: string }[];
      retried: number;
      bytes: number;
      perWorker: Record<string, number>;
      results: { url: string; file: string; sha256: string; worker: string; language: string; attempt: number }[];
    };

    // Every good image exactly once, with the right bytes on disk.
    const urls = summary.results.map((r) => new URL(r.url).pathname).sort();
    assert.deepEqual(urls, good.map((image) => image.path).sort());
    assert.equal(summary.downloaded, good.length);
    assert.deepEqual(files(out), good.map((image) => join(image.category, image.name)).sort(), 'exactly the good images, and no partial files');
    for (const image of good) {
      const bytes = readFileSync(join(out, image.category, image.name));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), image.sha256, `${image.path} on disk`);
    }
    assert.equal(
      summary.bytes,
      good.reduce((sum, image) => sum + image.size, 0),
    );

    // Broken links are permanent failures: dead-lettered on their first attempt.
    assert.deepEqual(summary.failed.map((f) => new URL(f.url).pathname).sort(), broken.map((image) => image.path).sort());
    for (const failure of summary.failed) assert.equal(failure.error, 'HTTP 404');
    const observer = await connect({ port, authkeyFile: join(home, 'authkey'), reconnect: false });
    const dead = await observer.queue('crawl.images.dead').peek(100);
    assert.deepEqual(
      dead.map((t) => t.attempt),
      broken.map(() => 1),
    );
    assert.equal((await observer.queue('crawl.images').stats()).ready, 0);
    observer.close();

    // Transient failures were retried: the flaky (503) and glitchy (truncated) images, and the killed download.
    const attempts = new Map(summary.results.map((r) => [new URL(r.url).pathname.split('/').pop(), r.attempt]));
    assert.equal(attempts.get('flaky.png'), 2);
    assert.equal(attempts.get('glitch.png'), 2);
    assert.equal(attempts.get('slow.png'), 2);
    assert.ok(summary.retried >= 3, `retried ${summary.retried}`);

    // Each worker that saved images said so as it went: "fetching <url>", then "saving" with the size.
    watcher.close();
    for (const worker of new Set(summary.results.map((r) => r.worker))) {
      const reports = progress.filter((e) => e.client?.name === worker);
      assert.ok(
        reports.some((e) => e.percent === 0 && /^fetching http:\/\/127\.0\.0\.\d:\d+\/images\//.test(e.message ?? '')),
        `${worker} reported fetching: ${JSON.stringify(reports.slice(0, 3))}`,
      );
      assert.ok(
        reports.some((e) => e.percent === 90 && e.message === 'saving' && typeof (e.detail as { bytes?: unknown } | undefined)?.bytes === 'number'),
        `${worker} reported saving: ${JSON.stringify(reports.slice(0, 3))}`,
      );
    }

    // Politeness: the producer gives each host 5 requests a second (rateKey = host, keyRate
    // 5/s, one every 200 ms). The site counts what each host got in any one second; one more
    // than the rate allows for a request that reached the site late (a worker's own delay).
    const politeness = site.busiestSecond();
    assert.equal(politeness.size, 4, `requests per host: ${JSON.stringify([...politeness])}`);
    for (const [host, most] of politeness) assert.ok(most <= 6, `${host} got ${most} image requests in one second; the crawl allows 5 a second per host`);
    console.log(`      requests per host, most in any one second: ${[...politeness].map(([host, most]) => `${host} ${most}`).join(', ')}`);

    // Three languages took part.
    const languages = new Set(summary.results.map((r) => r.language));
    assert.deepEqual([...languages].sort(), ['go', 'python', 'typescript']);
    assert.equal(
      Object.values(summary.perWorker).reduce((a, b) => a + b, 0),
      good.length,
    );
  });
  it('re-crawls the index page on a schedule: each tick of --recrawl-every queues a crawl, --rounds ends it and deletes the schedule', async () => {
    const indexFetches: number[] = [];
    const recrawlSite = await startSite({ categories: ['cats'], imagesPerCategory: 2, slowMs: 50, onRequest: (path) => path === '/' && indexFetches.push(Date.now()) });
    const recrawlHome = mkdtempSync(join(tmpdir(), 'taskwire-recrawl-'));
    try {
      const { port } = await startManager(recrawlHome);
      const env = { TASKWIRE_HOME: recrawlHome, TASKWIRE_PORT: String(port) };
      const names = ['--queue', 'recrawl.images'];
      launch(
        'recrawl-worker',
        process.execPath,
        [join(crawlerRoot, 'dist', 'src', 'worker.js'), ...names, '--out', join(recrawlHome, 'out'), '--idle', '4', '--retry-delay', '0.1', '--name', 'recrawler'],
        env,
      );
      const summaryFile = join(recrawlHome, 'summary.json');
      const producer = launch(
        'recrawl-producer',
        process.execPath,
        [
          join(crawlerRoot, 'dist', 'src', 'producer.js'),
          '--site',
          recrawlSite.url,
          ...names,
          '--results',
          'recrawl.results',
          '--summary-json',
          summaryFile,
          '--recrawl-every',
          '1',
          '--rounds',
          '3',
          '--timeout',
          '60',
        ],
        env,
      );
      assert.equal(await producer.exited, 0, producer.output());
      const finished = producer.output().match(/^(crawl|re-crawl \d) finished in/gm) ?? [];
      assert.deepEqual(finished, ['crawl finished in', 're-crawl 1 finished in', 're-crawl 2 finished in']);
      assert.equal(indexFetches.length, 3, 'the index page was fetched once per crawl');
      const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as { round: number; downloaded: number };
      assert.equal(summary.round, 3);
      assert.equal(summary.downloaded, recrawlSite.images.filter((image) => image.kind !== 'broken').length);
      const observer = await connect({ port, authkeyFile: join(recrawlHome, 'authkey'), reconnect: false });
      assert.deepEqual(await observer.schedules.list(), [], 'the producer deleted its schedule after the last round');
      observer.close();
    } finally {
      await recrawlSite.close();
      rmSync(recrawlHome, { recursive: true, force: true });
    }
  });
});
