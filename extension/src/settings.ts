import * as vscode from 'vscode';

/** The extension's settings. The authkey is deliberately not one: it lives in SecretStorage. */
export interface Settings {
  host: string;
  port: number;
  tls: boolean;
  tlsCaFile: string;
  autoStart: boolean;
  resultsKept: number;
  localManagerPort: number;
  /** How many minutes the dashboard's charts go back. */
  dashboardMinutes: number;
}

export function readSettings(): Settings {
  const config = vscode.workspace.getConfiguration('taskwire');
  return {
    host: config.get<string>('host', '127.0.0.1') || '127.0.0.1',
    port: config.get<number>('port', 7400),
    tls: config.get<boolean>('tls', false),
    tlsCaFile: config.get<string>('tlsCaFile', ''),
    autoStart: config.get<boolean>('autoStart', false),
    resultsKept: Math.max(1, config.get<number>('resultsKept', 100)),
    localManagerPort: config.get<number>('localManager.port', 7400),
    dashboardMinutes: Math.min(60, Math.max(1, config.get<number>('dashboard.minutes', 5))),
  };
}
