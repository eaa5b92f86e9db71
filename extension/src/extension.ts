import * as vscode from 'vscode';
import type { TaskwireApi } from './api';
import { autoStart } from './autoStart';
import { registerCommands, type CommandContext } from './commands/context';
import { managerCommands } from './commands/managerCommands';
import { Dashboard } from './dashboard/dashboard';
import { queueCommands } from './commands/queueCommands';
import { resultCommands } from './commands/resultCommands';
import { workerCommands } from './commands/workerCommands';
import { registerLanguageModelTools } from './lmTools/lmToolRegistration';
import { describeExit } from './manager/localManager';
import { describeAddress, hostList } from './manager/connection';
import { TaskwireModel } from './model/model';
import { Notifier } from './notifications';
import { readSettings } from './settings';
import { TaskwireStatusBar } from './statusBar';
import { EventTail } from './views/eventTail';
import { ManagerTreeProvider } from './views/managerView';
import { QueuesTreeProvider } from './views/queuesView';
import { ResultsTreeProvider } from './views/resultsView';
import { WorkersTreeProvider } from './views/workersView';
import { SchedulesTreeProvider } from './views/schedulesView';
import { scheduleCommands } from './commands/scheduleCommands';

export type { TaskwireApi } from './api';

let activeModel: TaskwireModel | undefined;

export function activate(context: vscode.ExtensionContext): TaskwireApi {
  const settings = readSettings();
  const managerLog = vscode.window.createOutputChannel('Taskwire Manager', { log: true });
  const model = new TaskwireModel({
    serverScript: vscode.Uri.joinPath(context.extensionUri, 'dist', 'server.js').fsPath,
    managerLog,
    secrets: context.secrets,
    globalState: context.globalState,
    globalStorageUri: context.globalStorageUri,
    environment: context.environmentVariableCollection,
    resultsKept: settings.resultsKept,
  });
  activeModel = model;
  // VS Code calls deactivate() before it disposes the subscriptions, so deactivate still finds it.
  context.subscriptions.push({
    dispose: () => {
      if (activeModel === model) activeModel = undefined;
    },
  });
  const notifier = new Notifier();
  const tail = new EventTail(model.connection);
  const setContext = (key: string, value: unknown) => void vscode.commands.executeCommand('setContext', key, value);

  const views = {
    manager: new ManagerTreeProvider(model),
    queues: new QueuesTreeProvider(model),
    workers: new WorkersTreeProvider(model),
    schedules: new SchedulesTreeProvider(model),
    results: new ResultsTreeProvider(model),
  };
  const treeViews = {
    manager: vscode.window.createTreeView('taskwire.manager', { treeDataProvider: views.manager }),
    queues: vscode.window.createTreeView('taskwire.queues', { treeDataProvider: views.queues }),
    workers: vscode.window.createTreeView('taskwire.workers', { treeDataProvider: views.workers }),
    schedules: vscode.window.createTreeView('taskwire.schedules', { treeDataProvider: views.schedules }),
    results: vscode.window.createTreeView('taskwire.results', { treeDataProvider: views.results, showCollapseAll: true }),
  };
  const statusBar = new TaskwireStatusBar(model);
  const dashboard = new Dashboard(model, context.extensionUri, settings.dashboardMinutes);

  // Fetching follows visibility: a shown view refreshes live, a hidden one does not.
  const followVisibility = (view: vscode.TreeView<unknown>, setVisible: (visible: boolean) => void) => {
    setVisible(view.visible);
    return view.onDidChangeVisibility((e) => setVisible(e.visible));
  };

  const updateContext = () => {
    setContext('taskwire.state', model.connection.status);
    setContext('taskwire.local', model.localManager.running);
  };
  const describeViews = () => {
    treeViews.queues.description = views.queues.summary();
    treeViews.results.description = model.results.paused ? 'paused' : model.results.entries.length > 0 ? `latest ${model.results.entries.length}` : undefined;
  };
  updateContext();
  setContext('taskwire.results.paused', false);
  setContext('taskwire.events.tailing', false);

  const ctx: CommandContext = { model, notifier, settings: readSettings };
  context.subscriptions.push(
    model,
    managerLog,
    tail,
    statusBar,
    dashboard,
    ...Object.values(views),
    ...Object.values(treeViews),
    followVisibility(treeViews.manager, (v) => views.manager.setVisible(v)),
    followVisibility(treeViews.queues, (v) => model.queues.setVisible(v)),
    followVisibility(treeViews.workers, (v) => model.workers.setVisible(v)),
    followVisibility(treeViews.schedules, (v) => model.schedules.setVisible(v)),
    model.onDidChange(updateContext),
    model.queues.onDidChange(describeViews),
    model.results.onDidChange(describeViews),
    model.onDidStopUnexpectedly((exit) =>
      notifier.warn(
        `The local Taskwire manager stopped unexpectedly (${describeExit(exit.code, exit.signal)}).`,
        { title: 'Restart', run: () => vscode.commands.executeCommand('taskwire.manager.start', { port: exit.port }) },
        { title: 'Show log', run: () => managerLog.show(true) },
      ),
    ),
    model.connection.onDidLose((error) => {
      const address = model.connection.address;
      if (!address) return;
      notifier.warn(`Lost the connection to the Taskwire manager at ${describeAddress(address)}: ${error.message}`, {
        title: 'Retry',
        run: () => vscode.commands.executeCommand('taskwire.manager.connect', { host: hostList(address), port: address.port }),
      });
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('taskwire.resultsKept')) model.results.setKept(readSettings().resultsKept);
      if (e.affectsConfiguration('taskwire.dashboard.minutes')) dashboard.setWindowMinutes(readSettings().dashboardMinutes);
    }),
    ...registerCommands({
      ...managerCommands(ctx),
      ...queueCommands(ctx),
      ...scheduleCommands(ctx),
      ...resultCommands(ctx, tail, setContext),
      'taskwire.dashboard.open': () => void dashboard.open(),
      ...workerCommands(ctx),
    }),
    ...registerLanguageModelTools(model),
  );

  if (settings.autoStart) void autoStart(model, notifier, settings);

  return { model, views, treeViews, notifications: notifier, statusBar, dashboard };
}

/**
 * VS Code gives deactivate() about 5 s before the extension host exits; the manager must be
 * gone by then, or it would outlive the window (it is detached, in its own process group).
 */
const DEACTIVATE_GRACE_MS = 3_000;

/**
 * VS Code deactivates the extension when the window closes, reloads, or the extension is
 * disabled (its extension host restarts). Stops the manager this window started — SIGTERM to
 * its process group, SIGKILL after DEACTIVATE_GRACE_MS — and leaves a manager it merely
 * connected to running (the connection is closed with the subscriptions). The rest is disposed
 * through context.subscriptions.
 */
export async function deactivate(): Promise<void> {
  await activeModel?.stopLocal(DEACTIVATE_GRACE_MS);
}
