/**
 * Starts `taskwire mcp` as a child process (bin/taskwire.js, as an MCP client configuration
 * would) and connects the SDK's own MCP client to it over stdio. Everything the server says
 * (tool results, resources, stderr) is recorded so tests can assert what it never says.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BIN } from '../cli/cliHarness';

export interface McpSession {
  client: Client;
  /** Every text the server sent so far: tool results, resource contents, its stderr. */
  readonly seen: string[];
  stderr(): string;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  read(uri: string): Promise<string>;
  close(): Promise<void>;
}

const open = new Set<McpSession>();

export async function startMcp(args: string[], env: NodeJS.ProcessEnv): Promise<McpSession> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp', ...args], env: env as Record<string, string>, stderr: 'pipe' });
  let stderr = '';
  transport.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const client = new Client({ name: 'taskwire-mcp-test', version: '1.0.0' });
  await client.connect(transport);
  const seen: string[] = [];
  const session: McpSession = {
    client,
    seen,
    stderr: () => stderr,
    async call(name, toolArgs = {}) {
      const result = (await client.callTool({ name, arguments: toolArgs })) as CallToolResult;
      seen.push(JSON.stringify(result));
      return result;
    },
    async read(uri) {
      const result = await client.readResource({ uri });
      const text = result.contents.map((c) => ('text' in c ? c.text : '')).join('\n');
      seen.push(text);
      return text;
    },
    async close() {
      open.delete(session);
      await client.close();
      seen.push(stderr);
    },
  };
  open.add(session);
  return session;
}

/** afterEach: closes every MCP session still open (its child process ends with its stdin). */
export async function closeMcpSessions(): Promise<void> {
  await Promise.all([...open].map((s) => s.close().catch(() => undefined)));
}

/** The text of a tool result. */
export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}
