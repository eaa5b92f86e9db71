import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, type TaskwireClient } from 'taskwire';
import * as vscode from 'vscode';
import type { TaskwireApi } from '../../src/api';
import type { WorkerItem } from '../../src/views/workersView';
import { activateExtension, descriptionOf, ensureLocalManager, freePort, labelOf, rootItems, startOutsideManager, waitFor, writeKeyFile } from './helpers';

/** A redis-server of the test's own, on a free loopback port, in a directory of its own (stopped by pid). */
async function startRedis(): Promise<{ url: string; process: ChildProcess; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`redis-server could not start (scripts/setupTestTools.sh installs it): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (/Ready to accept connections/.test(line)) resolve();
    });
  });
  return { url: `redis://127.0.0.1:${port}`, process: child, dir };
}

/** Two managers (`taskwire serve --store`) on a Redis of their own, sharing a key file; `stop` ends all three. */
async function twoManagersOnRedis(): Promise<{ a: { manager: ChildProcess; port: number }; b: { manager: ChildProcess; port: number }; keyFile: string; stop(): void }> {
  const redis = await startRedis();
  const { keyFile } = writeKeyFile();
  const managers: ChildProcess[] = [];
  const stop = () => {
    for (const manager of managers) manager.kill('SIGKILL');
    redis.process.kill('SIGKILL');
    rmSync(redis.dir, { recursive: true, force: true });
  };
  try {
    const a = await startOutsideManager(keyFile, ['--store', redis.url]);
    managers.push(a.manager);
    const b = await startOutsideManager(keyFile, ['--store', redis.url]);
    managers.push(b.manager);
    return { a, b, keyFile, stop };
  } catch (error) {
    stop();
    throw error;
  }
}

describe('the sidebar on one of several managers of a Redis store', () => {
  let api: TaskwireApi;

  before(async () => {
    api = await activateExtension();
    await vscode.commands.executeCommand('taskwire.sidebar.show');
  });

  it('lists the workers of every manager, and says which other manager each is on', async () => {
    const { a, b, keyFile, stop } = await twoManagersOnRedis();
    let worker: TaskwireClient | undefined;
    try {
      const address = await vscode.commands.executeCommand<{ port: number }>('taskwire.manager.connect', { host: '127.0.0.1', port: a.port, authkeyFile: keyFile });
      assert.equal(address?.port, a.port, api.notifications.last?.message);

      const name = `worker-on-b-${process.pid}`;
      worker = await connect({ host: '127.0.0.1', port: b.port, authkeyFile: keyFile, name, role: 'worker', reconnect: false });
      const other = worker.managerId!;
      const item = await waitFor('the worker on the other manager in the Workers view', async () => (await rootItems<WorkerItem>(api.views.workers)).find((i) => labelOf(i) === name));
      assert.match(String(item.description), new RegExp(`^worker · typescript \\(node [\\d.]+\\) · \\S+ pid \\d+ · holds 0 · done 0 · on ${other}$`));
      assert.ok((item.tooltip as vscode.MarkdownString).value.includes(`| manager | ${other} |`));
      // This window's own session is on this manager: no "on …".
      const self = await waitFor('this window in the Workers view', async () => (await rootItems<WorkerItem>(api.views.workers)).find((i) => String(i.description).includes('(this window)')));
      assert.doesNotMatch(String(self.description), / · on /);

      worker.close();
      await waitFor('the worker to leave the view', async () => !(await rootItems<WorkerItem>(api.views.workers)).some((i) => labelOf(i) === name));
    } finally {
      worker?.close();
      await vscode.commands.executeCommand('taskwire.manager.disconnect');
      stop();
    }
    await ensureLocalManager(api);
  });

  it('connects to several managers of the store and moves to the next when the one in use goes away', async () => {
    const { a, b, keyFile, stop } = await twoManagersOnRedis();
    let producer: TaskwireClient | undefined;
    try {
      const list = `127.0.0.1:${a.port},127.0.0.1:${b.port}`;
      const address = await vscode.commands.executeCommand<{ port: number }>('taskwire.manager.connect', { host: list, authkeyFile: keyFile });
      assert.equal(address?.port, a.port, api.notifications.last?.message);
      assert.equal(await descriptionOf(api.views.manager, 'Address'), `127.0.0.1:${a.port} (+1 more manager)`);
      // Terminals get the list, as every client reads TASKWIRE_HOST.
      assert.equal(api.model.terminalVariables()['TASKWIRE_HOST'], list);
      assert.equal(await api.model.keys.get('127.0.0.1', b.port), await api.model.keys.get('127.0.0.1', a.port), 'the key is stored for each manager');

      a.manager.kill('SIGKILL');
      await waitFor('the connection on the second manager', () => api.model.connection.connected && api.model.connection.address?.port === b.port);
      assert.equal(await descriptionOf(api.views.manager, 'Address'), `127.0.0.1:${b.port} (+1 more manager)`);
      assert.equal(await descriptionOf(api.views.manager, 'State'), 'connected');
      // Still the whole store: a task put through the second manager shows in the Queues view.
      const queue = `failover-${process.pid}`;
      producer = await connect({ host: '127.0.0.1', port: b.port, authkeyFile: keyFile, name: 'producer-on-b', role: 'producer', reconnect: false });
      await producer.queue(queue).put('after the failover');
      await waitFor('the queue in the Queues view', async () => (await rootItems(api.views.queues)).some((i) => labelOf(i) === queue));
    } finally {
      producer?.close();
      await vscode.commands.executeCommand('taskwire.manager.disconnect');
      stop();
    }
    await ensureLocalManager(api);
  });
});
