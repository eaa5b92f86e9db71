import * as z from 'zod';
import type { TaskwireClient } from '../client';
import { QueuePutRequest, type ClientInfo, type QueueStats, type Schedule, type Task, type TaskSpec } from '../protocol/generated';
import { resolveSession } from '../cli/workers';
import { heldTasksText } from '../cli/progressText';
import { when } from '../cli/schedule';
import { protocolProperty, protocolSchema } from './protocolSchemas';

/** What a tool answers: the data (MCP structuredContent) and a short text for people and models. */
export interface ToolOutput {
  data: Record<string, unknown>;
  text: string;
}

/** What a tool may do, as the MCP annotations say it (the client asks before running the ones that change things). */
export type ToolEffect = 'read' | 'change' | 'destroy';

export interface ToolContext {
  /** The session id of the MCP server's own connection (left out of the worker list). */
  ownSession: string | undefined;
}

export interface TaskwireTool {
  name: string;
  title: string;
  description: string;
  effect: ToolEffect;
  /** Calling it twice with the same arguments does no more than once. */
  idempotent: boolean;
  input: z.ZodObject;
  run(client: TaskwireClient, args: never, context: ToolContext): Promise<ToolOutput>;
}

/** A tool with its argument type checked against its input schema. */
function tool<S extends z.ZodObject>(
  definition: Omit<TaskwireTool, 'input' | 'run'> & { input: S; run(client: TaskwireClient, args: z.infer<S>, context: ToolContext): Promise<ToolOutput> },
): TaskwireTool {
  return definition as unknown as TaskwireTool;
}

const queueName = () => protocolSchema('QueueName');
const MAX_LISTED = 100;

/** Most tasks one put_tasks call takes: enough for "put these 200 URLs", small enough for one answer. */
export const MAX_PUT = 1000;

/** The queue's stats; a clear error when it does not exist (instead of creating it, as a queue/* call would). */
async function existingQueue(client: TaskwireClient, name: string): Promise<QueueStats> {
  const queues = await client.queues();
  const stats = queues.find((q) => q.queue === name);
  if (stats) return stats;
  const names = queues.map((q) => q.queue);
  throw new Error(`queue "${name}" does not exist (${names.length === 0 ? 'the manager has no queues' : `queues: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', ...' : ''}`})`);
}

/** "crawl.images: 12 ready, 2 leased, 0 delayed, 3 dead (paused)". */
export function queueLine(q: QueueStats): string {
  const extra = [q.paused ? 'paused' : '', q.throttled ? `${q.throttled} throttled` : ''].filter((s) => s !== '');
  return `${q.queue}: ${q.ready} ready, ${q.leased} leased, ${q.delayed} delayed, ${q.dead} dead${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
}

/** "ts-1 (worker, typescript, active) session s1a2: holds 1, acked 9, nacked 0; crawl.images#t1-4 60% verifying". */
export function workerLine(c: ClientInfo): string {
  const about = [c.role, c.language, c.state].filter((s) => s !== undefined).join(', ');
  const held = heldTasksText(c.tasks);
  return `${c.name} (${about}) session ${c.sessionId}: holds ${c.leased}, acked ${c.acked}, nacked ${c.nacked}${held === '-' ? '' : `; ${held}`}`;
}

function taskLine(t: Task): string {
  const payload = JSON.stringify(t.payload);
  return `${t.id} attempt ${t.attempt} priority ${t.priority}: ${payload.length > 120 ? `${payload.slice(0, 119)}…` : payload}${t.lastError ? ` (last error: ${t.lastError})` : ''}`;
}

function scheduleLine(s: Schedule): string {
  return `${s.name} on ${s.queue}: ${when(s)}, next run ${s.nextRun}${s.lastRun ? `, last run ${s.lastRun.at}${s.lastRun.skipped ? ` skipped (${s.lastRun.skipped})` : ''}` : ''}`;
}

function lines(header: string, items: string[]): string {
  return [header, ...items.map((item) => `- ${item}`)].join('\n');
}

const listQueues = tool({
  name: 'list_queues',
  title: 'List queues',
  description: 'Every queue of the Taskwire manager with its stats: ready, leased, delayed and dead-lettered tasks, whether it is paused, its limits and totals.',
  effect: 'read',
  idempotent: true,
  input: z.strictObject({}),
  async run(client) {
    const queues = await client.queues();
    return { data: { queues }, text: queues.length === 0 ? 'The manager has no queues.' : lines(`${queues.length} queue(s):`, queues.map(queueLine)) };
  },
});

const queueStats = tool({
  name: 'queue_stats',
  title: 'Queue stats',
  description: "One queue's stats (as queue/stats answers them). Fails when the queue does not exist rather than creating it.",
  effect: 'read',
  idempotent: true,
  input: z.strictObject({ queue: queueName() }),
  async run(client, { queue }) {
    const stats = await existingQueue(client, queue as string);
    return { data: { stats }, text: queueLine(stats) };
  },
});

const putTasks = tool({
  name: 'put_tasks',
  title: 'Put tasks',
  description: `Put tasks on a queue, all or none (queue/put). Each task is a TaskSpec: payload (any JSON) and optional priority, delay, ttr, replyTo, maxAttempts, unique, rateKey. At most ${MAX_PUT} tasks a call. The queue must exist unless createQueue is true. Does not wait for room in a full queue unless timeout says how long.`,
  effect: 'change',
  idempotent: false,
  input: z.strictObject({
    queue: queueName(),
    tasks: z.array(protocolSchema('TaskSpec')).min(1).max(MAX_PUT),
    timeout: protocolProperty('PutParams', 'timeout').optional().describe('Seconds to wait for room in a bounded queue (default 0: fail at once when it is full).'),
    createQueue: z.boolean().optional().describe('Create the queue if it does not exist (default false: a misspelt name is an error, not a new queue).'),
  }),
  async run(client, { queue, tasks, timeout, createQueue }) {
    if (createQueue !== true) await existingQueue(client, queue as string);
    const specs = tasks as TaskSpec[];
    const ids: string[] = [];
    const duplicates: boolean[] = [];
    // queue/put itself (not putMany), for its `duplicates`; split at the manager's batch limit, each request all or none.
    for (let i = 0; i < specs.length; i += client.limits.maxBatch) {
      const batch = specs.slice(i, i + client.limits.maxBatch);
      const result = await client.request(QueuePutRequest, { queue: queue as string, tasks: batch, timeout: (timeout as number | undefined) ?? 0 });
      ids.push(...result.ids);
      duplicates.push(...batch.map((_, j) => result.duplicates?.[j] === true));
    }
    const duplicateCount = duplicates.filter((d) => d).length;
    return {
      data: { queue, ids, duplicates },
      text: `Put ${ids.length - duplicateCount} task(s) on ${queue as string}${duplicateCount > 0 ? `; ${duplicateCount} not added, as a task holding the same unique key is there (its id answered)` : ''}: ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', ...' : ''}`,
    };
  },
});

const peek = tool({
  name: 'peek',
  title: 'Peek at a queue',
  description: 'The next ready tasks of a queue, in delivery order, without taking them (queue/peek): payload, attempt, priority, last error, and for a dead-letter queue the queue each came from.',
  effect: 'read',
  idempotent: true,
  input: z.strictObject({ queue: queueName(), max: z.number().int().min(1).max(MAX_LISTED).optional().describe(`How many tasks (default 10, at most ${MAX_LISTED}).`) }),
  async run(client, { queue, max }) {
    const stats = await existingQueue(client, queue as string);
    const tasks = await client.queue(queue as string).peek(max ?? 10);
    return {
      data: { queue, ready: stats.ready, tasks },
      text: tasks.length === 0 ? `${queue as string} has no ready task.` : lines(`${tasks.length} of ${stats.ready} ready task(s) of ${queue as string}:`, tasks.map(taskLine)),
    };
  },
});

const recentResults = tool({
  name: 'recent_results',
  title: 'Recent results',
  description:
    'The results waiting in a results queue (the replyTo queue of a task: each is {taskId, result}), oldest first, read with queue/peek: nothing is taken, so the producer that reads them still gets them. Results a consumer already took are no longer there; for a live feed use `taskwire tail --kind ack`.',
  effect: 'read',
  idempotent: true,
  input: z.strictObject({
    queue: queueName().describe('The results queue, e.g. crawl.results.'),
    max: z.number().int().min(1).max(MAX_LISTED).optional().describe(`How many results (default 10, at most ${MAX_LISTED}).`),
  }),
  async run(client, { queue, max }) {
    const stats = await existingQueue(client, queue as string);
    const tasks = await client.queue(queue as string).peek(max ?? 10);
    const results = tasks.map((t) => {
      const routed = t.payload !== null && typeof t.payload === 'object' && !Array.isArray(t.payload) && 'taskId' in t.payload ? (t.payload as { taskId: unknown; result?: unknown }) : undefined;
      return routed ? { taskId: routed.taskId, result: routed.result, at: t.enqueuedAt } : { id: t.id, payload: t.payload, at: t.enqueuedAt };
    });
    return {
      data: { queue, waiting: stats.ready, results },
      text:
        results.length === 0
          ? `${queue as string} holds no result.`
          : lines(
              `${results.length} of ${stats.ready} result(s) waiting in ${queue as string}:`,
              results.map((r) => `${'taskId' in r ? String(r.taskId) : String(r.id)} at ${r.at}: ${JSON.stringify('taskId' in r ? r.result : r.payload).slice(0, 160)}`),
            ),
    };
  },
});

const listWorkers = tool({
  name: 'list_workers',
  title: 'List workers',
  description:
    'The sessions connected to the manager (workers, producers, monitors): name, role, state (active, quiet, stopping), how many tasks each holds, and each held task with its last progress report.',
  effect: 'read',
  idempotent: true,
  input: z.strictObject({ role: protocolSchema('ClientRole').optional().describe('Only the sessions of this role (e.g. worker).') }),
  async run(client, { role }, context) {
    const workers = (await client.clients()).filter((c) => c.sessionId !== context.ownSession && (role === undefined || c.role === role));
    return { data: { workers }, text: workers.length === 0 ? 'No session is connected.' : lines(`${workers.length} session(s):`, workers.map(workerLine)) };
  },
});

const requeueDeadLetters = tool({
  name: 'requeue_dead_letters',
  title: 'Requeue dead letters',
  description:
    "Move the dead letters of a queue back onto it: takes up to max tasks from the queue's dead-letter queue, puts each back on the queue it came from (same payload, priority and replyTo, as a new task with a new id and attempts counted afresh) and removes it from the dead-letter queue. Dead letters of other queues sharing that dead-letter queue are left there.",
  effect: 'destroy',
  idempotent: false,
  input: z.strictObject({
    queue: queueName().describe('The queue whose dead letters go back (not the .dead queue itself).'),
    max: z.number().int().min(1).max(MAX_PUT).optional().describe(`Most tasks to move (default 100, at most ${MAX_PUT}).`),
  }),
  async run(client, { queue, max }) {
    const stats = await existingQueue(client, queue as string);
    const deadLetter = stats.deadLetter;
    if (!deadLetter) throw new Error(`queue "${queue as string}" has no dead-letter queue (its dead tasks are dropped)`);
    if (deadLetter === queue) throw new Error(`queue "${queue as string}" is its own dead-letter queue: nothing to move`);
    // A dead-letter queue that was never made holds nothing: say so rather than create it.
    if (!(await client.queues()).some((q) => q.queue === deadLetter)) {
      return { data: { queue, deadLetterQueue: deadLetter, moved: [], deadLetterQueueNow: 0 }, text: `${deadLetter} does not exist yet: no dead letter to move.` };
    }
    const dead = client.queue(deadLetter);
    const moved: { from: string; to: string }[] = [];
    let left = max ?? 100;
    let blockedBy: string | undefined;
    while (left > 0) {
      // Peek first and take only the leading tasks that are this queue's: the dead letters of
      // other queues sharing the dead-letter queue are not leased (a lease that ends counts an attempt).
      const head = await dead.peek(Math.min(left, client.limits.maxBatch, 100));
      const run = head.findIndex((t) => (t.deadLetteredFrom ?? queue) !== queue);
      const count = run === -1 ? head.length : run;
      if (count === 0) {
        blockedBy = head[0]?.deadLetteredFrom;
        break;
      }
      // Leased, never auto-acked: a task leaves the dead-letter queue only once its copy is on the queue.
      const taken = await dead.getMany(count, { timeout: 0, ttr: 60 });
      if (taken.length === 0) break;
      const ours = taken.filter((t) => (t.deadLetteredFrom ?? queue) === queue);
      // Another consumer got there between the peek and the get: give back what is not ours.
      await Promise.all(taken.filter((t) => !ours.includes(t)).map((t) => t.nack({ error: t.lastError ?? 'given back by requeue_dead_letters', delay: 0 })));
      if (ours.length === 0) break;
      const ids = await client.queue(queue as string).putMany(
        ours.map((t) => ({ payload: t.payload, priority: t.priority, ...(t.replyTo !== undefined ? { replyTo: t.replyTo } : {}) })),
        { timeout: 0 },
      );
      await dead.ackMany(ours.map((t) => ({ id: t.id })));
      ours.forEach((t, i) => moved.push({ from: t.id, to: ids[i]! }));
      left -= ours.length;
    }
    const after = await dead.stats();
    const now = after.ready + after.delayed + after.leased;
    return {
      data: { queue, deadLetterQueue: deadLetter, moved, deadLetterQueueNow: now, ...(blockedBy !== undefined ? { stoppedAtDeadLetterOf: blockedBy } : {}) },
      // "now": a requeued task that fails for good again is back in it already.
      text:
        `Moved ${moved.length} dead letter(s) from ${deadLetter} back to ${queue as string}; ${deadLetter} holds ${now} now.` +
        (blockedBy !== undefined ? ` Stopped at a dead letter of ${blockedBy}, next in line: requeue that queue's to reach the rest.` : ''),
    };
  },
});

function pauseTool(action: 'pause' | 'resume') {
  return tool({
    name: `${action}_queue`,
    title: action === 'pause' ? 'Pause a queue' : 'Resume a queue',
    description:
      action === 'pause'
        ? 'Pause a queue (queue/pause): workers are handed no task from it until it is resumed; puts still go in, leased tasks finish. Idempotent.'
        : 'Resume a paused queue (queue/resume): deliveries start again. Idempotent.',
    effect: 'change',
    idempotent: true,
    input: z.strictObject({ queue: queueName() }),
    async run(client, { queue }) {
      await existingQueue(client, queue as string);
      const stats = action === 'pause' ? await client.queue(queue as string).pause() : await client.queue(queue as string).resume();
      return { data: { stats }, text: `${stats.paused ? 'Paused' : 'Resumed'} ${queueLine(stats)}` };
    },
  });
}

function controlTool(action: 'quiet' | 'stop') {
  return tool({
    name: `${action}_worker`,
    title: action === 'quiet' ? 'Quiet a worker' : 'Stop a worker',
    description:
      action === 'quiet'
        ? 'Tell a worker session to take no new task (client/quiet): it finishes and acks what it holds, then idles. Undone only by the worker reconnecting.'
        : 'Tell a worker session to finish the tasks it holds and then disconnect and exit (client/stop).',
    effect: action === 'quiet' ? 'change' : 'destroy',
    idempotent: true,
    input: z.strictObject({ session: protocolProperty('ControlParams', 'session').describe('The session id as list_workers shows it (a unique prefix is enough).') }),
    async run(client, { session }) {
      const target = await resolveSession(client, session as string);
      const result = action === 'quiet' ? await client.quietClient(target.sessionId) : await client.stopClient(target.sessionId);
      return {
        data: { ...result, name: target.name },
        text: `Session ${result.session} (${target.name}) is ${result.state}${result.notified ? '' : ' (an older client that cannot be told: the manager enforces it)'}.`,
      };
    },
  });
}

const listSchedules = tool({
  name: 'list_schedules',
  title: 'List schedules',
  description: 'The schedules of the manager (schedule/list): each puts a task on a queue at every tick of a cron expression or an interval; with next and last runs.',
  effect: 'read',
  idempotent: true,
  input: z.strictObject({ queue: queueName().optional().describe('Only the schedules of this queue.') }),
  async run(client, { queue }) {
    const schedules = await client.schedules.list(queue as string | undefined);
    return { data: { schedules }, text: schedules.length === 0 ? 'No schedule.' : lines(`${schedules.length} schedule(s):`, schedules.map(scheduleLine)) };
  },
});

const setSchedule = tool({
  name: 'set_schedule',
  title: 'Set a schedule',
  description:
    'Create or replace the schedule of this name (schedule/set): the manager puts `task` (a TaskSpec) on `queue` at each tick. Give exactly one of cron (with an optional IANA timezone) or every (seconds, at least 1). The queue must exist.',
  effect: 'destroy',
  idempotent: true,
  input: z.strictObject({
    name: protocolProperty('ScheduleSetParams', 'name'),
    queue: protocolProperty('ScheduleSetParams', 'queue'),
    task: protocolProperty('ScheduleSetParams', 'task'),
    cron: protocolProperty('ScheduleSetParams', 'cron').optional(),
    timezone: protocolProperty('ScheduleSetParams', 'timezone').optional(),
    every: protocolProperty('ScheduleSetParams', 'every').optional(),
    startAt: protocolProperty('ScheduleSetParams', 'startAt').optional(),
  }),
  async run(client, args) {
    const { name, queue, task, cron, timezone, every, startAt } = args as { name: string; queue: string; task: TaskSpec; cron?: string; timezone?: string; every?: number; startAt?: string };
    await existingQueue(client, queue);
    const { schedule, created } = await client.schedules.set({
      name,
      queue,
      task,
      ...(cron !== undefined ? { cron } : {}),
      ...(timezone !== undefined ? { timezone } : {}),
      ...(every !== undefined ? { every } : {}),
      ...(startAt !== undefined ? { startAt } : {}),
    });
    return { data: { schedule, created }, text: `${created ? 'Created' : 'Replaced'} schedule ${scheduleLine(schedule)}` };
  },
});

const deleteSchedule = tool({
  name: 'delete_schedule',
  title: 'Delete a schedule',
  description: 'Delete a schedule by name (schedule/delete): no more tasks are put by it; tasks it already put stay.',
  effect: 'destroy',
  idempotent: true,
  input: z.strictObject({ name: protocolProperty('ScheduleDeleteParams', 'name') }),
  async run(client, { name }) {
    await client.schedules.delete(name as string);
    return { data: { name, deleted: true }, text: `Deleted schedule ${name as string}.` };
  },
});

const purgeQueue = tool({
  name: 'purge_queue',
  title: 'Purge a queue',
  description: 'Remove every ready and delayed task of a queue (queue/purge); leased tasks stay with their workers. The removed tasks are gone (not dead-lettered). Needs confirm: true.',
  effect: 'destroy',
  idempotent: true,
  input: z.strictObject({
    queue: queueName(),
    confirm: z.literal(true, { error: 'purge_queue removes the tasks for good: pass confirm: true to do it' }).describe('Must be true: purging cannot be undone.'),
  }),
  async run(client, { queue }) {
    await existingQueue(client, queue as string);
    const removed = await client.queue(queue as string).purge();
    return { data: { queue, removed }, text: `Purged ${queue as string}: removed ${removed} task(s).` };
  },
});

/** Every tool, in the order tools/list shows them. */
export const TOOLS: readonly TaskwireTool[] = [
  listQueues,
  queueStats,
  peek,
  recentResults,
  listWorkers,
  listSchedules,
  putTasks,
  pauseTool('pause'),
  pauseTool('resume'),
  requeueDeadLetters,
  controlTool('quiet'),
  controlTool('stop'),
  setSchedule,
  deleteSchedule,
  purgeQueue,
];
