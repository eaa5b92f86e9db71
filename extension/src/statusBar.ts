import * as vscode from 'vscode';
import type { TaskwireModel } from './model/model';
import { STATE_LABELS } from './views/managerView';
import { plural } from './views/format';
import { describeAddress } from './manager/connection';

/** The status bar item: state, workers and ready tasks; clicking it shows the sidebar. */
export class TaskwireStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('taskwire.status', vscode.StatusBarAlignment.Left, 20);
  private readonly disposables: vscode.Disposable[] = [this.item];

  constructor(private readonly model: TaskwireModel) {
    this.item.name = 'Taskwire';
    this.item.command = { command: 'taskwire.sidebar.show', title: 'Show the Taskwire sidebar' };
    const update = () => this.update();
    this.disposables.push(model.onDidChange(update), model.queues.onDidChange(update), model.workers.onDidChange(update));
    this.update();
    this.item.show();
  }

  /** The text shown now (for tests). */
  get text(): string {
    return this.item.text;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  private update(): void {
    const { connection, queues, workers } = this.model;
    const address = connection.address ? describeAddress(connection.address) : undefined;
    this.item.backgroundColor = undefined;
    switch (connection.status) {
      case 'connected':
        this.item.text = `$(server-process) Taskwire: ${plural(workers.workerCount, 'worker')}, ${queues.totalReady.toLocaleString()} ready`;
        this.item.tooltip = `Taskwire: connected to ${this.model.isLocal ? 'the local manager' : 'the manager'} at ${address}. ${plural(workers.workerCount, 'worker')} connected, ${plural(queues.totalReady, 'task')} ready.`;
        break;
      case 'connecting':
        this.item.text = '$(loading~spin) Taskwire: connecting';
        this.item.tooltip = `Taskwire: connecting to ${address}${connection.problem ? ` (${connection.problem})` : ''}`;
        break;
      case 'stopped':
        this.item.text = `$(error) Taskwire: ${STATE_LABELS.stopped}`;
        this.item.tooltip = `Taskwire: ${connection.problem ?? 'the manager stopped'}`;
        this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
        break;
      default:
        this.item.text = '$(debug-disconnect) Taskwire';
        this.item.tooltip = 'Taskwire: not connected. Click to start or connect to a manager.';
    }
  }
}
