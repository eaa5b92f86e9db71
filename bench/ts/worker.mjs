// Taskwire workers on the TypeScript client. config.conns connections in this process, each
// an independent worker loop (so W = 64 does not need 64 Node processes on a 2-core box).
//   batch false: get (timeout 1 s), then per task one ack with the result (routed to replyTo) that
//     also takes the next task (ackAndGetNext): one call per task.
//   concurrency K > 1: QueueHandle.work() with K loops of get -> ack on the connection.
//   batch true:  getMany(100) -> ackMany of the list with the results (concurrency such loops);
//     with large payloads (config.size) lists of at most 8 MiB (see listOf).
import { config, connect, emit, listOf, taskwire } from './common.mjs';

const { QueueEmptyError } = taskwire;
const conns = config.conns ?? 1;
const batch = config.batch ?? false;
const concurrency = config.concurrency ?? 1;
const list = listOf(config.size ?? 0, 100);

async function loop(client) {
  const tasks = client.queue('tasks');
  if (batch) {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (;;) {
          const got = await tasks.getMany(list, { timeout: 1 });
          if (got.length === 0) continue;
          await tasks.ackMany(got.map((t) => ({ id: t.id, result: `${t.payload} ---> success` })));
        }
      }),
    );
  }
  if (concurrency > 1) {
    // work() waits in blocking gets (no timeout) and runs until the process is stopped.
    await tasks.work((t) => `${t.payload} ---> success`, { concurrency });
    return;
  }
  // One call per task: the ack of each task also takes the next one (task/ack with next).
  let t;
  for (;;) {
    if (t === undefined) {
      try {
        t = await tasks.get({ timeout: 1 });
      } catch (error) {
        if (error instanceof QueueEmptyError) continue;
        throw error;
      }
    }
    [t] = await t.ackAndGetNext(`${t.payload} ---> success`, { timeout: 1 });
  }
}

const clients = await Promise.all(Array.from({ length: conns }, (_, i) => connect(`bench-worker-${process.pid}-${i}`, 'worker')));
await Promise.all(clients.map((c) => c.ping()));
emit('ready', { conns });
await Promise.all(
  clients.map((c) =>
    loop(c).catch((error) => {
      process.stderr.write(`worker: ${error.stack ?? error}\n`);
      process.exit(1);
    }),
  ),
);
