import { Command } from 'commander';
import { QueueEmptyError } from '../client/errors';
import { requireKnownQueue } from './knownQueues';
import { connectFromFlags, parseNumber, withConnectionOptions, type ConnectionFlags } from './connection';

interface GetFlags extends ConnectionFlags {
  max: number;
  timeout?: number;
  wait: boolean;
  payload?: boolean;
  create?: boolean;
}

export function getCommand(): Command {
  return withConnectionOptions(new Command('get').description('take tasks off a queue and print them, one JSON object per line').argument('<queue>', 'queue name'))
    .option('-n, --max <n>', 'take up to N tasks', parseNumber('max', { integer: true, min: 1 }), 1)
    .option('-t, --timeout <seconds>', 'wait at most this long for a task (default: until one arrives)', parseNumber('timeout'))
    .option('--no-wait', 'do not wait: exit 5 at once when the queue is empty')
    .option('--payload', 'print only each payload (as JSON)')
    .option('--create', 'wait on the queue even if it does not exist yet (the manager creates it; default: refuse an unknown queue)')
    .addHelpText(
      'after',
      `
The tasks are removed from the queue (at-most-once, like Python's Queue.get): a worker
that must not lose tasks uses the client library, which acks after the work is done.
Exits with 5 when no task came before the timeout, 7 when the queue does not exist (the
error names the queues that do; --create waits for a queue that a producer has yet to make).

Examples:
  taskwire get results --timeout 10
  taskwire get tasks --max 100 --no-wait --payload`,
    )
    .action(async (queue: string, flags: GetFlags) => {
      const client = await connectFromFlags(flags, 'monitor');
      try {
        if (!flags.create) await requireKnownQueue(client, queue, '; --create waits for it to be created');
        const timeout = flags.wait ? flags.timeout : 0;
        const tasks = await client.queue(queue).getMany(flags.max, { autoAck: true, ...(timeout !== undefined ? { timeout } : {}) });
        if (tasks.length === 0) throw new QueueEmptyError(queue, timeout);
        for (const task of tasks) process.stdout.write(JSON.stringify(flags.payload ? task.payload : task) + '\n');
      } finally {
        client.close();
      }
    });
}
