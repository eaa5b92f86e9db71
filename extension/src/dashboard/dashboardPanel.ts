import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { TaskwireModel } from '../model/model';
import type { ActivityRecorder } from './activityRecorder';
import { buildDashboard, type DashboardModel } from './chartModel';
import { describeAddress } from '../manager/connection';

/** The webview redraws at most this often, however often samples or status changes come. */
const MIN_POST_INTERVAL_MS = 250;
/** How long describeRendered() waits for the webview's answer. */
const DESCRIBE_TIMEOUT_MS = 10_000;

/** Host -> webview. */
export type ToWebview = { type: 'model'; model: DashboardModel } | { type: 'describe'; requestId: number };

/** What the webview's DOM holds for one chart (read back from the page, not from the model). */
export interface RenderedChart {
  id: string;
  /** The SVG's <title>. */
  title: string;
  /** The SVG's <desc>: the current numbers in words. */
  summary: string;
  /** The texts the SVG's aria-labelledby names, joined as a screen reader reads them. */
  accessibleName: string;
  /** The top of the y axis as shown. */
  axisMax: string;
  lines: { key: string; legend: string; points: number }[];
}

/** What the webview shows, read from its DOM (the test seam; see describeRendered). */
export interface RenderedDashboard {
  notice: string | null;
  /** Said when some queues are not drawn. */
  note: string | null;
  heading: string;
  queues: string[];
  charts: RenderedChart[];
}

/** Webview -> host. */
type FromWebview = { type: 'ready' } | { type: 'described'; requestId: number; report: RenderedDashboard };

/**
 * The dashboard, an editor panel (one per window): draws every queue's depth and throughput
 * over the last minutes. The host does the thinking (QueueActivity samples, chartModel lays out
 * the charts and words the summaries) and posts the result; the webview (media/dashboard/)
 * only turns it into DOM. While the panel is hidden nothing is posted; shown again, the webview
 * reloads and asks for the current picture. Closing it disposes everything it registered.
 */
export class DashboardPanel implements vscode.Disposable {
  static readonly viewType = 'taskwire.dashboard';
  private readonly disposables: vscode.Disposable[] = [];
  private freshQueues: vscode.Disposable | undefined;
  private postTimer: NodeJS.Timeout | undefined;
  private lastPostAt = 0;
  private nextRequestId = 1;
  private readonly pending = new Map<number, { resolve: (r: RenderedDashboard) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  private disposed = false;
  /** How many model snapshots were posted (for tests and the curious). */
  posts = 0;

  readonly onDidDispose = this.disposeEmitter.event;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly model: TaskwireModel,
    private readonly recorder: ActivityRecorder,
    mediaRoot: vscode.Uri,
  ) {
    panel.webview.html = dashboardHtml(panel.webview, mediaRoot);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((message: FromWebview) => this.received(message)),
      panel.onDidChangeViewState(() => this.followVisibility()),
      panel.onDidDispose(() => this.dispose()),
      recorder.onDidStep(() => this.schedulePost()),
      model.connection.onDidChangeStatus(() => this.schedulePost()),
    );
    this.followVisibility();
  }

  /** Whether the panel is on screen (posts happen only then). */
  get visible(): boolean {
    return !this.disposed && this.panel.visible;
  }

  /**
   * Asks the webview what it shows, as read from its DOM: titles, summaries, legends and how
   * many points each line has. It is how the VS Code suite checks that real data was drawn, and
   * all the webview reveals; rejected when the panel is hidden, closed or does not answer.
   */
  describeRendered(): Promise<RenderedDashboard> {
    if (!this.visible) return Promise.reject(new Error('the dashboard is not visible'));
    const requestId = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`the dashboard's webview did not describe itself within ${DESCRIBE_TIMEOUT_MS} ms`));
      }, DESCRIBE_TIMEOUT_MS);
      this.pending.set(requestId, { resolve, reject, timer });
      void this.panel.webview.postMessage({ type: 'describe', requestId } satisfies ToWebview);
    });
  }

  reveal(): void {
    this.panel.reveal();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.postTimer) clearTimeout(this.postTimer);
    this.freshQueues?.dispose();
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new Error('the dashboard was closed'));
    }
    this.pending.clear();
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
  }

  private received(message: FromWebview): void {
    if (message.type === 'ready') this.post();
    else if (message.type === 'described') {
      const waiting = this.pending.get(message.requestId);
      if (!waiting) return;
      this.pending.delete(message.requestId);
      clearTimeout(waiting.timer);
      waiting.resolve(message.report);
    }
  }

  /** Shown: counts as fresh as the Queues view's, and a redraw; hidden: neither. */
  private followVisibility(): void {
    if (this.visible) {
      this.freshQueues ??= this.model.queues.watch();
      this.schedulePost();
    } else {
      this.freshQueues?.dispose();
      this.freshQueues = undefined;
    }
  }

  private schedulePost(): void {
    if (!this.visible || this.postTimer) return;
    const wait = Math.max(0, this.lastPostAt + MIN_POST_INTERVAL_MS - Date.now());
    this.postTimer = setTimeout(() => {
      this.postTimer = undefined;
      this.post();
    }, wait);
  }

  private post(): void {
    if (!this.visible) return;
    this.lastPostAt = Date.now();
    this.posts += 1;
    void this.panel.webview.postMessage({ type: 'model', model: this.currentModel() } satisfies ToWebview);
  }

  private currentModel(): DashboardModel {
    const { connection } = this.model;
    const address = connection.address;
    const source = address ? describeAddress(address) : undefined;
    if (!connection.connected) {
      const notice = connection.status === 'connecting' ? `Connecting to the Taskwire manager at ${source}…` : 'Not connected to a Taskwire manager: start one or connect from the Taskwire sidebar.';
      // Reconnecting, the last minutes stay on show under the notice's banner.
      if (connection.status === 'connecting') return { ...buildDashboard(this.recorder.snapshot(), { source }), notice };
      return buildDashboard(this.recorder.snapshot(), { notice, source });
    }
    return buildDashboard(this.recorder.snapshot(), { source });
  }
}

/**
 * The page: a strict Content-Security-Policy (nothing but the extension's own script, with a
 * nonce, and its stylesheet), no inline script or style, everything from media/dashboard/.
 */
function dashboardHtml(webview: vscode.Webview, mediaRoot: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(mediaRoot, 'dashboard.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(mediaRoot, 'dashboard.css'));
  const csp = [`default-src 'none'`, `img-src ${webview.cspSource} data:`, `style-src ${webview.cspSource} 'nonce-${nonce}'`, `script-src 'nonce-${nonce}'`].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${style.toString()}" nonce="${nonce}">
  <title>Taskwire Dashboard</title>
</head>
<body>
  <header>
    <h1 id="heading">Taskwire</h1>
    <p id="legend-note">Depth: tasks in each state, as the manager last listed them. Throughput: events per second, counted from the manager's events.</p>
  </header>
  <p id="notice" role="status"></p>
  <p id="note"></p>
  <main id="queues"></main>
  <script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}
