import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { TaskwireApi } from '../../src/api';
import { activateExtension, EXTENSION_ID } from './helpers';

interface Contributes {
  commands: { command: string }[];
  views: Record<string, { id: string }[]>;
  configuration: { properties: Record<string, unknown> };
}

describe('activation', () => {
  let api: TaskwireApi;
  let contributes: Contributes;

  before(async () => {
    api = await activateExtension();
    contributes = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes as Contributes;
  });

  it('returns the API: model, view providers, tree views, notifications', () => {
    assert.ok(api.model, 'model');
    for (const view of ['manager', 'queues', 'workers', 'results'] as const) {
      assert.equal(typeof api.views[view].getChildren, 'function', `views.${view}`);
      assert.ok(api.treeViews[view], `treeViews.${view}`);
    }
    assert.ok(Array.isArray(api.notifications.shown));
  });

  it('registers every command package.json contributes', async () => {
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributes.commands.map((c) => c.command).filter((id) => !registered.has(id));
    assert.deepEqual(missing, []);
    for (const { command } of contributes.commands) assert.match(command, /^taskwire\.[a-z]+\.[a-zA-Z]+$/, 'ids read taskwire.<area>.<verb>');
  });

  it('contributes the five views in the Taskwire container', () => {
    assert.deepEqual(
      contributes.views['taskwire']!.map((v) => v.id),
      ['taskwire.manager', 'taskwire.queues', 'taskwire.workers', 'taskwire.schedules', 'taskwire.results'],
    );
  });

  it('has no setting for the key', () => {
    const keys = Object.keys(contributes.configuration.properties);
    assert.deepEqual(
      keys.filter((k) => /key|secret|password/i.test(k)),
      [],
    );
    assert.equal(vscode.workspace.getConfiguration('taskwire').get('port'), 7400);
    assert.equal(vscode.workspace.getConfiguration('taskwire').get('resultsKept'), 100);
  });

  it('shows the sidebar from the status bar command', async () => {
    await vscode.commands.executeCommand('taskwire.sidebar.show');
    assert.match(api.statusBar.text, /Taskwire/);
  });
});
