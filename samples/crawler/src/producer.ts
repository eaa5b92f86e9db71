// The crawler's producer: crawls the site's pages, enqueues every image URL for the workers,
// then follows the crawl to its end — results, retries and dead letters — and sums it up.
// With --recrawl-every SECONDS (or --recrawl-cron EXPR [--tz ZONE]) it also sets a schedule on
// the manager that puts the index page on the queue crawl.index at each tick, and crawls again
// for each one it takes (--rounds N: stop after N crawls and delete the schedule).
import { writeFileSync } from 'node:fs';
import { connect, type Event, type TaskwireClient } from 'taskwire';
import { DEFAULT_QUEUE, DEFAULT_RESULTS, option, type CrawlResult, type CrawlTask } from './crawlTask';

const site = option('site');
const queueName = option('queue', DEFAULT_QUEUE)!;
const resultsName = option('results', DEFAULT_RESULTS)!;
const summaryFile = option('summary-json');
const maxSeconds = Number(option('timeout', '300'));
const recrawlEvery = option('recrawl-every');
const recrawlCron = option('recrawl-cron');
const recrawlZone = option('tz');
const rounds = Number(option('rounds', '0'));
const indexQueue = option('index-queue', 'crawl.index')!;
// Politeness (rate limits, protocol 2026-12): each host gets at most this many image requests a
// second, and at most this many at once, whatever the number of workers.
const perHostRate = Number(option('per-host-rate', '5'));
const perHostConcurrency = Number(option('per-host-concurrency', '2'));

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.text();
}

/** The pages linked from the index, and the images (with their size and SHA-256) on each page. */
async function crawl(root: string): Promise<CrawlTask[]> {
  const index = await fetchText(`${root}/`);
  const pages = [...index.matchAll(/<a href="([^"]+)"/g)].map((m) => new URL(m[1]!, `${root}/`).href);
  const tasks: CrawlTask[] = [];
  for (const page of pages) {
    const html = await fetchText(page);
    for (const tag of html.matchAll(/<img src="([^"]+)"[^>]*data-size="(\d+)"[^>]*data-sha256="([0-9a-f]{64})"/g)) {
      const url = new URL(tag[1]!, page).href;
      const parts = new URL(url).pathname.split('/');
      tasks.push({ url, category: parts.at(-2)!, name: parts.at(-1)!, size: Number(tag[2]), sha256: tag[3]! });
    }
    process.stderr.write(`crawled ${page}: ${tasks.length} images so far\n`);
  }
  return tasks;
}

function progress(done: number, total: number, failed: number, retried: number): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.round((done / Math.max(1, total)) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} done, ${failed} failed, ${retried} retried\x1b[K`);
}

async function main(): Promise<void> {
  if (!site) {
    throw new Error(
      'usage: producer --site http://127.0.0.1:8080 [--queue crawl.images] [--results crawl.results] [--summary-json FILE] [--per-host-rate N] [--per-host-concurrency N] [--recrawl-every SECONDS | --recrawl-cron EXPR [--tz ZONE]] [--rounds N]',
    );
  }
  const client = await connect({ name: 'crawler-producer', role: 'producer' });
  // A few attempts for transient failures; permanent ones are dead-lettered by the workers.
  // Each task's rate key is its URL's host: the manager spaces the requests to each host and
  // caps them in flight, and a slow host never holds up the others.
  await client.queue<CrawlTask>(queueName).declare({ maxAttempts: 4, ttr: 30, keyRate: { max: perHostRate, period: 1 }, keyConcurrency: perHostConcurrency });
  const recrawl = recrawlEvery !== undefined || recrawlCron !== undefined;
  const schedule = `${queueName}.recrawl`;
  if (recrawl) {
    // At most one re-crawl waits: a tick that comes while one is queued is skipped (the manager
    // never waits on a full queue for a schedule), so a slow crawl never piles re-crawls up.
    await client.queue(indexQueue).declare({ maxsize: 1 });
    const timetable = recrawlCron !== undefined ? { cron: recrawlCron, ...(recrawlZone ? { timezone: recrawlZone } : {}) } : { every: Number(recrawlEvery) };
    const { schedule: set } = await client.schedules.set({ name: schedule, queue: indexQueue, task: { payload: site }, ...timetable });
    process.stderr.write(`schedule "${schedule}": a re-crawl on "${indexQueue}" from ${set.nextRun}\n`);
  }
  for (let round = 1; ; round++) {
    await crawlOnce(client, round);
    if (!recrawl || (rounds > 0 && round >= rounds)) break;
    // The schedule's next tick: the index page, put on the index queue by the manager.
    await client.queue(indexQueue).get({ autoAck: true });
  }
  if (recrawl && rounds > 0) await client.schedules.delete(schedule);
  client.close();
}

/** One crawl: the pages, every image queued, followed to its end, and the summary. */
async function crawlOnce(client: TaskwireClient, round: number): Promise<void> {
  const started = Date.now();
  const queue = client.queue<CrawlTask>(queueName);

  const failed = new Map<string, string>();
  let lostOrRetried = 0;
  // Events are observations: watching nacks, lost leases (expired, or released by a worker that
  // went away) and dead letters takes nothing off the queue.
  const subscription = await client.subscribe({ queues: [queueName], kinds: ['nack', 'expired', 'released', 'dead'] }, (event: Event) => {
    if (event.kind === 'dead') failed.set(event.taskId!, event.error ?? 'failed');
    else lostOrRetried++;
  });

  const found = await crawl(site!);
  // An image linked from several pages is queued once: its URL is the task's uniqueness key
  // (spec §7.21), held until the task ends (scope active), so a link found again while the image
  // is being downloaded is not queued twice either. A duplicate's id is the first one's.
  const ids = await queue.putMany(found.map((payload) => ({ payload, replyTo: resultsName, rateKey: new URL(payload.url).host, unique: { key: payload.url, scope: 'active' as const } })));
  const urlOf = new Map(ids.map((id, i) => [id, found[i]!.url]));
  const tasks = [...urlOf.keys()];
  process.stderr.write(`queued ${tasks.length} images on "${queueName}" (${found.length - tasks.length} found on more than one page)\n`);

  const results = new Map<string, CrawlResult>();
  const results$ = client.queue<{ taskId: string; result: CrawlResult }>(resultsName);
  const deadline = started + maxSeconds * 1000;
  while (results.size + failed.size < tasks.length) {
    if (Date.now() > deadline) throw new Error(`gave up after ${maxSeconds} s: ${results.size} downloaded, ${failed.size} failed, ${tasks.length - results.size - failed.size} outstanding`);
    for (const reply of await results$.getMany(100, { timeout: 0.5, autoAck: true })) results.set(reply.payload.taskId, reply.payload.result);
    progress(results.size + failed.size, tasks.length, failed.size, Math.max(0, lostOrRetried - failed.size));
  }
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  await subscription.unsubscribe();

  const perWorker = new Map<string, number>();
  let bytes = 0;
  for (const result of results.values()) {
    bytes += result.bytes;
    const key = `${result.worker} (${result.language})`;
    perWorker.set(key, (perWorker.get(key) ?? 0) + 1);
  }
  // A permanent failure is one nack then one dead letter: not a retry.
  const retried = Math.max(0, lostOrRetried - failed.size);
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `${round > 1 ? `re-crawl ${round - 1}` : 'crawl'} finished in ${seconds.toFixed(1)} s: ${results.size} downloaded, ${failed.size} failed, ${retried} retried, ${bytes.toLocaleString('en-US')} bytes`,
  );
  for (const [id, error] of failed) console.log(`  failed: ${urlOf.get(id) ?? id}: ${error}`);
  console.log(`  by worker: ${[...perWorker].map(([worker, n]) => `${worker} ${n}`).join(', ')}`);
  if (summaryFile) {
    const summary = {
      downloaded: results.size,
      failed: [...failed].map(([id, error]) => ({ url: urlOf.get(id), error })),
      retried,
      bytes,
      perWorker: Object.fromEntries(perWorker),
      results: [...results.values()],
      seconds,
      round,
    };
    writeFileSync(summaryFile, JSON.stringify(summary, null, 2));
  }
}

main().catch((error: Error) => {
  console.error(`producer failed: ${error.message}`);
  process.exit(1);
});
