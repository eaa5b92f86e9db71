import * as vscode from 'vscode';
import { ConnectFailure } from './manager/connection';
import type { TaskwireModel } from './model/model';
import type { Notifier } from './notifications';
import type { Settings } from './settings';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * `taskwire.autoStart`: connect to the configured manager when its key is stored; when nothing
 * listens there and it is this machine (or no key is stored for it), start a local manager.
 */
export async function autoStart(model: TaskwireModel, notifier: Notifier, settings: Settings): Promise<void> {
  const { host, port } = settings;
  const local = LOOPBACK.has(host);
  const key = await model.keys.get(host, port);
  if (key) {
    try {
      const tls = settings.tls || settings.tlsCaFile !== '';
      await model.connect({ host, port, tls, ...(settings.tlsCaFile ? { tlsCaFile: settings.tlsCaFile } : {}) }, key);
      return;
    } catch (error) {
      const refused = error instanceof ConnectFailure && error.reason === 'refused';
      if (!(refused && local)) {
        notifier.error(`Taskwire auto-start: ${(error as Error).message}`, { title: 'Retry', run: () => autoStart(model, notifier, settings) });
        return;
      }
    }
  }
  if (local) await vscode.commands.executeCommand('taskwire.manager.start');
  else await vscode.commands.executeCommand('taskwire.manager.connect', { host, port });
}
