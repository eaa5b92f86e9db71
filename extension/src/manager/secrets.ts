import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';

const SECRET_PREFIX = 'taskwire.authkey/';
const INDEX_KEY = 'taskwire.storedKeys';

/**
 * Authkeys, one per manager address (host:port), kept in VS Code's SecretStorage — never in
 * settings. A manager started here and the terminals it configures read a key from a file, so
 * the key of the connected manager is also written to a file only the user can read, in the
 * extension's global storage.
 */
export class KeyStore {
  private readonly folder: string;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly state: vscode.Memento,
    globalStorage: vscode.Uri,
  ) {
    // The extension runs where the workspace is (extensionKind "workspace"), so its storage is
    // a local folder; a non-file scheme would be unusual, and ~/.taskwire is where keys live anyway.
    this.folder = globalStorage.scheme === 'file' ? globalStorage.fsPath : join(homedir(), '.taskwire', 'vscode');
  }

  /** 32 random bytes as hex, like `taskwire serve` generates. */
  static generate(): string {
    return randomBytes(32).toString('hex');
  }

  async get(host: string, port: number): Promise<string | undefined> {
    return (await this.secrets.get(secretName(host, port))) || undefined;
  }

  async store(host: string, port: number, key: string): Promise<void> {
    await this.secrets.store(secretName(host, port), key);
    const addresses = new Set(this.addresses());
    addresses.add(`${host}:${port}`);
    await this.state.update(INDEX_KEY, [...addresses].sort());
  }

  /** Forgets the key and deletes its key file. */
  async delete(host: string, port: number): Promise<void> {
    await this.secrets.delete(secretName(host, port));
    await this.state.update(
      INDEX_KEY,
      this.addresses().filter((a) => a !== `${host}:${port}`),
    );
    this.deleteKeyFile(host, port);
  }

  deleteKeyFile(host: string, port: number): void {
    rmSync(dirname(this.keyFilePath(host, port)), { recursive: true, force: true });
  }

  /** The addresses with a stored key ("host:port"). SecretStorage cannot list its keys. */
  addresses(): string[] {
    return this.state.get<string[]>(INDEX_KEY, []);
  }

  /** `<global storage>/keys/<host>-<port>/authkey`: one folder per manager, the file named as `taskwire serve` names it. */
  keyFilePath(host: string, port: number): string {
    return join(this.folder, 'keys', `${host.replace(/[^A-Za-z0-9.-]/g, '_')}-${port}`, 'authkey');
  }

  /** Writes the key to its file (mode 0600, in 0700 folders) and returns the file's path. */
  writeKeyFile(host: string, port: number, key: string): string {
    const file = this.keyFilePath(host, port);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return file;
  }
}

function secretName(host: string, port: number): string {
  return `${SECRET_PREFIX}${host}:${port}`;
}
