import * as vscode from 'vscode';
import type { TaskwireModel } from '../model/model';
import { QueueItem } from '../views/queuesView';

/** A queue as commands receive it: a tree item (menus), a name (tests, keybindings) or nothing. */
export type QueueArgument = QueueItem | string | { queue: string } | undefined;

const QUEUE_NAME = /^[A-Za-z0-9._:/-]{1,195}$/;

export function validateQueueName(name: string): string | undefined {
  return QUEUE_NAME.test(name) ? undefined : 'A queue name is 1 to 195 letters, digits and . _ - : /';
}

/**
 * The queue a command is about; asks with a quick pick when it was not given. With
 * `allowNew`, the pick also accepts a new name (queues are created on first use).
 */
export async function resolveQueue(model: TaskwireModel, arg: QueueArgument, purpose: string, allowNew = false): Promise<string | undefined> {
  if (arg instanceof QueueItem) return arg.queue;
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object' && typeof arg.queue === 'string') return arg.queue;
  const known = model.queues.queues.map((q) => ({ label: q.queue, description: `${q.ready} ready · ${q.leased} leased · ${q.dead} dead` }));
  if (!allowNew) {
    if (known.length === 0) {
      vscode.window.showInformationMessage('The manager has no queues yet.');
      return undefined;
    }
    return (await vscode.window.showQuickPick(known, { title: `Taskwire: ${purpose}`, placeHolder: 'Queue' }))?.label;
  }
  return new Promise<string | undefined>((resolve) => {
    const pick = vscode.window.createQuickPick<vscode.QuickPickItem>();
    pick.title = `Taskwire: ${purpose}`;
    pick.placeholder = 'Queue (type a new name to create one)';
    pick.items = known;
    pick.onDidChangeValue((value) => {
      const exists = known.some((k) => k.label === value);
      pick.items = value && !exists && !validateQueueName(value) ? [{ label: value, description: 'new queue' }, ...known] : known;
    });
    pick.onDidAccept(() => {
      // Enter can come before the list caught up with what was typed: then the typed name counts.
      const typed = pick.value.trim();
      resolve(pick.selectedItems[0]?.label ?? (typed && !validateQueueName(typed) ? typed : undefined));
      pick.hide();
    });
    pick.onDidHide(() => {
      resolve(undefined);
      pick.dispose();
    });
    pick.show();
  });
}
