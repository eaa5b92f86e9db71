import { Command } from 'commander';
import { resolveAuthkey } from '../authkey';
import { withConnectionOptions, type ConnectionFlags } from './connection';
import { CliError, ExitCode } from './exitCodes';
import { LOOPBACK_HOSTS } from '../mcp/loopback';

interface McpFlags extends ConnectionFlags {
  readOnly?: boolean;
  http?: { host: string; port: number };
  allowRemote?: boolean;
}

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
  if (flags.http && !LOOPBACK_HOSTS.has(flags.http.host) && !flags.allowRemote)
    throw new CliError(
      `--http ${flags.http.host}:${flags.http.port} is not a loopback address: the MCP endpoint has no authentication, so add --allow-remote to serve it there on purpose`,
      ExitCode.Usage,
    );
  // The SDK (and zod) load here only: the other commands do not pay for them.
  const { ManagerLink, createTaskwireMcpServer, servedTools, serveHttp, StdioServerTransport } = await loadMcp();
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
 * The MCP server's modules, with the SDK and zod. The specifier is not a literal so that a
 * bundler does not follow it: the VS Code extension bundles this CLI to run `serve`, and would
 * otherwise carry the SDK too. Such a bundle has no `mcp` to load, and says so.
 */
async function loadMcp(): Promise<typeof import('../mcp/index.js')> {
  const specifier = ['..', 'mcp', 'index.js'].join('/');
  try {
    return (await import(specifier)) as typeof import('../mcp/index.js');
  } catch (error) {
    // Only the module itself missing means a bundle; a missing dependency of it is reported as it is.
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && /[\\/]mcp[\\/]index\.js'/.test((error as Error).message))
      throw new CliError("taskwire mcp is not part of this build of the CLI (a bundle without the MCP SDK): run the npm package's `taskwire mcp`", ExitCode.Failure);
    throw error;
  }
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
