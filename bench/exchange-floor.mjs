#!/usr/bin/env node
// The cost of one request/response exchange to a Node server that does nothing: a server
// process answering each NDJSON line at once (JSON.parse, JSON.stringify, one write), and
// K client processes each making awaited round trips, as the benchmark's awaited producer and
// workers do. It prints the server's CPU time per exchange (user and system, from /proc),
// which is the floor under the manager's CPU per exchange on this machine: every task of the
// awaited pipeline costs the manager three exchanges (put, ack with next, the result's get).
//
//   node bench/exchange-floor.mjs [--clients 1,3] [--n 20000] [--runs 3]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = fileURLToPath(import.meta.url);
const TICK_US = 1e6 / 100; // /proc CPU times are in clock ticks of 10 ms

function lines(socket, onLine) {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    pending += chunk;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      onLine(pending.slice(0, end));
      pending = pending.slice(end + 1);
    }
  });
}

function serve() {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    lines(socket, (line) => {
      const request = JSON.parse(line);
      socket.write(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: { ids: ['t-1'] } }) + '\n');
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
}

async function client(port, n) {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let answered;
  lines(socket, () => answered());
  for (let id = 0; id < n; id++) {
    await new Promise((resolve) => {
      answered = resolve;
      socket.write(JSON.stringify({ jsonrpc: '2.0', id, method: 'queue/put', params: { queue: 'tasks', tasks: [{ payload: `image_url_${id}`, replyTo: 'results' }] } }) + '\n');
    });
  }
  socket.end();
}

function cpuTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(fields[11]), system: Number(fields[12]) };
}

function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HERE, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args[0]} exited with ${code}`))));
  });
}

async function measure(clients, n) {
  const server = spawn(process.execPath, [HERE, '--role', 'server'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise((resolve, reject) => {
      server.stdout.once('data', (data) => resolve(Number(String(data).trim())));
      server.once('exit', () => reject(new Error('the server exited')));
    });
    await run(['--role', 'client', '--port', String(port), '--n', '500']); // warm-up
    const before = cpuTicks(server.pid);
    await Promise.all(Array.from({ length: clients }, () => run(['--role', 'client', '--port', String(port), '--n', String(n)])));
    const after = cpuTicks(server.pid);
    const exchanges = clients * n;
    return { user: ((after.user - before.user) * TICK_US) / exchanges, system: ((after.system - before.system) * TICK_US) / exchanges };
  } finally {
    server.kill();
  }
}

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    port: { type: 'string' },
    n: { type: 'string', default: '20000' },
    clients: { type: 'string', default: '1,3' },
    runs: { type: 'string', default: '3' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    readFileSync(HERE, 'utf8')
      .split('\n')
      .slice(1, 9)
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n') + '\n',
  );
} else if (values.role === 'server') {
  serve();
} else if (values.role === 'client') {
  await client(Number(values.port), Number(values.n));
} else {
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const n = Number(values.n);
  process.stdout.write(`| awaited clients | server CPU µs per exchange (median of ${values.runs}) | user | system | × 3 exchanges per task |\n|---|---|---|---|---|\n`);
  for (const clients of values.clients.split(',').map(Number)) {
    const runs = [];
    for (let i = 0; i < Number(values.runs); i++) runs.push(await measure(clients, n));
    const total = median(runs.map((r) => r.user + r.system));
    const user = median(runs.map((r) => r.user));
    const system = median(runs.map((r) => r.system));
    process.stdout.write(`| ${clients} | ${total.toFixed(1)} | ${user.toFixed(1)} | ${system.toFixed(1)} | ${(3 * total).toFixed(0)} |\n`);
  }
}
