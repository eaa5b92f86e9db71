import type { ControlResult } from 'taskwire';
import * as vscode from 'vscode';
import { WorkerItem } from '../views/workersView';
import { messageOf, type CommandContext, type CommandTable } from './context';

/** A worker from its tree item, or a session id (tests, keybindings). */
type WorkerArgument = WorkerItem | string;

/**
 * Quiet and Stop on the Workers view's items (spec §7.20): quiet makes the manager hand the
 * session no new task; stop also asks it to finish, disconnect and exit, after a modal
 * confirmation (unless `{confirm: true}` is passed).
 */
export function workerCommands(ctx: CommandContext): CommandTable {
  const { model, notifier } = ctx;

  const control = async (action: 'quiet' | 'stop', target: WorkerArgument | undefined, options?: { confirm?: boolean }): Promise<ControlResult | undefined> => {
    const session = target instanceof WorkerItem ? target.client.sessionId : target;
    const name = target instanceof WorkerItem ? target.client.name : (model.workers.clients.find((c) => c.sessionId === session)?.name ?? session);
    if (session === undefined) {
      notifier.error(`Choose a worker in the Workers view to ${action}.`);
      return undefined;
    }
    if (!model.connection.connected) {
      notifier.error(`Cannot ${action} ${name}: not connected to a Taskwire manager.`);
      return undefined;
    }
    if (action === 'stop' && options?.confirm !== true) {
      const answer = await vscode.window.showWarningMessage(
        `Stop ${name}?`,
        { modal: true, detail: 'It takes no new task, finishes and acknowledges the tasks it holds, then disconnects and exits. This cannot be undone for this session.' },
        'Stop',
      );
      if (answer !== 'Stop') return undefined;
    }
    try {
      const client = model.connection.client;
      const result = action === 'quiet' ? await client.quietClient(session) : await client.stopClient(session);
      const note = result.notified ? '' : ' It is an older client that cannot be told: the manager hands it no task' + (action === 'stop' ? ' and closes it once it holds none.' : '.');
      notifier.info(action === 'quiet' ? `${name} is quiet: it gets no new task.${note}` : `${name} is stopping: it finishes its tasks, then leaves.${note}`);
      // No event reports a state change: read the registry again.
      void model.workers.refresh();
      return result;
    } catch (error) {
      notifier.error(`Cannot ${action} ${name}: ${messageOf(error)}`);
      return undefined;
    }
  };

  return {
    'taskwire.worker.quiet': (target?: WorkerArgument) => control('quiet', target),
    'taskwire.worker.stop': (target?: WorkerArgument, options?: { confirm?: boolean }) => control('stop', target, options),
  };
}
