import * as vscode from 'vscode';
import { ConnectFailure } from './manager/connection';
import { hostList, parseAddresses } from './manager/managerAddress';
import type { TaskwireModel } from './model/model';
import type { Notifier } from './notifications';
import type { Settings } from './settings';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * `taskwire.autoStart`: connect to the configured manager when its key is stored; when nothing
 * listens there and it is this machine (or no key is stored for it), start a local manager.
 */
export async function autoStart(model: TaskwireModel, notifier: Notifier, settings: Settings): Promise<void> {
  // taskwire.host may list several managers of one store: the first one's key serves them all.
  const address = parseAddresses(settings.host, settings.port);
  if (!address) {
    notifier.error(`Taskwire auto-start: invalid manager address "${settings.host}" (setting taskwire.host): expected host, host:port, or several managers as host:port,host:port.`);
    return;
  }
  const { host, port } = address;
  const local = LOOPBACK.has(host) && address.alternates === undefined;
  const key = await model.keys.get(host, port);
  if (key) {
    try {
      const tls = settings.tls || settings.tlsCaFile !== '';
      await model.connect({ ...address, tls, ...(settings.tlsCaFile ? { tlsCaFile: settings.tlsCaFile } : {}) }, key);
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
  else await vscode.commands.executeCommand('taskwire.manager.connect', { host: hostList(address), port });
}
