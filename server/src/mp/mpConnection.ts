import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Waiter } from '../engine';
import type { MaybePromise } from '../engine/queueBackend';
import type { ClientInfo, EventClient } from '../protocol/generated';
import { encodeMessage, FrameError, MessageDecoder } from './framing';
import { answerChallenge, answerMatches, FAILURE, MAX_HANDSHAKE_MESSAGE, newChallenge, WELCOME } from './handshake';
import { PickleError, readPickle } from './pickleReader';
import { writePickle, writePickleMessage } from './pickleWriter';
import type { PyValue } from './pyValue';
import { refused, RETURNED_NONE, type Reply, type RequestConnection } from './requests';

/** The handshake's steps, then what the connection carries. */
type State = 'challenged' | 'awaitingChallenge' | 'awaitingVerdict' | 'refusing' | 'ready' | 'closed';

/** What a connection needs of its listener. */
export interface ConnectionHost {
  readonly authkey: Buffer;
  readonly maxMessageBytes: number;
  /** Milliseconds until proofs from this address are checked again (the shared failure back-off). */
  throttledMs(remote: string): number;
  authFailed(connection: MpConnection): void;
  authSucceeded(connection: MpConnection): void;
  /** The failure's answer is delayed by this (ms), as on the manager's own port. */
  readonly authFailureDelay: number;
  handle(connection: MpConnection, request: PyValue): MaybePromise<Reply>;
  becameProxy(connection: MpConnection): void;
  closed(connection: MpConnection): void;
}

/** The framed bytes of ('#RETURN', None), the most common answer: written as they are. */
const RETURNED_NONE_MESSAGE = writePickleMessage(RETURNED_NONE)!;

/** Requests read but not answered yet past which the connection is not read (a client sends one at a time). */
const MAX_QUEUED_REQUESTS = 16;

/**
 * One connection of a multiprocessing client: the mutual handshake, then requests one at a
 * time in order (a CPython client waits for each answer), each read by the restricted reader.
 */
export class MpConnection implements RequestConnection {
  readonly id = randomBytes(8).toString('hex');
  readonly address: string;
  readonly remote: string;
  readonly connectedAt = Date.now();
  lastSeenAt = this.connectedAt;
  state: State = 'challenged';
  mode: 'manager' | 'proxy' = 'manager';
  processName: string | undefined;
  readonly held = new Map<string, string>();
  acked = 0;
  waiting: Waiter | undefined;
  /** Why the listener closed it, for the log. */
  closeReason: string | undefined;
  private readonly decoder = new MessageDecoder(MAX_HANDSHAKE_MESSAGE);
  private readonly challenge = newChallenge();
  /** A request is being answered; the ones read meanwhile wait here, in order. */
  private busy = false;
  private readonly queued: Buffer[] = [];
  /** The listener was told it became a proxy connection. */
  private announced = false;

  constructor(
    readonly socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    this.remote = socket.remoteAddress ?? '?';
    this.address = `${this.remote}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
    this.send(this.challenge.frame);
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  get authenticated(): boolean {
    return this.state === 'ready';
  }

  /** Closes at once (a deadline, a limit, shutdown). */
  destroy(reason: string): void {
    this.closeReason ??= reason;
    this.socket.destroy();
  }

  info(leased: number): ClientInfo {
    const info: ClientInfo = {
      sessionId: this.id,
      name: 'python multiprocessing',
      role: 'worker',
      language: 'python',
      address: this.address,
      connectedAt: new Date(this.connectedAt).toISOString(),
      lastSeenAt: new Date(this.lastSeenAt).toISOString(),
      leased,
      acked: this.acked,
      nacked: 0,
    };
    if (this.processName !== undefined) info.labels = { process: this.processName };
    return info;
  }

  eventClient(): EventClient {
    return { sessionId: this.id, name: 'python multiprocessing', role: 'worker', address: this.address };
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed' || this.state === 'refusing') return;
    let messages: Buffer[];
    try {
      messages = this.decoder.push(chunk);
    } catch (error) {
      this.tooLarge(error as FrameError);
      return;
    }
    for (const message of messages) {
      if (this.state === 'ready') this.request(message);
      else this.handshake(message);
      if ((this.state as State) === 'closed' || (this.state as State) === 'refusing') return;
    }
  }

  private handshake(message: Buffer): void {
    switch (this.state) {
      case 'challenged': {
        const throttled = this.host.throttledMs(this.remote) > 0;
        if (throttled || !answerMatches(this.host.authkey, this.challenge.message, message)) {
          this.refuse(throttled ? 'authentication throttled' : 'authentication failed');
          return;
        }
        this.send(WELCOME);
        this.state = 'awaitingChallenge';
        return;
      }
      case 'awaitingChallenge': {
        const answer = answerChallenge(this.host.authkey, message);
        if (!answer) {
          this.closeReason = 'not a challenge from the client';
          this.socket.end();
          this.state = 'refusing';
          return;
        }
        this.send(answer);
        this.state = 'awaitingVerdict';
        return;
      }
      case 'awaitingVerdict':
        if (!message.equals(WELCOME)) {
          // The client does not hold our key (or refused our digest): it closes too.
          this.closeReason = 'the client refused the manager';
          this.socket.end();
          this.state = 'refusing';
          return;
        }
        this.state = 'ready';
        this.decoder.maxBytes = this.host.maxMessageBytes;
        this.host.authSucceeded(this);
        return;
      default:
        return;
    }
  }

  /** A failed (or unchecked) proof: #FAILURE# after the delay, then close. */
  private refuse(reason: string): void {
    this.state = 'refusing';
    this.closeReason = reason;
    if (reason === 'authentication failed') this.host.authFailed(this);
    const timer = setTimeout(() => {
      this.send(FAILURE);
      this.socket.end();
    }, this.host.authFailureDelay);
    this.socket.once('close', () => clearTimeout(timer));
  }

  private request(message: Buffer): void {
    this.lastSeenAt = Date.now();
    if (this.busy) {
      // A CPython client waits for each answer; one that does not is read no further than this.
      this.queued.push(message);
      if (this.queued.length >= MAX_QUEUED_REQUESTS) this.socket.pause();
      return;
    }
    this.run(message);
  }

  /** Answers one request: at once when the backend answers at once, else when it does. */
  private run(message: Buffer): void {
    this.busy = true;
    let reply: MaybePromise<Reply>;
    try {
      reply = this.host.handle(this, readPickle(message));
    } catch (error) {
      if (!(error instanceof PickleError)) return this.failed(error);
      reply = refused(`the request was refused, not unpickled: ${error.message}`);
    }
    if (reply instanceof Promise)
      reply.then(
        (answer) => this.answer(answer),
        (error: unknown) => this.failed(error),
      );
    else this.answer(reply);
  }

  private answer(reply: Reply): void {
    this.busy = false;
    if (this.closed) return;
    this.lastSeenAt = Date.now();
    this.sendReply(reply);
    if (this.mode === 'proxy' && !this.announced) {
      this.announced = true;
      this.host.becameProxy(this);
    }
    // A manager request is one per connection, as CPython's server closes it after the answer.
    if (this.mode === 'manager') {
      this.state = 'refusing';
      this.socket.end();
      return;
    }
    const next = this.queued.shift();
    if (this.queued.length < MAX_QUEUED_REQUESTS && this.socket.isPaused()) this.socket.resume();
    if (next) this.run(next);
  }

  private failed(error: unknown): void {
    this.closeReason = `internal error: ${error instanceof Error ? error.message : String(error)}`;
    this.socket.destroy();
  }

  /** A message over the limit cannot be skipped cheaply: say why, and close. */
  private tooLarge(error: FrameError): void {
    this.closeReason = error.message;
    if (this.state === 'ready') this.sendReply(refused(`${error.message} (the manager's --max-frame-bytes)`));
    this.state = 'refusing';
    this.socket.end();
  }

  private send(message: Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    const [head, body] = encodeMessage(message) as [Buffer, Buffer];
    // One write for a small message (one segment on the wire); a large one is not copied.
    if (body.length < 64 * 1024) this.socket.write(Buffer.concat([head, body]));
    else {
      this.socket.write(head);
      this.socket.write(body);
    }
  }

  /** A reply, pickled straight into its framed message: one buffer, one write. */
  private sendReply(reply: Reply): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    const message = reply === RETURNED_NONE ? RETURNED_NONE_MESSAGE : writePickleMessage(reply);
    if (message) this.socket.write(message);
    else this.send(writePickle(reply));
  }

  private onClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.host.closed(this);
  }
}
