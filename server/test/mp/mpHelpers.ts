// Shared by the multiprocessing listener's tests: a manager with the listener in this process,
// `taskwire serve --mp-listen` as a child process, the machine's CPython, and a client written
// for the tests from the documented wire (mp-wire.md): the handshake of CPython ≤ 3.11 (bare
// HMAC-MD5) or 3.12+ ({sha256}), then requests pickled by the listener's own writer.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { MpListener } from '../../src/mp';
import { encodeMessage, MessageDecoder } from '../../src/mp/framing';
import { readPickle } from '../../src/mp/pickleReader';
import { writePickle } from '../../src/mp/pickleWriter';
import { PyTuple, type PyDict, type PyValue } from '../../src/mp/pyValue';
import type { ServerOptions } from '../../src/server/options';
import { startServer, type RunningServer } from '../helpers/harness';

export const BIN = resolve(__dirname, '../../../bin/taskwire.js');
/** The repository's root (dist/test/mp → ../../../..). */
export const REPO = resolve(__dirname, '../../../..');
/** The seed's programs, as the seed's document has them (tests write copies with the address and key replaced). */
export const SEED_DIR = join(REPO, 'samples', 'python', 'seed');

/** The machine's python3; a test that needs it fails with this message when it is missing. */
export function python3(): string {
  const probe = spawnSync('python3', ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' });
  if (probe.status !== 0 || probe.stdout.trim() !== '3') throw new Error('python3 is required by the multiprocessing listener tests (Debian: apt-get install python3)');
  return 'python3';
}

/**
 * A CPython 3.12 or later to run the {sha256} handshake with, if the machine has one: python3
 * itself, python3.12/3.13 on the PATH, or one in pyenv's versions. Undefined otherwise (the
 * test then uses MpTestClient's 3.12 handshake, and says so).
 */
export function python312(): { command: string; version: string } | undefined {
  const candidates = ['python3', 'python3.13', 'python3.12'];
  const pyenvRoot = process.env.PYENV_ROOT ?? join(homedir(), '.pyenv');
  const versions = join(pyenvRoot, 'versions');
  if (existsSync(versions)) for (const version of readdirSync(versions).sort().reverse()) candidates.push(join(versions, version, 'bin', 'python3'));
  for (const command of candidates) {
    const probe = spawnSync(command, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8', env: { ...process.env, PYENV_VERSION: '' } });
    if (probe.status !== 0) continue;
    const version = probe.stdout.trim();
    const [major, minor] = version.split('.').map(Number) as [number, number];
    if (major === 3 && minor >= 12) return { command, version };
  }
  return undefined;
}

/** A manager in this process with the multiprocessing listener beside it. */
export interface MpServer {
  running: RunningServer;
  listener: MpListener;
  mpPort: number;
  stop(): Promise<void>;
}

export async function startMpServer(options: Partial<ServerOptions> = {}, mp: { typeIds?: [string, string][]; allowShutdown?: boolean } = {}): Promise<MpServer> {
  const running = await startServer(options);
  const listener = new MpListener(running.server.listenerHost(), { host: '127.0.0.1', port: 0, typeIds: mp.typeIds ?? [], allowShutdown: mp.allowShutdown });
  const { port } = await listener.listen();
  return { running, listener, mpPort: port, stop: () => running.stop() };
}

/** A child process whose output is collected; `exited` resolves with its exit code. */
export interface Child {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  kill(): void;
}

export function startChild(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Child {
  const proc = spawn(command, args, { cwd: options.cwd ?? REPO, env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text));
  proc.stderr!.setEncoding('utf8').on('data', (text: string) => (output += text));
  const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
  return {
    proc,
    output: () => output,
    exited,
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}

/** Resolves once `text` matches the child's output; rejects if it exits first or after `ms`. */
export async function waitForOutput(child: Child, pattern: RegExp, ms = 20_000): Promise<RegExpExecArray> {
  const started = Date.now();
  for (;;) {
    const match = pattern.exec(child.output());
    if (match) return match;
    if (child.proc.exitCode !== null || child.proc.signalCode !== null)
      throw new Error(`the process exited (${child.proc.exitCode ?? child.proc.signalCode}) before printing ${pattern}:\n${child.output()}`);
    if (Date.now() - started > ms) throw new Error(`no ${pattern} within ${ms} ms:\n${child.output()}`);
    await new Promise((done) => setTimeout(done, 25));
  }
}

/** `taskwire serve --json` with `args`, as a child process; resolves once it is ready, with its ports. */
export async function serveCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: Child; port: number; mpPort: number }> {
  const child = startChild(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--json', ...args], { env });
  const match = await waitForOutput(child, /^.*"ready".*$/m);
  const ready = JSON.parse(match[0]) as { port: number; mpPort: number };
  return { child, port: ready.port, mpPort: ready.mpPort };
}

export type Handshake = 'legacy' | 'sha256';

/**
 * A client of the multiprocessing wire written for the tests: the handshake of CPython ≤ 3.11
 * ('legacy': answers with bare HMAC-MD5, challenges with 20 bytes) or of 3.12+ ('sha256':
 * answers {sha256}HMAC-SHA256, challenges with {sha256} and 40 bytes), then requests.
 */
export class MpTestClient {
  private readonly decoder = new MessageDecoder(64 * 1024 * 1024);
  private readonly messages: Buffer[] = [];
  private waiting: ((message: Buffer | undefined) => void) | undefined;
  private ended = false;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      for (const message of this.decoder.push(chunk)) this.deliver(message);
    });
    socket.on('close', () => {
      this.ended = true;
      this.waiting?.(undefined);
      this.waiting = undefined;
    });
    socket.on('error', () => {});
  }

  static async open(port: number): Promise<MpTestClient> {
    const socket = netConnect(port, '127.0.0.1');
    await new Promise<void>((done, fail) => socket.once('connect', done).once('error', fail));
    return new MpTestClient(socket);
  }

  /** Connects and completes the handshake both ways; throws with the step that failed. */
  static async connect(port: number, key: Buffer, handshake: Handshake = 'sha256'): Promise<MpTestClient> {
    const client = await MpTestClient.open(port);
    const challenge = await client.receive();
    if (!challenge.subarray(0, 11).equals(Buffer.from('#CHALLENGE#'))) throw new Error(`expected #CHALLENGE#, got ${challenge.toString('latin1')}`);
    const message = challenge.subarray(11);
    client.send(answerFor(key, message, handshake));
    const verdict = (await client.receive()).toString('latin1');
    if (verdict !== '#WELCOME#') throw new Error(`the manager answered ${verdict}`);
    const own = handshake === 'legacy' ? randomBytes(20) : Buffer.concat([Buffer.from('{sha256}'), randomBytes(40)]);
    client.send(Buffer.concat([Buffer.from('#CHALLENGE#'), own]));
    const answer = await client.receive();
    const expected = handshake === 'legacy' ? createHmac('md5', key).update(own).digest() : Buffer.concat([Buffer.from('{sha256}'), createHmac('sha256', key).update(own).digest()]);
    if (!answer.equals(expected)) throw new Error('the manager does not hold the key: its answer to our challenge is wrong');
    client.send(Buffer.from('#WELCOME#'));
    return client;
  }

  send(message: Buffer): void {
    this.socket.write(Buffer.concat(encodeMessage(message)));
  }

  /** The next message; throws if the connection closes first. */
  async receive(ms = 15_000): Promise<Buffer> {
    const message = await this.next(ms);
    if (!message) throw new Error('the connection closed');
    return message;
  }

  /** The next message, or undefined once the connection has closed. */
  next(ms = 15_000): Promise<Buffer | undefined> {
    const queued = this.messages.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no message within ${ms} ms`)), ms);
      this.waiting = (message) => {
        clearTimeout(timer);
        done(message);
      };
    });
  }

  /** Sends (ident, method, args, kwds) and returns the reply's (kind, value). */
  async call(ident: string | null, method: string, args: PyValue[] = [], kwds: PyDict = new Map()): Promise<[string, PyValue]> {
    this.send(writePickle(new PyTuple([ident, method, new PyTuple(args), kwds])));
    return this.reply();
  }

  async reply(): Promise<[string, PyValue]> {
    const reply = readPickle(await this.receive());
    if (!(reply instanceof PyTuple) || reply.items.length !== 2 || typeof reply.items[0] !== 'string') throw new Error('not a reply');
    return [reply.items[0], reply.items[1]!];
  }

  /** Resolves when the manager has closed the connection. */
  closed(ms = 15_000): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`still open after ${ms} ms`)), ms);
      this.socket.once('close', () => {
        clearTimeout(timer);
        done();
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private deliver(message: Buffer): void {
    if (this.waiting) {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting(message);
    } else this.messages.push(message);
  }
}

/** A client's answer to the manager's challenge message, as CPython ≤ 3.11 or 3.12+ writes it. */
export function answerFor(key: Buffer, message: Buffer, handshake: Handshake): Buffer {
  if (handshake === 'legacy') return createHmac('md5', key).update(message).digest();
  return Buffer.concat([Buffer.from('{sha256}'), createHmac('sha256', key).update(message).digest()]);
}

/** A proxy connection on queue `typeid`: create, then accept_connection; returns the client and the ident. */
export async function proxyFor(port: number, key: Buffer, typeid: string, handshake: Handshake = 'sha256'): Promise<{ client: MpTestClient; ident: string }> {
  const creator = await MpTestClient.connect(port, key, handshake);
  const [kind, value] = await creator.call(null, 'create', [typeid]);
  creator.close();
  if (kind !== '#RETURN' || !(value instanceof PyTuple) || typeof value.items[0] !== 'string') throw new Error(`create answered ${kind}`);
  const client = await MpTestClient.connect(port, key, handshake);
  const [accepted] = await client.call(null, 'accept_connection', ['MainProcess']);
  if (accepted !== '#RETURN') throw new Error(`accept_connection answered ${accepted}`);
  return { client, ident: value.items[0] };
}

/** Runs a Python program (text) with arguments; resolves with its exit code and output. */
export async function runPython(command: string, code: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  const child = startChild(command, ['-c', code, ...args], { env });
  const code_ = await child.exited;
  return { code: code_, output: child.output() };
}
