// What every Node process of the benchmark shares: configuration, control channel, payloads.
// The runner passes one JSON argument, reads JSON lines from stdout and writes words to
// stdin; when it closes stdin the process exits at once.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
/** The built client library (npm install at the root builds it). */
export const taskwire = require(process.env.BENCH_TASKWIRE_DIST ? join(process.env.BENCH_TASKWIRE_DIST, 'index.js') : join(here, '..', '..', 'server', 'dist', 'src', 'index.js'));

export const config = JSON.parse(process.argv[2] ?? '{}');

export function emit(event, fields = {}) {
  process.stdout.write(JSON.stringify({ ...fields, event }) + '\n');
}

const words = [];
const waiting = [];
createInterface({ input: process.stdin })
  .on('line', (line) => {
    const word = line.trim();
    const i = waiting.findIndex((w) => w.word === word);
    if (i >= 0) waiting.splice(i, 1)[0].resolve();
    else words.push(word);
  })
  .on('close', () => process.exit(0));

/** Resolves when the runner writes `word` on stdin. */
export function waitFor(word) {
  const i = words.indexOf(word);
  if (i >= 0) {
    words.splice(i, 1);
    return Promise.resolve();
  }
  return new Promise((resolve) => waiting.push({ word, resolve }));
}

/** `image_url_<i>`; with a size, padded with "x" to exactly that many bytes. */
export function payload(i, size) {
  const base = `image_url_${i}`;
  if (!size || size <= base.length + 1) return base;
  return `${base}_${'x'.repeat(size - base.length - 1)}`;
}

/**
 * How many tasks of `size` bytes a list call carries: `usual`, or fewer so that a list holds
 * at most 8 MiB of payload (the manager reads frames up to 16 MiB, the client up to 64 MiB).
 */
export function listOf(size, usual) {
  return size > 0 ? Math.max(1, Math.min(usual, Math.floor((8 * 1048576) / size))) : usual;
}

/** Exactly 20 bytes (the memory workload). */
export function smallPayload(i) {
  return `task_${String(i).padStart(15, '0')}`;
}

export function connect(name, role) {
  return taskwire.connect({ host: config.host, port: config.port, authkeyFile: config.keyFile, name, role, reconnect: false });
}

export function nowNs() {
  return process.hrtime.bigint();
}
