import * as assert from 'node:assert/strict';
import type { TaskwireClient } from 'taskwire';
import * as vscode from 'vscode';
import type { TaskwireApi } from '../../src/api';
import { TASKWIRE_TOOLS, type KnownState } from '../../src/lmTools/tools';
import { activateExtension, connectClient, ensureLocalManager, EXTENSION_ID, uniqueQueue, waitFor } from './helpers';

// The language-model tools (contributes.languageModelTools + vscode.lm.registerTool) against
// the real local manager, called through vscode.lm.invokeTool as agent mode calls them.
// Outside a chat request (toolInvocationToken undefined) VS Code 1.100 asks a mutating tool's
// confirmation in a modal dialog; in an extension test run its DialogService answers every
// confirm() with "confirmed" itself ("refused to show confirmation dialog in tests"), so the
// mutating calls here run straight through, and what the confirmation says is checked on the
// tools' own table (the same prepareInvocation code the registration calls).

const TOOL_NAMES = [
  'taskwire_listQueues',
  'taskwire_queueStats',
  'taskwire_putTasks',
  'taskwire_peek',
  'taskwire_listWorkers',
  'taskwire_requeueDeadLetters',
  'taskwire_pauseQueue',
  'taskwire_resumeQueue',
  'taskwire_quietWorker',
  'taskwire_stopWorker',
  'taskwire_listSchedules',
  'taskwire_setSchedule',
  'taskwire_deleteSchedule',
  'taskwire_purgeQueue',
];

interface ContributedTool {
  name: string;
  inputSchema: object;
  tags: string[];
}

/** Runs a tool as an extension outside a chat request does; resolves with its text. */
async function invoke(name: string, input: object): Promise<string> {
  const result = await vscode.lm.invokeTool(name, { input, toolInvocationToken: undefined });
  return result.content.map((part) => (part instanceof vscode.LanguageModelTextPart ? part.value : JSON.stringify(part))).join('');
}

/** A tool answer's JSON: everything after its first (summary) line. */
function dataOf(text: string): unknown {
  return JSON.parse(text.slice(text.indexOf('\n') + 1));
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the tool call to fail, and it succeeded');
}

describe('the language-model tools', () => {
  let api: TaskwireApi;
  let producer: TaskwireClient;

  before(async () => {
    api = await activateExtension();
    await ensureLocalManager(api);
    producer = await connectClient(api, 'lm-tools-test-producer', 'producer');
  });

  after(() => producer?.close());

  it('are registered with vscode.lm, each with the input schema and tags of package.json', async () => {
    const contributed = (vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as { contributes: { languageModelTools: ContributedTool[] } }).contributes.languageModelTools;
    assert.deepEqual(
      contributed.map((t) => t.name),
      TOOL_NAMES,
    );
    const registered = await waitFor('the Taskwire tools in vscode.lm.tools', () => {
      const ours = vscode.lm.tools.filter((t) => t.name.startsWith('taskwire_'));
      return ours.length === TOOL_NAMES.length ? ours : undefined;
    });
    for (const declared of contributed) {
      const tool = registered.find((t) => t.name === declared.name);
      assert.ok(tool, `${declared.name} is not in vscode.lm.tools`);
      assert.deepEqual(tool.inputSchema, declared.inputSchema, `the schema of ${declared.name}`);
      assert.ok(tool.tags.includes('taskwire'), `the tags of ${declared.name}: ${tool.tags.join(', ')}`);
      assert.ok(tool.description.length > 40, `the model description of ${declared.name}`);
    }
    const pause = registered.find((t) => t.name === 'taskwire_pauseQueue')!;
    assert.deepEqual((pause.inputSchema as { required: string[] }).required, ['queue']);
    const readOnly = registered.filter((t) => t.tags.includes('read-only')).map((t) => t.name);
    assert.deepEqual(readOnly, ['taskwire_listQueues', 'taskwire_queueStats', 'taskwire_peek', 'taskwire_listWorkers', 'taskwire_listSchedules']);
  });

  it('taskwire_listQueues (read-only, no confirmation) sees the queue a client created, with its counts', async () => {
    const queue = uniqueQueue('lm-list');
    await producer.queue(queue).put({ url: 'https://example.com/' });
    await producer.queue(queue).put({ url: 'https://example.org/' });
    const text = await invoke('taskwire_listQueues', {});
    assert.match(text, /^\d+ queues? on the manager\.\n/);
    const entry = (dataOf(text) as { queue: string; ready: number; paused: boolean }[]).find((q) => q.queue === queue);
    assert.ok(entry, `${queue} is not in the answer: ${text}`);
    assert.equal(entry.ready, 2);
    assert.equal(entry.paused, false);
  });

  it('taskwire_peek and taskwire_listWorkers read the tasks and what a worker holds, with its progress', async () => {
    const queue = uniqueQueue('lm-peek');
    await producer.queue(queue).put({ n: 1 });
    await producer.queue(queue).put({ n: 2 });
    const peeked = dataOf(await invoke('taskwire_peek', { queue, max: 1 })) as { payload: unknown }[];
    assert.deepEqual(
      peeked.map((t) => t.payload),
      [{ n: 1 }],
    );
    const worker = await connectClient(api, 'lm-tools-test-worker', 'worker');
    try {
      const task = await worker.queue(queue).get({ timeout: 5 });
      await task.progress(40, 'halfway there');
      const text = await invoke('taskwire_listWorkers', {});
      const sessions = dataOf(text) as { session: string; name: string; role: string; holds: { id: string; queue: string; progress?: { percent: number; message: string } }[] }[];
      const entry = sessions.find((s) => s.session === worker.sessionId);
      assert.ok(entry, `the worker is not in the answer: ${text}`);
      assert.equal(entry.name, 'lm-tools-test-worker');
      assert.equal(entry.role, 'worker');
      assert.equal(entry.holds.length, 1);
      assert.equal(entry.holds[0]!.id, task.id);
      assert.equal(entry.holds[0]!.progress?.percent, 40);
      assert.equal(entry.holds[0]!.progress?.message, 'halfway there');
      assert.ok(!sessions.some((s) => s.session === api.model.connection.sessionId), "VS Code's own connection is not listed");
    } finally {
      worker.close();
    }
  });

  it('taskwire_pauseQueue and taskwire_resumeQueue change the queue: the manager says paused, then not', async () => {
    const queue = uniqueQueue('lm-pause');
    await producer.queue(queue).put('x');
    const text = await invoke('taskwire_pauseQueue', { queue });
    assert.match(text, new RegExp(`^Paused "${queue}": nothing is delivered from it until it is resumed\\.\\n`));
    assert.equal((dataOf(text) as { paused: boolean }).paused, true);
    assert.equal((await producer.queue(queue).stats()).paused, true);
    // The sidebar follows (the paused event, and the refresh after a change).
    await waitFor('the paused queue in the model', () => api.model.queues.find(queue)?.paused === true);
    assert.match(await invoke('taskwire_resumeQueue', { queue }), new RegExp(`^Resumed "${queue}"\\.`));
    assert.equal((await producer.queue(queue).stats()).paused, false);
  });

  it('taskwire_putTasks puts tasks with their options; taskwire_purgeQueue removes them', async () => {
    const queue = uniqueQueue('lm-put');
    const text = await invoke('taskwire_putTasks', {
      queue,
      tasks: [
        { payload: { url: 'https://a.example/' }, priority: 5 },
        { payload: 'later', delay: 3600 },
      ],
    });
    assert.match(text, new RegExp(`^Put 2 tasks on "${queue}"`));
    const { ids } = dataOf(text) as { ids: string[] };
    assert.equal(ids.length, 2);
    const stats = await producer.queue(queue).stats();
    assert.deepEqual([stats.ready, stats.delayed], [1, 1]);
    const [first] = await producer.queue(queue).peek(1);
    assert.deepEqual([first?.id, first?.payload, first?.priority], [ids[0], { url: 'https://a.example/' }, 5]);
    assert.match(await invoke('taskwire_purgeQueue', { queue }), new RegExp(`^Purged 2 tasks from "${queue}"\\.`));
    const after = await producer.queue(queue).stats();
    assert.deepEqual([after.ready, after.delayed], [0, 0]);
  });

  it('taskwire_requeueDeadLetters puts the dead letters back on their queue', async () => {
    const queue = uniqueQueue('lm-dead');
    await producer.queue(queue).put({ job: 'flaky' });
    const worker = await connectClient(api, 'lm-tools-test-failing-worker', 'worker');
    try {
      const task = await worker.queue(queue).get({ timeout: 5 });
      await task.nack({ error: 'boom', retry: false });
    } finally {
      worker.close();
    }
    await waitFor('the dead letter', async () => (await producer.queue(queue).stats()).dead === 1);
    const text = await invoke('taskwire_requeueDeadLetters', { queue });
    assert.match(text, new RegExp(`^Requeued 1 dead letter from "${queue}.dead" onto "${queue}"\\.`));
    const stats = await producer.queue(queue).stats();
    assert.deepEqual([stats.ready, stats.dead], [1, 0]);
    assert.deepEqual((await producer.queue(queue).peek(1))[0]?.payload, { job: 'flaky' });
  });

  it('taskwire_quietWorker and taskwire_stopWorker change the state of the session named', async () => {
    const quiet = await connectClient(api, 'lm-tools-test-quiet-worker', 'worker');
    const stopped = await connectClient(api, 'lm-tools-test-stopped-worker', 'worker');
    try {
      assert.match(await invoke('taskwire_quietWorker', { session: quiet.sessionId }), new RegExp(`^Session ${quiet.sessionId} is quiet \\(it was told\\)\\.`));
      assert.match(await invoke('taskwire_stopWorker', { session: stopped.sessionId }), new RegExp(`^Session ${stopped.sessionId} is stopping`));
      const states = new Map((await producer.clients()).map((c) => [c.sessionId, c.state]));
      assert.equal(states.get(quiet.sessionId!), 'quiet');
      // A stopping session holding no task is closed by its client at once: stopping, or gone.
      assert.notEqual(states.get(stopped.sessionId!), 'active');
      const error = await rejectionOf(invoke('taskwire_quietWorker', { session: 'no-such-session' }));
      assert.match(error.message, /^the Taskwire manager refused: .*no-such-session/);
    } finally {
      quiet.close();
      stopped.close();
    }
  });

  it('taskwire_setSchedule, taskwire_listSchedules and taskwire_deleteSchedule manage the schedules', async () => {
    const queue = uniqueQueue('lm-sched');
    const name = `${queue}-hourly`;
    const set = await invoke('taskwire_setSchedule', { name, queue, task: { payload: { url: 'https://example.com/' } }, cron: '0 * * * *', timezone: 'Europe/Berlin' });
    assert.match(set, new RegExp(`^Created the schedule "${name}"; next run `));
    const [schedule] = await producer.schedules.list(queue);
    assert.deepEqual([schedule?.name, schedule?.cron, schedule?.timezone, schedule?.task.payload], [name, '0 * * * *', 'Europe/Berlin', { url: 'https://example.com/' }]);
    const listed = dataOf(await invoke('taskwire_listSchedules', { queue })) as { name: string }[];
    assert.deepEqual(
      listed.map((s) => s.name),
      [name],
    );
    const both = await rejectionOf(invoke('taskwire_setSchedule', { name, queue, task: { payload: 1 }, cron: '0 * * * *', every: 60 }));
    assert.match(both.message, /give exactly one of "cron" \(a cron expression\) and "every" \(seconds\)/);
    assert.equal(await invoke('taskwire_deleteSchedule', { name }), `Deleted the schedule "${name}".`);
    assert.deepEqual(await producer.schedules.list(queue), []);
    const again = await rejectionOf(invoke('taskwire_deleteSchedule', { name }));
    assert.match(again.message, new RegExp(`^the Taskwire manager refused: .*${name}`));
  });

  it("the mutating tools' confirmations say exactly what will change; the read-only ones ask nothing", async () => {
    const queue = uniqueQueue('lm-confirm');
    await producer.queue(queue).put('x');
    await api.model.queues.refresh();
    const known: KnownState = { queue: (name) => api.model.queues.find(name), session: () => undefined };
    const tool = (name: string) => TASKWIRE_TOOLS.find((t) => t.name === name)!;
    assert.deepEqual(
      TASKWIRE_TOOLS.filter((t) => t.confirmation === undefined).map((t) => t.name),
      TASKWIRE_TOOLS.filter((t) => t.readOnly).map((t) => t.name),
    );
    assert.deepEqual(tool('taskwire_pauseQueue').confirmation!({ queue }, known), {
      title: `Pause the queue "${queue}"?`,
      message: `Pauses \`${queue}\` (now 1 ready, 0 delayed, 0 leased, 0 dead): it still takes puts, but no worker gets a task from it until it is resumed. Tasks that workers hold now run on.`,
    });
    const purge = tool('taskwire_purgeQueue').confirmation!({ queue }, known);
    assert.equal(purge.title, `Purge the queue "${queue}"? This cannot be undone.`);
    assert.match(purge.message, new RegExp(`^\\*\\*Removes its 1 ready or delayed task from \`${queue}\` for good\\.\\*\\*`));
    const put = tool('taskwire_putTasks').confirmation!({ queue: 'brand-new', tasks: [{ payload: 1 }, { payload: 2 }] }, known);
    assert.equal(put.title, 'Put 2 tasks on "brand-new"?');
    assert.match(put.message, /a new queue: it is created by this put/);
    assert.throws(() => tool('taskwire_stopWorker').confirmation!({}, known), /"session" is required/);
  });

  it('an unknown queue fails with a clear message, and is not created by asking', async () => {
    const queue = uniqueQueue('lm-nosuch');
    const error = await rejectionOf(invoke('taskwire_queueStats', { queue }));
    assert.match(error.message, new RegExp(`unknown queue "${queue}": the manager has no queue of that name \\(its queues: `));
    const peekError = await rejectionOf(invoke('taskwire_peek', { queue }));
    assert.match(peekError.message, new RegExp(`unknown queue "${queue}"`));
    assert.ok(!(await producer.queues()).some((q) => q.queue === queue), 'the tool created the queue');
  });

  it('a bad input is refused before anyone is asked to confirm', async () => {
    const error = await rejectionOf(invoke('taskwire_putTasks', { queue: uniqueQueue('lm-bad'), tasks: [{ priority: 3 }] }));
    assert.match(error.message, /tasks\[0\] must be an object with a "payload"/);
  });

  it('when VS Code is not connected, a tool says so and how to connect', async () => {
    const address = api.model.connection.address!;
    const keyFile = api.model.keyFile!;
    await vscode.commands.executeCommand('taskwire.manager.disconnect');
    try {
      const error = await rejectionOf(invoke('taskwire_listQueues', {}));
      assert.match(error.message, /VS Code is not connected to a Taskwire manager.*: start one or connect to one from the Taskwire sidebar/);
    } finally {
      await vscode.commands.executeCommand('taskwire.manager.connect', { host: address.host, port: address.port, authkeyFile: keyFile });
      await waitFor('the connection back to the local manager', () => api.model.connection.connected && api.model.isLocal);
    }
  });
});
