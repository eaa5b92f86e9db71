import type { Socket } from 'node:net';
import {
  AbstractMessageReader,
  AbstractMessageWriter,
  Disposable,
  type DataCallback,
  type Message,
  type MessageReader,
  type MessageWriter,
} from 'vscode-jsonrpc/node';
import { encodeFrame, FrameDecoder } from '../protocol/framing';

/**
 * Reads Taskwire's normative framing (one JSON-RPC message per line) for vscode-jsonrpc,
 * whose stock reader speaks only Content-Length. Uses the same decoder as the server.
 */
export class NdjsonMessageReader extends AbstractMessageReader implements MessageReader {
  constructor(
    private readonly socket: Socket,
    private readonly maxFrameBytes = 64 * 1024 * 1024,
  ) {
    super();
    socket.on('close', () => this.fireClose());
    socket.on('error', (error) => this.fireError(error));
  }

  listen(callback: DataCallback): Disposable {
    const decoder = new FrameDecoder({
      maxFrameBytes: this.maxFrameBytes,
      framing: 'ndjson',
      onFrame: (text) => {
        let message: Message;
        try {
          message = JSON.parse(text) as Message;
        } catch (error) {
          this.fireError(new Error(`the manager sent a line that is not JSON: ${(error as Error).message}`));
          return;
        }
        callback(message);
      },
      onError: (error) => {
        this.fireError(new Error(`unreadable frame from the manager: ${error.message}`));
        if (error.fatal) this.socket.destroy();
      },
    });
    const onData = (chunk: Buffer) => decoder.push(chunk);
    this.socket.on('data', onData);
    return Disposable.create(() => this.socket.off('data', onData));
  }
}

/** Writes each message as one NDJSON line in one socket write (no Nagle stalls between header and body). */
export class NdjsonMessageWriter extends AbstractMessageWriter implements MessageWriter {
  constructor(private readonly socket: Socket) {
    super();
    socket.on('close', () => this.fireClose());
  }

  write(message: Message): Promise<void> {
    if (this.socket.destroyed || !this.socket.writable) {
      const error = new Error('the connection to the manager is closed');
      this.fireError(error, message, 1);
      return Promise.reject(error);
    }
    this.socket.write(encodeFrame(JSON.stringify(message), 'ndjson'));
    return Promise.resolve();
  }

  end(): void {
    this.socket.end();
  }
}
