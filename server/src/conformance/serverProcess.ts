// A server under test that the runner starts itself (--server-cmd): a free port, the command
// with its placeholders filled, readiness by connecting, and a stop that takes the whole
// process group down (so `npx taskwire serve` does not leave its node child behind).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect as netConnect } from 'node:net';
import type { ServerOptionsNeeded } from './cases';
import { expandCommand, serverCommandValues, type ServerTlsFiles } from './commandTemplate';

/** The server did not come up: its command failed, exited, or never accepted a connection. */
export class ServerStartError extends Error {}

/** The server exited because another process took its port first: worth another port. */
class PortTakenError extends ServerStartError {}

/** Seconds a started server has to accept a connection. */
const START_TIMEOUT_SECONDS = 20;
/** Starts on a fresh port when the one chosen was taken first (see ServerProcess.start). */
const START_ATTEMPTS = 3;
/** How servers say their port was taken: Node's code, the C library's text (Python, Go), this CLI's. */
const ADDRESS_IN_USE = /EADDRINUSE|address already in use|is already in use/i;
/** Seconds between SIGTERM and SIGKILL when stopping. */
const STOP_GRACE_SECONDS = 5;

/** A free TCP port on `host`, found by listening on port 0 and closing again. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class ServerProcess {
  private output = '';
  private exited = false;
  private readonly exit: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly args: string[],
  ) {
    const keep = (chunk: Buffer) => {
      // The tail is enough to explain a failed start.
      this.output = (this.output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exit = new Promise((resolve) => {
      child.once('exit', () => {
        this.exited = true;
        resolve();
      });
      child.once('error', (error) => {
        this.output += `\n${error.message}`;
        this.exited = true;
        resolve();
      });
    });
  }

  /**
   * Starts the command on a free port and resolves once it accepts connections (TCP
   * connections: a TLS server is ready when its port is, and a probe that sends nothing costs
   * it nothing but a dropped connection). The port is free when chosen but not reserved: another
   * process (an outgoing connection given it as its local port, a parallel test) may take it
   * before the server binds it, so a server that exits saying its address is in use is started
   * again on another port, up to START_ATTEMPTS times.
   */
  static async start(template: string, host: string, authkeyFile: string, options: ServerOptionsNeeded, tls?: ServerTlsFiles): Promise<ServerProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await ServerProcess.startOnce(template, host, authkeyFile, options, tls);
      } catch (error) {
        if (!(error instanceof PortTakenError) || attempt === START_ATTEMPTS) throw error;
      }
    }
  }

  private static async startOnce(template: string, host: string, authkeyFile: string, options: ServerOptionsNeeded, tls?: ServerTlsFiles): Promise<ServerProcess> {
    const port = await freePort(host);
    const args = expandCommand(template, serverCommandValues(host, port, authkeyFile, options, tls));
    if (args.length === 0) throw new ServerStartError('--server-cmd is empty');
    // detached: a process group of its own, stopped as a whole by stop().
    const child = spawn(args[0]!, args.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new ServerProcess(child, port, args);
    const deadline = Date.now() + START_TIMEOUT_SECONDS * 1000;
    while (!(await canConnect(host, port))) {
      if (server.exited) {
        const output = server.output.trim();
        const Failure = ADDRESS_IN_USE.test(output) ? PortTakenError : ServerStartError;
        throw new Failure(`the server command exited before it listened: ${args.join(' ')}\n${output}`);
      }
      if (Date.now() > deadline) {
        await server.stop();
        throw new ServerStartError(`the server command did not listen on ${host}:${port} within ${START_TIMEOUT_SECONDS} s: ${args.join(' ')}\n${server.output.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return server;
  }

  /** What the server printed last (for failure reports). */
  get recentOutput(): string {
    return this.output;
  }

  /** SIGTERM to its process group, SIGKILL after a grace period; resolves once it exited. */
  async stop(): Promise<void> {
    if (this.exited || this.child.pid === undefined) return;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-this.child.pid!, signal);
      } catch {
        // Already gone.
      }
    };
    signalGroup('SIGTERM');
    const timer = setTimeout(() => signalGroup('SIGKILL'), STOP_GRACE_SECONDS * 1000);
    await this.exit;
    clearTimeout(timer);
    // Children of the command (npx → node) may outlive it: the group gets a last word.
    signalGroup('SIGKILL');
  }
}
