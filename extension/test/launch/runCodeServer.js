#!/usr/bin/env node
'use strict';
// Runs the extension's mocha suite (test/suite/index.js, the same one @vscode/test-electron
// runs) inside the VS Code bundled by code-server: the workbench in headless Chromium loads
// the extension in development mode with the suite as its tests, in a real Node extension
// host. Exits with the suite's exit code; the suite's output arrives as console messages.
const { join } = require('node:path');
const { EXTENSION_ROOT, launchBrowser, startCodeServer } = require('./codeServer');

const SUITE = join(EXTENSION_ROOT, 'dist', 'test', 'suite', 'index.js');
const TIMEOUT_MS = Number(process.env.TASKWIRE_SUITE_TIMEOUT_MS || 15 * 60 * 1000);

async function main() {
  const server = await startCodeServer();
  const browser = await launchBrowser();
  let exitCode = 1;
  try {
    const page = await browser.context.newPage();
    const finished = new Promise((resolve) => {
      // The workbench calls this with the test run's exit code (as in VS Code's own browser tests).
      void page.exposeFunction('codeAutomationExit', (code) => resolve(Number(code)));
    });
    page.on('console', (message) => {
      // The extension host's console arrives with the workbench's CSS styling: "%c INFO color: #33f ...".
      const text = message.text().replace(/^%c\s*\w+\s+color:\s*#\w+\s?/, '');
      // The suite's own output; the workbench's chatter (offline extension gallery etc.) is noise.
      if (/ENOTFOUND|open-vsx|Failed to load resource|\[Extension Host\] $/.test(text)) return;
      process.stdout.write(`${text}\n`);
    });
    await page.goto(
      server.url([
        ['extensionDevelopmentPath', server.remote(EXTENSION_ROOT)],
        ['extensionTestsPath', server.remote(SUITE)],
      ]),
    );
    const timeout = new Promise((resolve) =>
      setTimeout(() => {
        process.stdout.write(`the suite did not finish within ${TIMEOUT_MS / 1000} s\n`);
        resolve(1);
      }, TIMEOUT_MS).unref(),
    );
    exitCode = await Promise.race([finished, timeout]);
  } catch (error) {
    process.stdout.write(`cannot run the suite in code-server: ${error.stack || error}\n${server.log().slice(-4000)}\n`);
  } finally {
    await browser.close();
    await server.stop();
  }
  process.exit(exitCode);
}

void main();
