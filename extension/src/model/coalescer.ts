import type * as vscode from 'vscode';

/**
 * Runs a refresh once per burst of triggers: the first trigger schedules it `delayMs` later,
 * triggers meanwhile join that run, and a trigger during a run schedules one more after it.
 * So a stream of thousands of events costs one request per `delayMs`, never one per event,
 * and requests never overlap.
 */
export class Coalescer implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private disposed = false;

  constructor(
    private readonly run: () => Promise<void>,
    public delayMs: number,
  ) {}

  trigger(): void {
    if (this.disposed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.timer ??= setTimeout(() => void this.fire(), this.delayMs);
  }

  /** Runs now (after a run in progress), cancelling a scheduled one. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.running) await this.running;
    await this.fire();
  }

  /** Drops a scheduled run. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.again = false;
  }

  dispose(): void {
    this.disposed = true;
    this.cancel();
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    if (this.disposed) return;
    const run = this.run().catch(() => undefined);
    this.running = run;
    try {
      await run;
    } finally {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.trigger();
      }
    }
  }
}
