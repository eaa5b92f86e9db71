import * as vscode from 'vscode';

/** A button on a notification and what it does. */
export interface Action {
  title: string;
  run: () => unknown;
}

export type Severity = 'info' | 'warning' | 'error';

/** A notification as it was shown; kept so tests (and the Manager view) can read the last ones. */
export interface ShownMessage {
  severity: Severity;
  message: string;
  actions: string[];
  at: Date;
}

const KEPT = 50;

/**
 * Shows notifications without waiting for them: a command that reports a problem returns at
 * once, and the chosen action runs whenever the user clicks it (or never).
 */
export class Notifier {
  /** The latest notifications, oldest first. */
  readonly shown: ShownMessage[] = [];

  get last(): ShownMessage | undefined {
    return this.shown[this.shown.length - 1];
  }

  info(message: string, ...actions: Action[]): void {
    this.show('info', message, actions);
  }

  warn(message: string, ...actions: Action[]): void {
    this.show('warning', message, actions);
  }

  error(message: string, ...actions: Action[]): void {
    this.show('error', message, actions);
  }

  private show(severity: Severity, message: string, actions: Action[]): void {
    this.shown.push({ severity, message, actions: actions.map((a) => a.title), at: new Date() });
    if (this.shown.length > KEPT) this.shown.splice(0, this.shown.length - KEPT);
    const titles = actions.map((a) => a.title);
    const shown =
      severity === 'error'
        ? vscode.window.showErrorMessage(message, ...titles)
        : severity === 'warning'
          ? vscode.window.showWarningMessage(message, ...titles)
          : vscode.window.showInformationMessage(message, ...titles);
    // An action reports its own failures (the commands it runs notify); nothing to add here.
    void Promise.resolve(shown)
      .then((choice) => actions.find((a) => a.title === choice)?.run())
      .then(undefined, () => undefined);
  }
}
