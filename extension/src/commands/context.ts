import * as vscode from 'vscode';
import type { TaskwireModel } from '../model/model';
import type { Notifier } from '../notifications';
import type { Settings } from '../settings';

/** What every command module needs. */
export interface CommandContext {
  model: TaskwireModel;
  notifier: Notifier;
  settings: () => Settings;
}

/** Command ids and their handlers. */
export type CommandTable = Record<string, (...args: never[]) => unknown>;

export function registerCommands(commands: CommandTable): vscode.Disposable[] {
  return Object.entries(commands).map(([id, run]) => vscode.commands.registerCommand(id, run as (...args: unknown[]) => unknown));
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
