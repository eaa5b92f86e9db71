import type { ClientInfo, QueueStats, Schedule, ScheduleSetParams, TaskSpec, TaskwireClient } from 'taskwire';
import { deadLetterQueueOf, requeueDeadLetters } from '../model/deadLetters';

// The language-model tools' logic, thin over the `taskwire` client and free of `vscode`, so it
// reads as a table: each tool's input checks, what its confirmation says it will change, and
// the request it makes. lmToolRegistration.ts binds the table to vscode.lm. The input schemas
// live in package.json (contributes.languageModelTools): VS Code shows them to the model.

/** A mistake in a tool's input or a refusal, in words for the model (VS Code hands it the message). */
export class ToolInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolInputError';
  }
}

/** What a mutating tool's confirmation says: a title and a Markdown body naming exactly what changes. */
export interface ToolConfirmation {
  title: string;
  message: string;
}

/** What the tools know without asking the manager (prepareInvocation must be free of side effects). */
export interface KnownState {
  /** The queue's stats as last fetched by the sidebar, if it has them. */
  queue(name: string): QueueStats | undefined;
  /** A connected session's entry as last fetched, if known. */
  session(id: string): ClientInfo | undefined;
}

export interface TaskwireTool<I = Record<string, unknown>> {
  /** The name in package.json's languageModelTools. */
  name: string;
  /** A read-only tool runs without confirmation. */
  readOnly: boolean;
  /** Checks the input; throws ToolInputError. */
  check(input: unknown): I;
  /** The progress message while it runs. */
  invocationMessage(input: I): string;
  /** Mutating tools: what the user confirms. */
  confirmation?(input: I, known: KnownState): ToolConfirmation;
  /** Runs it; resolves with the text the model reads. */
  run(client: TaskwireClient, input: I): Promise<string>;
}

/** At most this many tasks per taskwire_putTasks call (a model writes them out token by token). */
export const MAX_PUT_TASKS = 1000;
/** At most this many tasks per peek. */
export const MAX_PEEK = 100;

// ---------------------------------------------------------------- input checks

function objectInput(input: unknown): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new ToolInputError('the input must be a JSON object');
  return input as Record<string, unknown>;
}

function requiredString(input: Record<string, unknown>, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value.trim() === '') throw new ToolInputError(`"${field}" is required: a non-empty string`);
  return value.trim();
}

function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new ToolInputError(`"${field}" must be a non-empty string when given`);
  return value.trim();
}

function optionalInteger(input: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new ToolInputError(`"${field}" must be a whole number from ${min} to ${max}`);
  return value;
}

const QUEUE_INPUT = (input: unknown): { queue: string } => ({ queue: requiredString(objectInput(input), 'queue') });
const SESSION_INPUT = (input: unknown): { session: string } => ({ session: requiredString(objectInput(input), 'session') });

/** A task spec as the model writes it; the manager checks the details (ranges, key lengths). */
function taskSpec(value: unknown, where: string): TaskSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('payload' in value)) {
    throw new ToolInputError(`${where} must be an object with a "payload" (any JSON value) and optional priority, delay, ttr, maxAttempts, replyTo, unique, rateKey`);
  }
  return value as TaskSpec;
}

// ---------------------------------------------------------------- results

/** A short factual line, then the data as JSON. */
function answer(summary: string, data?: unknown): string {
  return data === undefined ? summary : `${summary}\n${JSON.stringify(data, null, 2)}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Queue stats without the fields only a protocol reader needs. */
function queueSummary(s: QueueStats): Record<string, unknown> {
  const out: Record<string, unknown> = { queue: s.queue, ready: s.ready, leased: s.leased, delayed: s.delayed, dead: s.dead, paused: s.paused === true };
  if (s.maxsize > 0) out['maxsize'] = s.maxsize;
  if (s.throttled !== undefined) out['throttled'] = s.throttled;
  out['waitingWorkers'] = s.waitingGetters;
  out['totals'] = s.totals;
  return out;
}

function workerSummary(c: ClientInfo): Record<string, unknown> {
  const out: Record<string, unknown> = { session: c.sessionId, name: c.name, role: c.role, state: c.state ?? 'active', connectedAt: c.connectedAt, lastSeenAt: c.lastSeenAt };
  if (c.host !== undefined) out['host'] = c.host;
  if (c.pid !== undefined) out['pid'] = c.pid;
  out['acked'] = c.acked;
  out['nacked'] = c.nacked;
  out['holds'] = (c.tasks ?? []).map((t) => ({ id: t.id, queue: t.queue, leaseUntil: t.leaseUntil, ...(t.progress ? { progress: t.progress } : {}) }));
  if (c.tasks === undefined && c.leased > 0) out['holdsCount'] = c.leased;
  return out;
}

function scheduleTimetable(s: Pick<Schedule, 'cron' | 'timezone' | 'every'>): string {
  if (s.cron !== undefined) return `cron "${s.cron}"${s.timezone ? ` (${s.timezone})` : ' (UTC)'}`;
  return `every ${s.every ?? '?'} s`;
}

/**
 * The queue's stats, refusing a queue the manager does not have: the manager creates queues on
 * first use, so asking for a mistyped name would otherwise create it.
 */
async function existingQueue(client: TaskwireClient, queue: string): Promise<QueueStats> {
  const queues = await client.queues();
  const stats = queues.find((q) => q.queue === queue);
  if (stats) return stats;
  const names = queues.map((q) => q.queue).sort();
  const known = names.length === 0 ? 'it has no queues yet' : `its queues: ${names.slice(0, 30).join(', ')}${names.length > 30 ? ', …' : ''}`;
  throw new ToolInputError(`unknown queue "${queue}": the manager has no queue of that name (${known})`);
}

/** `queue` with counts the sidebar knows, for confirmations. */
function queueWithCounts(known: KnownState, queue: string): string {
  const s = known.queue(queue);
  return s ? `\`${queue}\` (now ${s.ready} ready, ${s.delayed} delayed, ${s.leased} leased, ${s.dead} dead)` : `\`${queue}\``;
}

function sessionName(known: KnownState, session: string): string {
  const c = known.session(session);
  return c ? `**${c.name}** (session \`${session}\`, ${c.role}${c.host ? ` on ${c.host}` : ''})` : `session \`${session}\``;
}

// ---------------------------------------------------------------- the tools

const listQueues: TaskwireTool<Record<string, never>> = {
  name: 'taskwire_listQueues',
  readOnly: true,
  check: () => ({}),
  invocationMessage: () => 'Listing the Taskwire queues',
  async run(client) {
    const queues = (await client.queues()).sort((a, b) => a.queue.localeCompare(b.queue));
    return answer(`${plural(queues.length, 'queue')} on the manager.`, queues.map(queueSummary));
  },
};

const queueStats: TaskwireTool<{ queue: string }> = {
  name: 'taskwire_queueStats',
  readOnly: true,
  check: QUEUE_INPUT,
  invocationMessage: ({ queue }) => `Reading the stats of "${queue}"`,
  async run(client, { queue }) {
    const stats = await existingQueue(client, queue);
    return answer(`Stats of "${queue}".`, { ...stats, paused: stats.paused === true, deadLetterQueue: deadLetterQueueOf(stats) });
  },
};

const putTasks: TaskwireTool<{ queue: string; tasks: TaskSpec[] }> = {
  name: 'taskwire_putTasks',
  readOnly: false,
  check(input) {
    const o = objectInput(input);
    const queue = requiredString(o, 'queue');
    const tasks = o['tasks'];
    if (!Array.isArray(tasks) || tasks.length === 0) throw new ToolInputError('"tasks" is required: a list of 1 or more task objects, each with a "payload"');
    if (tasks.length > MAX_PUT_TASKS) throw new ToolInputError(`"tasks" has ${tasks.length} entries; at most ${MAX_PUT_TASKS} per call: split them`);
    return { queue, tasks: tasks.map((t, i) => taskSpec(t, `tasks[${i}]`)) };
  },
  invocationMessage: ({ queue, tasks }) => `Putting ${plural(tasks.length, 'task')} on "${queue}"`,
  confirmation({ queue, tasks }, known) {
    const exists = known.queue(queue) !== undefined;
    const sample = tasks
      .slice(0, 3)
      .map((t) => `- \`${truncate(JSON.stringify(t.payload), 120)}\``)
      .join('\n');
    const more = tasks.length > 3 ? `\n- … and ${tasks.length - 3} more` : '';
    return {
      title: `Put ${plural(tasks.length, 'task')} on "${queue}"?`,
      message: `Adds ${plural(tasks.length, 'task')} to the queue ${queueWithCounts(known, queue)}${exists ? '' : ' (a new queue: it is created by this put)'}. Workers of the queue will run them.\n\n${sample}${more}`,
    };
  },
  async run(client, { queue, tasks }) {
    const ids = await client.queue(queue).putMany(tasks);
    return answer(`Put ${plural(ids.length, 'task')} on "${queue}" (ids in order; a task with a held unique key gets the holder's id).`, { queue, ids });
  },
};

const peek: TaskwireTool<{ queue: string; max: number }> = {
  name: 'taskwire_peek',
  readOnly: true,
  check(input) {
    const o = objectInput(input);
    return { queue: requiredString(o, 'queue'), max: optionalInteger(o, 'max', 1, MAX_PEEK) ?? 10 };
  },
  invocationMessage: ({ queue }) => `Peeking at "${queue}"`,
  async run(client, { queue, max }) {
    const stats = await existingQueue(client, queue);
    const tasks = await client.queue(queue).peek(max);
    return answer(`The next ${plural(tasks.length, 'ready task')} of "${queue}" (of ${stats.ready} ready), untouched.`, tasks);
  },
};

const listWorkers: TaskwireTool<Record<string, never>> = {
  name: 'taskwire_listWorkers',
  readOnly: true,
  check: () => ({}),
  invocationMessage: () => 'Listing the sessions connected to the Taskwire manager',
  async run(client) {
    const clients = await client.clients();
    const own = client.sessionId;
    const others = clients.filter((c) => c.sessionId !== own);
    const workers = others.filter((c) => c.role === 'worker').length;
    return answer(`${plural(others.length, 'session')} connected (${plural(workers, 'worker')}); "holds" lists the tasks each holds now with their last progress report.`, others.map(workerSummary));
  },
};

const requeueDead: TaskwireTool<{ queue: string }> = {
  name: 'taskwire_requeueDeadLetters',
  readOnly: false,
  check: QUEUE_INPUT,
  invocationMessage: ({ queue }) => `Requeueing the dead letters of "${queue}"`,
  confirmation({ queue }, known) {
    const s = known.queue(queue);
    const deadQueue = s ? deadLetterQueueOf(s) : `${queue}.dead`;
    const count = s ? plural(s.dead, 'task') : 'every task';
    return {
      title: `Requeue the dead letters of "${queue}"?`,
      message: `Moves ${count} from the dead-letter queue \`${deadQueue}\` back onto ${queueWithCounts(known, queue)}, where workers take them again (with their payload and priority; the attempt count starts over).`,
    };
  },
  async run(client, { queue }) {
    const stats = await existingQueue(client, queue);
    const deadQueue = deadLetterQueueOf(stats);
    if (deadQueue === null) return `"${queue}" keeps no dead letters (its dead-letter queue is set to none): nothing requeued.`;
    const moved = await requeueDeadLetters(client, queue, deadQueue);
    return answer(moved === 0 ? `"${deadQueue}" had no dead letters: nothing requeued.` : `Requeued ${plural(moved, 'dead letter')} from "${deadQueue}" onto "${queue}".`, {
      queue,
      deadLetterQueue: deadQueue,
      requeued: moved,
    });
  },
};

function pauseTool(pause: boolean): TaskwireTool<{ queue: string }> {
  return {
    name: pause ? 'taskwire_pauseQueue' : 'taskwire_resumeQueue',
    readOnly: false,
    check: QUEUE_INPUT,
    invocationMessage: ({ queue }) => `${pause ? 'Pausing' : 'Resuming'} "${queue}"`,
    confirmation: ({ queue }, known) =>
      pause
        ? {
            title: `Pause the queue "${queue}"?`,
            message: `Pauses ${queueWithCounts(known, queue)}: it still takes puts, but no worker gets a task from it until it is resumed. Tasks that workers hold now run on.`,
          }
        : { title: `Resume the queue "${queue}"?`, message: `Resumes ${queueWithCounts(known, queue)}: workers get its ready tasks again.` },
    async run(client, { queue }) {
      await existingQueue(client, queue);
      const handle = client.queue(queue);
      const stats = pause ? await handle.pause() : await handle.resume();
      return answer(pause ? `Paused "${queue}": nothing is delivered from it until it is resumed.` : `Resumed "${queue}".`, queueSummary(stats));
    },
  };
}

function controlTool(action: 'quiet' | 'stop'): TaskwireTool<{ session: string }> {
  return {
    name: action === 'quiet' ? 'taskwire_quietWorker' : 'taskwire_stopWorker',
    readOnly: false,
    check: SESSION_INPUT,
    invocationMessage: ({ session }) => `${action === 'quiet' ? 'Quieting' : 'Stopping'} session ${session}`,
    confirmation: ({ session }, known) =>
      action === 'quiet'
        ? { title: 'Quiet a worker?', message: `The manager hands ${sessionName(known, session)} no new task; it finishes the tasks it holds and stays connected.` }
        : {
            title: 'Stop a worker?',
            message: `${sessionName(known, session)} takes no new task, finishes and acknowledges the tasks it holds, then disconnects and exits. This cannot be undone for this session.`,
          },
    async run(client, { session }) {
      if (session === client.sessionId) throw new ToolInputError(`session "${session}" is VS Code's own connection to the manager, not a worker`);
      const result = action === 'quiet' ? await client.quietClient(session) : await client.stopClient(session);
      const told = result.notified ? 'it was told' : 'it is an older client that cannot be told: the manager hands it no task' + (action === 'stop' ? ' and closes it once it holds none' : '');
      return answer(action === 'quiet' ? `Session ${session} is quiet (${told}).` : `Session ${session} is stopping (${told}).`, result);
    },
  };
}

const listSchedules: TaskwireTool<{ queue?: string }> = {
  name: 'taskwire_listSchedules',
  readOnly: true,
  check: (input) => {
    const queue = optionalString(objectInput(input), 'queue');
    return queue === undefined ? {} : { queue };
  },
  invocationMessage: ({ queue }) => (queue ? `Listing the schedules of "${queue}"` : 'Listing the Taskwire schedules'),
  async run(client, { queue }) {
    const schedules = await client.schedules.list(queue);
    return answer(`${plural(schedules.length, 'schedule')}${queue ? ` putting tasks on "${queue}"` : ''}.`, schedules);
  },
};

const setSchedule: TaskwireTool<ScheduleSetParams> = {
  name: 'taskwire_setSchedule',
  readOnly: false,
  check(input) {
    const o = objectInput(input);
    const params: ScheduleSetParams = { name: requiredString(o, 'name'), queue: requiredString(o, 'queue'), task: taskSpec(o['task'], '"task"') };
    const cron = optionalString(o, 'cron');
    const every = o['every'];
    if ((cron === undefined) === (every === undefined || every === null)) throw new ToolInputError('give exactly one of "cron" (a cron expression) and "every" (seconds)');
    if (cron !== undefined) params.cron = cron;
    if (every !== undefined && every !== null) {
      if (typeof every !== 'number' || !(every >= 1)) throw new ToolInputError('"every" must be a number of seconds, at least 1');
      params.every = every;
    }
    const timezone = optionalString(o, 'timezone');
    if (timezone !== undefined) params.timezone = timezone;
    const startAt = optionalString(o, 'startAt');
    if (startAt !== undefined) params.startAt = startAt;
    return params;
  },
  invocationMessage: ({ name }) => `Setting the schedule "${name}"`,
  confirmation(params) {
    return {
      title: `Set the schedule "${params.name}"?`,
      message: `Creates the schedule \`${params.name}\`, or replaces the one of that name: the manager puts a task on \`${params.queue}\` at ${scheduleTimetable(params)}${params.startAt ? ` from ${params.startAt}` : ''}, until the schedule is deleted.\n\nThe task: \`${truncate(JSON.stringify(params.task), 300)}\``,
    };
  },
  async run(client, params) {
    const { schedule, created } = await client.schedules.set(params);
    return answer(`${created ? 'Created' : 'Replaced'} the schedule "${schedule.name}"; next run ${schedule.nextRun}.`, schedule);
  },
};

const deleteSchedule: TaskwireTool<{ name: string }> = {
  name: 'taskwire_deleteSchedule',
  readOnly: false,
  check: (input) => ({ name: requiredString(objectInput(input), 'name') }),
  invocationMessage: ({ name }) => `Deleting the schedule "${name}"`,
  confirmation: ({ name }) => ({ title: `Delete the schedule "${name}"?`, message: `Deletes the schedule \`${name}\`: it puts no more tasks. The tasks it already put stay queued.` }),
  async run(client, { name }) {
    await client.schedules.delete(name);
    return `Deleted the schedule "${name}".`;
  },
};

const purge: TaskwireTool<{ queue: string }> = {
  name: 'taskwire_purgeQueue',
  readOnly: false,
  check: QUEUE_INPUT,
  invocationMessage: ({ queue }) => `Purging "${queue}"`,
  confirmation({ queue }, known) {
    const s = known.queue(queue);
    const what = s ? `its ${plural(s.ready + s.delayed, 'ready or delayed task')}` : 'every ready and delayed task of the queue';
    return {
      title: `Purge the queue "${queue}"? This cannot be undone.`,
      message: `**Removes ${what} from \`${queue}\` for good.** Tasks that workers hold now, and its dead letters, are not affected.`,
    };
  },
  async run(client, { queue }) {
    await existingQueue(client, queue);
    const removed = await client.queue(queue).purge();
    return answer(`Purged ${plural(removed, 'task')} from "${queue}".`, { queue, removed });
  },
};

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A tool with its input type erased: every entry point checks the raw input first. */
export interface ToolEntry {
  name: string;
  readOnly: boolean;
  invocationMessage(input: unknown): string;
  /** Mutating tools only; throws ToolInputError on a bad input, so nobody is asked to confirm it. */
  confirmation?(input: unknown, known: KnownState): ToolConfirmation;
  run(client: TaskwireClient, input: unknown): Promise<string>;
}

function entry<I>(tool: TaskwireTool<I>): ToolEntry {
  const { confirmation } = tool;
  return {
    name: tool.name,
    readOnly: tool.readOnly,
    invocationMessage: (input) => tool.invocationMessage(tool.check(input)),
    ...(confirmation ? { confirmation: (input: unknown, known: KnownState) => confirmation(tool.check(input), known) } : {}),
    run: (client, input) => tool.run(client, tool.check(input)),
  };
}

/** Every tool, in the order of package.json. */
export const TASKWIRE_TOOLS: readonly ToolEntry[] = [
  entry(listQueues),
  entry(queueStats),
  entry(putTasks),
  entry(peek),
  entry(listWorkers),
  entry(requeueDead),
  entry(pauseTool(true)),
  entry(pauseTool(false)),
  entry(controlTool('quiet')),
  entry(controlTool('stop')),
  entry(listSchedules),
  entry(setSchedule),
  entry(deleteSchedule),
  entry(purge),
];
