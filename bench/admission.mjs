#!/usr/bin/env node
// How long a client with the key takes to connect and authenticate while sockets without it
// try to crowd it out: a slowloris (idle sockets, each sending one byte of a frame) and a
// flood (connections opened as fast as the manager closes them, half of them saying hello and
// then nothing), all from the client's own address. The manager is a real `taskwire serve`
// child with its default limits.
//
//   node bench/admission.mjs [--slowloris 600] [--flood 3000] [--attempts 10]
//
// Prints one JSON line per scenario: the client's connect+authenticate times (ms, sorted; with
// the part of each that TCP's connect took), the errors of the attempts that failed, and how
// many attacking connections the manager closed. The attackers run on a worker thread.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startServe } from './lib/serve.mjs';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'server', 'bin', 'taskwire.js');
const { values: flags } = isMainThread
  ? parseArgs({
      options: {
        slowloris: { type: 'string', default: '600' },
        flood: { type: 'string', default: '3000' },
        attempts: { type: 'string', default: '10' },
        'give-up-ms': { type: 'string', default: '12000' },
        'attacker-address': { type: 'string', default: '127.0.0.1' },
        'serve-args': { type: 'string', default: '' },
      },
    })
  : { values: workerData.flags };
const KEY = 'bench-admission-key';
const VERSION = '2026-11';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function startManager() {
  const args = flags['serve-args'].split(' ').filter(Boolean);
  return startServe({ bin: BIN, authkey: KEY, args, onStderr: process.env.ADMISSION_DEBUG ? (chunk) => process.stderr.write(chunk) : undefined });
}

/** Keeps `count` hostile sockets open: each one the manager closes is opened again at once. */
function swarm(port, count, onOpen) {
  let running = true;
  let closedByServer = 0;
  const sockets = new Set();
  const open = () => {
    if (!running) return;
    const socket = connect({ host: '127.0.0.1', port, localAddress: flags['attacker-address'] });
    sockets.add(socket);
    socket.on('connect', () => onOpen(socket));
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      if (!running) return;
      closedByServer++;
      setImmediate(open);
    });
  };
  for (let i = 0; i < count; i++) open();
  return {
    get closedByServer() {
      return closedByServer;
    },
    stop() {
      running = false;
      for (const socket of sockets) socket.destroy();
    },
  };
}

const slowloris = (socket) => socket.write('{');
let floodIndex = 0;
const flood = (socket) => {
  if (floodIndex++ % 2 === 0) return;
  const hello = { jsonrpc: '2.0', id: 1, method: 'session/hello', params: { protocolVersions: [VERSION], nonce: randomBytes(32).toString('base64'), client: { name: 'flood' } } };
  socket.write(JSON.stringify(hello) + '\n');
};

/** One client with the key: connect, hello, authenticate. Resolves with the ms taken, or the error it saw. */
function legitClient(port, giveUpMs) {
  return new Promise((resolve) => {
    const started = performance.now();
    const clientNonce = randomBytes(32).toString('base64');
    const socket = connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    let buffer = '';
    let connectedAt = started;
    const done = (outcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done({ error: `no session after ${giveUpMs} ms` }), giveUpMs);
    socket.on('connect', () => {
      connectedAt = performance.now();
      if (process.env.ADMISSION_DEBUG) console.error('legit from', socket.localPort);
      socket.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'session/hello', params: { protocolVersions: [VERSION], nonce: clientNonce, client: { name: 'legit' } } }) + '\n');
    });
    socket.on('data', (chunk) => {
      buffer += chunk;
      for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
        const message = JSON.parse(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        if (message.error) return done({ error: `${message.error.code} ${message.error.message}` });
        if (message.id === 1) {
          const { nonce, protocolVersion } = message.result;
          const proof = createHmac('sha256', KEY).update(`taskwire-client\n${nonce}\n${clientNonce}\n${protocolVersion}`).digest('hex');
          socket.write(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'session/authenticate', params: { proof } }) + '\n');
        } else if (message.id === 2) {
          done({ ms: performance.now() - started, connectMs: connectedAt - started });
        }
      }
    });
    socket.on('error', (error) => done({ error: error.code ?? error.message }));
    socket.on('close', () => done({ error: 'closed by the manager' }));
  });
}

/** The attackers run on their own thread, so that their sockets do not slow the measuring client's event loop. */
function attackInWorker(port, kinds) {
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { flags, port, kinds } });
  let closedByServer = 0;
  const stopped = new Promise((resolve) => worker.on('message', (message) => ((closedByServer = message.closedByServer), resolve())));
  return {
    get closedByServer() {
      return closedByServer;
    },
    async stop() {
      worker.postMessage('stop');
      await stopped;
      await worker.terminate();
    },
  };
}

if (!isMainThread) {
  const swarms = workerData.kinds.map((kind) => (kind === 'slowloris' ? swarm(workerData.port, Number(flags.slowloris), slowloris) : swarm(workerData.port, Number(flags.flood), flood)));
  parentPort.once('message', () => {
    for (const s of swarms) s.stop();
    parentPort.postMessage({ closedByServer: swarms.reduce((sum, s) => sum + s.closedByServer, 0) });
  });
} else {
  await scenario(`slowloris ${flags.slowloris}`, ['slowloris']);
  await scenario(`flood ${flags.flood}`, ['flood']);
  await scenario(`slowloris ${flags.slowloris} + flood ${flags.flood}`, ['slowloris', 'flood']);
  process.exit(0);
}

/** The kernel's count of connections dropped because a listen queue was full (Linux; this network namespace). */
function listenOverflows() {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('TcpExt:'));
    const names = lines[0].split(/\s+/);
    const values = lines[1].split(/\s+/);
    return Number(values[names.indexOf('ListenOverflows')]);
  } catch {
    return null;
  }
}

async function scenario(name, kinds) {
  const manager = await startManager();
  const overflowsBefore = listenOverflows();
  const attack = attackInWorker(manager.port, kinds);
  await sleep(3000); // the attack reaches its steady state (past the first deadlines)
  const times = [];
  const connectTimes = [];
  const errors = [];
  for (let i = 0; i < Number(flags.attempts); i++) {
    const outcome = await legitClient(manager.port, Number(flags['give-up-ms']));
    if (outcome.ms !== undefined) {
      times.push(Math.round(outcome.ms));
      connectTimes.push(Math.round(outcome.connectMs));
    } else errors.push(outcome.error);
    await sleep(500);
  }
  await attack.stop();
  const closed = attack.closedByServer;
  manager.stop();
  const order = times.map((_, i) => i).sort((a, b) => times[a] - times[b]);
  times.splice(0, times.length, ...order.map((i) => times[i]));
  connectTimes.splice(0, connectTimes.length, ...order.map((i) => connectTimes[i]));
  console.log(
    JSON.stringify({
      scenario: name,
      attempts: Number(flags.attempts),
      authenticated: times.length,
      msMedian: times[Math.floor(times.length / 2)] ?? null,
      msMax: times.at(-1) ?? null,
      times,
      connectMs: connectTimes,
      errors: [...new Set(errors)],
      attackersClosedByManager: closed,
      listenQueueOverflows: overflowsBefore === null ? null : listenOverflows() - overflowsBefore,
    }),
  );
}
