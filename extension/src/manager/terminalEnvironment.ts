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
    this.collection.replace('TASKWIRE_HOST', hostVariable(address));
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
    return [`export TASKWIRE_HOST=${quote(hostVariable(address))}`, `export TASKWIRE_PORT=${address.port}`, `export TASKWIRE_AUTHKEY_FILE=${quote(keyFile)}`];
  }
}

/** TASKWIRE_HOST for an address: its host, or every manager of one store as a list (every client reads it so). */
function hostVariable(address: ManagerAddress): string {
  return address.alternates?.length ? hostList(address) : address.host;
}

function quote(value: string): string {
  return /^[A-Za-z0-9_./:-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
