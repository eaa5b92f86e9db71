import * as vscode from 'vscode';
import type { ManagerConnection } from '../manager/connection';
import type { QueueStore } from '../model/queueStore';
import { QueueActivity, type ActivitySnapshot } from './queueActivity';

/** One sample a second: fine enough to see a burst, and the dashboard redraws at most that often. */
export const STEP_MS = 1000;

/**
 * Feeds the dashboard's history while connected, whether or not the dashboard is open (so it
 * opens on the last minutes, not on an empty chart): the events the extension already
 * subscribes to are counted, and the queue counts the Queues view reads are sampled. It asks
 * the manager for nothing of its own. Disconnected, the history is forgotten: the next
 * connection may be another manager.
 */
export class ActivityRecorder implements vscode.Disposable {
  readonly activity: QueueActivity;
  private readonly stepEmitter = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** A step was sampled (about once a second while connected). */
  readonly onDidStep = this.stepEmitter.event;

  constructor(
    private readonly connection: ManagerConnection,
    private readonly queues: QueueStore,
    windowMinutes: number,
  ) {
    this.activity = new QueueActivity({ windowMs: windowMinutes * 60_000, stepMs: STEP_MS });
    this.disposables.push(
      this.stepEmitter,
      connection.onEvent((event) => this.activity.countEvent(event.kind, event.queue)),
      queues.onDidChange(() => this.activity.setDepths(queues.queues)),
      connection.onDidChangeStatus(() => this.followConnection()),
    );
    this.followConnection();
  }

  setWindowMinutes(minutes: number): void {
    this.activity.setWindow(minutes * 60_000);
    this.stepEmitter.fire();
  }

  snapshot(): ActivitySnapshot {
    return this.activity.snapshot();
  }

  dispose(): void {
    this.stop();
    for (const d of this.disposables) d.dispose();
  }

  private followConnection(): void {
    if (this.connection.connected) {
      if (this.timer) return;
      this.activity.setDepths(this.queues.queues);
      this.timer = setInterval(() => {
        this.activity.step(Date.now());
        this.stepEmitter.fire();
      }, STEP_MS);
    } else if (this.connection.status !== 'connecting') {
      // Reconnecting keeps the history (the gap shows as flat rates); gone, it is forgotten.
      this.stop();
      this.activity.clear();
      this.stepEmitter.fire();
    }
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
