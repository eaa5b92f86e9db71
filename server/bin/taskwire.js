#!/usr/bin/env node
'use strict';
let cli;
try {
  cli = require('../dist/src/cli/main.js');
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND') {
    process.stderr.write('taskwire: error: the package is not built: run `npm install` (or `npm run build`) in the repository first\n');
    process.exit(1);
  }
  throw error;
}
// A reader that stops early (`taskwire stats | head -1`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error && error.code === 'EPIPE') process.exit(process.exitCode || 0);
    throw error;
  });
}
cli.main(process.argv).then((code) => {
  process.exitCode = code;
});
