// The kit as a server, for client cases: it accepts the connections of a client command,
// plays the part its script gives it (a correct handshake, a wrong server proof, an error,
// a slow or missing answer, a dropped connection), and checks that every message the client
// sends conforms to spec/protocol.json and matches what the script expects.
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { clientProof, newNonce, serverProof } from '../protocol/auth';
import { PROTOCOL_VERSIONS } from '../protocol/generated';
import { MANAGER_IDS_SINCE, speaks } from '../protocol/versions';
import type { ClientCase, ClientStep } from './cases';
import { checkClientMessage } from './messageValidator';
import { CaseError, describe, match, substitute, type ComputeContext, type Variables } from './pattern';
import { CaseFailure } from './results';
import { WireConnection, type ReceivedMessage } from './wireConnection';

const DEFAULT_WITHIN = 10;
const DEFAULT_CONNECTION = 'c1';

interface ClientConnection {
  wire: WireConnection;
  /** The last request received on it, which `respond` answers. */
  lastRequest?: { id: unknown; method: string };
}

/**
 * The limits and capabilities the kit announces, like a small reference server without the
 * optional features (a handshake step adds those it plays, e.g. ackNext).
 */
const ANNOUNCED = {
  capabilities: { events: true, framings: ['ndjson', 'content-length'], autoCreateQueues: true },
  limits: { maxFrameBytes: 16 * 1024 * 1024, maxPayloadBytes: 8 * 1024 * 1024, maxBatch: 10000, maxSubscriptions: 32 },
};

/** The queue a client case's driver uses: `cf-<case id>`. */
export function clientQueueName(c: ClientCase): string {
  return `cf-${c.id}`;
}

export class ClientExchange {
  private readonly listener: Server;
  private readonly accepted: Socket[] = [];
  private acceptWaiters: (() => void)[] = [];
  private readonly connections = new Map<string, ClientConnection>();
  private readonly variables: Variables = new Map();
  private readonly context: ComputeContext;
  private readonly violations: string[] = [];

  constructor(
    private readonly testCase: ClientCase,
    private readonly authkey: Buffer,
  ) {
    this.context = { variables: this.variables, authkey };
    // ${q}: the queue the driver is told to use (TASKWIRE_CONFORMANCE_QUEUE).
    this.variables.set('q', clientQueueName(testCase));
    this.listener = createServer((socket) => {
      this.accepted.push(socket);
      for (const wake of this.acceptWaiters.splice(0)) wake();
    });
  }

  /** Listens on a free loopback port and returns it. */
  listen(host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(0, host, () => {
        const address = this.listener.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  }

  async run(onStep: (index: number) => void): Promise<void> {
    for (let index = 0; index < this.testCase.script.length; index++) {
      onStep(index + 1);
      await this.runStep(this.testCase.script[index]!);
      this.throwViolations();
    }
  }

  /** Closes every connection and stops listening. */
  dispose(): void {
    for (const { wire } of this.connections.values()) wire.close();
    for (const socket of this.accepted) socket.destroy();
    this.listener.close();
  }

  private throwViolations(): void {
    if (this.violations.length === 0) return;
    throw new CaseFailure(`protocol violation: ${this.violations[0]!}`, 'messages that conform to spec/protocol.json', this.violations.slice(1).join('\n') || undefined);
  }

  private async runStep(step: ClientStep): Promise<void> {
    if ('accept' in step) return this.accept(step.accept, step.within ?? DEFAULT_WITHIN);
    if ('expectRequest' in step) return void (await this.expectMessage(step.on, step.expectRequest, 'request', step.params, step.within ?? DEFAULT_WITHIN));
    if ('expectNotification' in step) return void (await this.expectMessage(step.on, step.expectNotification, 'notification', step.params, step.within ?? DEFAULT_WITHIN));
    if ('respond' in step) return this.respond(step.on, substitute(step.respond, this.context) as Record<string, unknown>, step.delay ?? 0);
    if ('notify' in step) return this.notify(step.on, step.notify, substitute(step.params ?? {}, this.context));
    if ('handshake' in step) return this.handshake(step.handshake, step.serverProof ?? 'right', step.version, step.capabilities ?? {}, step.within ?? DEFAULT_WITHIN);
    if ('drop' in step) return this.connection(step.drop).wire.close();
    if ('expectClose' in step) return this.expectClose(step.expectClose, step.silent === true, step.within ?? DEFAULT_WITHIN);
    throw new CaseError(`unknown step ${describe(step)}`);
  }

  private async accept(name: string, within: number): Promise<void> {
    const deadline = Date.now() + within * 1000;
    while (this.accepted.length <= this.connections.size) {
      const left = deadline - Date.now();
      if (left <= 0) throw new CaseFailure(`expected the client to open connection ${name} within ${within} s`, 'a new connection', 'none');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.acceptWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const socket = this.accepted[this.connections.size]!;
    const wire = new WireConnection(socket, undefined);
    const connection: ClientConnection = { wire };
    wire.onReceive = (received) => this.validate(name, received);
    wire.onStreamError = (message) => this.violations.push(`on connection ${name}: the client's bytes are not valid frames: ${message}`);
    // Bytes that arrived between accept and now are still in the socket's buffer: nothing is lost.
    this.connections.set(name, connection);
  }

  private validate(name: string, received: ReceivedMessage): void {
    if (received.parseError !== undefined) {
      this.violations.push(`on connection ${name}: the client sent a frame that is not JSON: ${describe(received.text)}`);
      return;
    }
    for (const problem of checkClientMessage(received.message)) this.violations.push(`on connection ${name}: ${problem}`);
  }

  private connection(name: string | undefined): ClientConnection {
    const key = name ?? DEFAULT_CONNECTION;
    const connection = this.connections.get(key);
    if (connection === undefined) throw new CaseError(`connection ${key} is used before an accept step`);
    return connection;
  }

  /** Takes the client's next message, which must be `method` (in order: clients follow a script too). */
  private async expectMessage(on: string | undefined, method: string, kind: 'request' | 'notification', params: unknown, within: number): Promise<Record<string, unknown>> {
    const name = on ?? DEFAULT_CONNECTION;
    const connection = this.connection(name);
    const received = await connection.wire.take(() => true, within * 1000);
    if (received === undefined) {
      throw new CaseFailure(
        `expected the client to send ${method} on connection ${name} within ${within} s: ${connection.wire.closed ? 'it closed the connection' : 'it sent nothing'}`,
        `a ${kind} ${method}`,
        'nothing',
      );
    }
    const message = received.message as Record<string, unknown> | undefined;
    if (message === undefined || message['method'] !== method || 'id' in message !== (kind === 'request')) {
      throw new CaseFailure(`expected the client to send ${kind} ${method} on connection ${name}`, `a ${kind} ${method}`, received.text);
    }
    if (params !== undefined) {
      const pattern = substitute(params, this.context);
      const mismatch = match(pattern, message['params'] ?? {}, this.variables);
      if (mismatch) throw new CaseFailure(`${method} params at ${mismatch.path || '/'}: ${mismatch.reason}`, describe(pattern, 2000), describe(message['params'], 2000));
    }
    if (kind === 'request') connection.lastRequest = { id: message['id'], method };
    this.variables.set(`${name}.lastId`, message['id']);
    return message;
  }

  private async respond(on: string | undefined, answer: Record<string, unknown>, delay: number): Promise<void> {
    const connection = this.connection(on);
    const request = connection.lastRequest;
    if (request === undefined) throw new CaseError('respond before any request was received');
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay * 1000));
    if (!connection.wire.closed) connection.wire.sendMessage({ jsonrpc: '2.0', id: request.id, ...answer });
  }

  /** Sends a notification from the server (session/state, §6.4). */
  private notify(on: string | undefined, method: string, params: unknown): void {
    const connection = this.connection(on);
    if (!connection.wire.closed) connection.wire.sendMessage({ jsonrpc: '2.0', method, params });
  }

  /** The server's half of the handshake, checking the client's proof (§4.3). */
  private async handshake(name: string, proofKind: 'right' | 'wrong', version: string | undefined, capabilities: Record<string, unknown>, within: number): Promise<void> {
    const chosen = version ?? PROTOCOL_VERSIONS[PROTOCOL_VERSIONS.length - 1]!;
    const hello = await this.expectMessage(name, 'session/hello', 'request', { protocolVersions: { $contains: [chosen] } }, within);
    const clientNonce = String((hello['params'] as { nonce: unknown }).nonce);
    if (Buffer.from(clientNonce, 'base64').length < 32) throw new CaseFailure('the client nonce is not base64 of 32 random bytes (§4.2)', '44 base64 characters', clientNonce);
    const serverNonce = newNonce();
    // A server of 2026-12 or later says which manager answers (§5.1).
    const managerId = speaks(chosen, MANAGER_IDS_SINCE) ? { managerId: 'm-conformance' } : {};
    await this.respond(name, { result: { protocolVersion: chosen, nonce: serverNonce, server: { name: 'taskwire-conformance', version: '1' }, ...managerId } }, 0);
    const authenticate = await this.expectMessage(name, 'session/authenticate', 'request', undefined, within);
    const expected = clientProof(this.authkey, serverNonce, clientNonce, chosen);
    const given = (authenticate['params'] as { proof?: unknown } | undefined)?.proof;
    if (given !== expected)
      throw new CaseFailure('the client proof is not HMAC-SHA256(authkey, "taskwire-client\\n" serverNonce "\\n" clientNonce "\\n" version) in lowercase hex (§4.3)', expected, describe(given));
    // A wrong proof is one made with another key: well-formed, so only a real check rejects it.
    const key = proofKind === 'right' ? this.authkey : randomBytes(32);
    const result = {
      sessionId: `s-conformance-${randomBytes(3).toString('hex')}`,
      serverProof: serverProof(key, serverNonce, clientNonce, chosen),
      capabilities: { ...ANNOUNCED.capabilities, ...capabilities },
      limits: ANNOUNCED.limits,
    };
    await this.respond(name, { result }, 0);
  }

  private async expectClose(name: string, silent: boolean, within: number): Promise<void> {
    const connection = this.connection(name);
    if (!(await connection.wire.waitForClose(within * 1000))) {
      throw new CaseFailure(
        `expected the client to close connection ${name} within ${within} s`,
        'the connection closed',
        `still open; it sent: ${connection.wire.inbox.map((r) => r.text).join('\n') || 'nothing more'}`,
      );
    }
    // Messages no step took are what the client sent after the last expected one.
    if (silent && connection.wire.inbox.length > 0) {
      throw new CaseFailure(
        `the client sent more on connection ${name} before closing it (§4.3: it must close without sending anything more)`,
        'nothing more',
        connection.wire.inbox.map((r) => r.text).join('\n'),
      );
    }
  }
}
