#!/usr/bin/env node
'use strict';
// Runs the extension's mocha suite (the same test/suite/index.js the code-server launcher
// runs) in desktop VS Code through @vscode/test-electron. It downloads VS Code 1.100.3 from
// Microsoft's update server unless TASKWIRE_VSCODE_EXECUTABLE names an installed `code`;
// where neither is possible (an offline CI), use runCodeServer.js instead.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const EXTENSION_ROOT = resolve(__dirname, '..', '..');

async function main() {
  const { runTests } = require('@vscode/test-electron');
  const workspace = mkdtempSync(join(tmpdir(), 'taskwire-electron-'));
  const options = {
    extensionDevelopmentPath: EXTENSION_ROOT,
    extensionTestsPath: join(EXTENSION_ROOT, 'dist', 'test', 'suite', 'index.js'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome'],
  };
  if (process.env.TASKWIRE_VSCODE_EXECUTABLE) options.vscodeExecutablePath = process.env.TASKWIRE_VSCODE_EXECUTABLE;
  else options.version = '1.100.3';
  try {
    process.exit(await runTests(options));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`cannot run the suite in desktop VS Code: ${message}\n`);
    process.stderr.write('(offline, run `npm run test:code-server -w extension`, or set TASKWIRE_VSCODE_EXECUTABLE to an installed VS Code)\n');
    process.exit(1);
  }
}

void main();
