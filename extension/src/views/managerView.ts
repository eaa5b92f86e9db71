import * as vscode from 'vscode';
import type { TaskwireModel } from '../model/model';
import { describeAddress, formatHostPort } from '../manager/connection';
import { formatDuration } from './format';

/** One line of the Manager view: a label and its value. */
export class ManagerItem extends vscode.TreeItem {
  constructor(
    readonly key: string,
    label: string,
    value: string,
    icon: vscode.ThemeIcon,
    options: { contextValue?: string; tooltip?: string | vscode.MarkdownString; command?: vscode.Command } = {},
  ) {
    super(label, vscode.TreeItemCollapsibleState.None);
    this.id = `taskwire.manager.${key}`;
    this.description = value;
    this.iconPath = icon;
    this.tooltip = options.tooltip ?? `${label}: ${value}`;
    if (options.contextValue) this.contextValue = options.contextValue;
    if (options.command) this.command = options.command;
  }
}

/** What the Manager view shows for each connection status. */
export const STATE_LABELS = {
  disconnected: 'disconnected',
  connecting: 'connecting',
  connected: 'connected',
  stopped: 'stopped unexpectedly',
} as const;

const STATE_ICONS = {
  disconnected: new vscode.ThemeIcon('debug-disconnect'),
  connecting: new vscode.ThemeIcon('loading~spin'),
  connected: new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed')),
  stopped: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
} as const;

/**
 * The Manager view: connection state, address, uptime, protocol version, and whether the
 * manager is the one this window started. Empty when there is nothing to show, so the welcome
 * view offers to start or connect.
 */
export class ManagerTreeProvider implements vscode.TreeDataProvider<ManagerItem>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<ManagerItem | undefined>();
  private readonly disposables: vscode.Disposable[] = [this.changeEmitter];
  private ticker: NodeJS.Timeout | undefined;
  private visible = false;
  readonly onDidChangeTreeData = this.changeEmitter.event;

  constructor(private readonly model: TaskwireModel) {
    this.disposables.push(model.onDidChange(() => this.refresh()));
  }

  /** While shown and connected, the uptime ticks once a second. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.refresh();
  }

  refresh(): void {
    this.updateTicker();
    this.changeEmitter.fire(undefined);
  }

  getTreeItem(item: ManagerItem): vscode.TreeItem {
    return item;
  }

  getChildren(item?: ManagerItem): ManagerItem[] {
    if (item) return [];
    const { connection, localManager } = this.model;
    const status = connection.status;
    const local = localManager.info;
    if (status === 'disconnected') {
      if (!local) return [];
      return [
        new ManagerItem('state', 'State', STATE_LABELS.disconnected, STATE_ICONS.disconnected),
        new ManagerItem('local', 'Local manager', `running on ${local.host}:${local.port} (pid ${local.pid})`, new vscode.ThemeIcon('server-process'), {
          contextValue: 'taskwire.localManager',
          tooltip: 'A manager this window started. Click to connect to it again.',
          command: { command: 'taskwire.manager.start', title: 'Connect' },
        }),
      ];
    }
    const address = connection.address!;
    const where = describeAddress(address);
    const others = address.alternates?.length ? ` If it goes away, the connection moves to the next of ${address.alternates.map(formatHostPort).join(', ')}.` : '';
    const items = [
      new ManagerItem('state', 'State', STATE_LABELS[status], STATE_ICONS[status], connection.problem ? { tooltip: connection.problem } : {}),
      new ManagerItem('address', 'Address', where, new vscode.ThemeIcon('plug'), {
        contextValue: 'taskwire.address',
        tooltip: `${formatHostPort(address)}${address.tls || address.tlsCaFile ? ' (TLS)' : ''}: copy the connection details with the button.${others}`,
      }),
    ];
    if (this.model.isLocal && local) {
      items.push(
        new ManagerItem('kind', 'Manager', `local (pid ${local.pid})`, new vscode.ThemeIcon('server-process'), {
          contextValue: 'taskwire.localManager',
          tooltip: `Started by this window${local.version ? ` (taskwire ${local.version})` : ''}; stopped when the window closes. Key file: ${local.keyFile}`,
        }),
        new ManagerItem('uptime', 'Uptime', formatDuration(Date.now() - local.startedAt.getTime()), new vscode.ThemeIcon('watch')),
      );
    } else {
      items.push(new ManagerItem('kind', 'Manager', 'remote', new vscode.ThemeIcon('remote'), { tooltip: 'A manager this window connected to; it runs on its own.' }));
      if (connection.connectedAt) {
        items.push(new ManagerItem('uptime', 'Connected for', formatDuration(Date.now() - connection.connectedAt.getTime()), new vscode.ThemeIcon('watch')));
      }
    }
    if (connection.protocolVersion) items.push(new ManagerItem('protocol', 'Protocol', connection.protocolVersion, new vscode.ThemeIcon('symbol-interface')));
    if (status === 'stopped' && connection.problem) {
      items.push(new ManagerItem('problem', 'Problem', connection.problem, new vscode.ThemeIcon('warning'), { tooltip: connection.problem }));
    }
    return items;
  }

  dispose(): void {
    if (this.ticker) clearInterval(this.ticker);
    for (const d of this.disposables) d.dispose();
  }

  private updateTicker(): void {
    const tick = this.visible && this.model.connection.connected;
    if (tick && !this.ticker) this.ticker = setInterval(() => this.changeEmitter.fire(undefined), 1000);
    if (!tick && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }
}
