'use strict';
// Clicks through the Taskwire sidebar in a real VS Code (code-server's workbench in headless
// Chromium) as a person would: a port-in-use error, start a local manager, see a worker
// appear, enqueue a task, see its result. Saves a screenshot of each view under
// test-output/screenshots. A second test installs the packaged .vsix and uses it.
const { strict: assert } = require('node:assert');
const { execFileSync, spawn } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync } = require('node:fs');
const { createServer } = require('node:net');
const { join, resolve } = require('node:path');
const { EXTENSION_ROOT, ensureCodeServer, freePort, launchBrowser, startCodeServer } = require('../launch/codeServer');
const { answer, eventually, openSidebar, runCommand, viewRows, waitForRow } = require('./workbench');

const REPO_ROOT = resolve(EXTENSION_ROOT, '..');
const OUTPUT = join(REPO_ROOT, 'test-output');
const SCREENSHOTS = join(OUTPUT, 'screenshots');

/** Finds a file named `name` below `dir`. */
function findFile(dir, name) {
  if (!existsSync(dir)) return undefined;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name === name) return join(entry.parentPath, entry.name);
  }
  return undefined;
}

/**
 * Cleanup kills code-server with SIGKILL: its extension host ends without deactivating the
 * extension, and a local manager outlives that by design (a crash of either side must not take
 * the other down), so each test stops the one it started: the pid is on the Manager view's row.
 */
async function stopLocalManager(page) {
  const rows = await viewRows(page, 'Manager').catch(() => []);
  const row = rows.find((text) => /\(pid \d+\)/.test(text));
  const pid = row && Number(/pid (\d+)/.exec(row)[1]);
  if (pid) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

describe('the Taskwire sidebar in VS Code (UI)', function () {
  this.timeout(240_000);
  let codeServerDir;
  const cleanups = [];

  before(() => {
    codeServerDir = ensureCodeServer();
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('starts a manager, shows a worker and a result, and explains a port in use', async () => {
    const port = await freePort();
    const server = await startCodeServer({ codeServer: codeServerDir, settings: { 'taskwire.localManager.port': port, 'taskwire.port': port } });
    cleanups.push(() => server.stop());
    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    const page = await browser.context.newPage();
    await page.goto(server.url([['extensionDevelopmentPath', server.remote(EXTENSION_ROOT)]]));
    await openSidebar(page);
    await page.getByRole('button', { name: 'Start a local manager', exact: true }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, '1-welcome.png') });

    // An error a user can meet: the port is taken by something else.
    const blocker = createServer().listen(port, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    await page.getByRole('button', { name: 'Start a local manager', exact: true }).click();
    const toast = page.locator('.notification-toast').filter({ hasText: /already in use/ });
    await toast.waitFor({ timeout: 30_000 });
    await page.waitForTimeout(800); // the toast slides in; let it settle for the picture
    await page.screenshot({ path: join(SCREENSHOTS, '2-error-port-in-use.png') });
    await new Promise((r) => blocker.close(r));
    await page.keyboard.press('Escape');
    await toast
      .locator('.codicon-notifications-clear, .codicon-close')
      .first()
      .click()
      .catch(() => {});

    // Start it for real.
    await page.getByRole('button', { name: 'Start a local manager', exact: true }).click();
    await waitForRow(page, 'Manager', /^State\s*connected/, 60_000);
    cleanups.push(() => stopLocalManager(page));
    const keyFile = await eventually(() => findFile(server.userDataDir, 'authkey'), 'the key file in global storage');

    // A worker started outside VS Code (as in a terminal) appears in the Workers view.
    const worker = spawn(process.execPath, [join(REPO_ROOT, 'samples', 'quickstart', 'worker.js')], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, TASKWIRE_PORT: String(port), TASKWIRE_AUTHKEY_FILE: keyFile, IDLE_TIMEOUT: '120' },
      stdio: 'ignore',
    });
    cleanups.push(() => worker.kill('SIGKILL'));
    await waitForRow(page, 'Workers', /quickstart-worker/);

    // Enqueue from the palette; the worker acks with a result that shows in Results.
    await runCommand(page, 'Taskwire: Enqueue a Task…');
    await answer(page, /enqueue a task on/, 'tasks');
    await answer(page, /The payload: JSON/, '"image_url_0"');
    await waitForRow(page, 'Results', /image_url_0 ---> success/);
    await waitForRow(page, 'Queues', /tasks/);
    await page.screenshot({ path: join(SCREENSHOTS, '3-workers-and-results.png') });

    // The worker leaves: it disappears from the Workers view.
    worker.kill('SIGKILL');
    await eventually(async () => !(await viewRows(page, 'Workers')).some((t) => /quickstart-worker/.test(t)), 'the worker to leave the Workers view');
    await page.screenshot({ path: join(SCREENSHOTS, '4-worker-gone.png') });
  });

  it('installs the packaged .vsix and starts a manager from it', async () => {
    const vsix = join(OUTPUT, 'taskwire-vscode.vsix');
    execFileSync('npx', ['vsce', 'package', '--no-dependencies', '--out', vsix], { cwd: EXTENSION_ROOT, stdio: 'pipe' });
    assert.ok(existsSync(vsix), 'vsce produced no .vsix');
    const port = await freePort();
    const server = await startCodeServer({ codeServer: codeServerDir, settings: { 'taskwire.localManager.port': port, 'taskwire.port': port } });
    cleanups.push(() => server.stop());
    const installed = execFileSync(process.execPath, [join(codeServerDir, 'out', 'node', 'entry.js'), '--install-extension', vsix, '--extensions-dir', server.extensionsDir], { encoding: 'utf8' });
    assert.match(installed, /successfully installed/i);
    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    const page = await browser.context.newPage();
    await page.goto(server.url());
    await openSidebar(page);
    await runCommand(page, 'Taskwire: Start a Local Manager');
    await waitForRow(page, 'Manager', /^State\s*connected/, 60_000);
    cleanups.push(() => stopLocalManager(page));
    await page.screenshot({ path: join(SCREENSHOTS, '5-installed-vsix.png') });
  });
});
