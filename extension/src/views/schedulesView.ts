import type { Schedule } from 'taskwire';
import * as vscode from 'vscode';
import type { TaskwireModel } from '../model/model';
import { formatTime } from './format';
import { ModelTreeProvider } from './modelTreeProvider';

/** "cron 30 2 * * * (Europe/Berlin)", "every 30 s". */
export function timetable(schedule: Schedule): string {
  if (schedule.cron !== undefined) return `cron ${schedule.cron}${schedule.timezone !== undefined ? ` (${schedule.timezone})` : ''}`;
  return `every ${schedule.every} s`;
}

/** A schedule: its queue, timetable and next run in the description; the task and last run in the tooltip. */
export class ScheduleItem extends vscode.TreeItem {
  constructor(readonly schedule: Schedule) {
    super(schedule.name, vscode.TreeItemCollapsibleState.None);
    this.id = `taskwire.schedule/${schedule.name}`;
    this.description = `${schedule.queue} · ${timetable(schedule)} · next ${formatTime(new Date(schedule.nextRun))}`;
    const last = schedule.lastRun;
    const lastText = !last ? 'never yet' : last.skipped !== undefined ? `${last.at}: skipped (${last.skipped})` : `${last.at}: put ${last.taskId ?? ''}`;
    this.tooltip = new vscode.MarkdownString(
      [
        `**${schedule.name}**`,
        '',
        `- queue: ${schedule.queue}`,
        `- ${timetable(schedule)}`,
        `- next run: ${schedule.nextRun}`,
        `- last run: ${lastText}`,
        `- task: \`${JSON.stringify(schedule.task).slice(0, 300)}\``,
      ].join('\n'),
    );
    this.iconPath = new vscode.ThemeIcon('watch');
    this.contextValue = 'taskwire.schedule';
  }
}

/** The Schedules view: the manager's schedules (schedule/list) by name. */
export class SchedulesTreeProvider extends ModelTreeProvider<ScheduleItem> {
  constructor(private readonly model: TaskwireModel) {
    super(model.schedules.onDidChange);
  }

  getChildren(item?: ScheduleItem): ScheduleItem[] {
    if (item) return [];
    return this.model.schedules.schedules.map((schedule) => new ScheduleItem(schedule));
  }
}
