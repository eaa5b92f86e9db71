// Entry of dist/server.js: the `taskwire` CLI (the same as server/bin/taskwire.js), bundled so
// the extension can run a manager as a child process without node_modules.
import { main } from 'taskwire/cli';

// A manager outlives the VS Code window that started it: when that window's extension host
// goes away, the pipe its log lines were written to breaks, and the manager carries on
// without a log instead of dying. Other commands stop quietly, like `taskwire stats | head`.
const serving = process.argv[2] === 'serve';
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    if (!serving) process.exit(process.exitCode ?? 0);
    stream.write = () => true;
  });
}

void main(process.argv).then((code) => {
  process.exitCode = code;
});
