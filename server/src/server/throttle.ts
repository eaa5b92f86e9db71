import type { Logger } from './logger';

interface Window {
  message: string;
  repeated: number;
  last: Record<string, unknown> | undefined;
  timer: NodeJS.Timeout;
}

/**
 * Warnings that an attacker can trigger at will (failed authentications, refused
 * connections, handshake deadlines) go through here: the first of a kind is logged at once,
 * the others within the next interval are counted and summed up in one line when it ends.
 * So a flood costs at most two log lines per kind per interval.
 */
export class ThrottledLog {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  warn(kind: string, message: string, fields?: Record<string, unknown>): void {
    const window = this.windows.get(kind);
    if (window) {
      window.repeated++;
      window.last = fields;
      return;
    }
    this.log.warn(message, fields);
    const timer = setTimeout(() => this.flush(kind), this.intervalMs);
    timer.unref();
    this.windows.set(kind, { message, repeated: 0, last: undefined, timer });
  }

  /** Writes the pending summaries now (at shutdown). */
  flushAll(): void {
    for (const kind of [...this.windows.keys()]) this.flush(kind);
  }

  private flush(kind: string): void {
    const window = this.windows.get(kind);
    if (!window) return;
    clearTimeout(window.timer);
    this.windows.delete(kind);
    if (window.repeated > 0) {
      this.log.warn(`${window.message} (repeated)`, { ...window.last, repeated: window.repeated, withinSeconds: this.intervalMs / 1000 });
    }
  }
}
