import type { Socket } from 'node:net';

/**
 * What the tests' raw connections share: the messages received so far, whether the peer has
 * closed, and waiting for either. Each subclass reads the bytes in its own framing, pushes
 * what it parsed onto `messages` and calls wake().
 */
export abstract class MessageInbox<M> {
  readonly messages: M[] = [];
  closed = false;
  private waiters: (() => void)[] = [];

  protected constructor(readonly socket: Socket) {
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Resolves with (and removes) the first message matching `match`. */
  async waitFor(match: (message: M) => boolean, timeoutMs = 5000): Promise<M> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.messages.findIndex(match);
      if (index >= 0) return this.messages.splice(index, 1)[0]!;
      if (this.closed) throw new Error(`connection closed before the expected message; got ${this.describeMessages()}`);
      if (Date.now() >= deadline) throw new Error(`timed out waiting for a message; got ${this.describeMessages()}`);
      await this.idle(deadline);
    }
  }

  /** Resolves when the peer closes the connection. */
  async waitForClose(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() >= deadline) throw new Error('the connection stayed open');
      await this.idle(deadline);
    }
  }

  close(): void {
    this.socket.destroy();
  }

  /** New messages (or the close) arrived: everyone waiting looks again. */
  protected wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Until something arrives or the deadline; at most 250 ms, so conditions beyond messages are polled too. */
  protected idle(deadline: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, Math.min(deadline - Date.now(), 250)));
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private describeMessages(): string {
    return JSON.stringify(this.messages).slice(0, 2000);
  }
}
