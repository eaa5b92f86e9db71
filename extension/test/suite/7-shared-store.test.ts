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
import { activateExtension, ensureLocalManager, freePort, labelOf, rootItems, startOutsideManager, waitFor, writeKeyFile } from './helpers';

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

describe('the sidebar on one of several managers of a Redis store', () => {
  let api: TaskwireApi;

  before(async () => {
    api = await activateExtension();
    await vscode.commands.executeCommand('taskwire.sidebar.show');
  });

  it('lists the workers of every manager, and says which other manager each is on', async () => {
    const redis = await startRedis();
    const { keyFile } = writeKeyFile();
    const managers: ChildProcess[] = [];
    let worker: TaskwireClient | undefined;
    try {
      const a = await startOutsideManager(keyFile, ['--store', redis.url]);
      managers.push(a.manager);
      const b = await startOutsideManager(keyFile, ['--store', redis.url]);
      managers.push(b.manager);
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
      for (const manager of managers) manager.kill('SIGKILL');
      redis.process.kill('SIGKILL');
      rmSync(redis.dir, { recursive: true, force: true });
    }
    await ensureLocalManager(api);
  });
});
