import * as assert from 'node:assert/strict';
import type { TaskwireClient } from 'taskwire';
import * as vscode from 'vscode';
import type { TaskwireApi } from '../../src/api';
import type { ResultItem, ResultsNode } from '../../src/views/resultsView';
import { activateExtension, connectClient, ensureLocalManager, labelOf, rootItems, sleep, uniqueQueue, waitFor } from './helpers';

describe('the Results view', () => {
  let api: TaskwireApi;
  let worker: TaskwireClient;

  before(async () => {
    api = await activateExtension();
    await vscode.commands.executeCommand('taskwire.sidebar.show');
    await ensureLocalManager(api);
    worker = await connectClient(api, 'results-worker');
  });

  after(async () => {
    worker?.close();
    await vscode.commands.executeCommand('taskwire.results.resume');
    await vscode.workspace.getConfiguration('taskwire').update('resultsKept', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  /** Enqueues through the command, takes the task with the worker, acks with `result`. */
  async function runTask(queue: string, payloadText: string, result: unknown): Promise<string> {
    const id = await vscode.commands.executeCommand<string>('taskwire.queue.enqueue', queue, payloadText);
    const task = await worker.queue(queue).get({ timeout: 10 });
    assert.equal(task.id, id);
    await task.ack(result);
    return id;
  }

  async function results(): Promise<ResultItem[]> {
    // By contextValue: this suite is bundled with its own copy of the classes, so instanceof fails.
    return (await rootItems<ResultsNode>(api.views.results)).filter((i): i is ResultItem => i.contextValue === 'taskwire.result');
  }

  it('shows acknowledged results newest first, each with its payload and result', async () => {
    await vscode.commands.executeCommand('taskwire.results.clear');
    const queue = uniqueQueue('results');
    const first = await runTask(queue, '{"url": "image_url_0"}', 'image_url_0 ---> success');
    const second = await runTask(queue, '{"url": "image_url_1"}', { ok: true, bytes: 1234 });
    const items = await waitFor('two results', async () => ((await results()).length >= 2 ? await results() : undefined));
    assert.deepEqual(
      items.slice(0, 2).map((i) => i.entry.taskId),
      [second, first],
    );
    const children = (await api.views.results.getChildren(items[0])) ?? [];
    assert.deepEqual(
      children.map((c) => [labelOf(c), c.description]),
      [
        ['Payload', '{"url":"image_url_1"}'],
        ['Result', '{"ok":true,"bytes":1234}'],
      ],
    );
    assert.equal(labelOf(items[1]!), '"image_url_0 ---> success"');
    assert.equal(items[1]!.entry.worker, 'results-worker');
    assert.deepEqual(items[1]!.entry.payload, { url: 'image_url_0' });
  });

  it('opens a result as a JSON document', async () => {
    const [latest] = await results();
    const document = await vscode.commands.executeCommand<vscode.TextDocument>('taskwire.results.open', latest);
    assert.equal(document.languageId, 'json');
    const json = JSON.parse(document.getText()) as { taskId: string; payload: unknown; result: unknown };
    assert.equal(json.taskId, latest!.entry.taskId);
    assert.deepEqual(json.result, { ok: true, bytes: 1234 });
    const all = await vscode.commands.executeCommand<vscode.TextDocument>('taskwire.results.open');
    assert.ok(Array.isArray(JSON.parse(all.getText())));
  });

  it('pauses, resumes and clears', async () => {
    const queue = uniqueQueue('pause');
    await vscode.commands.executeCommand('taskwire.results.pause');
    const whilePaused = await runTask(queue, '"paused"', 'not shown');
    await sleep(500);
    assert.ok(!(await results()).some((i) => i.entry.taskId === whilePaused));
    await vscode.commands.executeCommand('taskwire.results.resume');
    const afterResume = await runTask(queue, '"resumed"', 'shown');
    await waitFor('the result after resuming', async () => (await results())[0]?.entry.taskId === afterResume);
    await vscode.commands.executeCommand('taskwire.results.clear');
    await waitFor('an empty view', async () => (await results()).length === 0);
  });

  it('keeps at most taskwire.resultsKept results', async () => {
    await vscode.workspace.getConfiguration('taskwire').update('resultsKept', 2, vscode.ConfigurationTarget.Global);
    const queue = uniqueQueue('kept');
    for (let i = 0; i < 4; i++) await runTask(queue, String(i), i * 10);
    await waitFor('the last result', async () => (await results())[0]?.entry.result === 30);
    assert.deepEqual(
      (await results()).map((i) => i.entry.result),
      [30, 20],
    );
  });

  it('tails events to an output channel', async () => {
    await vscode.commands.executeCommand('taskwire.events.tail');
    await runTask(uniqueQueue('tail'), '"tailed"', 'ok');
    await vscode.commands.executeCommand('taskwire.events.stopTail');
  });
});
