// Runs one server case: opens the connections it names, sends what it says, and checks what
// comes back against its patterns and, for every message whatever the case expects, against
// spec/protocol.json. Each step either completes or throws a CaseFailure that says what was
// expected and what arrived.
import type { Framing } from '../protocol/framing';
import { PROTOCOL_VERSIONS } from '../protocol/generated';
import type { ServerCase, ServerStep } from './cases';
import { ServerMessageValidator } from './messageValidator';
import { CaseError, describe, match, substitute, type ComputeContext, type Variables } from './pattern';
import { CaseFailure, CaseSkipped } from './results';
import { ConnectionFailedError, WireConnection, type ReceivedMessage, type TlsTrust } from './wireConnection';

/** Where the server under test is and the key it holds. */
export interface ServerTarget {
  host: string;
  port: number;
  authkey: Buffer;
  /** Set when the run is over TLS: every connection uses it unless a step says `transport: "tcp"`. */
  tls?: TlsTrust;
  /** A CA that signed nothing, for `certificateRefused` with `trust: "unrelated-ca"`. */
  unrelatedCa?: Buffer;
}

/** Seconds a step waits for a message or a close unless it says `within`. */
const DEFAULT_WITHIN = 5;
/** The connection a step means when it names none. */
const DEFAULT_CONNECTION = 'a';

interface OpenConnection {
  wire: WireConnection;
  validator: ServerMessageValidator;
  nextId: number;
  /** Raw text sent after the last line feed: a frame sent in pieces is parsed once whole. */
  rawLine: string;
}

export class ServerExchange {
  private readonly connections = new Map<string, OpenConnection>();
  private readonly variables: Variables = new Map();
  private readonly context: ComputeContext;
  /** Protocol violations seen in received messages, reported at the next step boundary. */
  private readonly violations: string[] = [];
  /** Whether the capabilities the case needs were compared with the server's, at its first handshake. */
  private capabilitiesChecked = false;

  constructor(
    private readonly target: ServerTarget,
    private readonly testCase: ServerCase,
    runId: string,
  ) {
    this.context = { variables: this.variables, authkey: target.authkey };
    // ${q}: a queue name of this case alone, so cases never see each other's tasks.
    this.variables.set('run', runId);
    this.variables.set('q', `cf-${runId}-${testCase.id}`);
    this.variables.set('version', PROTOCOL_VERSIONS[PROTOCOL_VERSIONS.length - 1]);
  }

  /** Runs every step; throws CaseFailure (with `step` set on the error) at the first failure. */
  async run(onStep: (index: number) => void): Promise<void> {
    for (let index = 0; index < this.testCase.steps.length; index++) {
      onStep(index + 1);
      await this.runStep(this.testCase.steps[index]!);
      this.throwViolations();
    }
    // Messages still arriving after the last step are checked too, briefly.
    await new Promise((resolve) => setTimeout(resolve, 20));
    this.throwViolations();
  }

  /** Closes every connection the case opened. */
  dispose(): void {
    for (const { wire } of this.connections.values()) wire.close();
  }

  private throwViolations(): void {
    if (this.violations.length === 0) return;
    const [first, ...rest] = this.violations;
    throw new CaseFailure(
      `protocol violation: ${first}${rest.length > 0 ? ` (and ${rest.length} more)` : ''}`,
      'messages that conform to spec/protocol.json',
      rest.length > 0 ? rest.join('\n') : undefined,
    );
  }

  private async runStep(step: ServerStep): Promise<void> {
    if ('connect' in step) return void (await this.open(step.connect, step.framing, step.transport));
    if ('certificateRefused' in step) return this.certificateRefused(step);
    if ('handshake' in step) return this.handshake(step.handshake, step.framing, step.client, step.versions);
    if ('send' in step) return this.send(step.on, substitute(step.send, this.context));
    if ('sendRaw' in step) return this.sendRaw(step.on, step.sendRaw);
    if ('request' in step) return void (await this.request(step));
    if ('notify' in step) {
      const params = step.params === undefined ? {} : { params: substitute(step.params, this.context) };
      return this.send(step.on, { jsonrpc: '2.0', method: step.notify, ...params });
    }
    if ('expect' in step) return void (await this.expect(step.on, step.expect, step.within));
    if ('expectNoMessage' in step) return this.expectNoMessage(step.on, step.expectNoMessage, step.matching);
    if ('expectClose' in step) return this.expectClose(step.expectClose, step.within);
    if ('expectOpen' in step) {
      if (this.connection(step.expectOpen).wire.closed) throw new CaseFailure(`connection ${step.expectOpen} was closed by the server`, 'the connection stays open', 'the server closed it');
      return;
    }
    if ('close' in step) return this.connection(step.close).wire.close();
    if ('wait' in step) return new Promise((resolve) => setTimeout(resolve, step.wait * 1000));
    throw new CaseError(`unknown step ${describe(step)}`);
  }

  private async open(name: string, framing: Framing = 'ndjson', transport?: 'tcp'): Promise<OpenConnection> {
    if (this.connections.has(name)) throw new CaseError(`connection ${name} is opened twice`);
    const tls = transport === 'tcp' ? undefined : this.target.tls;
    const wire = await WireConnection.open(this.target.host, this.target.port, framing, tls ? { tls } : {});
    const open: OpenConnection = { wire, validator: new ServerMessageValidator(), nextId: 1, rawLine: '' };
    wire.onReceive = (received) => this.validate(name, open, received);
    wire.onStreamError = (message) => this.violations.push(`on connection ${name}: the server's bytes are not valid ${framing} frames: ${message}`);
    this.connections.set(name, open);
    return open;
  }

  /** Opens a TLS connection that must fail on the kit's check of the server's certificate. */
  private async certificateRefused(step: Extract<ServerStep, { certificateRefused: string }>): Promise<void> {
    if (this.target.tls === undefined) throw new CaseError('certificateRefused needs a run over TLS: mark the case "server": {"tls": true}');
    if (step.trust === 'unrelated-ca' && this.target.unrelatedCa === undefined) throw new CaseError('no unrelated CA was loaded (spec/conformance/tls/unrelated-ca.pem)');
    const tls: TlsTrust = {
      ...(step.trust === 'unrelated-ca' ? { ca: this.target.unrelatedCa } : this.target.tls.ca ? { ca: this.target.tls.ca } : {}),
      ...(step.servername !== undefined ? { servername: step.servername } : this.target.tls.servername !== undefined ? { servername: this.target.tls.servername } : {}),
    };
    const trusting = step.trust === 'unrelated-ca' ? 'a CA that signed nothing' : "the run's CA";
    const expected = `the kit's TLS client refuses the certificate (trusting ${trusting}${step.servername !== undefined ? `, expecting the name ${step.servername}` : ''})`;
    let wire: WireConnection;
    try {
      wire = await WireConnection.open(this.target.host, this.target.port, 'ndjson', { tls, timeoutMs: (step.within ?? DEFAULT_WITHIN) * 1000 });
    } catch (error) {
      if (error instanceof ConnectionFailedError && error.kind === 'certificate') return;
      throw new CaseFailure(`connection ${step.certificateRefused} failed, but not on the certificate`, expected, (error as Error).message);
    }
    wire.close();
    throw new CaseFailure(`connection ${step.certificateRefused}: the server's certificate was accepted`, expected, 'the TLS handshake completed and the certificate verified');
  }

  private validate(name: string, open: OpenConnection, received: ReceivedMessage): void {
    if (received.parseError !== undefined) {
      this.violations.push(`on connection ${name}: the server sent a frame that is not JSON: ${describe(received.text)}`);
      return;
    }
    for (const problem of open.validator.check(received.message)) this.violations.push(`on connection ${name}: ${problem}`);
  }

  private connection(name: string | undefined): OpenConnection {
    const key = name ?? DEFAULT_CONNECTION;
    const open = this.connections.get(key);
    if (open === undefined) throw new CaseError(`connection ${key} is used before a connect or handshake step opened it`);
    return open;
  }

  private send(on: string | undefined, message: unknown): void {
    const open = this.connection(on);
    const record = message as { id?: unknown; method?: unknown } | null;
    if (record !== null && typeof record === 'object' && typeof record.method === 'string' && 'id' in record) open.validator.requestSent(record.id, record.method);
    open.wire.sendMessage(message);
  }

  private sendRaw(on: string | undefined, raw: string | (string | Record<string, unknown>)[]): void {
    const open = this.connection(on);
    const parts = Array.isArray(raw) ? raw : [raw];
    // {"$hex": "c328"} is raw bytes, for input that is not valid UTF-8 (a JSON string cannot carry it).
    const bytes = Buffer.concat(
      parts.map((part) => {
        if (part !== null && typeof part === 'object' && typeof (part as { $hex?: unknown }).$hex === 'string') return Buffer.from((part as { $hex: string }).$hex, 'hex');
        return Buffer.from(String(substitute(part, this.context)), 'utf8');
      }),
    );
    // Requests inside raw NDJSON lines are still requests: remember them so their answers pair up.
    const lines = (open.rawLine + bytes.toString('utf8')).split('\n');
    open.rawLine = lines.pop()!.slice(-1_000_000);
    for (const line of lines) {
      try {
        const message = JSON.parse(line) as { id?: unknown; method?: unknown };
        if (message !== null && typeof message === 'object' && !Array.isArray(message) && typeof message.method === 'string' && (typeof message.id === 'number' || typeof message.id === 'string')) {
          open.validator.requestSent(message.id, message.method);
        }
      } catch {
        // Not JSON: a malformed frame on purpose.
      }
    }
    open.wire.sendRaw(bytes);
  }

  /** Sends a request and waits for its matching answer, which it returns. */
  private async request(step: Extract<ServerStep, { request: string }>): Promise<unknown> {
    const name = step.on ?? DEFAULT_CONNECTION;
    const open = this.connection(name);
    const id = step.id ?? open.nextId++;
    const params = step.params === undefined ? {} : { params: substitute(step.params, this.context) };
    this.send(name, { jsonrpc: '2.0', id, method: step.request, ...params });
    this.variables.set(`${name}.lastId`, id);
    const expected = step.expect ?? { result: '$present' };
    return this.expect(name, { ...(expected as object), id }, step.within, `the answer to ${step.request} (id ${JSON.stringify(id)})`, (m) => (m as { id?: unknown }).id === id);
  }

  /**
   * Waits for a message matching `pattern`. With `pairedBy`, the first message it accepts must
   * match (a response is paired by id and then checked); without, the first that matches wins.
   */
  private async expect(on: string | undefined, rawPattern: unknown, within = DEFAULT_WITHIN, what?: string, pairedBy?: (message: unknown) => boolean): Promise<unknown> {
    const name = on ?? DEFAULT_CONNECTION;
    const open = this.connection(name);
    const pattern = substitute(rawPattern, this.context);
    const accept = pairedBy ?? ((message: unknown) => match(pattern, message, new Map()) === undefined);
    // A protocol violation ends the wait at once: it explains the failure better than a timeout.
    const received = await open.wire.take((r) => this.violations.length > 0 || (r.message !== undefined && accept(r.message)), within * 1000);
    this.throwViolations();
    if (received === undefined) {
      const seen = open.wire.inbox.map((r) => r.text);
      const state = open.wire.peerSpokeTls
        ? 'the server answered in TLS on a plain connection (is it a TLS server? run the kit with --tls or --tls-ca)'
        : open.wire.closed
          ? 'the server closed the connection'
          : `nothing matching within ${within} s`;
      throw new CaseFailure(`expected ${what ?? 'a message'} on connection ${name}: ${state}`, describe(pattern, 2000), seen.length > 0 ? `unmatched messages: ${seen.join('\n')}` : 'no message');
    }
    const mismatch = match(pattern, received.message, this.variables);
    if (mismatch !== undefined) {
      throw new CaseFailure(`${what ?? 'message'} on connection ${name}: at ${mismatch.path || '/'}: ${mismatch.reason}`, describe(pattern, 2000), describe(received.message, 2000));
    }
    return received.message;
  }

  private async expectNoMessage(on: string | undefined, seconds: number, matching: unknown): Promise<void> {
    const name = on ?? DEFAULT_CONNECTION;
    const open = this.connection(name);
    const pattern = matching === undefined ? '$any' : substitute(matching, this.context);
    const received = await open.wire.take((r) => r.message === undefined || match(pattern, r.message, new Map()) === undefined, seconds * 1000);
    if (received !== undefined)
      throw new CaseFailure(
        `expected no ${matching === undefined ? '' : 'matching '}message on connection ${name} for ${seconds} s`,
        matching === undefined ? 'nothing' : `nothing matching ${describe(pattern)}`,
        received.text,
      );
  }

  private async expectClose(name: string, within = DEFAULT_WITHIN): Promise<void> {
    const open = this.connection(name);
    if (!(await open.wire.waitForClose(within * 1000))) {
      throw new CaseFailure(
        `expected the server to close connection ${name} within ${within} s`,
        'the connection closed',
        `still open; unmatched messages: ${open.wire.inbox.map((r) => r.text).join('\n') || 'none'}`,
      );
    }
  }

  /**
   * connect + session/hello + session/authenticate with the key under test, checking
   * serverProof. `versions`: what the hello offers (default: the kit's newest version); the
   * chosen one is `${name}.version`, and the manager's id, when the answer has one (2026-12),
   * `${name}.managerId`.
   */
  private async handshake(name: string, framing: Framing | undefined, client: Record<string, unknown> | undefined, versions: string[] | undefined): Promise<void> {
    if (!this.connections.has(name)) await this.open(name, framing);
    const offered = versions ?? [String(this.variables.get('version'))];
    const hello = await this.request({
      request: 'session/hello',
      on: name,
      params: { protocolVersions: offered, nonce: { $nonce: `${name}.clientNonce` }, client: client ?? { name: `taskwire-conformance ${this.testCase.id}` } },
      expect: { result: { protocolVersion: { $capture: `${name}.version` }, nonce: { $capture: `${name}.serverNonce` } } },
    });
    const managerId = (hello as { result?: { managerId?: unknown } }).result?.managerId;
    if (typeof managerId === 'string') this.variables.set(`${name}.managerId`, managerId);
    const inputs = { serverNonce: `\${${name}.serverNonce}`, clientNonce: `\${${name}.clientNonce}`, version: `\${${name}.version}` };
    this.variables.set(`${name}.proof`, substitute({ $clientProof: inputs }, this.context));
    await this.request({
      request: 'session/authenticate',
      on: name,
      params: { proof: `\${${name}.proof}` },
      expect: { result: { sessionId: { $capture: `${name}.sessionId` }, serverProof: { $serverProof: inputs }, capabilities: { $capture: `${name}.capabilities` } } },
    });
    if (!this.capabilitiesChecked) {
      this.capabilitiesChecked = true;
      this.checkCapabilities(this.variables.get(`${name}.capabilities`));
    }
  }

  /**
   * Skips the case when the server does not offer the optional features it is about, or offers
   * one it checks the absence of: such a server conforms, the case just does not apply.
   */
  private checkCapabilities(announced: unknown): void {
    const needed = this.testCase.server?.capabilities;
    if (needed === undefined) return;
    const offered = announced !== null && typeof announced === 'object' ? (announced as Record<string, unknown>) : {};
    for (const [name, wanted] of Object.entries(needed)) {
      if ((offered[name] === true) === wanted) continue;
      throw new CaseSkipped(
        wanted ? `needs a server that announces capabilities.${name} (an optional feature); this one does not` : `checks a server without capabilities.${name}; this one announces it`,
      );
    }
  }
}
