// The loopback floor of the latency workload: no queue at all, the same three processes and
// four loopback crossings as a put -> result round trip through a manager. This process (the
// producer) sends a small NDJSON line to a relay process (the manager), which forwards it to
// an echo process (the worker), whose answer the relay forwards back. No brokered round trip
// on this machine can be faster than this.
import { fork } from 'node:child_process';
import { createServer, connect as netConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { config, emit, nowNs, waitFor } from './common.mjs';

const self = fileURLToPath(import.meta.url);

function listen(onConnection) {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    onConnection(socket);
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
  // Gone with the process that started it.
  process.on('disconnect', () => process.exit(0));
}

function dial(port) {
  const socket = netConnect(port, '127.0.0.1');
  socket.setNoDelay(true);
  return new Promise((resolve) => socket.once('connect', () => resolve(socket)));
}

function start(role, extra = {}) {
  const child = fork(self, [JSON.stringify({ role, ...extra })], { stdio: ['pipe', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve) => child.once('message', (port) => resolve({ child, port })));
}

if (config.role === 'echo') {
  listen((socket) => socket.on('data', (chunk) => socket.write(chunk)));
} else if (config.role === 'relay') {
  const worker = await dial(config.echoPort);
  listen((producer) => {
    producer.on('data', (chunk) => worker.write(chunk));
    worker.on('data', (chunk) => producer.write(chunk));
  });
} else {
  const echo = await start('echo');
  const relay = await start('relay', { echoPort: echo.port });
  const socket = await dial(relay.port);
  const line = '{"jsonrpc":"2.0","id":1,"result":"image_url_1 ---> success"}\n';
  let pending;
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk;
    if (received.endsWith('\n')) {
      received = '';
      pending();
    }
  });
  const roundTrip = () =>
    new Promise((resolve) => {
      pending = resolve;
      socket.write(line);
    });
  emit('ready');
  await waitFor('go');
  const { warmup, count } = config;
  const samples = [];
  for (let i = 0; i < warmup + count; i++) {
    const t0 = nowNs();
    await roundTrip();
    if (i >= warmup) samples.push(Math.round(Number(nowNs() - t0) / 100) / 10);
  }
  emit('result', { samples });
  socket.destroy();
  relay.child.kill();
  echo.child.kill();
}
