import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, type TaskwireClient } from 'taskwire';
import * as vscode from 'vscode';
import type { TaskwireApi } from '../../src/api';
import type { ManagerAddress } from '../../src/manager/connection';

export const EXTENSION_ID = 'taskwire.taskwire-vscode';

/** The real extension, activated; its API. */
export async function activateExtension(): Promise<TaskwireApi> {
  const extension = vscode.extensions.getExtension<TaskwireApi>(EXTENSION_ID);
  if (!extension) throw new Error(`extension ${EXTENSION_ID} is not installed in this VS Code`);
  return extension.activate();
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `probe` until it returns something truthy (and returns that), or fails after
 * `timeoutMs` with what it was waiting for and the last value seen.
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let last: unknown;
  for (;;) {
    try {
      last = await probe();
      if (last) return last as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${describe(last)}`);
    await sleep(options.intervalMs ?? 100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A manager started by the extension (through its command) and connected to. */
export async function ensureLocalManager(api: TaskwireApi): Promise<ManagerAddress> {
  const { model } = api;
  if (model.isLocal && model.connection.connected) return model.connection.address!;
  const address = await vscode.commands.executeCommand<ManagerAddress | undefined>('taskwire.manager.start', { port: 0 });
  if (!address) throw new Error(`taskwire.manager.start failed: ${api.notifications.last?.message ?? 'no message'}`);
  await waitFor('the connection to the local manager', () => model.connection.connected && model.isLocal);
  return address;
}

/** A client of our own, as a worker would connect (in this process, with the library). */
export async function connectClient(api: TaskwireApi, name: string, role: 'worker' | 'producer' | 'monitor' = 'worker'): Promise<TaskwireClient> {
  const address = api.model.connection.address!;
  return connect({ host: address.host, port: address.port, authkeyFile: api.model.keyFile!, name, role, reconnect: false, labels: { suite: 'vscode' } });
}

/** A queue name no other test uses. */
export function uniqueQueue(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** A port nothing listens on (probably: it was free a moment ago). */
export async function freePort(): Promise<number> {
  const server = await listen(0);
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A plain TCP server (not a manager) holding a port. */
export function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** The TreeItems a provider shows at its root. */
export async function rootItems<T extends vscode.TreeItem>(provider: vscode.TreeDataProvider<T>): Promise<T[]> {
  return ((await provider.getChildren()) ?? []) as T[];
}

export function labelOf(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

/** The description of the root item with this label, or undefined. */
export async function descriptionOf(provider: vscode.TreeDataProvider<vscode.TreeItem>, label: string): Promise<string | undefined> {
  const item = (await rootItems(provider)).find((i) => labelOf(i) === label);
  return item === undefined ? undefined : String(item.description ?? '');
}

/** Notifications shown at or after `mark`. */
export function shownSince(api: TaskwireApi, mark: Date) {
  return api.notifications.shown.filter((m) => m.at.getTime() >= mark.getTime());
}

/** Waits for a notification shown since `mark` whose message matches. */
export function waitForNotification(api: TaskwireApi, mark: Date, pattern: RegExp) {
  return waitFor(`a notification matching ${pattern}`, () => shownSince(api, mark).find((m) => pattern.test(m.message)));
}

/** `taskwire serve` started by the test (as a user would in a terminal), on a free port. */
export async function startOutsideManager(keyFile: string, extraArgs: string[] = []): Promise<{ manager: ChildProcess; port: number }> {
  const serverJs = join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'server.js');
  const manager = spawn(process.execPath, [serverJs, 'serve', '--port', '0', '--authkey-file', keyFile, '--json', ...extraArgs], {
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: manager.stdout! }).on('line', (line) => {
      const parsed = JSON.parse(line) as { message?: string; port?: number };
      if (parsed.message === 'ready' && parsed.port) resolve(parsed.port);
    });
    manager.once('exit', (code) => reject(new Error(`the manager exited (${code})`)));
  });
  return { manager, port };
}

/** A fresh key in a 0600 key file, as `taskwire serve --authkey-file` reads it. */
export function writeKeyFile(): { key: string; keyFile: string } {
  const keyFile = join(mkdtempSync(join(tmpdir(), 'taskwire-key-')), 'authkey');
  const key = randomBytes(16).toString('hex');
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  return { key, keyFile };
}

/** Whether a process with this pid exists (signal 0 probes without signalling). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
