// The seed's "server process" (the scheduler), on Taskwire. Like the seed, it starts the
// manager itself, puts ten tasks, reads ten results and shuts the manager down.
import { connect, TaskwireServer } from 'taskwire';
import { address, authkey } from './address';

async function main(): Promise<void> {
  // Create the manager, bound to the address with the authkey. The seed registers two local
  // queue.Queue objects under typeids; Taskwire's queues exist by name ("tasks", "results").
  const manager = new TaskwireServer({ host: address.host, port: address.port, authkey: Buffer.from(authkey) });

  // Start it.
  await manager.listen();

  // Get the queues through the network, as every other process will.
  const client = await connect({ ...address, authkey, name: 'scheduler', role: 'producer' });
  const task = client.queue<string>('tasks');
  const result = client.queue<{ taskId: string; result: string }>('results');

  // Add the tasks. replyTo: the worker's ack sends its result to "results".
  for (const url of Array.from({ length: 10 }, (_, i) => `image_url_${i}`)) {
    console.log(`put task ${url}...`);
    await task.put(url, { replyTo: 'results' });
  }

  // Get the results.
  console.log('try get result...');
  for (let i = 0; i < 10; i++) {
    const reply = await result.get({ timeout: 10, autoAck: true });
    console.log(`result in ${reply.payload.result}`);
  }

  client.close();
  await manager.shutdown();
}

main().catch((error: Error) => {
  console.error(`scheduler failed: ${error.message}`);
  process.exit(1);
});
