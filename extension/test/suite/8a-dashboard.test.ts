// The dashboard against a real manager with tasks flowing, in a real VS Code: what its webview's
// DOM shows is read back through DashboardPanel.describeRendered() (the webview answers a
// `describe` message with its titles, summaries, legends and point counts).
import * as assert from 'node:assert/strict';
import type { TaskwireClient } from 'taskwire';
import * as vscode from 'vscode';
import type { TaskwireApi } from '../../src/api';
import type { DashboardPanel, RenderedChart, RenderedDashboard } from '../../src/dashboard/dashboardPanel';
import { activateExtension, connectClient, ensureLocalManager, EXTENSION_ID, sleep, uniqueQueue, waitFor } from './helpers';

function chart(report: RenderedDashboard, title: string): RenderedChart | undefined {
  return report.charts.find((c) => c.title === title);
}

async function openDashboard(api: TaskwireApi): Promise<DashboardPanel> {
  await vscode.commands.executeCommand('taskwire.dashboard.open');
  return waitFor('the dashboard panel, visible', () => (api.dashboard.panel?.visible ? api.dashboard.panel : undefined));
}

/** The largest number in "at most 12.5/s". */
function peakRate(summary: string): number {
  return Number(/at most ([\d.]+)\/s/.exec(summary)?.[1] ?? Number.NaN);
}

describe('the dashboard', () => {
  let api: TaskwireApi;
  let producer: TaskwireClient;
  let worker: TaskwireClient;
  const queue = uniqueQueue('dash');

  before(async () => {
    api = await activateExtension();
    await ensureLocalManager(api);
    producer = await connectClient(api, `dash-producer-${process.pid}`, 'producer');
    worker = await connectClient(api, `dash-worker-${process.pid}`);
  });

  after(async () => {
    api.dashboard.panel?.dispose();
    producer?.close();
    worker?.close();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('opens as an editor panel with a strict Content-Security-Policy, loading only from media/dashboard', async () => {
    const panel = await openDashboard(api);
    const { webview } = panel.panel;
    const extensionUri = vscode.extensions.getExtension(EXTENSION_ID)!.extensionUri;
    assert.deepEqual(
      webview.options.localResourceRoots?.map((u) => u.toString()),
      [vscode.Uri.joinPath(extensionUri, 'media', 'dashboard').toString()],
    );
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(webview.html)?.[1];
    assert.ok(csp, 'no CSP meta tag');
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce, csp);
    assert.equal(csp, `default-src 'none'; img-src ${webview.cspSource} data:; style-src ${webview.cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}'`);
    // Every script carries the nonce; nothing is loaded from anywhere else.
    assert.deepEqual(webview.html.match(/<script[^>]*>/g), [
      `<script nonce="${nonce}" src="${webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'dashboard', 'dashboard.js')).toString()}">`,
    ]);
    // Everything the page loads is the extension's own, from media/dashboard/ (no CDN).
    const media = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'dashboard')).toString();
    const loaded = [...webview.html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(loaded.sort(), [`${media}/dashboard.css`, `${media}/dashboard.js`]);
    // The command on an open dashboard brings that one forward rather than opening another.
    await vscode.commands.executeCommand('taskwire.dashboard.open');
    assert.equal(api.dashboard.panel, panel);
  });

  it('draws a queue’s depth and throughput while tasks flow, with its current numbers in words', async () => {
    const panel = await openDashboard(api);
    const work = worker.queue(queue);
    const put = producer.queue(queue);
    let acked = 0;
    let nacked = 0;
    // About 4 seconds of traffic: 10 tasks every 200 ms, every fifth nacked without retry.
    for (let round = 0; round < 20; round++) {
      await put.putMany(Array.from({ length: 10 }, (_, i) => ({ payload: { round, i } })));
      for (const task of await work.getMany(10, { timeout: 5 })) {
        if ((acked + nacked) % 5 === 4) {
          await task.nack({ retry: false, error: 'not today' });
          nacked += 1;
        } else {
          await task.ack({ ok: true });
          acked += 1;
        }
      }
      await sleep(200);
    }
    assert.equal(acked + nacked, 200);
    // Then 7 tasks stay ready.
    await put.putMany(Array.from({ length: 7 }, (_, i) => ({ payload: { left: i } })));
    const stats = await waitFor('7 ready on the manager', async () => {
      const s = await work.stats();
      return s.ready === 7 && s.leased === 0 ? s : undefined;
    });

    const report = await waitFor(`the dashboard showing ${queue} with 7 ready`, async () => {
      const r = await panel.describeRendered();
      return chart(r, `${queue}: depth`)?.summary.startsWith(`${queue} depth now: 7 ready, 0 leased, 0 delayed, ${stats.dead} dead;`) ? r : undefined;
    });
    assert.equal(report.notice, null);
    assert.match(report.heading, /^Taskwire · 127\.0\.0\.1:\d+ · last 5 minutes$/);
    assert.ok(report.queues.includes(queue), JSON.stringify(report.queues));

    const depth = chart(report, `${queue}: depth`)!;
    assert.equal(depth.accessibleName, `${depth.title} ${depth.summary}`);
    assert.deepEqual(
      depth.lines.map((l) => l.legend),
      ['ready 7', 'leased 0', 'delayed 0', `dead ${stats.dead}`],
    );
    // One point a second since the queue appeared: several by now, the same for every state.
    assert.ok(depth.lines[0]!.points >= 3, JSON.stringify(depth));
    assert.ok(depth.lines.every((l) => l.points === depth.lines[0]!.points));
    assert.match(depth.axisMax, /^\d+$/);
    assert.ok(Number(depth.axisMax) >= 7, depth.axisMax);

    const throughput = chart(report, `${queue}: throughput`)!;
    assert.deepEqual(
      throughput.lines.map((l) => l.key),
      ['puts', 'acks', 'failures'],
    );
    assert.match(throughput.summary, new RegExp(`^${queue} throughput over the last step: [\\d.]+ puts/s, [\\d.]+ acks/s, [\\d.]+ failures/s; at most [\\d.]+/s over the last 5 minutes\\.$`));
    // 10 puts per ~200 ms round: a peak of at least 10/s, from events the extension received.
    assert.ok(peakRate(throughput.summary) >= 10, throughput.summary);
    assert.ok(
      throughput.lines.every((l) => l.points >= 3),
      JSON.stringify(throughput),
    );
    // The failures (nacks) were seen too: the history holds them, though the current step may be quiet.
    const failures = api.dashboard.recorder
      .snapshot()
      .queues.find((q) => q.queue === queue)!
      .samples.reduce((sum, s) => sum + (s?.rates.failures ?? 0), 0);
    assert.ok(Math.abs(failures - nacked) < 0.5 * nacked, `${failures} failures/s summed over steps of ~1 s for ${nacked} nacks`);
  });

  it('posts nothing while hidden, and redraws when shown again', async () => {
    const panel = await openDashboard(api);
    const document = await vscode.workspace.openTextDocument({ content: 'hides the dashboard', language: 'plaintext' });
    await vscode.window.showTextDocument(document, { viewColumn: panel.panel.viewColumn, preview: false });
    await waitFor('the dashboard to be hidden', () => !panel.visible);
    await assert.rejects(panel.describeRendered(), { message: 'the dashboard is not visible' });
    const posts = panel.posts;
    await producer.queue(queue).put('while hidden');
    await sleep(2500); // two or three samples go by
    assert.equal(panel.posts, posts);

    panel.reveal();
    await waitFor('the dashboard to redraw with 8 ready', async () => {
      if (!panel.visible) return undefined;
      const r = await panel.describeRendered();
      return chart(r, `${queue}: depth`)?.summary.startsWith(`${queue} depth now: 8 ready,`);
    });
    assert.ok(panel.posts > posts);
  });

  it('goes back as far as the setting taskwire.dashboard.minutes says, keeping what it has', async () => {
    const panel = await openDashboard(api);
    const config = vscode.workspace.getConfiguration('taskwire');
    const steps = api.dashboard.recorder.snapshot().times.length;
    await config.update('dashboard.minutes', 2, vscode.ConfigurationTarget.Global);
    try {
      const report = await waitFor('the 2-minute window', async () => {
        const r = await panel.describeRendered();
        return r.heading.endsWith(' · last 2 minutes') ? r : undefined;
      });
      assert.match(chart(report, `${queue}: depth`)!.summary, /over the last 2 minutes\.$/);
      assert.equal(api.dashboard.recorder.snapshot().windowMs, 120_000);
      assert.ok(api.dashboard.recorder.snapshot().times.length >= Math.min(steps, 120));
    } finally {
      await config.update('dashboard.minutes', undefined, vscode.ConfigurationTarget.Global);
    }
    await waitFor('the 5-minute window again', async () => (await panel.describeRendered()).heading.endsWith(' · last 5 minutes'));
  });

  it('says so when not connected, and draws again after reconnecting', async () => {
    const panel = await openDashboard(api);
    api.model.disconnect();
    const notice = await waitFor('the not-connected notice', async () => (await panel.describeRendered()).notice);
    assert.equal(notice, 'Not connected to a Taskwire manager: start one or connect from the Taskwire sidebar.');
    assert.deepEqual((await panel.describeRendered()).queues, []);
    await ensureLocalManager(api);
    await waitFor(`${queue} on the dashboard again`, async () => (await panel.describeRendered()).queues.includes(queue));
  });

  it('lets go of everything when closed', async () => {
    const panel = await openDashboard(api);
    const pending = panel.describeRendered();
    panel.panel.dispose(); // as the user closing the tab
    await assert.rejects(pending, (error: Error) => ['the dashboard was closed', 'the dashboard is not visible'].includes(error.message));
    await waitFor('the dashboard to be forgotten', () => api.dashboard.panel === undefined);
    await assert.rejects(panel.describeRendered(), { message: 'the dashboard is not visible' });
    // Opening again makes a fresh panel with the history recorded meanwhile.
    const again = await openDashboard(api);
    assert.notEqual(again, panel);
    await waitFor(`${queue} on the new dashboard`, async () => (await again.describeRendered()).queues.includes(queue));
  });
});
