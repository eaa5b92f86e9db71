import * as vscode from 'vscode';
import type { TaskwireModel } from '../model/model';
import type { ResultEntry } from '../model/resultStore';
import { formatTime, jsonBlock, oneLine } from './format';
import { ModelTreeProvider } from './modelTreeProvider';

/** An acknowledged task; expands to its payload and result. */
export class ResultItem extends vscode.TreeItem {
  constructor(readonly entry: ResultEntry) {
    super(entry.hasResult ? oneLine(entry.result, 60) : '(acked without a result)', vscode.TreeItemCollapsibleState.Collapsed);
    // Task ids are unique for a manager's lifetime; the time tells two managers' ids apart.
    this.id = `taskwire.result/${entry.taskId}/${entry.at.getTime()}`;
    this.description = [entry.queue, entry.taskId, entry.worker, formatTime(entry.at)].filter(Boolean).join(' · ');
    this.tooltip = new vscode.MarkdownString(
      [
        `**${entry.queue}** task \`${entry.taskId}\`${entry.worker ? ` acked by ${entry.worker}` : ''} at ${formatTime(entry.at)}`,
        '',
        'Payload:',
        entry.hasPayload ? jsonBlock(entry.payload) : '_not seen_',
        '',
        'Result:',
        entry.hasResult ? jsonBlock(entry.result) : '_none_',
      ].join('\n'),
    );
    this.iconPath = new vscode.ThemeIcon('check');
    this.contextValue = 'taskwire.result';
  }
}

/** A payload or result line under a ResultItem. */
export class ResultDetailItem extends vscode.TreeItem {
  constructor(
    readonly parent: ResultItem,
    label: string,
    value: string,
    tooltip: string | vscode.MarkdownString,
  ) {
    super(label, vscode.TreeItemCollapsibleState.None);
    this.id = `${parent.id}/${label}`;
    this.description = value;
    this.tooltip = tooltip;
    this.contextValue = 'taskwire.resultDetail';
    this.command = { command: 'taskwire.results.open', title: 'Open as JSON Document', arguments: [parent] };
  }
}

export type ResultsNode = ResultItem | ResultDetailItem;

/** The Results view: the latest acknowledged results, newest first. */
export class ResultsTreeProvider extends ModelTreeProvider<ResultsNode> {
  constructor(private readonly model: TaskwireModel) {
    super(model.results.onDidChange);
  }

  getChildren(item?: ResultsNode): ResultsNode[] {
    if (!item) return this.model.results.entries.map((entry) => new ResultItem(entry));
    if (item instanceof ResultDetailItem) return [];
    const e = item.entry;
    return [
      new ResultDetailItem(
        item,
        'Payload',
        e.hasPayload ? oneLine(e.payload) : '(not seen: put before this window connected)',
        e.hasPayload ? new vscode.MarkdownString(jsonBlock(e.payload)) : 'The task was put before this window connected.',
      ),
      new ResultDetailItem(item, 'Result', e.hasResult ? oneLine(e.result) : '(none)', new vscode.MarkdownString(e.hasResult ? jsonBlock(e.result) : 'Acked without a result.')),
    ];
  }

  getParent(item: ResultsNode): ResultsNode | undefined {
    return item instanceof ResultDetailItem ? item.parent : undefined;
  }
}
