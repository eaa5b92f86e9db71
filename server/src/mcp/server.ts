import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { packageVersion } from '../version';
import type { ManagerLink } from './managerLink';
import { TOOLS, queueLine, workerLine, type TaskwireTool } from './tools';

export interface McpServerOptions {
  /** Serve only the tools that change nothing. */
  readOnly?: boolean;
  /** Replaces the key, should it ever appear in a text the server sends (a last guard; no message is known to carry it). */
  redact?: (text: string) => string;
}

/** The tools a server with these options serves. */
export function servedTools(options: McpServerOptions): readonly TaskwireTool[] {
  return options.readOnly ? TOOLS.filter((t) => t.effect === 'read') : TOOLS;
}

/**
 * An MCP server whose tools and resources operate the manager behind `link`. A tool that fails
 * (the manager refused, is not reachable, the queue does not exist) answers a tool error
 * (isError) with the reason, which the SDK makes of what the handler throws.
 */
export function createTaskwireMcpServer(link: ManagerLink, options: McpServerOptions = {}): McpServer {
  const redact = options.redact ?? ((text: string) => text);
  const server = new McpServer(
    { name: 'taskwire', title: 'Taskwire', version: packageVersion },
    {
      instructions:
        'Tools to operate a Taskwire task-queue manager: inspect queues, tasks, results, workers and schedules; put tasks; pause/resume queues; quiet/stop workers; requeue dead letters; purge (needs confirm: true).' +
        (options.readOnly ? ' This server is read-only: only the tools that change nothing are served.' : ''),
    },
  );
  for (const definition of servedTools(options)) {
    server.registerTool(
      definition.name,
      {
        title: definition.title,
        description: definition.description,
        inputSchema: definition.input,
        annotations: {
          title: definition.title,
          readOnlyHint: definition.effect === 'read',
          destructiveHint: definition.effect === 'destroy',
          idempotentHint: definition.idempotent,
          // It acts on one Taskwire manager, not on an open world of services.
          openWorldHint: false,
        },
      },
      async (args: unknown): Promise<CallToolResult> => {
        try {
          const output = await link.use((client) => definition.run(client, args as never, { ownSession: link.sessionId }));
          const data = JSON.parse(redact(JSON.stringify(output.data))) as Record<string, unknown>;
          return { structuredContent: data, content: [{ type: 'text', text: redact(output.text) }] };
        } catch (error) {
          return { isError: true, content: [{ type: 'text', text: redact(`${definition.name} failed: ${error instanceof Error ? error.message : String(error)}`) }] };
        }
      },
    );
  }
  const resource = (name: string, uri: string, description: string, read: () => Promise<{ data: unknown; text: string }>) =>
    server.registerResource(name, uri, { title: name, description, mimeType: 'application/json' }, async () => {
      const { data } = await read();
      return { contents: [{ uri, mimeType: 'application/json', text: redact(JSON.stringify(data, null, 2)) }] };
    });
  resource('queues', 'taskwire://queues', 'Every queue with its stats (as list_queues answers).', () =>
    link.use(async (client) => {
      const queues = await client.queues();
      return { data: { queues }, text: queues.map(queueLine).join('\n') };
    }),
  );
  resource('workers', 'taskwire://workers', 'The connected sessions with the tasks each holds and their progress (as list_workers answers).', () =>
    link.use(async (client) => {
      const workers = (await client.clients()).filter((c) => c.sessionId !== link.sessionId);
      return { data: { workers }, text: workers.map(workerLine).join('\n') };
    }),
  );
  resource('schedules', 'taskwire://schedules', 'The schedules with their next and last runs (as list_schedules answers).', () =>
    link.use(async (client) => ({ data: { schedules: await client.schedules.list() }, text: '' })),
  );
  return server;
}
