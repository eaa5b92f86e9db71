// A BullMQ worker process: one Worker on the queue "tasks" with config.concurrency (1 or 16),
// as a BullMQ user writes it; the processor returns the result, which BullMQ stores with the
// completion and publishes in the 'completed' event the producer reads. No work (no sleep):
// the benchmark measures the queue.
import { Worker } from 'bullmq';
import { config, emit } from '../ts/common.mjs';

const connection = { host: config.redisHost ?? '127.0.0.1', port: config.redisPort };
const worker = new Worker('tasks', async (job) => `${job.data} ---> success`, { connection, concurrency: config.concurrency ?? 1 });
worker.on('error', (error) => {
  process.stderr.write(`worker: ${error.stack ?? error}\n`);
  process.exit(1);
});
await worker.waitUntilReady();
emit('ready', { concurrency: config.concurrency ?? 1 });
