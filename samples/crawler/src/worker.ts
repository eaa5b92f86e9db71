// A crawler worker in TypeScript: downloads each image, verifies it (size, SHA-256, PNG
// signature), saves it, and acks with a result record. A transient failure (network, 5xx, a
// corrupt download) is nacked for a retry; a permanent one (404) goes to the dead-letter queue.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, QueueEmptyError, type ReceivedTask } from 'taskwire';
import { DEFAULT_QUEUE, option, type CrawlResult, type CrawlTask } from './crawlTask';
import { PNG_SIGNATURE } from './png';

const out = option('out', 'downloads')!;
const name = option('name', `ts-worker-${process.pid}`)!;
const queueName = option('queue', DEFAULT_QUEUE)!;
const idle = option('idle');
const retryDelay = Number(option('retry-delay', '0.2'));

/** A failure no retry can fix. */
class PermanentError extends Error {}

async function download(task: CrawlTask): Promise<Buffer> {
  let response: Response;
  try {
    response = await fetch(task.url, { headers: { 'user-agent': `taskwire-crawler/${name}` }, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    throw new Error(`cannot fetch: ${(error as Error).message}`, { cause: error });
  }
  if (response.status === 404 || response.status === 410 || response.status === 403) throw new PermanentError(`HTTP ${response.status}`);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

function verify(task: CrawlTask, bytes: Buffer): string {
  if (bytes.length !== task.size) throw new Error(`size ${bytes.length}, expected ${task.size}`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== task.sha256) throw new Error(`SHA-256 ${sha256.slice(0, 12)}…, expected ${task.sha256.slice(0, 12)}…`);
  if (!bytes.subarray(0, 8).equals(PNG_SIGNATURE)) throw new PermanentError('not a PNG file');
  return sha256;
}

/** Written beside the target and renamed, so a crash never leaves half a file under the real name. */
function save(task: CrawlTask, bytes: Buffer): string {
  const dir = join(out, task.category);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, task.name);
  const partial = `${file}.${process.pid}.part`;
  writeFileSync(partial, bytes);
  renameSync(partial, file);
  return file;
}

/**
 * Tells the manager (taskwire tail, taskwire workers, the sidebar) where the download stands.
 * Best effort: a report that fails (the lease is gone) is the ack's to find out.
 */
async function report(task: ReceivedTask<CrawlTask>, percent: number, message: string, detail?: unknown): Promise<void> {
  await task.progress(percent, message, detail).catch((error: Error) => console.log(`progress not reported: ${error.message}`));
}

async function handle(task: ReceivedTask<CrawlTask>): Promise<void> {
  try {
    await report(task, 0, `fetching ${task.payload.url}`);
    const bytes = await download(task.payload);
    await report(task, 60, 'verifying');
    const sha256 = verify(task.payload, bytes);
    await report(task, 90, 'saving', { bytes: bytes.length });
    const file = save(task.payload, bytes);
    const result: CrawlResult = { url: task.payload.url, file, bytes: bytes.length, sha256, worker: name, language: 'typescript', attempt: task.attempt };
    await task.ack(result);
    console.log(`saved ${task.payload.url} -> ${file} (attempt ${task.attempt})`);
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof PermanentError) {
      await task.nack({ error: message, retry: false });
      console.log(`failed ${task.payload.url}: ${message} (permanent)`);
    } else {
      await task.nack({ error: message, delay: retryDelay });
      console.log(`retry ${task.payload.url}: ${message}`);
    }
  }
}

async function main(): Promise<void> {
  const client = await connect({ name, labels: { language: 'typescript' } });
  const queue = client.queue<CrawlTask>(queueName);
  console.log(`${name} ready: saving to ${out}`);
  for (;;) {
    let task: ReceivedTask<CrawlTask>;
    try {
      task = await queue.get(idle === undefined ? {} : { timeout: Number(idle) });
    } catch (error) {
      if (error instanceof QueueEmptyError) break;
      throw error;
    }
    await handle(task);
  }
  console.log(`${name} exit: the queue stayed empty for ${idle} s`);
  client.close();
}

main().catch((error: Error) => {
  console.error(`${name} failed: ${error.message}`);
  process.exit(1);
});
