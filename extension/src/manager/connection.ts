import { readFileSync } from 'node:fs';
import {
  AuthenticationFailedError,
  connect,
  ConnectError,
  HandshakeClosedError,
  NoManagerReachableError,
  ServerProofError,
  TimeoutError,
  UnsupportedProtocolVersionError,
  type Event as TaskwireEvent,
  type TaskwireClient,
} from 'taskwire';
import * as vscode from 'vscode';
import { describeAddress, formatHostPort, managersOf, withFirst, type ManagerAddress } from './managerAddress';

export type { HostPort, ManagerAddress } from './managerAddress';
export { describeAddress, formatHostPort, hostList, managersOf } from './managerAddress';

/**
 * - disconnected: no connection (and none wanted);
 * - connecting: opening one, or re-opening one that dropped;
 * - connected: authenticated, events flowing;
 * - stopped: the manager went away and did not come back (or the local one exited).
 */
export type ConnectionStatus = 'disconnected' | 'connecting' | 'connected' | 'stopped';

export type ConnectFailureReason = 'refused' | 'unreachable' | 'timeout' | 'auth' | 'impostor' | 'version' | 'no-key' | 'tls' | 'other';

/** Why a connection could not be opened, in words for a notification. */
export class ConnectFailure extends Error {
  constructor(
    readonly reason: ConnectFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectFailure';
  }
}

/** Reconnects after a drop: about a minute of tries before the manager counts as stopped. */
const RECONNECT = { initialDelay: 200, maxDelay: 5000, maxAttempts: 15 };

/**
 * The extension's one connection to a manager (as a `monitor` client): opens it, follows
 * every event (with payloads, for the Results view) and reports its status. It reconnects by
 * itself after a drop, and says `stopped` when that fails for good.
 */
export class ManagerConnection implements vscode.Disposable {
  private current: TaskwireClient | undefined;
  private readonly statusEmitter = new vscode.EventEmitter<void>();
  private readonly eventEmitter = new vscode.EventEmitter<TaskwireEvent>();
  private readonly reconnectedEmitter = new vscode.EventEmitter<void>();
  private readonly lostEmitter = new vscode.EventEmitter<Error>();

  status: ConnectionStatus = 'disconnected';
  address: ManagerAddress | undefined;
  connectedAt: Date | undefined;
  protocolVersion: string | undefined;
  /** Why the status is what it is (a drop, a failure), for the Manager view. */
  problem: string | undefined;

  /** The status (or the address, or the problem) changed. */
  readonly onDidChangeStatus = this.statusEmitter.event;
  /** Every event of the manager, as it comes. */
  readonly onEvent = this.eventEmitter.event;
  /** The connection dropped and came back: whatever was shown may be stale. */
  readonly onDidReconnect = this.reconnectedEmitter.event;
  /** The connection dropped and will not come back. */
  readonly onDidLose = this.lostEmitter.event;

  get connected(): boolean {
    return this.status === 'connected';
  }

  /** The client, for requests; throws when there is no connection. */
  get client(): TaskwireClient {
    if (!this.current || this.status !== 'connected') throw new Error('not connected to a Taskwire manager: start one or connect first');
    return this.current;
  }

  /** The session id of this connection (to tell it apart in the worker registry). */
  get sessionId(): string | undefined {
    return this.current?.sessionId;
  }

  /** The id of the manager this connection is on (protocol 2026-12), to tell its workers from those on other managers of one store. */
  get managerId(): string | undefined {
    return this.current?.managerId;
  }

  /** Opens a connection, closing any other first; throws a ConnectFailure. */
  async open(address: ManagerAddress, key: string): Promise<void> {
    this.close();
    const tls = tlsOption(address);
    this.address = address;
    this.problem = undefined;
    this.setStatus('connecting');
    let client: TaskwireClient | undefined;
    try {
      client = await connect({
        host: managersOf(address).map(formatHostPort),
        port: address.port,
        authkey: key,
        tls,
        name: `VS Code (${vscode.env.appName})`,
        role: 'monitor',
        reconnect: RECONNECT,
        connectTimeout: 5000,
      });
      if (this.address !== address) throw new ConnectFailure('other', 'another connection was opened meanwhile');
      this.address = withFirst(address, client);
      this.current = client;
      this.watch(client);
      await client.subscribe({ includePayload: true }, (event) => this.eventEmitter.fire(event));
      this.connectedAt = new Date();
      this.protocolVersion = client.protocolVersion;
      this.setStatus('connected');
    } catch (error) {
      if (this.current === client) this.current = undefined;
      client?.close();
      if (this.address === address) this.setStatus('disconnected');
      throw describeConnectFailure(error, address);
    }
  }

  /** Closes the connection (if any); the status becomes `disconnected`. */
  close(): void {
    const client = this.current;
    this.current = undefined;
    client?.close();
    this.connectedAt = undefined;
    this.protocolVersion = undefined;
    if (this.status !== 'disconnected') this.setStatus('disconnected');
  }

  /** Closes the connection because its manager is gone; the status becomes `stopped`. */
  markStopped(problem: string): void {
    const client = this.current;
    this.current = undefined;
    client?.close();
    this.connectedAt = undefined;
    this.problem = problem;
    this.setStatus('stopped');
  }

  dispose(): void {
    this.close();
    this.statusEmitter.dispose();
    this.eventEmitter.dispose();
    this.reconnectedEmitter.dispose();
    this.lostEmitter.dispose();
  }

  private watch(client: TaskwireClient): void {
    const mine = () => this.current === client;
    client.on('disconnected', (error: Error) => {
      if (!mine()) return;
      this.problem = `the connection dropped (${error.message}); reconnecting`;
      this.setStatus('connecting');
    });
    client.on('reconnected', () => {
      if (!mine()) return;
      // Perhaps to another manager of the address (a failover): the views name the one in use.
      if (this.address) this.address = withFirst(this.address, client);
      this.problem = undefined;
      this.connectedAt = new Date();
      this.setStatus('connected');
      this.reconnectedEmitter.fire();
    });
    client.on('error', (error: Error) => {
      if (!mine()) return;
      const where = this.address ? describeAddress(this.address) : 'the manager';
      this.markStopped(`lost the connection to ${where}: ${error.message}`);
      this.lostEmitter.fire(error);
    });
  }

  private setStatus(status: ConnectionStatus): void {
    this.status = status;
    this.statusEmitter.fire();
  }
}

function tlsOption(address: ManagerAddress): boolean | { ca: Buffer } {
  if (!address.tlsCaFile) return address.tls === true;
  try {
    return { ca: readFileSync(address.tlsCaFile) };
  } catch (error) {
    throw new ConnectFailure('other', `Cannot read the certificate authority file ${address.tlsCaFile} (setting taskwire.tlsCaFile): ${(error as Error).message}`);
  }
}

/** Node's codes for a server certificate that does not verify against the trusted CAs. */
const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** What went wrong in a TLS handshake, and which setting fixes it; undefined when it was not TLS. */
function describeTlsFailure(code: string | undefined, address: ManagerAddress): string | undefined {
  if (code === undefined) return undefined;
  const trusted = address.tlsCaFile ? `the certificate authority in ${address.tlsCaFile}` : 'a certificate authority this machine trusts';
  if (UNTRUSTED_CERTIFICATE.has(code)) {
    const fix = address.tlsCaFile ? 'Set taskwire.tlsCaFile to' : 'For a self-signed certificate, set taskwire.tlsCaFile to';
    return `its certificate is not signed by ${trusted} (${code}). ${fix} the PEM file of the CA that signed the manager's certificate.`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return `its certificate is not valid now (${code}): renew the manager's certificate.`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `its certificate is not for ${address.host} (${code}): connect with a host name or IP address the certificate lists in its subjectAltName.`;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return `the manager does not speak TLS (${code}): turn off taskwire.tls and clear taskwire.tlsCaFile, or start it with --tls-cert and --tls-key.`;
  }
  return undefined;
}

/** A failed connect in the words a notification needs, with a reason the caller can act on. */
export function describeConnectFailure(error: unknown, address: ManagerAddress): ConnectFailure {
  if (error instanceof ConnectFailure) return error;
  const where = describeAddress(address);
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof NoManagerReachableError) {
    // Several managers, none reachable: each one's reason, in the order they were tried.
    const refused = error.failures.every(({ error: failure }) => (failure.cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED');
    const reasons = error.failures.map(({ address: tried, error: failure }) => `${tried}: ${failure.message.replace(/^cannot connect to the manager at [^:]+:\d+: /, '')}`);
    return new ConnectFailure(refused ? 'refused' : 'unreachable', `Cannot connect to any of the Taskwire managers at ${managersOf(address).map(formatHostPort).join(', ')}: ${reasons.join('; ')}.`);
  }
  if (error instanceof AuthenticationFailedError) {
    return new ConnectFailure('auth', `Cannot connect to the Taskwire manager at ${where}: authentication failed — the key does not match the manager's.`);
  }
  if (error instanceof ServerProofError) {
    return new ConnectFailure('impostor', `The server at ${where} could not prove it knows the key: it is not the Taskwire manager you meant to reach.`);
  }
  if (error instanceof UnsupportedProtocolVersionError) {
    return new ConnectFailure('version', `The Taskwire manager at ${where} speaks another protocol version (${message}); update the extension or the manager.`);
  }
  if (error instanceof TimeoutError) {
    return new ConnectFailure('timeout', `The Taskwire manager at ${where} did not complete the handshake in time: is it a Taskwire manager?`);
  }
  if (error instanceof ConnectError) {
    const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
    const tls = describeTlsFailure(code, address);
    if (tls) return new ConnectFailure('tls', `Cannot connect to the Taskwire manager at ${where} over TLS: ${tls}`);
    if (code === 'ECONNREFUSED') {
      return new ConnectFailure('refused', `Cannot connect to the Taskwire manager at ${where}: connection refused — no manager is listening there.`);
    }
    return new ConnectFailure('unreachable', `Cannot connect to the Taskwire manager at ${where}: ${message.replace(/^cannot connect to the manager at [^:]+:\d+: /, '')}.`);
  }
  if (error instanceof HandshakeClosedError && !address.tls && !address.tlsCaFile) {
    // A manager serving TLS reads a plain client's first bytes as a broken TLS handshake and
    // hangs up. The library's hint names its own options; this one names the setting.
    return new ConnectFailure('other', `Cannot connect to the Taskwire manager at ${where}: ${error.detail}. If it serves TLS (taskwire serve --tls-cert), turn on taskwire.tls.`);
  }
  if (/^(no authkey|authkey file|cannot read authkey file)/.test(message)) {
    return new ConnectFailure('no-key', `No usable key for the Taskwire manager at ${where}: ${message}.`);
  }
  return new ConnectFailure('other', `Cannot connect to the Taskwire manager at ${where}: ${message}`);
}
