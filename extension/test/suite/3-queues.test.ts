import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueueStats, TaskwireClient } from 'taskwire';
import * as vscode from 'vscode';
import type { TaskwireApi } from '../../src/api';
import type { QueueItem } from '../../src/views/queuesView';
import { activateExtension, connectClient, descriptionOf, ensureLocalManager, rootItems, uniqueQueue, waitFor } from './helpers';

/** The commands package.json shows inline on a Queues item with this contextValue, in their order (its `when` regexes, evaluated). */
function inlineCommandsFor(contextValue: string): string[] {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
    contributes: { menus: Record<string, { command: string; when: string; group?: string }[]> };
  };
  return manifest.contributes.menus['view/item/context']!.filter((entry) => entry.group?.startsWith('inline') && entry.when.includes('view == taskwire.queues'))
    .filter((entry) => {
      const exact = /viewItem == (\S+)/.exec(entry.when);
      if (exact) return exact[1] === contextValue;
      const regex = /viewItem =~ \/(.+)\/$/.exec(entry.when);
      return regex !== null && new RegExp(regex[1]!).test(contextValue);
    })
    .sort((a, b) => a.group!.localeCompare(b.group!))
    .map((entry) => entry.command);
}

function counts(ready: number, leased = 0, delayed = 0, dead = 0): string {
  return `${ready} ready · ${leased} leased · ${delayed} delayed · ${dead} dead`;
}

describe('the Queues view and its commands', () => {
  let api: TaskwireApi;
  let producer: TaskwireClient;

  before(async () => {
    api = await activateExtension();
    await vscode.commands.executeCommand('taskwire.sidebar.show');
    await ensureLocalManager(api);
    producer = await connectClient(api, 'queue-test-producer', 'producer');
  });

  after(async () => {
    producer?.close();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('enqueue puts JSON when the text parses, and text otherwise; the counts follow', async () => {
    const queue = uniqueQueue('enqueue');
    const first = await vscode.commands.executeCommand<string>('taskwire.queue.enqueue', queue, '{"url": "image_url_0", "n": 1}');
    const second = await vscode.commands.executeCommand<string>('taskwire.queue.enqueue', queue, 'image_url_1');
    assert.match(first, /\S/);
    assert.match(second, /\S/);
    await waitFor('2 ready tasks in the Queues view', async () => (await descriptionOf(api.views.queues, queue)) === counts(2));
    const tasks = await producer.queue(queue).peek(2);
    assert.deepEqual(
      tasks.map((t) => t.payload),
      [{ url: 'image_url_0', n: 1 }, 'image_url_1'],
    );
  });

  it('updates while the view is shown, from events alone', async () => {
    await waitFor('the Queues view to be visible', () => api.treeViews.queues.visible, { timeoutMs: 10_000 });
    const queue = uniqueQueue('live');
    await producer.queue(queue).putMany([{ payload: 1 }, { payload: 2 }, { payload: 3 }]);
    const started = Date.now();
    await waitFor('3 ready tasks', async () => (await descriptionOf(api.views.queues, queue)) === counts(3), { timeoutMs: 3000 });
    assert.ok(Date.now() - started < 3000);
  });

  it('shows the totals in the tooltip and offers requeue only where there are dead letters', async () => {
    const queue = uniqueQueue('tooltip');
    await producer.queue(queue).put('x');
    const item = await waitFor('the queue in the view', async () => (await rootItems<QueueItem>(api.views.queues)).find((i) => i.queue === queue));
    const tooltip = item.tooltip as vscode.MarkdownString;
    assert.match(tooltip.value, /\| put \| 1 \|/);
    assert.equal(item.contextValue, 'taskwire.queue');
  });

  it('enqueues each non-empty line of the active editor, or its selection as one task', async () => {
    const queue = uniqueQueue('editor');
    const document = await vscode.workspace.openTextDocument({ language: 'json', content: '{"a": 1}\n\n"two"\nthree\n' });
    const editor = await vscode.window.showTextDocument(document);
    const ids = await vscode.commands.executeCommand<string[]>('taskwire.queue.enqueueFromEditor', queue);
    assert.equal(ids.length, 3);
    editor.selection = new vscode.Selection(0, 0, 0, 8);
    const one = await vscode.commands.executeCommand<string[]>('taskwire.queue.enqueueFromEditor', queue);
    assert.equal(one.length, 1);
    const payloads = (await producer.queue(queue).peek(10)).map((t) => t.payload);
    assert.deepEqual(payloads, [{ a: 1 }, 'two', 'three', { a: 1 }]);
  });

  it('enqueues the lines of an NDJSON file', async () => {
    const queue = uniqueQueue('file');
    const file = join(mkdtempSync(join(tmpdir(), 'taskwire-test-')), 'tasks.ndjson');
    writeFileSync(file, Array.from({ length: 2500 }, (_, i) => JSON.stringify({ i })).join('\n') + '\n');
    const ids = await vscode.commands.executeCommand<string[]>('taskwire.queue.enqueueFromFile', queue, vscode.Uri.file(file));
    assert.equal(ids.length, 2500);
    assert.equal((await producer.queue(queue).stats()).ready, 2500);
    await waitFor('2500 ready tasks in the view', async () => (await descriptionOf(api.views.queues, queue)) === counts(2500));
  });

  it('peek opens the next tasks as a JSON document, leaving them on the queue', async () => {
    const queue = uniqueQueue('peek');
    await producer.queue(queue).putMany([{ payload: { job: 1 } }, { payload: { job: 2 } }]);
    const item = await waitFor('the queue in the view', async () => (await rootItems<QueueItem>(api.views.queues)).find((i) => i.queue === queue));
    const document = await vscode.commands.executeCommand<vscode.TextDocument>('taskwire.queue.peek', item);
    assert.equal(document.languageId, 'json');
    const content = JSON.parse(document.getText()) as { queue: string; tasks: { payload: unknown }[] };
    assert.equal(content.queue, queue);
    assert.deepEqual(
      content.tasks.map((t) => t.payload),
      [{ job: 1 }, { job: 2 }],
    );
    assert.equal(vscode.window.activeTextEditor?.document, document);
    assert.equal((await producer.queue(queue).stats()).ready, 2, 'peek takes nothing');
  });

  it('purge (confirmed) removes the ready tasks', async () => {
    const queue = uniqueQueue('purge');
    await producer.queue(queue).putMany([{ payload: 1 }, { payload: 2 }, { payload: 3 }]);
    const item = await waitFor('3 ready', async () => (await rootItems<QueueItem>(api.views.queues)).find((i) => i.queue === queue && i.stats.ready === 3));
    const removed = await vscode.commands.executeCommand<number>('taskwire.queue.purge', item, { confirm: true });
    assert.equal(removed, 3);
    await waitFor('0 ready in the view', async () => (await descriptionOf(api.views.queues, queue)) === counts(0));
  });

  it('pause and resume (the inline buttons) hold and release deliveries; the item shows "paused" and swaps its button', async () => {
    const queue = uniqueQueue('pause');
    await producer.queue(queue).putMany([{ payload: 'held' }]);
    const item = await waitFor('the queue in the view', async () => (await rootItems<QueueItem>(api.views.queues)).find((i) => i.queue === queue && i.stats.ready === 1));
    assert.deepEqual(inlineCommandsFor(item.contextValue!), ['taskwire.queue.pause', 'taskwire.queue.enqueue', 'taskwire.queue.peek']);

    const paused = await vscode.commands.executeCommand<QueueStats>('taskwire.queue.pause', item);
    assert.equal(paused.paused, true);
    const pausedItem = await waitFor('"paused" in the description', async () =>
      (await rootItems<QueueItem>(api.views.queues)).find((i) => i.queue === queue && i.description === `paused · ${counts(1)}`),
    );
    assert.equal(pausedItem.contextValue, 'taskwire.queue.paused');
    assert.deepEqual(inlineCommandsFor(pausedItem.contextValue!), ['taskwire.queue.resume', 'taskwire.queue.enqueue', 'taskwire.queue.peek']);
    assert.equal(api.model.queues.find(queue)?.paused, true);
    assert.deepEqual(await producer.queue(queue).getMany(1, { timeout: 0.3 }), [], 'a paused queue delivered a task');

    const resumed = await vscode.commands.executeCommand<QueueStats>('taskwire.queue.resume', pausedItem);
    assert.equal(resumed.paused, false);
    const back = await waitFor('the description without "paused"', async () => (await rootItems<QueueItem>(api.views.queues)).find((i) => i.queue === queue && i.description === counts(1)));
    assert.equal(back.contextValue, 'taskwire.queue');
    const [task] = await producer.queue(queue).getMany(1, { timeout: 5 });
    assert.equal(task?.payload, 'held');
    await task!.ack();
  });

  it('requeues dead letters onto their queue', async () => {
    const queue = uniqueQueue('dead');
    const worker = await connectClient(api, 'dead-letter-worker');
    try {
      await producer.queue(queue).putMany([{ payload: 'broken-1' }, { payload: 'broken-2' }]);
      for (const task of await worker.queue(queue).getMany(2, { timeout: 5 })) await task.nack({ error: 'permanent', retry: false });
      const item = await waitFor('2 dead letters in the view', async () => (await rootItems<QueueItem>(api.views.queues)).find((i) => i.queue === queue && i.stats.dead === 2));
      assert.equal(item.contextValue, 'taskwire.queue.withDead');
      const moved = await vscode.commands.executeCommand<number>('taskwire.queue.requeueDead', item);
      assert.equal(moved, 2);
      await waitFor('the tasks back on the queue', async () => (await descriptionOf(api.views.queues, queue)) === counts(2));
      const payloads = (await producer.queue(queue).peek(10)).map((t) => t.payload).sort();
      assert.deepEqual(payloads, ['broken-1', 'broken-2']);
      assert.equal((await producer.queue(`${queue}.dead`).stats()).ready, 0);
    } finally {
      worker.close();
    }
  });
});
