import * as assert from 'node:assert/strict';
import type { Server } from 'node:net';
import * as vscode from 'vscode';
import type { TaskwireApi } from '../../src/api';
import { activateExtension, ensureLocalManager, freePort, listen, waitFor, waitForNotification } from './helpers';

describe('errors a user sees', () => {
  let api: TaskwireApi;

  before(async () => {
    api = await activateExtension();
  });

  after(async () => {
    await ensureLocalManager(api);
  });

  it('starting a manager on a port in use says so, offering to connect or use another port', async () => {
    const busy: Server = await listen(0);
    const port = (busy.address() as { port: number }).port;
    try {
      await vscode.commands.executeCommand('taskwire.manager.stop');
      const mark = new Date();
      const result = await vscode.commands.executeCommand('taskwire.manager.start', { port });
      assert.equal(result, undefined);
      const message = await waitForNotification(api, mark, /already in use/);
      assert.equal(message.severity, 'error');
      assert.match(message.message, new RegExp(`^Port ${port} is already in use`));
      assert.deepEqual(message.actions, ['Connect to it', 'Use another port…']);
      assert.equal(api.model.localManager.running, false);
      assert.notEqual(api.model.connection.status, 'connected');
      assert.equal(await api.model.keys.get('127.0.0.1', port), undefined, 'no key is made up for a manager that is not ours');
    } finally {
      busy.close();
    }
  });

  it('a second start while a local manager runs connects to it instead of starting another', async () => {
    const first = await ensureLocalManager(api);
    const pid = api.model.localManager.info!.pid;
    const again = await vscode.commands.executeCommand<{ port: number }>('taskwire.manager.start', { port: 0 });
    assert.equal(again.port, first.port);
    assert.equal(api.model.localManager.info!.pid, pid);
  });

  it('connecting where nobody listens says connection refused, with Retry', async () => {
    const port = await freePort();
    const mark = new Date();
    const result = await vscode.commands.executeCommand('taskwire.manager.connect', { host: '127.0.0.1', port, authkey: 'any key' });
    assert.equal(result, undefined);
    const message = await waitForNotification(api, mark, /connection refused/);
    assert.equal(message.severity, 'error');
    assert.match(message.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.ok(message.actions.includes('Retry'));
    assert.equal(api.model.connection.status, 'disconnected');
    assert.equal(await api.model.keys.get('127.0.0.1', port), undefined, 'a key that never worked is not stored');
  });

  it('several managers, none listening: the reason of each in one notification, with Retry; a malformed list is refused by name', async () => {
    const [first, second] = [await freePort(), await freePort()];
    const mark = new Date();
    const result = await vscode.commands.executeCommand('taskwire.manager.connect', { host: `127.0.0.1:${first},127.0.0.1:${second}`, authkey: 'any key' });
    assert.equal(result, undefined);
    const message = await waitForNotification(api, mark, /any of the Taskwire managers/);
    assert.equal(message.severity, 'error');
    assert.match(
      message.message,
      new RegExp(
        `^Cannot connect to any of the Taskwire managers at 127\\.0\\.0\\.1:${first}, 127\\.0\\.0\\.1:${second}: 127\\.0\\.0\\.1:${first}: connection refused.*; 127\\.0\\.0\\.1:${second}: connection refused`,
      ),
    );
    assert.ok(message.actions.includes('Retry'));
    assert.equal(api.model.connection.status, 'disconnected');

    const malformed = new Date();
    await vscode.commands.executeCommand('taskwire.manager.connect', { host: `127.0.0.1:${first},:7400`, authkey: 'any key' });
    const refusal = await waitForNotification(api, malformed, /Invalid Taskwire manager address/);
    assert.equal(refusal.message, `Invalid Taskwire manager address "127.0.0.1:${first},:7400": expected host, host:port, or several managers as host:port,host:port.`);
  });

  it('a wrong key says authentication failed and keeps the right key', async () => {
    const address = await ensureLocalManager(api);
    const rightKey = await api.model.keys.get('127.0.0.1', address.port);
    const mark = new Date();
    await vscode.commands.executeCommand('taskwire.manager.connect', { host: '127.0.0.1', port: address.port, authkey: 'not-the-key' });
    const message = await waitForNotification(api, mark, /authentication failed/);
    assert.equal(message.severity, 'error');
    assert.deepEqual(message.actions, ['Enter the key…', 'Pick a key file…']);
    assert.equal(await api.model.keys.get('127.0.0.1', address.port), rightKey);
    assert.equal(api.model.connection.connected, false);
    // The stored key still works.
    await vscode.commands.executeCommand('taskwire.manager.connect', { host: '127.0.0.1', port: address.port });
    await waitFor('connected again', () => api.model.connection.connected && api.model.isLocal);
  });

  it('a manager without a stored key asks for one, with a way forward', async () => {
    // Not 127.0.0.1: on this machine the default key file ~/.taskwire/authkey would be tried.
    const mark = new Date();
    await vscode.commands.executeCommand('taskwire.manager.connect', { host: '127.0.0.2', port: await freePort() });
    const message = await waitForNotification(api, mark, /No key for/);
    assert.deepEqual(message.actions, ['Enter the key…', 'Pick a key file…']);
    assert.match(message.message, /127\.0\.0\.2:\d+/);
  });

  it('queue commands without a connection say what to do', async () => {
    await vscode.commands.executeCommand('taskwire.manager.disconnect');
    await waitFor('disconnected', () => api.model.connection.status === 'disconnected');
    const mark = new Date();
    const id = await vscode.commands.executeCommand('taskwire.queue.enqueue', 'tasks', '1');
    assert.equal(id, undefined);
    const message = await waitForNotification(api, mark, /not connected/);
    assert.deepEqual(message.actions, ['Start a local manager', 'Connect to a manager…']);
  });
});
