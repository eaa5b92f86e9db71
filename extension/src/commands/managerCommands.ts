import { existsSync } from 'node:fs';
import { defaultAuthkeyFile, readAuthkeyFile } from 'taskwire';
import * as vscode from 'vscode';
import { ConnectFailure, describeAddress, formatHostPort, hostList, managersOf, type ManagerAddress } from '../manager/connection';
import { parseAddress, parseAddresses } from '../manager/managerAddress';
import { ManagerStartError, PortInUseError } from '../manager/localManager';
import { TerminalEnvironment } from '../manager/terminalEnvironment';
import { LOCAL_HOST } from '../model/model';
import type { Action } from '../notifications';
import { messageOf, type CommandContext, type CommandTable } from './context';

/** `taskwire.manager.start` arguments (tests; the UI passes none). */
export interface StartArgs {
  /** Default: the setting taskwire.localManager.port; 0: any free port. */
  port?: number;
}

/** `taskwire.manager.connect` arguments: with them nothing is asked. */
export interface ConnectArgs {
  /** A host, "host:port", or several managers of one store: "host:port,host:port" (tried in order). */
  host?: string;
  /** The port of a host given without one. */
  port?: number;
  /** The key itself; default: the stored one for host:port. */
  authkey?: string;
  /** A file holding the key (like --authkey-file). */
  authkeyFile?: string;
  tls?: boolean;
  tlsCaFile?: string;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** Start, stop, connect, disconnect, and the connection details. */
export function managerCommands(ctx: CommandContext): CommandTable {
  const { model, notifier } = ctx;

  const start = async (args?: StartArgs): Promise<ManagerAddress | undefined> => {
    const port = args?.port ?? ctx.settings().localManagerPort;
    try {
      return await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Taskwire: starting a manager on port ${port}` }, () => model.startLocal(port));
    } catch (error) {
      if (error instanceof PortInUseError) {
        notifier.error(
          `Port ${port} is already in use: another manager (or another program) listens there.`,
          { title: 'Connect to it', run: () => connect({ host: LOCAL_HOST, port }) },
          {
            title: 'Use another port…',
            run: async () => {
              const other = await askPort(port);
              if (other !== undefined) await start({ port: other });
            },
          },
        );
      } else if (error instanceof ConnectFailure) {
        reportConnectFailure(error, { host: LOCAL_HOST, port });
      } else {
        const why = error instanceof ManagerStartError ? error.message : messageOf(error);
        notifier.error(`Cannot start a local Taskwire manager: ${why}`, showLog);
      }
      return undefined;
    }
  };

  const stop = async (): Promise<void> => {
    if (!model.localManager.running) {
      notifier.info('No local manager is running: this window did not start one (use Disconnect for a remote manager).');
      return;
    }
    await model.stopLocal();
  };

  const restart = async (): Promise<ManagerAddress | undefined> => {
    // The same port again (also when it was chosen freely), so workers find it where it was.
    const port = model.localManager.info?.port ?? ctx.settings().localManagerPort;
    await model.stopLocal();
    return start({ port });
  };

  const connect = async (args?: ConnectArgs): Promise<ManagerAddress | undefined> => {
    const interactive = args === undefined;
    const settings = ctx.settings();
    let address: ManagerAddress | undefined;
    if (interactive) {
      const suggested = parseAddresses(settings.host, settings.port);
      address = await askAddress(suggested ? managersOf(suggested).map(formatHostPort).join(',') : `${settings.host}:${settings.port}`);
      if (!address) return undefined;
    } else {
      const text = args.host ?? settings.host;
      address = parseAddresses(text, args.port ?? settings.port);
      if (!address) {
        notifier.error(`Invalid Taskwire manager address "${text}"${args.host === undefined ? ' (setting taskwire.host)' : ''}: expected host, host:port, or several managers as host:port,host:port.`);
        return undefined;
      }
    }
    const tlsCaFile = args?.tlsCaFile ?? settings.tlsCaFile;
    address = { ...address, tls: args?.tls ?? settings.tls, ...(tlsCaFile ? { tlsCaFile } : {}) };

    let key: string | undefined;
    try {
      key = args?.authkey || (args?.authkeyFile ? readKey(args.authkeyFile) : undefined) || (await model.keys.get(address.host, address.port));
      // Like every Taskwire tool, a client on the manager's machine finds the default key file.
      if (!key && !interactive && LOOPBACK.has(address.host) && existsSync(defaultAuthkeyFile())) key = readKey(defaultAuthkeyFile());
    } catch (error) {
      notifier.error(`Cannot read the key file: ${messageOf(error)}`, enterKey(address));
      return undefined;
    }
    if (!key && interactive) key = await askKey(address);
    if (!key) {
      if (!interactive) {
        notifier.error(
          `No key for the Taskwire manager at ${address.host}:${address.port}: enter it or pick its key file (a manager started with \`taskwire serve\` writes one, by default ~/.taskwire/authkey).`,
          enterKey(address),
          pickKeyFile(address),
        );
      }
      return undefined;
    }
    return connectWith(address, key);
  };

  const connectWith = async (address: ManagerAddress, key: string): Promise<ManagerAddress | undefined> => {
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Taskwire: connecting to ${address.host}:${address.port}` }, () => model.connect(address, key));
      return address;
    } catch (error) {
      reportConnectFailure(error instanceof ConnectFailure ? error : new ConnectFailure('other', messageOf(error)), address, key);
      return undefined;
    }
  };

  const reportConnectFailure = (failure: ConnectFailure, address: ManagerAddress, key?: string): void => {
    const retry: Action = { title: 'Retry', run: () => (key ? connectWith(address, key) : connect({ host: hostList(address), port: address.port })) };
    switch (failure.reason) {
      case 'auth':
        notifier.error(failure.message, enterKey(address), pickKeyFile(address));
        break;
      case 'no-key':
        notifier.error(failure.message, enterKey(address), pickKeyFile(address));
        break;
      case 'tls':
        notifier.error(failure.message, { title: 'Open TLS settings', run: () => vscode.commands.executeCommand('workbench.action.openSettings', 'taskwire.tls') }, retry);
        break;
      case 'refused':
        notifier.error(failure.message, retry, ...(LOOPBACK.has(address.host) ? [{ title: 'Start a local manager', run: () => start({ port: address.port }) }] : []));
        break;
      default:
        notifier.error(failure.message, retry);
    }
  };

  /** Asks for the key (a password box) and connects with it. */
  const enterKey = (address: ManagerAddress): Action => ({
    title: 'Enter the key…',
    run: async () => {
      const key = await askKeyText(address);
      if (key) await connectWith(address, key);
    },
  });

  const pickKeyFile = (address: ManagerAddress): Action => ({
    title: 'Pick a key file…',
    run: async () => {
      const key = await askKeyFile();
      if (key) await connectWith(address, key);
    },
  });

  const showLog: Action = { title: 'Show log', run: () => model.localManager.log.show(true) };

  const disconnect = (): void => model.disconnect();

  /** The address and how to get the key (the key file and env lines), never the key itself. */
  const copyConnectionDetails = async (): Promise<string | undefined> => {
    const address = model.connection.address;
    if (!model.connection.connected || !address || !model.keyFile) {
      notifier.info('Not connected to a Taskwire manager.');
      return undefined;
    }
    const text = [
      `# Taskwire manager at ${describeAddress(address)}${model.connection.protocolVersion ? ` (protocol ${model.connection.protocolVersion})` : ''}`,
      `# The key is in the file below, readable only by you: on another machine, copy the file and point TASKWIRE_AUTHKEY_FILE at it.`,
      ...TerminalEnvironment.exportLines(address, model.keyFile),
      `npx taskwire ping`,
      '',
    ].join('\n');
    await vscode.env.clipboard.writeText(text);
    vscode.window.setStatusBarMessage('Taskwire: connection details copied (the key file, not the key)', 4000);
    return text;
  };

  const forgetKey = async (args?: { host: string; port: number }): Promise<void> => {
    let host = args?.host;
    let port = args?.port;
    if (host === undefined || port === undefined) {
      const addresses = model.keys.addresses();
      if (addresses.length === 0) {
        notifier.info('No keys are stored.');
        return;
      }
      const picked = await vscode.window.showQuickPick(addresses, { title: 'Taskwire: forget the key of…' });
      if (!picked) return;
      ({ host, port } = parseAddress(picked)!);
    }
    await model.keys.delete(host, port);
  };

  return {
    'taskwire.manager.start': start,
    'taskwire.manager.stop': stop,
    'taskwire.manager.restart': restart,
    'taskwire.manager.connect': connect,
    'taskwire.manager.disconnect': disconnect,
    'taskwire.manager.copyConnectionDetails': copyConnectionDetails,
    'taskwire.manager.showLog': () => model.localManager.log.show(true),
    'taskwire.manager.forgetKey': forgetKey,
    'taskwire.sidebar.show': () => vscode.commands.executeCommand('workbench.view.extension.taskwire'),
  };
}

async function askAddress(value: string): Promise<ManagerAddress | undefined> {
  const text = await vscode.window.showInputBox({
    title: 'Taskwire: connect to a manager',
    prompt: "The manager's address, host:port (several managers of one store: host:port,host:port)",
    value,
    ignoreFocusOut: true,
    validateInput: (v) => (parseAddresses(v) ? undefined : 'Expected host:port, for example 127.0.0.1:7400, or several separated by commas'),
  });
  return text === undefined ? undefined : parseAddresses(text);
}

async function askPort(taken: number): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    title: 'Taskwire: start a manager on another port',
    prompt: `Port ${taken} is taken; 0 picks any free port`,
    value: String(taken === 0 ? 0 : taken + 1),
    validateInput: (v) => (/^\d{1,5}$/.test(v) && Number(v) <= 65535 ? undefined : 'A port number, 0 to 65535'),
  });
  return text === undefined ? undefined : Number(text);
}

/** Asks how to get the key: typed, from a file, or the default key file when it exists. */
async function askKey(address: ManagerAddress): Promise<string | undefined> {
  const defaultFile = defaultAuthkeyFile();
  const choices: (vscode.QuickPickItem & { id: 'type' | 'file' | 'default' })[] = [
    { id: 'type', label: '$(key) Enter the key…', description: "kept in VS Code's secret storage" },
    { id: 'file', label: '$(file) Pick a key file…', description: 'the file the manager reads with --authkey-file' },
  ];
  if (LOOPBACK.has(address.host) && existsSync(defaultFile)) {
    choices.unshift({ id: 'default', label: `$(home) Use ${defaultFile}`, description: 'written by `taskwire serve` on this machine' });
  }
  const choice = await vscode.window.showQuickPick(choices, {
    title: `Taskwire: the key of ${address.host}:${address.port}`,
    placeHolder: 'No key is stored for this manager yet',
    ignoreFocusOut: true,
  });
  if (!choice) return undefined;
  if (choice.id === 'default') return readKey(defaultFile);
  if (choice.id === 'file') return askKeyFile();
  return askKeyText(address);
}

function askKeyText(address: ManagerAddress): Thenable<string | undefined> {
  return vscode.window.showInputBox({
    title: `Taskwire: the key of ${address.host}:${address.port}`,
    prompt: "The manager's authkey (it is never sent: both sides prove they know it). Stored in VS Code's secret storage.",
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) => (v.length > 0 ? undefined : 'The key cannot be empty'),
  });
}

async function askKeyFile(): Promise<string | undefined> {
  const files = await vscode.window.showOpenDialog({ title: 'Taskwire: the key file', canSelectMany: false, openLabel: 'Use this key' });
  const file = files?.[0];
  if (!file) return undefined;
  if (file.scheme === 'file') return readKey(file.fsPath);
  const bytes = await vscode.workspace.fs.readFile(file);
  return Buffer.from(bytes).toString('utf8').trimEnd();
}

function readKey(file: string): string {
  return readAuthkeyFile(file).toString('utf8');
}
