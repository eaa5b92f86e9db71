import * as vscode from 'vscode';
import { describeAddress, hostList, type ManagerAddress } from './connection';

/**
 * Gives new integrated terminals the connected manager's address and key file, so a worker
 * or `npx taskwire ...` started there finds the manager without options.
 */
export class TerminalEnvironment {
  constructor(private readonly collection: vscode.GlobalEnvironmentVariableCollection) {
    // Only while connected: a window reloaded later must not point terminals at a stale manager.
    collection.persistent = false;
  }

  apply(address: ManagerAddress, keyFile: string): void {
    // Several managers of one store go in TASKWIRE_HOST as a list, as every client reads it.
    this.collection.replace('TASKWIRE_HOST', address.alternates?.length ? hostList(address) : address.host);
    this.collection.replace('TASKWIRE_PORT', String(address.port));
    this.collection.replace('TASKWIRE_AUTHKEY_FILE', keyFile);
    this.collection.description = `Taskwire: the manager at ${describeAddress(address)}`;
  }

  clear(): void {
    this.collection.clear();
  }

  /** The variables new terminals get now (name to value). */
  variables(): Record<string, string> {
    const variables: Record<string, string> = {};
    this.collection.forEach((name, mutator) => (variables[name] = mutator.value));
    return variables;
  }

  /** The variables as shell lines (the key file's path, never the key). */
  static exportLines(address: ManagerAddress, keyFile: string): string[] {
    return [`export TASKWIRE_HOST=${quote(address.alternates?.length ? hostList(address) : address.host)}`, `export TASKWIRE_PORT=${address.port}`, `export TASKWIRE_AUTHKEY_FILE=${quote(keyFile)}`];
  }
}

function quote(value: string): string {
  return /^[A-Za-z0-9_./:-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
