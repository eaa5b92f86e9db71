// The seed's "task process" (the worker), on Taskwire. Start several, on other terminals or
// other machines: the tasks are shared between them, and a task whose worker dies is not lost.
import { connect, ConnectionClosedError, QueueEmptyError, ShuttingDownError } from 'taskwire';
import { address, authkey } from './address';

/** The seed sleeps one second to "download"; DOWNLOAD_SECONDS changes that. */
const downloadSeconds = Number(process.env.DOWNLOAD_SECONDS ?? 1);

async function main(): Promise<void> {
  // Connect to the server: address and authkey exactly as the scheduler's.
  console.log(`connect to server ${address.host}:${address.port}`);
  const client = await connect({ ...address, authkey, name: `seed-worker-${process.pid}` });

  // Get the queue object.
  const task = client.queue<string>('tasks');

  for (;;) {
    let job;
    try {
      job = await task.get({ timeout: 5 });
    } catch (error) {
      if (error instanceof QueueEmptyError) break; // the queue stayed empty: the work is done
      if (error instanceof ShuttingDownError) {
        console.log('the manager shut down');
        break;
      }
      // The connection closed under this get: a get sent just as the manager closed its
      // connections in a shutdown is never answered, or the manager died. Either way it went
      // away, and this worker stops, as the seed's does when its manager goes.
      if (error instanceof ConnectionClosedError) {
        console.log('the manager went away');
        break;
      }
      throw error;
    }
    console.log(`run task download ${job.payload}...`);
    await new Promise((resolve) => setTimeout(resolve, downloadSeconds * 1000));
    // The ack completes the task; its result goes to the scheduler's "results" queue.
    await job.ack(`${job.payload} ---> success`);
  }

  // Done.
  console.log('worker exit');
  client.close();
}

main().catch((error: Error) => {
  console.error(`worker failed: ${error.message}`);
  process.exit(1);
});
