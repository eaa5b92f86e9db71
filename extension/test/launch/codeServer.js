'use strict';
// Runs a real VS Code offline: the VS Code build inside the npm package code-server, driven by
// Debian's Chromium through playwright-core. Shared by the suite launcher, the UI tests and
// the .vsix test. See extension/scripts/setupVscode.sh for how that VS Code is installed.
const { execFileSync, spawn } = require('node:child_process');
const { mkdirSync, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { createServer, connect } = require('node:net');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const EXTENSION_ROOT = resolve(__dirname, '..', '..');
const CHROMIUM = process.env.TASKWIRE_CHROMIUM || '/usr/bin/chromium';

/** Installs code-server and Chromium once (skipped when present); returns code-server's folder. */
function ensureCodeServer() {
  const output = execFileSync('bash', [join(EXTENSION_ROOT, 'scripts', 'setupVscode.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return output.trim().split('\n').pop();
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolveWait, reject) => {
    const attempt = () => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolveWait();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`code-server did not listen on ${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

/**
 * Starts code-server on a free loopback port with fresh user data and extension folders.
 * Returns { port, url(payload), userDataDir, extensionsDir, workspace, log(), stop() }.
 */
async function startCodeServer(options = {}) {
  const codeServer = options.codeServer || ensureCodeServer();
  const base = mkdtempSync(join(tmpdir(), 'taskwire-vscode-'));
  const userDataDir = join(base, 'user-data');
  const extensionsDir = options.extensionsDir || join(base, 'extensions');
  const workspace = join(base, 'workspace');
  for (const dir of [userDataDir, extensionsDir, workspace]) mkdirSync(dir, { recursive: true });
  // Settings for a quiet workbench: no welcome page, no trust prompt, no telemetry banners.
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  writeFileSync(
    join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'workbench.tips.enabled': false,
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      ...options.settings,
    }),
  );
  const port = await freePort();
  const config = join(base, 'config.yaml');
  writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  let log = '';
  const child = spawn(
    process.execPath,
    [
      join(codeServer, 'out', 'node', 'entry.js'),
      '--config',
      config,
      '--user-data-dir',
      userDataDir,
      '--extensions-dir',
      extensionsDir,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      workspace,
    ],
    // Its own process group: killing the group also ends its file-watcher children.
    { detached: true, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  await waitForPort(port, 60_000);
  const origin = `http://127.0.0.1:${port}`;
  return {
    port,
    userDataDir,
    extensionsDir,
    workspace,
    log: () => log,
    /** The workbench URL, with an optional payload (extensionDevelopmentPath, extensionTestsPath). */
    url(payload) {
      const query = new URLSearchParams({ folder: workspace });
      if (payload) query.set('payload', JSON.stringify(payload));
      return `${origin}/?${query}`;
    },
    /** A path on this machine as the workbench addresses it. */
    remote(path) {
      return `vscode-remote://127.0.0.1:${port}${path}`;
    },
    async stop() {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      if (!options.keep) rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Headless Chromium with the flags this offline machine needs. */
async function launchBrowser() {
  const { chromium } = require('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'taskwire-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

module.exports = { EXTENSION_ROOT, ensureCodeServer, startCodeServer, launchBrowser, freePort };
