import type { Event as TaskwireEvent } from 'taskwire';
import * as vscode from 'vscode';
import type { ManagerConnection } from '../manager/connection';

/** An acknowledged task, as the Results view shows it. */
export interface ResultEntry {
  taskId: string;
  queue: string;
  /** The task's payload, when its put or get was seen (events with includePayload). */
  payload: unknown;
  hasPayload: boolean;
  /** The result the worker acked with; absent when it acked without one. */
  result: unknown;
  hasResult: boolean;
  attempt: number | undefined;
  /** Who acked it. */
  worker: string | undefined;
  at: Date;
}

/** Payloads remembered per task id until the ack arrives, at most this many times resultsKept. */
const PAYLOADS_PER_RESULT = 20;
const MIN_PAYLOADS = 1000;
/** A thousand acks a second redraw the view four times a second, not a thousand. */
const CHANGE_DELAY_MS = 250;

/**
 * The latest acknowledged results, newest first, bounded by `taskwire.resultsKept`. Ack
 * events carry results but not payloads, so payloads seen in put and get events are kept in a
 * bounded map by task id until their ack (oldest forgotten first).
 */
export class ResultStore implements vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  private readonly payloads = new Map<string, unknown>();
  private readonly disposables: vscode.Disposable[] = [];
  private changeTimer: NodeJS.Timeout | undefined;

  entries: ResultEntry[] = [];
  paused = false;
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    connection: ManagerConnection,
    private kept: number,
  ) {
    this.disposables.push(
      this.changeEmitter,
      connection.onEvent((event) => this.observe(event)),
    );
  }

  /** The bound changed (setting `taskwire.resultsKept`). */
  setKept(kept: number): void {
    this.kept = Math.max(1, kept);
    if (this.entries.length > this.kept) {
      this.entries.length = this.kept;
      this.changed();
    }
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.changed();
  }

  clear(): void {
    this.entries = [];
    this.payloads.clear();
    this.changed();
  }

  dispose(): void {
    if (this.changeTimer) clearTimeout(this.changeTimer);
    for (const d of this.disposables) d.dispose();
  }

  private observe(event: TaskwireEvent): void {
    if (event.taskId === undefined) return;
    if ((event.kind === 'put' || event.kind === 'get') && event.payload !== undefined) {
      this.remember(event.taskId, event.payload);
      return;
    }
    if (event.kind === 'dead') {
      this.payloads.delete(event.taskId);
      return;
    }
    if (event.kind !== 'ack') return;
    const hasPayload = this.payloads.has(event.taskId);
    const payload = this.payloads.get(event.taskId);
    this.payloads.delete(event.taskId);
    if (this.paused) return;
    this.entries.unshift({
      taskId: event.taskId,
      queue: event.queue ?? '',
      payload,
      hasPayload,
      result: event.result,
      hasResult: event.result !== undefined,
      attempt: event.attempt,
      worker: event.client?.name,
      at: new Date(event.at),
    });
    if (this.entries.length > this.kept) this.entries.length = this.kept;
    this.changed();
  }

  private remember(taskId: string, payload: unknown): void {
    // Re-inserting moves the id to the end: the map is ordered oldest first.
    this.payloads.delete(taskId);
    this.payloads.set(taskId, payload);
    const max = Math.max(MIN_PAYLOADS, this.kept * PAYLOADS_PER_RESULT);
    while (this.payloads.size > max) this.payloads.delete(this.payloads.keys().next().value!);
  }

  private changed(): void {
    this.changeTimer ??= setTimeout(() => {
      this.changeTimer = undefined;
      this.changeEmitter.fire();
    }, CHANGE_DELAY_MS);
  }
}
