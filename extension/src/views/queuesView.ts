import type { QueueStats } from 'taskwire';
import * as vscode from 'vscode';
import type { TaskwireModel } from '../model/model';
import { plural } from './format';
import { ModelTreeProvider } from './modelTreeProvider';

/** A queue, with its counts as the description and its totals in the tooltip. */
export class QueueItem extends vscode.TreeItem {
  constructor(readonly stats: QueueStats) {
    super(stats.queue, vscode.TreeItemCollapsibleState.None);
    this.id = `taskwire.queue/${stats.queue}`;
    const counts = `${stats.ready} ready · ${stats.leased} leased · ${stats.delayed} delayed · ${stats.dead} dead`;
    this.description = stats.paused === true ? `paused · ${counts}` : counts;
    this.tooltip = queueTooltip(stats);
    const isDeadLetterQueue = stats.queue.endsWith('.dead');
    this.iconPath = stats.paused === true ? new vscode.ThemeIcon('debug-pause') : new vscode.ThemeIcon(isDeadLetterQueue ? 'archive' : stats.ready > 0 ? 'inbox' : 'list-flat');
    // `.withDead` lets "Requeue dead letters" appear only where there are some; `.paused` swaps
    // the inline Pause button for Resume (package.json's menus match these with regexes).
    this.contextValue = `taskwire.queue${stats.dead > 0 ? '.withDead' : ''}${stats.paused === true ? '.paused' : ''}`;
  }

  get queue(): string {
    return this.stats.queue;
  }
}

/** A rate limit as a person reads it: `10/s`, `1/5s`, `100/m`, with its burst when above 1. */
function rateText(rate: NonNullable<QueueStats['rate']>): string {
  const period = rate.period === 1 ? 's' : rate.period === 60 ? 'm' : rate.period === 3600 ? 'h' : `${rate.period}s`;
  return `${rate.max}/${period}${rate.burst !== undefined && rate.burst > 1 ? ` (burst ${rate.burst})` : ''}`;
}

function queueTooltip(s: QueueStats): vscode.MarkdownString {
  const options = [
    `maxsize ${s.maxsize === 0 ? 'unbounded' : s.maxsize}`,
    s.ttr !== undefined ? `lease ${s.ttr} s` : undefined,
    s.maxAttempts !== undefined ? `max attempts ${s.maxAttempts === 0 ? 'unlimited' : s.maxAttempts}` : undefined,
    s.deadLetter !== undefined ? `dead letters to ${s.deadLetter === null ? 'nowhere' : `\`${s.deadLetter}\``}` : undefined,
    // Rate limits (protocol 2026-12, spec §7.22).
    s.rate ? `rate ${rateText(s.rate)}` : undefined,
    s.keyRate ? `per key ${rateText(s.keyRate)}` : undefined,
    s.keyConcurrency ? `at most ${s.keyConcurrency} leased per key` : undefined,
  ].filter((o) => o !== undefined);
  const totals = Object.entries(s.totals)
    .map(([name, n]) => `| ${name} | ${n.toLocaleString()} |`)
    .join('\n');
  const md = new vscode.MarkdownString(
    [
      `**${s.queue}**`,
      ...(s.paused === true ? ['', '$(debug-pause) **paused**: puts are accepted, nothing is delivered until it is resumed'] : []),
      '',
      '| now | |',
      '|---|--:|',
      `| ready | ${s.ready.toLocaleString()} |`,
      `| leased | ${s.leased.toLocaleString()} |`,
      `| delayed | ${s.delayed.toLocaleString()} |`,
      `| dead | ${s.dead.toLocaleString()} |`,
      `| waiting getters | ${s.waitingGetters} |`,
      ...(s.waitingPutters ? [`| waiting putters | ${s.waitingPutters} |`] : []),
      ...(s.throttled !== undefined ? [`| waiting for budget | ${s.throttled.toLocaleString()} |`] : []),
      '',
      '| since the manager started | |',
      '|---|--:|',
      totals,
      '',
      options.join(' · '),
    ].join('\n'),
  );
  return md;
}

/** The Queues view: every queue of the connected manager. */
export class QueuesTreeProvider extends ModelTreeProvider<QueueItem> {
  constructor(private readonly model: TaskwireModel) {
    super(model.queues.onDidChange);
  }

  getChildren(item?: QueueItem): QueueItem[] {
    if (item) return [];
    return this.model.queues.queues.map((stats) => new QueueItem(stats));
  }

  /** For the view's message line: how many queues and ready tasks. */
  summary(): string | undefined {
    const queues = this.model.queues.queues;
    if (queues.length === 0) return undefined;
    return `${plural(queues.length, 'queue')}, ${plural(this.model.queues.totalReady, 'task')} ready`;
  }
}
