// Runs last (files run in name order): it calls the extension's deactivate(), as VS Code does
// when the window closes, reloads or the extension is disabled. VS Code would then dispose the
// extension's subscriptions; here they stay, so the model still works for the next case.
import * as assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { dirname, join } from 'node:path';
import { connect, type TaskwireClient } from 'taskwire';
import * as vscode from 'vscode';
import type { TaskwireApi } from '../../src/api';
import { activateExtension, ensureLocalManager, EXTENSION_ID, processExists, shownSince, startOutsideManager, waitFor, writeKeyFile } from './helpers';

/**
 * The extension's module as VS Code loaded it (the same instance whose activate() ran), not a
 * second copy: a copy would have no model to stop.
 */
function loadedExtensionModule(): { deactivate(): Promise<void> } {
  const main = join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'extension.js');
  const loaded = require.cache[main];
  if (!loaded) throw new Error(`VS Code has not loaded ${main} in this extension host`);
  return loaded.exports as { deactivate(): Promise<void> };
}

/** Whether any process is left in the process group this pid led. */
function processGroupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How a plain TCP connection to the port ends: 'connected' or the error code. */
function tryPort(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('deactivation (window closed, extension disabled)', () => {
  let api: TaskwireApi;
  let extension: { deactivate(): Promise<void> };

  before(async () => {
    api = await activateExtension();
    extension = loadedExtensionModule();
  });

  it('stops the manager this window started: the process and its group are gone, its port refuses connections', async () => {
    const { port } = await ensureLocalManager(api);
    const pid = api.model.localManager.info!.pid;
    assert.ok(processExists(pid), `the manager (pid ${pid}) runs before deactivation`);
    const mark = new Date();

    await extension.deactivate();

    assert.equal(processExists(pid), false, `the manager (pid ${pid}) is gone once deactivate() resolves`);
    assert.equal(processGroupExists(pid), false, `no process is left in its process group ${pid}`);
    assert.equal(await tryPort(port), 'ECONNREFUSED');
    assert.equal(api.model.localManager.running, false);
    assert.ok(
      shownSince(api, mark).every((m) => !/stopped unexpectedly/.test(m.message)),
      'a manager stopped on purpose is not reported as a crash',
    );
  });

  it('kills (SIGKILL) a manager that does not exit on SIGTERM within the grace period', async () => {
    await ensureLocalManager(api);
    const pid = api.model.localManager.info!.pid;
    // A stopped process cannot act on SIGTERM; only SIGKILL ends it.
    process.kill(pid, 'SIGSTOP');
    try {
      const started = Date.now();
      await extension.deactivate();
      // VS Code exits the extension host 5 s after asking it to deactivate: a manager still
      // running then would outlive the window.
      assert.ok(Date.now() - started < 5000, `deactivate() took ${Date.now() - started} ms; VS Code waits at most 5000 ms`);
      assert.equal(processExists(pid), false, `the manager (pid ${pid}) is gone once deactivate() resolves`);
      assert.equal(processGroupExists(pid), false, `no process is left in its process group ${pid}`);
    } finally {
      if (processExists(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('leaves a manager it only connected to running and reachable (and still stops its own)', async () => {
    await ensureLocalManager(api);
    const localPid = api.model.localManager.info!.pid;
    assert.ok(processExists(localPid), `the manager this window started (pid ${localPid}) runs before deactivation`);
    const { keyFile } = writeKeyFile();
    const { manager, port } = await startOutsideManager(keyFile);
    let client: TaskwireClient | undefined;
    try {
      const address = await vscode.commands.executeCommand<{ port: number } | undefined>('taskwire.manager.connect', { host: '127.0.0.1', port, authkeyFile: keyFile });
      assert.equal(address?.port, port, api.notifications.last?.message);
      await waitFor('the connection to the outside manager', () => api.model.connection.connected && !api.model.isLocal);

      await extension.deactivate();

      assert.equal(processExists(localPid), false, `the manager this window started (pid ${localPid}) is gone`);
      assert.equal(manager.exitCode, null, 'the outside manager has not exited');
      assert.equal(manager.signalCode, null, 'the outside manager was not signalled');
      assert.ok(processExists(manager.pid!), `the outside manager (pid ${manager.pid}) still runs`);
      // Reachable: a new client connects, authenticates and is answered.
      client = await connect({ host: '127.0.0.1', port, authkeyFile: keyFile, name: 'after-deactivate', role: 'monitor', reconnect: false });
      assert.ok(Array.isArray(await client.queues()));
    } finally {
      client?.close();
      await vscode.commands.executeCommand('taskwire.manager.disconnect');
      manager.kill('SIGKILL');
      rmSync(dirname(keyFile), { recursive: true, force: true });
    }
  });
});
