import * as vscode from 'vscode';
import type { ResultEntry } from '../model/resultStore';
import type { EventTail } from '../views/eventTail';
import { ResultDetailItem, ResultItem } from '../views/resultsView';
import type { CommandContext, CommandTable } from './context';

/** Results (open, pause, resume, clear), the event tail and the Workers view's refresh. */
export function resultCommands(ctx: CommandContext, tail: EventTail, setContext: (key: string, value: unknown) => void): CommandTable {
  const { model } = ctx;

  /** One result (from its tree item), or every kept result, as a JSON document. */
  const open = async (item?: ResultItem | ResultDetailItem): Promise<vscode.TextDocument> => {
    const entry = item instanceof ResultDetailItem ? item.parent.entry : item instanceof ResultItem ? item.entry : undefined;
    const content = JSON.stringify(entry ? toJson(entry) : model.results.entries.map(toJson), null, 2);
    const document = await vscode.workspace.openTextDocument({ language: 'json', content });
    await vscode.window.showTextDocument(document, { preview: true });
    return document;
  };

  const setPaused = (paused: boolean): void => {
    model.results.setPaused(paused);
    setContext('taskwire.results.paused', paused);
  };

  const tailEvents = (): void => {
    tail.start();
    setContext('taskwire.events.tailing', true);
  };

  const stopTail = (): void => {
    tail.stop();
    setContext('taskwire.events.tailing', false);
  };

  return {
    'taskwire.results.open': open,
    'taskwire.results.pause': () => setPaused(true),
    'taskwire.results.resume': () => setPaused(false),
    'taskwire.results.clear': () => model.results.clear(),
    'taskwire.events.tail': tailEvents,
    'taskwire.events.stopTail': stopTail,
    'taskwire.workers.refresh': () => model.workers.refresh(),
  };
}

function toJson(e: ResultEntry): Record<string, unknown> {
  return {
    taskId: e.taskId,
    queue: e.queue,
    ackedAt: e.at.toISOString(),
    ...(e.worker !== undefined ? { worker: e.worker } : {}),
    ...(e.attempt !== undefined ? { attempt: e.attempt } : {}),
    ...(e.hasPayload ? { payload: e.payload } : {}),
    ...(e.hasResult ? { result: e.result } : {}),
  };
}
