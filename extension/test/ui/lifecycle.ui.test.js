'use strict';
// Closing the VS Code window, for real: the workbench (code-server's, in headless Chromium) is
// closed as a person closes the tab, and VS Code shuts the extension host down, deactivating
// the extension. The manager the window started must be gone, even one that ignores SIGTERM;
// a manager the window merely connected to must still run and answer.
const { strict: assert } = require('node:assert');
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { createInterface } = require('node:readline');
const { connect } = require('taskwire');
const { EXTENSION_ROOT, ensureCodeServer, freePort, launchBrowser, startCodeServer } = require('../launch/codeServer');
const { answer, eventually, openSidebar, runCommand, waitForRow } = require('./workbench');

function processExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** `taskwire serve` started by the test, as a user would in a terminal; resolves with its port. */
function startOutsideManager(keyFile) {
  const manager = spawn(process.execPath, [join(EXTENSION_ROOT, 'dist', 'server.js'), 'serve', '--port', '0', '--authkey-file', keyFile, '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise((resolve, reject) => {
    createInterface({ input: manager.stdout }).on('line', (line) => {
      const parsed = JSON.parse(line);
      if (parsed.message === 'ready' && parsed.port) resolve(parsed.port);
    });
    manager.once('exit', (code) => reject(new Error(`the outside manager exited (${code})`)));
  });
  return { manager, ready };
}

describe('closing the VS Code window (UI)', function () {
  this.timeout(240_000);
  let codeServerDir;
  const cleanups = [];

  before(() => {
    codeServerDir = ensureCodeServer();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('stops the manager the window started (SIGKILL when SIGTERM is ignored) and leaves one it connected to running', async () => {
    const keyDir = mkdtempSync(join(tmpdir(), 'taskwire-outside-'));
    cleanups.push(() => rmSync(keyDir, { recursive: true, force: true }));
    const key = randomBytes(16).toString('hex');
    const keyFile = join(keyDir, 'authkey');
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    const outside = startOutsideManager(keyFile);
    cleanups.push(() => outside.manager.kill('SIGKILL'));
    const outsidePort = await outside.ready;

    const localPort = await freePort();
    const server = await startCodeServer({
      codeServer: codeServerDir,
      settings: { 'taskwire.localManager.port': localPort, 'taskwire.host': '127.0.0.1', 'taskwire.port': outsidePort },
    });
    cleanups.push(() => server.stop());
    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    const page = await browser.context.newPage();
    await page.goto(server.url([['extensionDevelopmentPath', server.remote(EXTENSION_ROOT)]]));
    await openSidebar(page);

    // The window starts a manager of its own...
    await page.getByRole('button', { name: 'Start a local manager', exact: true }).click();
    const row = await waitForRow(page, 'Manager', /local \(pid \d+\)/, 60_000);
    const localPid = Number(/pid (\d+)/.exec(row)[1]);
    cleanups.push(() => processExists(localPid) && process.kill(localPid, 'SIGKILL'));

    // ...then connects to the outside one (the address comes from the settings, the key is typed).
    await runCommand(page, 'Taskwire: Connect to a Manager…');
    await answer(page, /connect to a manager/, `127.0.0.1:${outsidePort}`);
    await answer(page, /Pick a key file/, 'Enter the key');
    await answer(page, /authkey \(it is never sent/, key);
    await waitForRow(page, 'Manager', /^Manager\s*remote/, 60_000);
    await waitForRow(page, 'Manager', /^State\s*connected/);

    // A manager that does not act on SIGTERM (stopped) must still be gone: SIGKILL follows in time.
    process.kill(localPid, 'SIGSTOP');
    assert.ok(processExists(localPid), 'the local manager runs before the window closes');
    await page.close({ runBeforeUnload: true });

    await eventually(() => !processExists(localPid), `the manager the window started (pid ${localPid}) to be gone`, 20_000);
    assert.equal(outside.manager.exitCode, null, 'the outside manager has not exited');
    assert.equal(outside.manager.signalCode, null, 'the outside manager was not signalled');
    const client = await connect({ host: '127.0.0.1', port: outsidePort, authkeyFile: keyFile, name: 'after-close', role: 'monitor', reconnect: false });
    try {
      assert.ok(Array.isArray(await client.queues()), 'the outside manager answers');
    } finally {
      client.close();
    }
  });
});
