import type { ClientInfo } from 'taskwire';
import * as vscode from 'vscode';
import type { TaskwireModel } from '../model/model';
import { formatDuration, formatTime } from './format';
import { ModelTreeProvider } from './modelTreeProvider';
import { currentTask, progressText } from './progressText';

const ROLE_ICONS: Record<string, string> = { worker: 'tools', producer: 'arrow-up', monitor: 'eye' };
/** A session an operator quieted or stopped (spec §7.20) shows it in its icon. */
const STATE_ICONS: Record<string, string> = { quiet: 'debug-pause', stopping: 'debug-stop' };

/** A connected client: who it is in the description, everything else in the tooltip. */
export class WorkerItem extends vscode.TreeItem {
  constructor(
    readonly client: ClientInfo,
    isSelf: boolean,
    otherManager?: string,
  ) {
    super(client.name, vscode.TreeItemCollapsibleState.None);
    this.id = `taskwire.client/${client.sessionId}`;
    const where = [client.host, client.pid !== undefined ? `pid ${client.pid}` : undefined].filter(Boolean).join(' ');
    // The task it reported progress on last (protocol 2026-12), as a bar and its message.
    const current = currentTask(client.tasks);
    this.description = [
      isSelf ? `${client.role} (this window)` : client.role,
      client.state !== undefined && client.state !== 'active' ? client.state : undefined,
      client.language,
      where || client.address,
      `holds ${client.leased}`,
      `done ${client.acked}`,
      current?.progress && progressText(current.progress),
      otherManager && `on ${otherManager}`,
    ]
      .filter(Boolean)
      .join(' · ');
    this.tooltip = workerTooltip(client);
    this.iconPath = new vscode.ThemeIcon(STATE_ICONS[client.state ?? 'active'] ?? ROLE_ICONS[client.role] ?? 'person');
    // `taskwire.client.<role>.<state>`: Quiet and Stop are offered on sessions that can take them
    // (a manager of 2026-11 reports no state: none is offered); never on this window's own.
    this.contextValue = `taskwire.client.${client.role}${client.state !== undefined && !isSelf ? `.${client.state}` : ''}`;
  }
}

function workerTooltip(c: ClientInfo): vscode.MarkdownString {
  const since = new Date(c.connectedAt);
  const rows: [string, string | undefined][] = [
    ['role', c.role],
    ['state', c.state],
    ['language', c.language],
    ['version', c.version],
    ['host', c.host],
    ['pid', c.pid?.toString()],
    ['address', c.address],
    ['tasks held', c.leased.toString()],
    ['tasks done', c.acked.toString()],
    ['tasks failed', c.nacked.toString()],
    ...(c.tasks ?? []).map((t): [string, string | undefined] => [`task ${t.queue}#${t.id}`, t.progress ? progressText(t.progress, 200) : 'no progress reported']),
    ['connected since', `${formatTime(since)} (${formatDuration(Date.now() - since.getTime())})`],
    ['last seen', formatTime(new Date(c.lastSeenAt))],
    ['session', c.sessionId],
    ['manager', c.manager],
    ...Object.entries(c.labels ?? {}).map(([k, v]): [string, string | undefined] => [`label ${k}`, v]),
  ];
  return new vscode.MarkdownString([`**${escape(c.name)}**`, '', '| | |', '|---|---|', ...rows.filter(([, v]) => v !== undefined).map(([k, v]) => `| ${k} | ${escape(v!)} |`)].join('\n'));
}

function escape(text: string): string {
  return text.replace(/[|\\`*_[\]<>]/g, (c) => `\\${c}`);
}

/** The Workers view: every client connected to the manager (manager/clients). */
export class WorkersTreeProvider extends ModelTreeProvider<WorkerItem> {
  constructor(private readonly model: TaskwireModel) {
    super(model.workers.onDidChange);
  }

  getChildren(item?: WorkerItem): WorkerItem[] {
    if (item) return [];
    return this.model.workers.clients.map((client) => new WorkerItem(client, this.model.workers.isSelf(client), this.model.workers.otherManager(client)));
  }
}
