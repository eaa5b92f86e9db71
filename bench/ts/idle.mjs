// Idle connections: each authenticated, then blocked in a get (no timeout) on the queue "idle"
// that nothing is ever put on. One connection first ("warm": the manager's one-time costs of a
// first connection happen here), then, on "go", config.count more, a few dozen at a time.
// Exits when the runner closes stdin.
import { config, connect, emit, waitFor } from './common.mjs';

const { count, parallel = 50 } = config;

async function openIdle(i) {
  const client = await connect(`bench-idle-${i}`, 'worker');
  client
    .queue('idle')
    .get()
    .catch(() => {});
  await client.ping(); // the get was read before this answer
  return client;
}

const clients = [await openIdle(0)];
emit('warm');
await waitFor('go');
for (let i = 0; i < count; i += parallel) {
  clients.push(...(await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, (_, j) => openIdle(1 + i + j)))));
}
const stats = await clients[0].queue('idle').stats();
emit('ready', { connections: clients.length - 1, waitingGetters: stats.waitingGetters });
