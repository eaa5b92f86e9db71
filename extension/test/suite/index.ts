// The suite's one entry, loaded by both launchers (code-server + Chromium, and
// @vscode/test-electron): runs every *.test.js beside this file with mocha inside the
// extension host and rejects when a test failed.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';
import Mocha from 'mocha';
import * as vscode from 'vscode';

export function run(): Promise<void> {
  // The spec reporter writes with console.log, which the extension host forwards to whoever
  // launched it (the browser console under code-server, stdout under Electron).
  // Reporters log format strings with arguments ('  ✔ %s'); a browser console shows them
  // unformatted, so format them here.
  Mocha.reporters.Base.consoleLog = (...args: unknown[]) => console.log(format(...args));
  // TASKWIRE_SUITE_GREP (in the launcher's environment, which the extension host inherits) runs
  // only the tests whose titles match, while working on one file.
  const grep = process.env['TASKWIRE_SUITE_GREP'];
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: 'spec', ...(grep ? { grep } : {}) });
  for (const file of readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    .sort()) {
    mocha.addFile(join(__dirname, file));
  }
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const { passes = 0, pending = 0 } = runner.stats ?? {};
      console.log(`${passes} passed, ${failures} failed, ${pending} skipped`);
      // A manager started by the tests must not outlive them (the launcher may kill the
      // extension host before deactivate() runs).
      void Promise.resolve(vscode.commands.executeCommand('taskwire.manager.stop'))
        .catch(() => undefined)
        .then(() => (failures > 0 ? reject(new Error(`${failures} test${failures === 1 ? '' : 's'} failed`)) : resolve()));
    });
  });
}
