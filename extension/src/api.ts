import type * as vscode from 'vscode';
import type { Dashboard } from './dashboard/dashboard';
import type { TaskwireModel } from './model/model';
import type { Notifier } from './notifications';
import type { TaskwireStatusBar } from './statusBar';
import type { ManagerItem, ManagerTreeProvider } from './views/managerView';
import type { QueueItem, QueuesTreeProvider } from './views/queuesView';
import type { ResultsNode, ResultsTreeProvider } from './views/resultsView';
import type { WorkerItem, WorkersTreeProvider } from './views/workersView';
import type { ScheduleItem, SchedulesTreeProvider } from './views/schedulesView';

/**
 * What activate() returns: the live objects behind the sidebar, so tests (and other
 * extensions) can read what the views show without scraping the UI.
 */
export interface TaskwireApi {
  /** Connection, local manager, keys, and the queues / workers / results stores. */
  model: TaskwireModel;
  /** The tree data providers: getChildren() gives the TreeItems each view shows. */
  views: {
    manager: ManagerTreeProvider;
    queues: QueuesTreeProvider;
    workers: WorkersTreeProvider;
    schedules: SchedulesTreeProvider;
    results: ResultsTreeProvider;
  };
  /** The tree views (visibility, description, reveal). */
  treeViews: {
    manager: vscode.TreeView<ManagerItem>;
    queues: vscode.TreeView<QueueItem>;
    workers: vscode.TreeView<WorkerItem>;
    schedules: vscode.TreeView<ScheduleItem>;
    results: vscode.TreeView<ResultsNode>;
  };
  /** The notifications shown, newest last (commands do not wait for them to be answered). */
  notifications: Notifier;
  statusBar: TaskwireStatusBar;
  /**
   * The dashboard: its recorded history (`recorder`) and the open panel, if any, whose
   * `describeRendered()` reads back what the webview's DOM shows (the VS Code suite's seam).
   */
  dashboard: Dashboard;
}
