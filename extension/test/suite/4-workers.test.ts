import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TaskwireClient } from 'taskwire';
import * as vscode from 'vscode';
import type { TaskwireApi } from '../../src/api';
import type { WorkerItem } from '../../src/views/workersView';
import { activateExtension, connectClient, EXTENSION_ID, ensureLocalManager, labelOf, rootItems, uniqueQueue, waitFor } from './helpers';

async function workerNamed(api: TaskwireApi, name: string): Promise<WorkerItem | undefined> {
  return (await rootItems<WorkerItem>(api.views.workers)).find((i) => labelOf(i) === name);
}

describe('the Workers view', () => {
  let api: TaskwireApi;

  before(async () => {
    api = await activateExtension();
    await vscode.commands.executeCommand('taskwire.sidebar.show');
    await ensureLocalManager(api);
  });

  it('lists this window as a monitor', async () => {
    const self = await waitFor('this window in the Workers view', async () => (await rootItems<WorkerItem>(api.views.workers)).find((i) => String(i.description).includes('(this window)')));
    assert.equal(self.client.role, 'monitor');
  });

  it('shows a worker that connects, what it holds and has done, and drops it when it leaves', async () => {
    const name = `resize-worker-${process.pid}`;
    const queue = uniqueQueue('work');
    const worker: TaskwireClient = await connectClient(api, name);
    try {
      const item = await waitFor('the worker in the Workers view', () => workerNamed(api, name));
      assert.equal(item.client.role, 'worker');
      assert.match(String(item.description), /^worker · typescript \(node [\d.]+\) · \S+ pid \d+ · holds 0 · done 0$/);
      const tooltip = (item.tooltip as vscode.MarkdownString).value;
      for (const field of ['role', 'language', 'host', 'pid', 'address', 'tasks held', 'tasks done', 'connected since']) assert.ok(tooltip.includes(`| ${field} |`), field);

      await vscode.commands.executeCommand('taskwire.queue.enqueue', queue, '"job"');
      const task = await worker.queue(queue).get({ timeout: 10 });
      await waitFor('holds 1', async () => String((await workerNamed(api, name))?.description).includes('holds 1'));
      await task.ack('done');
      await waitFor('done 1', async () => String((await workerNamed(api, name))?.description).includes('holds 0 · done 1'));
    } finally {
      worker.close();
    }
    await waitFor('the worker to leave the view', async () => (await workerNamed(api, name)) === undefined);
  });

  it('shows the progress a worker reports on its task, live, and drops it when the task is acked', async () => {
    const name = `crawl-worker-${process.pid}`;
    const queue = uniqueQueue('progress');
    const worker: TaskwireClient = await connectClient(api, name);
    try {
      await vscode.commands.executeCommand('taskwire.queue.enqueue', queue, '"https://example.com/"');
      const task = await worker.queue(queue).get({ timeout: 10 });
      await task.progress(40, 'fetching page 2');
      const item = await waitFor('40% in the Workers view', async () => {
        const found = await workerNamed(api, name);
        return String(found?.description).includes('40%') ? found : undefined;
      });
      assert.match(String(item!.description), /^worker · typescript \(node [\d.]+\) · \S+ pid \d+ · holds 1 · done 0 · ▰▰▰▰▱▱▱▱▱▱ 40% fetching page 2$/);
      assert.ok((item!.tooltip as vscode.MarkdownString).value.includes(`| task ${queue}#${task.id} | ▰▰▰▰▱▱▱▱▱▱ 40% fetching page 2 |`), (item!.tooltip as vscode.MarkdownString).value);

      // A later report replaces it (from the progress event, without reading the registry again).
      await new Promise((resolve) => setTimeout(resolve, 300));
      await task.progress({ percent: 75, message: 'parsing' });
      await waitFor('75% in the Workers view', async () => String((await workerNamed(api, name))?.description).endsWith('holds 1 · done 0 · ▰▰▰▰▰▰▰▰▱▱ 75% parsing'));

      await task.ack('done');
      await waitFor('the progress to go with the ack', async () => String((await workerNamed(api, name))?.description).endsWith('holds 0 · done 1'));
    } finally {
      worker.close();
    }
  });

  it('shows a worker process started with the TASKWIRE_* variables a terminal gets', async () => {
    const queue = uniqueQueue('process');
    const serverJs = join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'server.js');
    // `taskwire get --create` waits for a task on a queue yet to be made, as a worker does; the environment is what new terminals get.
    const { TASKWIRE_AUTHKEY: _ignored, ...env } = process.env;
    const child = spawn(process.execPath, [serverJs, 'get', queue, '--timeout', '60', '--payload', '--create'], {
      env: { ...env, ...api.model.terminalVariables(), ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await waitFor('the CLI client in the Workers view', async () => (await rootItems<WorkerItem>(api.views.workers)).find((i) => i.client.name === 'taskwire-cli' && i.client.pid === child.pid));
      await vscode.commands.executeCommand('taskwire.queue.enqueue', queue, '{"from": "vscode"}');
      assert.equal(await exited, 0, output);
      assert.deepEqual(JSON.parse(output), { from: 'vscode' });
      await waitFor('the CLI client to leave', async () => !(await rootItems<WorkerItem>(api.views.workers)).some((i) => i.client.pid === child.pid));
    } finally {
      child.kill();
    }
  });
  it('Quiet on a worker makes the manager hand it no task and its row shows quiet; Stop (confirmed) makes it stopping', async () => {
    const name = `quiet-worker-${process.pid}`;
    const queue = uniqueQueue('quiet');
    const worker: TaskwireClient = await connectClient(api, name);
    const states: string[] = [];
    worker.on('state', (state: string) => states.push(state));
    try {
      const item = await waitFor('the worker in the Workers view', () => workerNamed(api, name));
      assert.equal(item.contextValue, 'taskwire.client.worker.active', 'Quiet and Stop are offered on an active worker');
      const self = (await rootItems<WorkerItem>(api.views.workers)).find((i) => String(i.description).includes('(this window)'));
      assert.equal(self?.contextValue, 'taskwire.client.monitor', 'but not on this window itself');

      const result = await vscode.commands.executeCommand<{ state: string; notified: boolean }>('taskwire.worker.quiet', item);
      assert.deepEqual({ state: result?.state, notified: result?.notified }, { state: 'quiet', notified: true });
      const quiet = await waitFor('the row to show quiet', async () => {
        const row = await workerNamed(api, name);
        return row?.client.state === 'quiet' ? row : undefined;
      });
      assert.match(String(quiet.description), /^worker · quiet · typescript/);
      assert.equal((quiet.iconPath as vscode.ThemeIcon).id, 'debug-pause');
      assert.equal(quiet.contextValue, 'taskwire.client.worker.quiet', 'Quiet is no longer offered; Stop still is');
      assert.ok((quiet.tooltip as vscode.MarkdownString).value.includes('| state | quiet |'));
      await waitFor('the worker told it is quiet', () => (states.includes('quiet') ? true : undefined));
      await vscode.commands.executeCommand('taskwire.queue.enqueue', queue, '"job"');
      assert.deepEqual(await worker.queue(queue).getMany(1, { timeout: 0.5 }), [], 'the manager hands a quiet worker nothing');

      await vscode.commands.executeCommand('taskwire.worker.stop', quiet, { confirm: true });
      const stopping = await waitFor('the row to show stopping', async () => {
        const row = await workerNamed(api, name);
        return row?.client.state === 'stopping' ? row : undefined;
      });
      assert.match(String(stopping.description), /^worker · stopping · /);
      assert.equal((stopping.iconPath as vscode.ThemeIcon).id, 'debug-stop');
    } finally {
      worker.close();
    }
    await waitFor('the worker to leave the view', async () => (await workerNamed(api, name)) === undefined);
  });
});
