import type { Duplex } from 'node:stream';
import { FrameTransport } from '../transport/frameTransport';
import type { WireError } from '../protocol/generated';

/** Why a request did not get a result: the manager's error, or the connection ended. */
export type RequestFailure = { kind: 'remote'; error: WireError } | { kind: 'closed'; error: Error };

export class RpcRequestError extends Error {
  constructor(readonly failure: RequestFailure) {
    super(failure.error.message);
  }
}

interface PendingRequest {
  resolve(result: unknown): void;
  reject(error: RpcRequestError): void;
}

/** Frames larger than this from the manager are a broken stream, not a message. */
const MAX_INCOMING_FRAME_BYTES = 64 * 1024 * 1024;

/**
 * The client's JSON-RPC 2.0 endpoint on one socket, NDJSON-framed.
 *
 * It replaces a general-purpose JSON-RPC library on the client's hot path for two reasons
 * the benchmark measured: responses are dispatched as soon as their frame is decoded (not one
 * message per event-loop turn), and everything written in one turn (a burst of requests
 * from concurrent loops) leaves in one socket write, which is one syscall and one wake-up of
 * the manager instead of one per request.
 */
export class RpcConnection {
  private nextId = 1;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly notificationHandlers = new Map<string, (params: unknown) => void>();
  private closedError: Error | undefined;
  private readonly closeListeners: ((error: Error) => void)[] = [];

  constructor(private readonly transport: FrameTransport) {
    transport.onMessage((text) => this.onFrame(text));
    transport.onClose((error) => this.markClosed(error ?? new Error('the connection to the manager closed')));
  }

  /** An endpoint on a connected socket (NDJSON, as the protocol's clients speak). */
  static overSocket(socket: Duplex): RpcConnection {
    let connection: RpcConnection | undefined;
    const transport = new FrameTransport(socket, {
      framing: 'ndjson',
      maxFrameBytes: MAX_INCOMING_FRAME_BYTES,
      onFramingError: (error) => connection?.fail(new Error(`unreadable frame from the manager: ${error.message}`)),
    });
    socket.on('error', (error) => connection?.markClosed(error));
    connection = new RpcConnection(transport);
    return connection;
  }

  /** Bytes read from the socket by a reader of its own (net's `onread`) instead of its 'data' events; see FrameTransport.receive. */
  receive(chunk: Buffer): void {
    this.transport.receive(chunk);
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** The request's id, for $/cancelRequest, and its outcome. */
  request(method: string, params: unknown): { id: number; result: Promise<unknown> } {
    const id = this.nextId++;
    const result = new Promise<unknown>((resolve, reject) => {
      if (this.closedError) {
        reject(new RpcRequestError({ kind: 'closed', error: this.closedError }));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
    return { id, result };
  }

  notify(method: string, params: unknown): void {
    if (this.closedError) return;
    this.write(JSON.stringify({ jsonrpc: '2.0', method, params }));
  }

  onNotification(method: string, handler: (params: unknown) => void): void {
    this.notificationHandlers.set(method, handler);
  }

  /** Called once, with the reason, when the connection can carry no more requests. */
  onClose(listener: (error: Error) => void): void {
    if (this.closedError) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  /** Sends what was written, then closes the socket (destroyed if the manager lingers). */
  close(error: Error): void {
    this.transport.flush();
    this.markClosed(error);
    this.transport.close();
    setTimeout(() => this.transport.destroy(), 1000).unref();
  }

  private write(line: string): void {
    if (this.transport.writable) this.transport.send(line);
  }

  private onFrame(text: string): void {
    let message: { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: WireError };
    try {
      message = JSON.parse(text);
    } catch (error) {
      this.fail(new Error(`the manager sent a line that is not JSON: ${(error as Error).message}`));
      return;
    }
    if (typeof message !== 'object' || message === null) {
      this.fail(new Error('the manager sent a JSON value that is not a JSON-RPC message'));
      return;
    }
    if (typeof message.method === 'string') {
      if (message.id !== undefined) {
        // The protocol has no requests from the manager to a client; answer as JSON-RPC asks.
        this.write(JSON.stringify({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: `the client has no method ${message.method}` } }));
        return;
      }
      this.notificationHandlers.get(message.method)?.(message.params);
      return;
    }
    const request = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
    if (!request) return; // An answer to nothing we asked (or to a request already failed): nothing waits for it.
    this.pending.delete(message.id as number);
    if (message.error !== undefined) request.reject(new RpcRequestError({ kind: 'remote', error: message.error }));
    else request.resolve(message.result);
  }

  /** A broken stream: nothing more from it can be trusted. */
  private fail(error: Error): void {
    this.markClosed(error);
    this.transport.destroy();
  }

  private markClosed(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    const failure = new RpcRequestError({ kind: 'closed', error });
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const request of waiting) request.reject(failure);
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }
}
