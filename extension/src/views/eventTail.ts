import type { Event as TaskwireEvent } from 'taskwire';
import * as vscode from 'vscode';
import { describeAddress, type ManagerConnection } from '../manager/connection';
import { oneLine } from './format';
import { progressText } from './progressText';

/** Lines are appended in batches: a busy manager must not cost one append per event. */
const FLUSH_MS = 200;

/**
 * "Tail to output channel": every event of the manager as one line in the output channel
 * "Taskwire Events", like `taskwire tail --payload`.
 */
export class EventTail implements vscode.Disposable {
  private channel: vscode.OutputChannel | undefined;
  private listener: vscode.Disposable | undefined;
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly connection: ManagerConnection) {}

  get tailing(): boolean {
    return this.listener !== undefined;
  }

  start(): vscode.OutputChannel {
    this.channel ??= vscode.window.createOutputChannel('Taskwire Events');
    if (!this.listener) {
      this.listener = this.connection.onEvent((event) => this.write(formatEvent(event)));
      const where = this.connection.address ? ` of ${describeAddress(this.connection.address)}` : '';
      this.write(`--- tailing the events${where} (${this.connection.connected ? 'connected' : 'not connected yet'})`);
    }
    this.channel.show(true);
    return this.channel;
  }

  stop(): void {
    this.listener?.dispose();
    this.listener = undefined;
    this.write('--- stopped tailing');
    this.flush();
  }

  dispose(): void {
    this.listener?.dispose();
    if (this.timer) clearTimeout(this.timer);
    this.channel?.dispose();
  }

  private write(line: string): void {
    this.pending.push(line);
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || !this.channel) return;
    this.channel.append(`${this.pending.join('\n')}\n`);
    this.pending = [];
  }
}

/** `12:00:01.234 ack      tasks 5f0c09-0 #1 by resize-worker result="ok"` */
export function formatEvent(e: TaskwireEvent): string {
  const parts = [e.at.slice(11, 23), e.kind.padEnd(8)];
  if (e.queue !== undefined) parts.push(e.queue);
  // A schedule's tick, set or delete (protocol 2026-12): `schedule-set crawl schedule recrawl by …`.
  if (e.schedule !== undefined) parts.push(`schedule ${e.schedule}`);
  if (e.taskId !== undefined) parts.push(e.taskId);
  if (e.attempt !== undefined) parts.push(`#${e.attempt}`);
  // A progress report (protocol 2026-12): `progress tasks 5f0c09-0 40% fetching page 2 by …`.
  if (e.kind === 'progress') parts.push(progressText(e, 200));
  if (e.client) parts.push(`by ${e.client.name}${e.client.role ? ` (${e.client.role})` : ''}`);
  if (e.count !== undefined) parts.push(`count=${e.count}`);
  if (e.payload !== undefined) parts.push(`payload=${oneLine(e.payload, 200)}`);
  if (e.result !== undefined) parts.push(`result=${oneLine(e.result, 200)}`);
  if (e.detail !== undefined) parts.push(`detail=${oneLine(e.detail, 200)}`);
  // A release says why its holder let go, as `taskwire tail` does: `released … (client stopped)`.
  if (e.error !== undefined) parts.push(e.kind === 'released' ? `(${e.error})` : `error=${JSON.stringify(e.error)}`);
  return parts.join(' ');
}
