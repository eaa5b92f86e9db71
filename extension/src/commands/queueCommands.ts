import type { QueueStats } from 'taskwire';
import * as vscode from 'vscode';
import { deadLetterQueueOf, requeueDeadLetters } from '../model/deadLetters';
import { plural } from '../views/format';
import { messageOf, type CommandContext, type CommandTable } from './context';
import { parsePayload, payloadLines } from './payloadText';
import { resolveQueue, type QueueArgument } from './queueArgument';

/** Enqueue (typed, from the editor, from a file), peek, purge, requeue dead letters, pause and resume. */
export function queueCommands(ctx: CommandContext): CommandTable {
  const { model, notifier } = ctx;

  /** Runs `body` with the client, reporting "not connected" and failures as notifications. */
  const withClient = async <T>(what: string, body: () => Promise<T>): Promise<T | undefined> => {
    if (!model.connection.connected) {
      notifier.error(
        `Cannot ${what}: not connected to a Taskwire manager.`,
        { title: 'Start a local manager', run: () => vscode.commands.executeCommand('taskwire.manager.start') },
        { title: 'Connect to a manager…', run: () => vscode.commands.executeCommand('taskwire.manager.connect') },
      );
      return undefined;
    }
    try {
      return await body();
    } catch (error) {
      notifier.error(`Cannot ${what}: ${messageOf(error)}`);
      return undefined;
    }
  };

  /** Puts payloads in batches with a cancellable progress notification; resolves with the ids. */
  const putWithProgress = (queue: string, payloads: unknown[], source: string): Thenable<string[]> =>
    vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Taskwire: enqueueing ${plural(payloads.length, 'task')} from ${source} on "${queue}"`, cancellable: true },
      async (progress, token) => {
        const client = model.connection.client;
        const batch = Math.max(1, Math.min(client.limits.maxBatch, 1000));
        const ids: string[] = [];
        for (let i = 0; i < payloads.length && !token.isCancellationRequested; i += batch) {
          const chunk = payloads.slice(i, i + batch);
          ids.push(...(await client.queue(queue).putMany(chunk.map((payload) => ({ payload })))));
          progress.report({ increment: (chunk.length / payloads.length) * 100, message: `${ids.length.toLocaleString()} of ${payloads.length.toLocaleString()}` });
        }
        if (token.isCancellationRequested) notifier.warn(`Enqueueing was cancelled after ${plural(ids.length, 'task')} of ${payloads.length.toLocaleString()} (those stay on "${queue}").`);
        return ids;
      },
    );

  /** One task: the payload typed in an input box (JSON if it parses, else the text). */
  const enqueue = async (queueArg?: QueueArgument, payloadText?: string): Promise<string | undefined> =>
    withClient('enqueue a task', async () => {
      const queue = await resolveQueue(model, queueArg, 'enqueue a task on', true);
      if (!queue) return undefined;
      const text =
        payloadText ??
        (await vscode.window.showInputBox({
          title: `Taskwire: enqueue a task on "${queue}"`,
          prompt: 'The payload: JSON when it parses as JSON (42, {"url": "…"}, "text"), otherwise the text itself',
          ignoreFocusOut: true,
        }));
      if (text === undefined) return undefined;
      const id = await model.connection.client.queue(queue).put(parsePayload(text));
      vscode.window.setStatusBarMessage(`Taskwire: put task ${id} on "${queue}"`, 4000);
      return id;
    });

  /**
   * From the active editor: a non-empty selection is one task (JSON if it parses, else the
   * text); with no selection, every non-empty line of the document is a task (NDJSON).
   */
  const enqueueFromEditor = async (queueArg?: QueueArgument): Promise<string[] | undefined> =>
    withClient('enqueue from the editor', async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor) {
        notifier.error('Cannot enqueue from the editor: no editor is active. Open a file of NDJSON lines, or select the text of one task.');
        return undefined;
      }
      const queue = await resolveQueue(model, queueArg, 'enqueue from the editor on', true);
      if (!queue) return undefined;
      const selection = editor.selection;
      if (!selection.isEmpty) {
        const id = await model.connection.client.queue(queue).put(parsePayload(editor.document.getText(selection)));
        vscode.window.setStatusBarMessage(`Taskwire: put the selection on "${queue}" as task ${id}`, 4000);
        return [id];
      }
      const payloads = payloadLines(editor.document.getText());
      if (payloads.length === 0) {
        notifier.info('The editor has no non-empty lines to enqueue.');
        return [];
      }
      const ids = await putWithProgress(queue, payloads, 'the editor');
      notifier.info(`Put ${plural(ids.length, 'task')} on "${queue}" from the editor's lines.`);
      return ids;
    });

  /** Every non-empty line of a file (NDJSON, or plain text lines) is a task. */
  const enqueueFromFile = async (queueArg?: QueueArgument, file?: vscode.Uri | string): Promise<string[] | undefined> =>
    withClient('enqueue from a file', async () => {
      const queue = await resolveQueue(model, queueArg, 'enqueue from a file on', true);
      if (!queue) return undefined;
      let uri = typeof file === 'string' ? vscode.Uri.file(file) : file;
      if (!uri) {
        const picked = await vscode.window.showOpenDialog({
          title: `Taskwire: enqueue the lines of a file on "${queue}"`,
          canSelectMany: false,
          openLabel: 'Enqueue',
          filters: { 'NDJSON or text': ['ndjson', 'jsonl', 'json', 'txt'], 'All files': ['*'] },
        });
        uri = picked?.[0];
      }
      if (!uri) return undefined;
      const text = Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
      const payloads = payloadLines(text);
      const name = uri.path.split('/').pop() ?? uri.toString();
      const ids = await putWithProgress(queue, payloads, name);
      notifier.info(`Put ${plural(ids.length, 'task')} on "${queue}" from ${name}.`);
      return ids;
    });

  /** Opens the next ready tasks (untouched) as a JSON document. */
  const peek = async (queueArg?: QueueArgument, max = 10): Promise<vscode.TextDocument | undefined> =>
    withClient('peek', async () => {
      const queue = await resolveQueue(model, queueArg, 'peek at');
      if (!queue) return undefined;
      const handle = model.connection.client.queue(queue);
      const [stats, tasks] = await Promise.all([handle.stats(), handle.peek(max)]);
      const content = JSON.stringify({ queue, peekedAt: new Date().toISOString(), ready: stats.ready, shown: tasks.length, tasks }, null, 2);
      const document = await vscode.workspace.openTextDocument({ language: 'json', content });
      await vscode.window.showTextDocument(document, { preview: true });
      return document;
    });

  /** Removes the ready and delayed tasks of a queue, after a modal confirmation. */
  const purge = async (queueArg?: QueueArgument, options?: { confirm?: boolean }): Promise<number | undefined> =>
    withClient('purge', async () => {
      const queue = await resolveQueue(model, queueArg, 'purge');
      if (!queue) return undefined;
      if (options?.confirm !== true) {
        const stats = model.queues.find(queue);
        const count = stats ? ` its ${plural(stats.ready + stats.delayed, 'ready or delayed task')}` : ' every ready and delayed task';
        const answer = await vscode.window.showWarningMessage(`Purge "${queue}"?`, { modal: true, detail: `This removes${count} for good. Tasks that workers hold now are not affected.` }, 'Purge');
        if (answer !== 'Purge') return undefined;
      }
      const removed = await model.connection.client.queue(queue).purge();
      notifier.info(`Purged ${plural(removed, 'task')} from "${queue}".`);
      void model.queues.refresh();
      return removed;
    });

  /**
   * Pauses or resumes a queue (protocol 2026-12): a paused queue takes puts and delivers nothing.
   * Resolves with the queue's stats; the view follows from the paused/resumed event and this refresh.
   */
  const setPaused = async (pause: boolean, queueArg?: QueueArgument): Promise<QueueStats | undefined> =>
    withClient(pause ? 'pause the queue' : 'resume the queue', async () => {
      const queue = await resolveQueue(model, queueArg, pause ? 'pause' : 'resume', pause);
      if (!queue) return undefined;
      const handle = model.connection.client.queue(queue);
      const stats = pause ? await handle.pause() : await handle.resume();
      vscode.window.setStatusBarMessage(pause ? `Taskwire: paused "${queue}": nothing is delivered until it is resumed` : `Taskwire: resumed "${queue}"`, 4000);
      void model.queues.refresh();
      return stats;
    });

  /** Puts a queue's dead letters back on it (see requeueDeadLetters: nothing lost if interrupted). */
  const requeueDead = async (queueArg?: QueueArgument): Promise<number | undefined> =>
    withClient('requeue dead letters', async () => {
      const queue = await resolveQueue(model, queueArg, 'requeue the dead letters of');
      if (!queue) return undefined;
      const stats = model.queues.find(queue) ?? (await model.connection.client.queue(queue).stats());
      const deadQueue = deadLetterQueueOf(stats);
      if (deadQueue === null) {
        notifier.info(`"${queue}" keeps no dead letters (its dead-letter queue is set to none).`);
        return 0;
      }
      const moved = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Taskwire: requeueing dead letters from "${deadQueue}" onto "${queue}"`, cancellable: true },
        (progress, token) =>
          requeueDeadLetters(model.connection.client, queue, deadQueue, {
            isCancelled: () => token.isCancellationRequested,
            onProgress: (done, total) => progress.report({ increment: 0, message: `${done.toLocaleString()} of ${total.toLocaleString()}` }),
          }),
      );
      notifier.info(moved === 0 ? `"${deadQueue}" has no dead letters to requeue.` : `Requeued ${plural(moved, 'dead letter')} from "${deadQueue}" onto "${queue}".`);
      void model.queues.refresh();
      return moved;
    });

  return {
    'taskwire.queues.refresh': () => model.queues.refresh(),
    'taskwire.queue.enqueue': enqueue,
    'taskwire.queue.enqueueFromEditor': enqueueFromEditor,
    'taskwire.queue.enqueueFromFile': enqueueFromFile,
    'taskwire.queue.peek': peek,
    'taskwire.queue.purge': purge,
    'taskwire.queue.requeueDead': requeueDead,
    'taskwire.queue.pause': (queueArg?: QueueArgument) => setPaused(true, queueArg),
    'taskwire.queue.resume': (queueArg?: QueueArgument) => setPaused(false, queueArg),
  };
}
