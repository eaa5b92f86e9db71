#!/usr/bin/env node
// The measurement behind spec/durability.md: the cost of durable task state in the hand-written
// journal (JournalStore) against better-sqlite3@12 (WAL, synchronous=FULL) and lmdb@3 (synced
// commits), with no network in between. Each task is put, leased and acked, each step committed
// durably before the next, as the manager does for a client that waits for each answer.
//   sequential: one client, so one commit (one fsync) per step;
//   concurrent: 8 clients at once, so steps of one event-loop turn can share a commit (the
//               journal's group commit; lmdb-js batches by itself; for SQLite the same per-turn
//               transaction is written here).
// better-sqlite3 and lmdb are not dependencies of Taskwire: install them in a scratch folder
// and point BACKENDS_DIR at it:
//   mkdir /tmp/backends && cd /tmp/backends && npm init -y && npm install better-sqlite3@12 lmdb@3
//   BACKENDS_DIR=/tmp/backends node server/scripts/compareStorageEngines.mjs [tasks] [runs]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { JournalStore } = createRequire(import.meta.url)(join(here, '..', 'dist', 'src', 'store', 'index.js'));
const backends = process.env.BACKENDS_DIR ? createRequire(join(process.env.BACKENDS_DIR, 'package.json')) : undefined;
const TASKS = Number(process.argv[2] ?? 3000);
const RUNS = Number(process.argv[3] ?? 3);
const CLIENTS = 8;
const payload = (i) => ({ url: `https://example.org/images/${i}.png`, size: 1024 });

/** Each backend: open(dir) → { put(id, task), lease(id), ack(id), close() } returning promises that settle once durable. */
const engines = {
  journal: async (dir) => {
    const store = JournalStore.open(dir, { fsync: 'always' });
    store.start(
      () => ({ queues: [], tasks: [] }),
      (error) => console.error(error),
    );
    const commit = (record) => {
      store.append(record);
      return new Promise((resolve, reject) => store.onDurable((error) => (error ? reject(error) : resolve())));
    };
    return {
      put: (id, task) => commit({ op: 'put', tasks: [{ id, queue: 'q', payload: task, priority: 0, enqueuedAt: Date.now(), attempt: 1 }] }),
      lease: (id) => commit({ op: 'lease', ids: [id] }),
      ack: (id) => commit({ op: 'ack', ids: [id] }),
      close: () => store.close(),
    };
  },
  'better-sqlite3@12': async (dir) => {
    const Database = backends('better-sqlite3');
    const db = new Database(join(dir, 'tasks.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE tasks (id TEXT PRIMARY KEY, queue TEXT, payload TEXT, state INTEGER, attempt INTEGER)');
    const insert = db.prepare('INSERT INTO tasks VALUES (?, ?, ?, 0, 1)');
    const lease = db.prepare('UPDATE tasks SET state = 1 WHERE id = ?');
    const remove = db.prepare('DELETE FROM tasks WHERE id = ?');
    // Group commit by hand: the steps of one turn in one transaction.
    let pending = [];
    const flush = db.transaction((steps) => {
      for (const step of steps) step.run();
    });
    const commit = (run) =>
      new Promise((resolve) => {
        if (pending.length === 0) {
          setImmediate(() => {
            const steps = pending;
            pending = [];
            flush(steps);
            for (const step of steps) step.resolve();
          });
        }
        pending.push({ run, resolve });
      });
    return {
      put: (id, task) => commit(() => insert.run(id, 'q', JSON.stringify(task))),
      lease: (id) => commit(() => lease.run(id)),
      ack: (id) => commit(() => remove.run(id)),
      close: async () => db.close(),
    };
  },
  'lmdb@3': async (dir) => {
    const { open } = backends('lmdb');
    const db = open({ path: join(dir, 'lmdb') });
    return {
      put: (id, task) => db.put(id, { queue: 'q', payload: task, state: 0, attempt: 1 }),
      lease: async (id) => {
        const task = db.get(id);
        await db.put(id, { ...task, state: 1 });
      },
      ack: (id) => db.remove(id),
      close: () => db.close(),
    };
  },
};

async function run(name, clients) {
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-engines-'));
  const engine = await engines[name](dir);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; i < TASKS; i += clients) {
        const id = `t-${i}`;
        await engine.put(id, payload(i));
        await engine.lease(id);
        await engine.ack(id);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
  return TASKS / seconds;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`${TASKS} tasks (put, lease, ack: 3 durable commits each), median of ${RUNS} runs, tasks/s`);
for (const name of Object.keys(engines)) {
  if (name !== 'journal' && !backends) {
    console.log(`${name.padEnd(18)} skipped (set BACKENDS_DIR)`);
    continue;
  }
  const row = [];
  for (const clients of [1, CLIENTS]) {
    const results = [];
    for (let i = 0; i < RUNS; i++) results.push(await run(name, clients));
    row.push(`${clients === 1 ? 'sequential' : `${clients} clients`}: ${Math.round(median(results)).toLocaleString('en-US').padStart(7)}`);
  }
  console.log(`${name.padEnd(18)} ${row.join('   ')}`);
}
