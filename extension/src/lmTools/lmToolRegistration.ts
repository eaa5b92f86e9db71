import { RemoteError } from 'taskwire';
import * as vscode from 'vscode';
import type { TaskwireModel } from '../model/model';
import { TASKWIRE_TOOLS, ToolInputError, type KnownState, type ToolEntry } from './tools';
import { describeAddress } from '../manager/connection';

/**
 * Registers the language-model tools (package.json's contributes.languageModelTools) with
 * vscode.lm, bound to the manager the sidebar is connected to. Read-only tools run without a
 * question; mutating ones return confirmationMessages from prepareInvocation, which VS Code
 * shows inline in chat (where the user may allow a tool for the session) and as a modal dialog
 * when another extension calls vscode.lm.invokeTool outside a chat request.
 */
export function registerLanguageModelTools(model: TaskwireModel): vscode.Disposable[] {
  // vscode.lm.registerTool is API since VS Code 1.95; engines.vscode asks for 1.100.
  if (typeof vscode.lm?.registerTool !== 'function') return [];
  const known: KnownState = {
    queue: (name) => model.queues.find(name),
    session: (id) => model.workers.clients.find((c) => c.sessionId === id),
  };
  return TASKWIRE_TOOLS.map((tool) => vscode.lm.registerTool(tool.name, languageModelTool(tool, model, known)));
}

function languageModelTool(tool: ToolEntry, model: TaskwireModel, known: KnownState): vscode.LanguageModelTool<unknown> {
  return {
    prepareInvocation(options) {
      // No requests here (prepareInvocation must be free of side effects): the confirmation
      // counts come from what the sidebar last fetched.
      const confirmation = tool.confirmation?.(options.input, known);
      return {
        invocationMessage: tool.invocationMessage(options.input),
        ...(confirmation ? { confirmationMessages: { title: confirmation.title, message: new vscode.MarkdownString(confirmation.message) } } : {}),
      };
    },
    async invoke(options) {
      const client = connectedClient(model);
      let text: string;
      try {
        text = await tool.run(client, options.input);
      } catch (error) {
        throw toolError(error);
      }
      if (!tool.readOnly) refreshSidebar(model);
      return new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(text)]);
    },
  };
}

function connectedClient(model: TaskwireModel) {
  const connection = model.connection;
  if (connection.connected) return connection.client;
  const where = connection.address ? ` (the last one was at ${describeAddress(connection.address)}, now ${connection.status})` : '';
  throw new Error(
    `VS Code is not connected to a Taskwire manager${where}: start one or connect to one from the Taskwire sidebar (Taskwire: Start Local Manager / Connect to Manager), then try again.`,
  );
}

/** An error in words for the model: its input was wrong, or the manager refused, or the connection failed. */
function toolError(error: unknown): Error {
  if (error instanceof ToolInputError) return new Error(error.message);
  if (error instanceof RemoteError) return new Error(`the Taskwire manager refused: ${error.message}`);
  return new Error(`the request to the Taskwire manager failed: ${error instanceof Error ? error.message : String(error)}`);
}

/** After a change, the sidebar reads again what events do not tell it (worker states, schedules). */
function refreshSidebar(model: TaskwireModel): void {
  void model.queues.refresh().catch(() => undefined);
  void model.workers.refresh().catch(() => undefined);
  void model.schedules.refresh().catch(() => undefined);
}
