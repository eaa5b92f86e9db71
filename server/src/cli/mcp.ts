import { Command } from 'commander';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolveAuthkey } from '../authkey';
import { withConnectionOptions, type ConnectionFlags } from './connection';
import { CliError, ExitCode } from './exitCodes';

interface McpFlags extends ConnectionFlags {
  readOnly?: boolean;
  http?: { host: string; port: number };
  allowRemote?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** `--http HOST:PORT`; a bare PORT or `:PORT` is loopback. */
export function parseHttpAddress(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port >= 0 && port <= 65535))
    throw new CliError(`invalid --http "${value}": expected HOST:PORT or PORT (e.g. 127.0.0.1:7411, or 7411 for loopback; port 0: any free port)`, ExitCode.Usage);
  return { host: match[1] || match[2] || '127.0.0.1', port };
}

export function mcpCommand(): Command {
  return withConnectionOptions(
    new Command('mcp').description('serve the manager to AI agents: an MCP server (stdio, or Streamable HTTP with --http) with tools for queues, tasks, workers and schedules'),
  )
    .option('--read-only', 'serve only the tools that change nothing (list_queues, queue_stats, peek, recent_results, list_workers, list_schedules)')
    .option('--http <host:port>', 'serve Streamable HTTP on HOST:PORT (path /mcp) instead of stdio; a bare PORT is 127.0.0.1', parseHttpAddress)
    .option('--allow-remote', 'with --http: allow an address other than loopback (the MCP endpoint has no authentication of its own: anyone who reaches it operates the manager)')
    .addHelpText(
      'after',
      `
The MCP server connects to the manager with the connection options above (or $TASKWIRE_HOST,
$TASKWIRE_PORT, $TASKWIRE_AUTHKEY_FILE, ~/.taskwire/authkey, as every command): the key never
appears in a tool's arguments or answers. It connects on the first tool call and again after a
lost connection; a manager that is down makes tool calls fail with the reason, not the server.

Tools: list_queues, queue_stats, peek, recent_results, list_workers, list_schedules (read-only);
put_tasks, pause_queue, resume_queue, quiet_worker, set_schedule (change); requeue_dead_letters,
stop_worker, delete_schedule, purge_queue (destructive; purge_queue needs confirm: true).
Resources: taskwire://queues, taskwire://workers, taskwire://schedules.

In .vscode/mcp.json:
  { "servers": { "taskwire": { "type": "stdio", "command": "npx", "args": ["taskwire", "mcp"] } } }
Logs go to stderr; stdout carries the MCP messages. See docs/mcp.md.`,
    )
    .action(async (flags: McpFlags) => serveMcp(flags));
}

async function serveMcp(flags: McpFlags): Promise<void> {
  if (flags.allowRemote && !flags.http) throw new CliError('--allow-remote applies to --http only', ExitCode.Usage);
  if (flags.http && !LOOPBACK.has(flags.http.host) && !flags.allowRemote)
    throw new CliError(
      `--http ${flags.http.host}:${flags.http.port} is not a loopback address: the MCP endpoint has no authentication, so add --allow-remote to serve it there on purpose`,
      ExitCode.Usage,
    );
  // The SDK (and zod) load here only: the other commands do not pay for them.
  const [{ ManagerLink }, { createTaskwireMcpServer, servedTools }] = await Promise.all([import('../mcp/managerLink.js'), import('../mcp/server.js')]);
  const link = new ManagerLink(flags);
  const redact = keyRedactor(flags);
  const options = { readOnly: flags.readOnly === true, redact };
  const tools = servedTools(options).length;
  const log = (line: string) => process.stderr.write(redact(`taskwire mcp: ${line}\n`));
  let stop: () => Promise<void>;
  if (flags.http) {
    stop = await serveHttp(flags.http, () => createTaskwireMcpServer(link, options), log);
    log(
      `serving ${tools} tools over Streamable HTTP at http://${flags.http.host.includes(':') ? `[${flags.http.host}]` : flags.http.host}:${flags.http.port}/mcp for the manager at ${link.address()}`,
    );
  } else {
    const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
    const server = createTaskwireMcpServer(link, options);
    await server.connect(new StdioServerTransport());
    stop = () => server.close();
    log(`serving ${tools} tools over stdio for the manager at ${link.address()}${options.readOnly ? ' (read-only)' : ''}`);
  }
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    // The client closing our stdin is the stdio transport's end of session.
    if (!flags.http) process.stdin.once('end', done).once('close', done);
  });
  await stop().catch(() => undefined);
  link.close();
}

/**
 * A Streamable HTTP endpoint at /mcp, stateless: each POST gets a fresh MCP server and
 * transport (the SDK's stateless pattern), all sharing one connection to the manager.
 */
async function serveHttp(
  address: { host: string; port: number },
  makeServer: () => import('@modelcontextprotocol/sdk/server/mcp.js').McpServer,
  log: (line: string) => void,
): Promise<() => Promise<void>> {
  const { createServer } = await import('node:http');
  const { StreamableHTTPServerTransport } = await import('@modelcontextprotocol/sdk/server/streamableHttp.js');
  const http = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/mcp') return void response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the MCP endpoint is /mcp\n');
    if (request.method !== 'POST') return void response.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('this stateless endpoint takes POST only\n');
    const port = (http.address() as { port: number }).port;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      // A web page the user visits must not reach a loopback endpoint through DNS rebinding.
      ...(LOOPBACK.has(address.host) ? { enableDnsRebindingProtection: true, allowedHosts: [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`] } : {}),
    });
    const server = makeServer();
    response.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(request, response))
      .catch((error: unknown) => {
        log(`HTTP request failed: ${error instanceof Error ? error.message : String(error)}`);
        if (!response.headersSent) response.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(address.port, address.host, () => resolve());
  });
  address.port = (http.address() as { port: number }).port;
  return () => new Promise<void>((resolve) => http.close(() => resolve()));
}

/** Replaces the key with [authkey] in a text (a guard: no message is known to carry it). */
function keyRedactor(flags: ConnectionFlags): (text: string) => string {
  let key: string | undefined;
  try {
    const resolved = resolveAuthkey({ ...(flags.authkey ? { authkey: flags.authkey } : {}), ...(flags.authkeyFile ? { authkeyFile: flags.authkeyFile } : {}) });
    key = resolved.key.toString('utf8');
  } catch {
    key = undefined; // no key found: the first tool call says so
  }
  if (!key || key.length < 4) return (text) => text;
  return (text) => text.split(key).join('[authkey]');
}
