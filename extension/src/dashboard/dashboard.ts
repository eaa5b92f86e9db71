import * as vscode from 'vscode';
import type { TaskwireModel } from '../model/model';
import { ActivityRecorder } from './activityRecorder';
import { DashboardPanel } from './dashboardPanel';

/**
 * The dashboard feature: the history recorded while connected, and the one panel drawing it
 * (`Taskwire: Open Dashboard` opens it, or brings it to the front when it is open).
 */
export class Dashboard implements vscode.Disposable {
  readonly recorder: ActivityRecorder;
  /** The open panel, if any. */
  panel: DashboardPanel | undefined;
  private readonly mediaRoot: vscode.Uri;

  constructor(
    private readonly model: TaskwireModel,
    extensionUri: vscode.Uri,
    windowMinutes: number,
  ) {
    this.recorder = new ActivityRecorder(model.connection, model.queues, windowMinutes);
    this.mediaRoot = vscode.Uri.joinPath(extensionUri, 'media', 'dashboard');
  }

  /** Opens the panel beside nothing in particular: the active editor group. */
  open(): DashboardPanel {
    if (this.panel) {
      this.panel.reveal();
      return this.panel;
    }
    const webviewPanel = vscode.window.createWebviewPanel(DashboardPanel.viewType, 'Taskwire Dashboard', vscode.ViewColumn.Active, {
      enableScripts: true,
      // The page loads nothing but its own script and stylesheet.
      localResourceRoots: [this.mediaRoot],
      // Hidden, the page is thrown away and rebuilt from the next snapshot: cheaper than keeping it.
      retainContextWhenHidden: false,
    });
    webviewPanel.iconPath = vscode.Uri.joinPath(this.mediaRoot, 'graph.svg');
    const panel = new DashboardPanel(webviewPanel, this.model, this.recorder, this.mediaRoot);
    this.panel = panel;
    panel.onDidDispose(() => {
      if (this.panel === panel) this.panel = undefined;
    });
    return panel;
  }

  setWindowMinutes(minutes: number): void {
    this.recorder.setWindowMinutes(minutes);
  }

  dispose(): void {
    this.panel?.dispose();
    this.recorder.dispose();
  }
}
