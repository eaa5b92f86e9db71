import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { TaskwireApi } from '../../src/api';
import { activateExtension, descriptionOf, ensureLocalManager, rootItems, shownSince, startOutsideManager, waitFor, waitForNotification } from './helpers';

describe('the local manager', () => {
  let api: TaskwireApi;

  before(async () => {
    api = await activateExtension();
    await vscode.commands.executeCommand('taskwire.sidebar.show');
  });

  it('starts through the command; the Manager view shows it connected, its address, protocol and that it is local', async () => {
    const address = await ensureLocalManager(api);
    const manager = api.views.manager;
    await waitFor('the Manager view to say connected', async () => (await descriptionOf(manager, 'State')) === 'connected');
    assert.equal(await descriptionOf(manager, 'Address'), `127.0.0.1:${address.port}`);
    assert.match((await descriptionOf(manager, 'Manager')) ?? '', /^local \(pid \d+\)$/);
    assert.match((await descriptionOf(manager, 'Protocol')) ?? '', /^\d{4}-\d{2}$/);
    assert.match((await descriptionOf(manager, 'Uptime')) ?? '', /\d+ s/);
    await waitFor('the status bar to show the workers and ready tasks', () => /Taskwire: \d+ workers?, \d+ ready/.test(api.statusBar.text));
  });

  it('keeps the key in SecretStorage and a 0600 key file, never in the settings', async () => {
    const { model } = api;
    const address = await ensureLocalManager(api);
    const key = await model.keys.get('127.0.0.1', address.port);
    assert.match(key ?? '', /^[0-9a-f]{64}$/, '32 random bytes as hex');
    const keyFile = model.keyFile!;
    assert.equal(readFileSync(keyFile, 'utf8').trim(), key);
    if (process.platform !== 'win32') assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const config = vscode.workspace.getConfiguration('taskwire');
    for (const name of ['host', 'port', 'tls', 'tlsCaFile', 'autoStart', 'resultsKept', 'localManager.port']) {
      assert.ok(!JSON.stringify(config.inspect(name) ?? {}).includes(key!), `setting ${name} holds no key`);
    }
    assert.ok(!JSON.stringify(config).includes(key!));
  });

  it('gives new terminals TASKWIRE_HOST, TASKWIRE_PORT and TASKWIRE_AUTHKEY_FILE', async () => {
    const address = await ensureLocalManager(api);
    assert.deepEqual(api.model.terminalVariables(), {
      TASKWIRE_HOST: '127.0.0.1',
      TASKWIRE_PORT: String(address.port),
      TASKWIRE_AUTHKEY_FILE: api.model.keyFile,
    });
  });

  it('copies the connection details: the address and the key file, not the key', async () => {
    const address = await ensureLocalManager(api);
    const key = await api.model.keys.get('127.0.0.1', address.port);
    const text = await vscode.commands.executeCommand<string>('taskwire.manager.copyConnectionDetails');
    assert.ok(text.includes(`TASKWIRE_PORT=${address.port}`));
    assert.ok(text.includes(api.model.keyFile!));
    assert.ok(!text.includes(key!), 'the key itself is not copied');
    // A headless browser may refuse clipboard reads; when it answers, it holds the same text.
    const clipboard = await Promise.resolve(vscode.env.clipboard.readText()).catch(() => '');
    if (clipboard) assert.equal(clipboard, text);
  });

  it('stops, and starts again with the same key', async () => {
    const first = await ensureLocalManager(api);
    const key = await api.model.keys.get('127.0.0.1', 0);
    await vscode.commands.executeCommand('taskwire.manager.stop');
    await waitFor('the state to be disconnected', () => api.model.connection.status === 'disconnected' && !api.model.localManager.running);
    assert.deepEqual(await rootItems(api.views.manager), [], 'empty, so the welcome view offers Start and Connect');
    assert.deepEqual(api.model.terminalVariables(), {}, 'terminals no longer point at it');
    const second = await ensureLocalManager(api);
    assert.equal(await api.model.keys.get('127.0.0.1', 0), key);
    assert.equal(await api.model.keys.get('127.0.0.1', second.port), key);
    assert.ok(first.port > 0 && second.port > 0);
  });

  it('reports a manager that dies, with Restart and Show log', async () => {
    await ensureLocalManager(api);
    const pid = api.model.localManager.info!.pid;
    const mark = new Date();
    process.kill(pid, 'SIGKILL');
    const message = await waitForNotification(api, mark, /stopped unexpectedly/);
    assert.equal(message.severity, 'warning');
    assert.deepEqual(message.actions, ['Restart', 'Show log']);
    await waitFor('the state to be stopped', () => api.model.connection.status === 'stopped');
    assert.equal(await descriptionOf(api.views.manager, 'State'), 'stopped unexpectedly');
    assert.ok(
      shownSince(api, mark).every((m) => m.severity !== 'error'),
      'no error on top of the warning',
    );
    await ensureLocalManager(api);
    assert.equal(api.model.connection.status, 'connected');
  });

  it('connects to a manager it did not start (a key file), and follows it when that manager goes away', async () => {
    const local = await ensureLocalManager(api);
    const keyFile = join(mkdtempSync(join(tmpdir(), 'taskwire-remote-')), 'authkey');
    const key = randomBytes(16).toString('hex');
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    const { manager, port } = await startOutsideManager(keyFile);
    try {
      const address = await vscode.commands.executeCommand<{ port: number }>('taskwire.manager.connect', { host: '127.0.0.1', port, authkeyFile: keyFile });
      assert.equal(address?.port, port, api.notifications.last?.message);
      assert.equal(await descriptionOf(api.views.manager, 'State'), 'connected');
      assert.equal(await descriptionOf(api.views.manager, 'Manager'), 'remote');
      assert.match((await descriptionOf(api.views.manager, 'Connected for')) ?? '', /\d+ s/);
      assert.equal(await api.model.keys.get('127.0.0.1', port), key, 'the key is kept in SecretStorage');
      assert.equal(api.model.terminalVariables()['TASKWIRE_PORT'], String(port));
      assert.ok(api.model.localManager.running, 'the local manager keeps running meanwhile');

      manager.kill('SIGTERM');
      await waitFor('the view to show the connection being re-established', async () => (await descriptionOf(api.views.manager, 'State')) === 'connecting');
    } finally {
      manager.kill('SIGKILL');
      await vscode.commands.executeCommand('taskwire.manager.disconnect');
    }
    // Back to the local manager: it was never stopped.
    const again = await ensureLocalManager(api);
    assert.equal(again.port, local.port);
  });
});
