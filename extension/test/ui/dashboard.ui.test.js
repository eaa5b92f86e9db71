'use strict';
// The dashboard as a person sees it, in a real VS Code (code-server's workbench in headless
// Chromium): start a local manager from the sidebar, let two worker processes and a producer
// run, open "Taskwire: Open Dashboard" from the palette, read the charts out of the webview's
// DOM, check that the Content-Security-Policy refused nothing, and save a screenshot
// (test-output/screenshots/6-dashboard.png; the one in the READMEs is a copy of it:
// extension/media/screenshots/dashboard.png).
const { strict: assert } = require('node:assert');
const { spawn } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { connect } = require('taskwire');
const { EXTENSION_ROOT, ensureCodeServer, freePort, launchBrowser, startCodeServer } = require('../launch/codeServer');
const { eventually, openSidebar, runCommand, viewRows, waitForRow } = require('./workbench');

const REPO_ROOT = resolve(EXTENSION_ROOT, '..');
const SCREENSHOTS = join(REPO_ROOT, 'test-output', 'screenshots');

function findFile(dir, name) {
  if (!existsSync(dir)) return undefined;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name === name) return join(entry.parentPath, entry.name);
  }
  return undefined;
}

/** The frame holding the dashboard's page (webviews nest an iframe in an iframe). */
async function dashboardFrame(page) {
  return eventually(async () => {
    for (const frame of page.frames()) {
      if (
        (await frame
          .locator('main#queues')
          .count()
          .catch(() => 0)) > 0
      )
        return frame;
    }
    return undefined;
  }, 'the dashboard webview');
}

describe('the Taskwire dashboard in VS Code (UI)', function () {
  this.timeout(300_000);
  const cleanups = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('draws live depth and throughput for each queue, follows the theme and refuses nothing under its CSP', async () => {
    const codeServerDir = ensureCodeServer();
    mkdirSync(SCREENSHOTS, { recursive: true });
    const port = await freePort();
    const server = await startCodeServer({ codeServer: codeServerDir, settings: { 'taskwire.localManager.port': port, 'taskwire.port': port, 'taskwire.dashboard.minutes': 1 } });
    cleanups.push(() => server.stop());
    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    const page = await browser.context.newPage();
    const refused = [];
    page.on('console', (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) refused.push(message.text());
    });
    await page.goto(server.url([['extensionDevelopmentPath', server.remote(EXTENSION_ROOT)]]));
    await openSidebar(page);
    await page.getByRole('button', { name: 'Start a local manager', exact: true }).click();
    await waitForRow(page, 'Manager', /^State\s*connected/, 60_000);
    cleanups.push(async () => {
      const row = (await viewRows(page, 'Manager').catch(() => [])).find((text) => /\(pid \d+\)/.test(text));
      if (row) process.kill(Number(/pid (\d+)/.exec(row)[1]), 'SIGTERM');
    });
    const keyFile = await eventually(() => findFile(server.userDataDir, 'authkey'), 'the key file in global storage');

    // Two quickstart workers on "tasks" (about 10 tasks/s each) ...
    for (let i = 0; i < 2; i++) {
      const worker = spawn(process.execPath, [join(REPO_ROOT, 'samples', 'quickstart', 'worker.js')], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, TASKWIRE_PORT: String(port), TASKWIRE_AUTHKEY_FILE: keyFile, IDLE_TIMEOUT: '300' },
        stdio: 'ignore',
      });
      cleanups.push(() => worker.kill('SIGKILL'));
    }
    // ... a producer a little faster than they are, and a worker on "emails" that fails one in four.
    const client = await connect({ port, authkeyFile: keyFile, name: 'dashboard-ui-producer', reconnect: false });
    cleanups.push(() => client.close());
    let producing = true;
    const produce = (async () => {
      for (let n = 0; producing; n++) {
        await client.queue('tasks').putMany(Array.from({ length: 6 }, (_, i) => ({ payload: `image_${n}_${i}` })));
        if (n % 2 === 0) await client.queue('emails').putMany(Array.from({ length: 4 }, (_, i) => ({ payload: { to: `user${n}_${i}@example.com` } })));
        await new Promise((r) => setTimeout(r, 250));
      }
    })().catch(() => undefined);
    const mailer = await connect({ port, authkeyFile: keyFile, name: 'dashboard-ui-mailer', reconnect: false });
    cleanups.push(() => mailer.close());
    let sent = 0;
    void mailer
      .queue('emails')
      .work(async () => {
        sent += 1;
        if (sent % 4 === 0) throw new Error('mailbox full');
        return 'sent';
      })
      .catch(() => undefined);
    cleanups.push(async () => {
      producing = false;
      await produce;
    });

    await runCommand(page, 'Taskwire: Open Dashboard');
    const frame = await dashboardFrame(page);
    await eventually(async () => {
      const queues = await frame.locator('section.queue h2').allInnerTexts();
      return queues.includes('tasks') && queues.includes('emails');
    }, 'the tasks and emails queues on the dashboard');

    // Let the charts fill for most of the window, as someone watching would.
    await page.waitForTimeout(45_000);
    const titles = await frame.locator('svg[role="img"] > title').allTextContents();
    assert.deepEqual(titles.filter((t) => /^(tasks|emails):/.test(t)).sort(), ['emails: depth', 'emails: throughput', 'tasks: depth', 'tasks: throughput']);
    const summaries = await frame.locator('svg[role="img"] > desc').allTextContents();
    const tasksDepth = summaries.find((s) => s.startsWith('tasks depth now:'));
    assert.match(tasksDepth, /^tasks depth now: \d+ ready, \d+ leased, 0 delayed, 0 dead; at most \d+ in one state over the last minute\.$/);
    const tasksThroughput = summaries.find((s) => s.startsWith('tasks throughput'));
    const peak = Number(/at most ([\d.]+)\/s/.exec(tasksThroughput)[1]);
    assert.ok(peak >= 10, tasksThroughput);
    // The lines are drawn, one point a second: 45 s of flow make well over 10 of them.
    const acksPath = await frame.locator('figure[data-chart^="throughput"] path[data-key="acks"]').first().getAttribute('d');
    assert.ok(acksPath.split(/[ML]/).length > 10, acksPath);
    // Theme colours arrive through the CSS variables VS Code sets on the page.
    const stroke = await frame
      .locator('path[data-key="ready"]')
      .first()
      .evaluate((node) => getComputedStyle(node).stroke);
    assert.match(stroke, /^rgb/);
    const background = await frame.locator('body').evaluate((node) => getComputedStyle(node).backgroundColor);
    assert.notEqual(background, 'rgba(0, 0, 0, 0)');
    // The window is the setting's (1 minute here), on the time axis too.
    assert.deepEqual(await frame.locator('.x-axis').first().locator('span').allInnerTexts(), ['−1 min', 'now']);
    assert.deepEqual(refused, []);

    await page.screenshot({ path: join(SCREENSHOTS, '6-dashboard.png') });
  });
});
