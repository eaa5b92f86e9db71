// Hostile sockets kept open on a worker thread of the test process: a slowloris (sockets that
// send one byte of a frame and then nothing) and a flood (sockets that, half of them, say
// hello and then nothing). Each socket the manager closes is opened again at once, until the
// test stops the swarm. On their own thread, their thousands of sockets do not slow the
// event loop of the client the test measures.
//
// This file is both the controller (startSwarm, in the test) and the worker's entry point.
import { connect, type Socket } from 'node:net';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export type SwarmKind = 'slowloris' | 'flood';

export interface SwarmSpec {
  kind: SwarmKind;
  /** Sockets kept open at once. */
  sockets: number;
}

/** What a swarm saw, reported when it stops. */
export interface SwarmReport {
  /** Sockets opened (the first ones and every reopening). */
  opened: number;
  /** Sockets the manager closed. */
  closedByServer: number;
  /** Sockets on which the manager sent something before closing: their first line, for a sample. */
  answered: number;
  /** Distinct first lines the manager sent (a hello result is summed up as "hello result"). */
  firstLines: string[];
  /** Sockets whose connection failed (refused, reset before it opened). */
  connectErrors: number;
}

interface WorkerInput {
  port: number;
  host: string;
  localAddress: string | undefined;
  specs: SwarmSpec[];
}

export interface RunningSwarm {
  /** Stops reopening, closes every socket, and resolves with what the swarm saw. */
  stop(): Promise<SwarmReport>;
}

/** Starts the swarms on a worker thread; resolves once every first socket has been asked for. */
export function startSwarm(port: number, specs: SwarmSpec[], localAddress?: string): Promise<RunningSwarm> {
  const input: WorkerInput = { port, host: '127.0.0.1', localAddress, specs };
  const worker = new Worker(__filename, { workerData: input });
  let resolveReport: (report: SwarmReport) => void;
  const report = new Promise<SwarmReport>((resolve) => (resolveReport = resolve));
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (message: { started?: true; report?: SwarmReport }) => {
      if (message.started) {
        resolve({
          async stop() {
            worker.postMessage('stop');
            const result = await report;
            await worker.terminate();
            return result;
          },
        });
      }
      if (message.report) resolveReport(message.report);
    });
  });
}

const HELLO =
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'session/hello', params: { protocolVersions: ['2026-11'], nonce: Buffer.alloc(32, 7).toString('base64'), client: { name: 'flood' } } }) + '\n';

function runWorker(input: WorkerInput): void {
  let running = true;
  const live = new Set<Socket>();
  const report: SwarmReport = { opened: 0, closedByServer: 0, answered: 0, firstLines: [], connectErrors: 0 };
  const firstLines = new Set<string>();
  let sequence = 0;

  const open = (kind: SwarmKind): void => {
    if (!running) return;
    const socket = connect({ host: input.host, port: input.port, ...(input.localAddress ? { localAddress: input.localAddress } : {}) });
    const sayHello = kind === 'flood' && sequence++ % 2 === 1;
    live.add(socket);
    report.opened++;
    let connected = false;
    let received = '';
    socket.on('connect', () => {
      connected = true;
      socket.write(kind === 'slowloris' ? '{' : sayHello ? HELLO : '');
    });
    socket.on('data', (chunk: Buffer) => {
      if (received.length < 4096) received += chunk.toString('utf8');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      live.delete(socket);
      if (!running) return;
      if (!connected) report.connectErrors++;
      else report.closedByServer++;
      if (received !== '') {
        report.answered++;
        for (const line of received.split('\n').filter(Boolean)) {
          if (firstLines.size < 20) firstLines.add(/"result":\{"protocolVersion"/.test(line) ? 'hello result' : line.replace(/"nonce":"[^"]*"/, '"nonce":"…"'));
        }
      }
      // Reopened at once, but after this turn: the swarm never spins without yielding.
      setImmediate(() => open(kind));
    });
  };

  for (const spec of input.specs) for (let i = 0; i < spec.sockets; i++) open(spec.kind);
  parentPort!.postMessage({ started: true });
  parentPort!.once('message', () => {
    running = false;
    for (const socket of live) socket.destroy();
    report.firstLines = [...firstLines];
    parentPort!.postMessage({ report });
  });
}

if (!isMainThread && (workerData as WorkerInput | undefined)?.specs) runWorker(workerData as WorkerInput);
