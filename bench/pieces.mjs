#!/usr/bin/env node
// What each piece of the manager's work costs per task, measured alone in this process:
// params validation, the nesting check, JSON parse and stringify of a batch of 100, finding the
// payloads' texts in a put and writing them into a get's answer (payloads are opaque: the
// manager keeps the texts, spec §7.17), and the engine on its own (putMany → getMany → ackMany
// with results → results read back).
// Usage: node bench/pieces.mjs   (after npm install, which builds server/dist)
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'server', 'dist', 'src');
const { validateParams } = require(join(dist, 'protocol', 'validation.js'));
const { nestsDeeperThan } = require(join(dist, 'protocol', 'depth.js'));
const { Engine, systemClock } = require(join(dist, 'engine', 'index.js'));
const { rawTaskSpecs, tasksResult } = require(join(dist, 'server', 'rawPayloads.js'));

const BATCH = 100;
const put = { queue: 'tasks', tasks: Array.from({ length: BATCH }, (_, i) => ({ payload: `image_url_${i}`, replyTo: 'results' })) };
const ack = { acks: Array.from({ length: BATCH }, (_, i) => ({ id: `a1b2c3-${i.toString(36)}`, result: `image_url_${i} ---> success` })) };
const putText = JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'queue/put', params: put });
const parsedPut = JSON.parse(putText);
const tasks = Array.from({ length: BATCH }, (_, i) => ({
  id: `a1b2c3-${i.toString(36)}`,
  queue: 'tasks',
  payload: `image_url_${i}`,
  attempt: 1,
  priority: 0,
  enqueuedAt: '2026-11-27T16:00:00.000Z',
  leaseUntil: '2026-11-27T16:00:30.000Z',
  replyTo: 'results',
}));

/** Median over 5 rounds of the time per task of `f`, which handles `perCall` tasks. */
function perTask(f, perCall, calls) {
  const rounds = [];
  for (let r = 0; r < 6; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) f();
    if (r > 0) rounds.push(Number(process.hrtime.bigint() - t0) / calls / perCall / 1000);
  }
  return rounds.sort((a, b) => a - b)[2];
}

const rawTasks = tasks.map((task) => ({ ...task, payload: JSON.stringify(task.payload) }));

const engine = new Engine({ clock: systemClock });
let produced = 0;
function engineRound() {
  // The engine holds payloads and results as JSON text.
  const specs = Array.from({ length: BATCH }, (_, i) => ({ payload: JSON.stringify(`image_url_${produced + i}`), replyTo: 'results' }));
  produced += BATCH;
  engine.put({ queue: 'tasks', tasks: specs, session: 'producer' }, () => {});
  let got = [];
  engine.get({ queue: 'tasks', max: BATCH, session: 'worker', autoAck: false }, (delivered) => ((got = delivered), true));
  engine.ack(
    'worker',
    got.map((t) => ({ id: t.id, result: `${t.payload.slice(0, -1)} ---> success"` })),
  );
  engine.get({ queue: 'results', max: BATCH, session: 'producer', autoAck: true }, () => true);
}

// One task with a uniqueness key per put (a crawl's usual put, spec §7.21), 1,000 different ones.
const uniquePuts = Array.from({ length: 1000 }, (_, i) => ({ queue: 'tasks', tasks: [{ payload: `image_url_${i}`, unique: { key: `https://example.com/items/${i}` } }] }));
let uniqueAt = 0;

const rows = [
  ['validate queue/put params', perTask(() => validateParams('queue/put', put), BATCH, 20_000)],
  ['validate a put of one task with a uniqueness key (per put, not in a batch)', perTask(() => validateParams('queue/put', uniquePuts[uniqueAt++ % 1000]), 1, 500_000)],
  ['validate task/ack params', perTask(() => validateParams('task/ack', ack), BATCH, 20_000)],
  ['nesting check of a put', perTask(() => nestsDeeperThan(parsedPut, 256), BATCH, 20_000)],
  ['JSON.parse of a put', perTask(() => JSON.parse(putText), BATCH, 20_000)],
  ['JSON.stringify of a get answer (payloads as values, as before §7.17)', perTask(() => JSON.stringify({ jsonrpc: '2.0', id: 5, result: { tasks } }), BATCH, 20_000)],
  ['payload texts of a put: scan the frame (rawTaskSpecs)', perTask(() => rawTaskSpecs(JSON.parse(putText).params.tasks, putText), BATCH, 20_000) - perTask(() => JSON.parse(putText), BATCH, 20_000)],
  ['a get answer with payload texts (tasksResult)', perTask(() => `{"jsonrpc":"2.0","id":5,"result":${tasksResult(rawTasks).text}}`, BATCH, 20_000)],
  ['engine: put, get, ack with result, read result', perTask(engineRound, BATCH, 2_000)],
];
console.log(`| piece (batches of ${BATCH}) | µs per task |\n|---|---|`);
for (const [name, us] of rows) console.log(`| ${name} | ${us.toFixed(3)} |`);
