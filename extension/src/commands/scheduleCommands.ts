import * as vscode from 'vscode';
import type { ScheduleItem } from '../views/schedulesView';
import { messageOf, type CommandContext, type CommandTable } from './context';

/** Refresh the Schedules view; delete a schedule (after a confirmation). */
export function scheduleCommands(ctx: CommandContext): CommandTable {
  const { model, notifier } = ctx;
  return {
    'taskwire.schedules.refresh': () => model.schedules.refresh(),
    /** `target`: the item clicked, or a schedule's name; `options.confirm`: skip the question (tests, scripts). */
    'taskwire.schedule.delete': async (target?: ScheduleItem | string, options?: { confirm?: boolean }): Promise<boolean> => {
      const name = typeof target === 'string' ? target : (target?.schedule.name ?? (await pickSchedule(ctx)));
      if (name === undefined) return false;
      if (!model.connection.connected) {
        notifier.error(`Cannot delete the schedule "${name}": not connected to a Taskwire manager.`);
        return false;
      }
      if (options?.confirm !== true) {
        const answer = await vscode.window.showWarningMessage(`Delete the schedule "${name}"?`, { modal: true, detail: 'It puts no more tasks; the tasks it already put stay queued.' }, 'Delete');
        if (answer !== 'Delete') return false;
      }
      try {
        await model.connection.client.schedules.delete(name);
      } catch (error) {
        notifier.error(`Cannot delete the schedule "${name}": ${messageOf(error)}`);
        return false;
      }
      notifier.info(`Deleted the schedule "${name}".`);
      await model.schedules.refresh();
      return true;
    },
  };
}

async function pickSchedule({ model }: CommandContext): Promise<string | undefined> {
  const names = model.schedules.schedules.map((s) => s.name);
  if (names.length === 0) return undefined;
  return vscode.window.showQuickPick(names, { placeHolder: 'The schedule to delete' });
}
