import type { TaskwireClient } from '../client';
import { connectFromFlags, type ConnectionFlags } from '../cli/connection';

/**
 * The MCP server's one connection to the manager, opened on the first tool call and opened
 * again on the next call after it closed (the manager restarted, the network dropped): a
 * manager that is down makes tool calls fail with its reason, never the MCP server exit.
 */
export class ManagerLink {
  private client: TaskwireClient | undefined;
  private connecting: Promise<TaskwireClient> | undefined;

  constructor(private readonly flags: ConnectionFlags) {}

  /** Runs `action` on a connected client; a failure to connect rejects with a sentence saying why. */
  async use<T>(action: (client: TaskwireClient) => Promise<T>): Promise<T> {
    return action(await this.connected());
  }

  /** The session id of this server's own connection, when connected (left out of the worker list). */
  get sessionId(): string | undefined {
    return this.client?.sessionId;
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }

  private async connected(): Promise<TaskwireClient> {
    if (this.client && !this.client.isClosed && this.client.connected) return this.client;
    this.client?.close();
    this.client = undefined;
    this.connecting ??= connectFromFlags(this.flags, 'monitor', false, 'taskwire-mcp')
      .then((client) => {
        this.client = client;
        return client;
      })
      .catch((error: unknown) => {
        throw new Error(`not connected to the Taskwire manager at ${this.address()}: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  /** host:port as given (the key is never part of it). */
  address(): string {
    const host = this.flags.host ?? '127.0.0.1';
    return /:\d+$/.test(host) || host.includes(',') ? host : `${host}:${this.flags.port ?? 7400}`;
  }
}
