import * as vscode from 'vscode';
import { ConnectFailure, managersOf, ManagerConnection, type ManagerAddress } from '../manager/connection';
import { describeExit, LocalManager, type ManagerExit } from '../manager/localManager';
import { KeyStore } from '../manager/secrets';
import { TerminalEnvironment } from '../manager/terminalEnvironment';
import { QueueStore } from './queueStore';
import { ResultStore } from './resultStore';
import { ScheduleStore } from './scheduleStore';
import { WorkerStore } from './workerStore';

export const LOCAL_HOST = '127.0.0.1';

export interface ModelOptions {
  /** dist/server.js: the bundled `taskwire` CLI. */
  serverScript: string;
  managerLog: vscode.LogOutputChannel;
  secrets: vscode.SecretStorage;
  globalState: vscode.Memento;
  globalStorageUri: vscode.Uri;
  environment: vscode.GlobalEnvironmentVariableCollection;
  resultsKept: number;
}

/**
 * Everything the views show and the commands act on: the connection to a manager, the manager
 * this window started (if any), the keys, and the state fetched from the manager (queues,
 * workers, results). No UI here: the views map it to tree items, the commands ask the user.
 */
export class TaskwireModel implements vscode.Disposable {
  readonly connection = new ManagerConnection();
  readonly localManager: LocalManager;
  readonly keys: KeyStore;
  readonly queues: QueueStore;
  readonly workers: WorkerStore;
  /** The manager's schedules (protocol 2026-12). */
  readonly schedules: ScheduleStore;
  readonly results: ResultStore;
  private readonly terminal: TerminalEnvironment;
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  private readonly stoppedEmitter = new vscode.EventEmitter<ManagerExit>();
  private readonly disposables: vscode.Disposable[] = [];

  /** The last connect or start failure, until the next success. */
  lastError: string | undefined;
  /** The key file of the connected manager (what TASKWIRE_AUTHKEY_FILE points at). */
  keyFile: string | undefined;

  /** The connection's status, its address or the local manager changed. */
  readonly onDidChange = this.changeEmitter.event;
  /** The local manager exited without being asked to. */
  readonly onDidStopUnexpectedly = this.stoppedEmitter.event;

  constructor(options: ModelOptions) {
    this.localManager = new LocalManager(options.serverScript, options.managerLog);
    this.keys = new KeyStore(options.secrets, options.globalState, options.globalStorageUri);
    this.terminal = new TerminalEnvironment(options.environment);
    this.queues = new QueueStore(this.connection);
    this.workers = new WorkerStore(this.connection);
    this.schedules = new ScheduleStore(this.connection);
    this.results = new ResultStore(this.connection, options.resultsKept);
    this.disposables.push(
      this.connection,
      this.localManager,
      this.queues,
      this.workers,
      this.schedules,
      this.results,
      this.changeEmitter,
      this.stoppedEmitter,
      this.connection.onDidChangeStatus(() => {
        if (!this.connection.connected && this.connection.status !== 'connecting') this.terminal.clear();
        this.changeEmitter.fire();
      }),
      this.localManager.onDidChange(() => this.changeEmitter.fire()),
      this.localManager.onDidExitUnexpectedly((exit) => this.localManagerExited(exit)),
    );
  }

  /** True when the connection is to the manager this window started. */
  get isLocal(): boolean {
    const info = this.localManager.info;
    const address = this.connection.address;
    return info !== undefined && address !== undefined && address.host === LOCAL_HOST && address.port === info.port;
  }

  /**
   * Starts a manager on this machine (127.0.0.1:`port`, 0 for any free port) and connects to
   * it. Its key comes from SecretStorage, or is generated and stored there; the manager reads
   * it from a key file only the user can read. Throws PortInUseError or ManagerStartError.
   */
  async startLocal(port: number): Promise<ManagerAddress> {
    const running = this.localManager.info;
    if (running) {
      const address = { host: LOCAL_HOST, port: running.port };
      if (!this.isLocal || !this.connection.connected) await this.connect(address, await this.requireKey(LOCAL_HOST, running.port));
      return address;
    }
    // A generated key is stored only once a manager runs with it: a port taken by another
    // manager must not end up with a key that manager never had.
    const stored = await this.keys.get(LOCAL_HOST, port);
    const key = stored ?? KeyStore.generate();
    const keyFile = this.keys.writeKeyFile(LOCAL_HOST, port, key);
    this.connection.close();
    try {
      const info = await this.localManager.start(port, keyFile);
      if (!stored) await this.keys.store(LOCAL_HOST, port, key);
      const address = { host: LOCAL_HOST, port: info.port };
      await this.connect(address, key);
      return address;
    } catch (error) {
      if (!stored && !this.localManager.running) this.keys.deleteKeyFile(LOCAL_HOST, port);
      this.lastError = (error as Error).message;
      this.changeEmitter.fire();
      throw error;
    }
  }

  /**
   * Stops the manager this window started (disconnecting first if connected to it); a manager
   * it only connected to is left alone. `graceMs`: how long to wait for a graceful exit.
   */
  async stopLocal(graceMs?: number): Promise<void> {
    if (this.isLocal) this.connection.close();
    await this.localManager.stop(graceMs);
  }

  /**
   * Connects (closing any other connection). On success the key is stored in SecretStorage for
   * this address and written to its key file, and new terminals get TASKWIRE_HOST, _PORT and
   * _AUTHKEY_FILE. A key that fails is never stored. Throws ConnectFailure.
   */
  async connect(address: ManagerAddress, key: string): Promise<void> {
    try {
      await this.connection.open(address, key);
    } catch (error) {
      this.lastError = (error as Error).message;
      this.changeEmitter.fire();
      throw error;
    }
    this.lastError = undefined;
    // Every manager of the address takes this key: each finds it when connected to alone.
    for (const manager of managersOf(address)) await this.keys.store(manager.host, manager.port, key);
    this.keyFile = this.keys.writeKeyFile(address.host, address.port, key);
    this.terminal.apply(address, this.keyFile);
    this.changeEmitter.fire();
  }

  /** What new integrated terminals get: TASKWIRE_HOST, TASKWIRE_PORT, TASKWIRE_AUTHKEY_FILE. */
  terminalVariables(): Record<string, string> {
    return this.terminal.variables();
  }

  disconnect(): void {
    this.connection.close();
    this.keyFile = undefined;
  }

  /** The stored key for an address; throws a ConnectFailure('no-key') when there is none. */
  async requireKey(host: string, port: number): Promise<string> {
    const key = await this.keys.get(host, port);
    if (!key) throw new ConnectFailure('no-key', `No key is stored for the Taskwire manager at ${host}:${port}.`);
    return key;
  }

  dispose(): void {
    this.terminal.clear();
    for (const d of this.disposables) d.dispose();
  }

  private localManagerExited(exit: ManagerExit): void {
    const why = `the local manager exited (${describeExit(exit.code, exit.signal)})${exit.lastLine ? `; it last said: ${exit.lastLine}` : ''}`;
    this.lastError = why;
    const address = this.connection.address;
    if (address?.host === LOCAL_HOST && address.port === exit.port && this.connection.status !== 'disconnected') this.connection.markStopped(why);
    this.stoppedEmitter.fire(exit);
    this.changeEmitter.fire();
  }
}
