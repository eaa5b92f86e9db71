/**
 * A one-line progress bar on stderr, redrawn at most ten times a second; silent when stderr
 * is not a terminal (scripts and logs get only the final summary).
 */
export class ProgressBar {
  private lastDraw = 0;
  private readonly started = Date.now();
  private readonly enabled: boolean;

  /** `totalBytes`: the input's size when known, for a percentage. */
  constructor(
    private readonly label: string,
    private readonly totalBytes: number | undefined,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = stream.isTTY === true;
  }

  update(items: number, bytesDone?: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const rate = Math.round(items / Math.max(0.001, (now - this.started) / 1000));
    let line = `${this.label}: ${items.toLocaleString('en-US')} tasks, ${rate.toLocaleString('en-US')}/s`;
    if (this.totalBytes && bytesDone !== undefined) {
      const fraction = Math.min(1, bytesDone / this.totalBytes);
      const width = 30;
      const filled = Math.round(fraction * width);
      line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(fraction * 100)}% ${line.slice(this.label.length + 2)}`;
    }
    this.stream.write(`\r${line}\x1b[K`);
  }

  done(): void {
    if (this.enabled && this.lastDraw > 0) this.stream.write('\r\x1b[K');
  }
}
