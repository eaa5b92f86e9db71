// Runs server cases one after another against a server: one the user runs (--host/--port),
// or servers the runner starts itself (--server-cmd), one per set of server options the
// cases need and one for each case that needs a server of its own; over TLS when asked.
import { randomBytes } from 'node:crypto';
import type { ServerCase, ServerOptionsNeeded } from './cases';
import { placeholdersIn, type ServerTlsFiles } from './commandTemplate';
import { CaseError } from './pattern';
import { CaseFailure, CaseSkipped, type CaseResult } from './results';
import { ServerExchange, type ServerTarget } from './serverExchange';
import { ServerProcess, ServerStartError } from './serverProcess';
import type { TlsTrust } from './wireConnection';

/** Seconds a case may take unless it says otherwise. */
export const DEFAULT_CASE_TIMEOUT = 20;

export interface ServerRunOptions {
  host: string;
  authkey: Buffer;
  /** The port of a running server; unused with serverCommand. */
  port?: number;
  /** Start the server with this command template; see commandTemplate.ts. */
  serverCommand?: string;
  /** The key file given to the server command ({authkeyFile}). */
  authkeyFile?: string;
  /**
   * A run over TLS: how the kit checks the server's certificate, the files a started server
   * serves ({tlsCert}, {tlsKey}; required with serverCommand), and a CA that signed nothing.
   */
  tls?: { trust: TlsTrust; serverFiles?: ServerTlsFiles; unrelatedCa: Buffer };
  /** Distinguishes this run's queues from other runs' on the same server. */
  runId?: string;
  onResult?: (result: CaseResult) => void;
}

/** A short random run id, safe in queue names. */
export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

function optionsKey(options: ServerOptionsNeeded | undefined): string {
  const entries = Object.entries(options ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(entries);
}

function skipped(c: ServerCase, reason: string): CaseResult {
  return { id: c.id, level: c.level, section: c.section, title: c.title, file: c.file, verdict: 'skipped', reason, seconds: 0 };
}

/** Why a case cannot run in this setting, or undefined when it can. */
function skipReason(c: ServerCase, options: ServerRunOptions): string | undefined {
  if (c.server?.tls && options.tls === undefined) return 'checks TLS: run with --tls (the kit makes a certificate for a server it starts) or --tls-ca FILE';
  const needed = c.server?.options ?? {};
  if (options.serverCommand === undefined) {
    if (c.server?.exclusive) return 'needs a server of its own (it stops or counts the whole server): run with --server-cmd';
    const names = Object.entries(needed).map(([k, v]) => `${k}=${String(v)}`);
    if (names.length > 0) return `needs the server started with ${names.join(', ')}: run with --server-cmd`;
    return undefined;
  }
  const missing = Object.keys(needed).filter((name) => !placeholdersIn(options.serverCommand!).has(name));
  if (missing.length > 0) return `needs server option(s) ${missing.join(', ')}, but --server-cmd has no ${missing.map((m) => `{${m}?...}`).join(' ')} placeholder`;
  return undefined;
}

/** Runs one case against a target and returns its verdict (never throws). */
export async function runServerCase(c: ServerCase, target: ServerTarget, runId: string): Promise<CaseResult> {
  const started = Date.now();
  const exchange = new ServerExchange(target, c, runId);
  let step = 0;
  const limit = c.timeout ?? DEFAULT_CASE_TIMEOUT;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CaseFailure(`the case did not finish within ${limit} s (stuck at step ${step})`)), limit * 1000);
  });
  const base = { id: c.id, level: c.level, section: c.section, title: c.title, file: c.file };
  try {
    await Promise.race([exchange.run((index) => (step = index)), timeout]);
    return { ...base, verdict: 'pass', seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    const seconds = (Date.now() - started) / 1000;
    if (error instanceof CaseSkipped) return { ...base, verdict: 'skipped', reason: error.message, seconds };
    if (error instanceof CaseFailure) return { ...base, verdict: 'fail', reason: `step ${step}: ${error.message}`, expected: error.expected, actual: error.actual, step, seconds };
    if (error instanceof CaseError) return { ...base, verdict: 'fail', reason: `step ${step}: the case file is wrong: ${error.message}`, step, seconds };
    return { ...base, verdict: 'fail', reason: `step ${step}: ${(error as Error).message ?? String(error)}`, step, seconds };
  } finally {
    clearTimeout(timer);
    exchange.dispose();
  }
}

/** Runs the cases and returns their verdicts in the cases' order. */
export async function runServerCases(cases: readonly ServerCase[], options: ServerRunOptions): Promise<CaseResult[]> {
  const runId = options.runId ?? newRunId();
  const results = new Map<string, CaseResult>();
  const report = (result: CaseResult) => {
    results.set(result.id, result);
    options.onResult?.(result);
  };
  const runnable: ServerCase[] = [];
  for (const c of cases) {
    const reason = skipReason(c, options);
    if (reason === undefined) runnable.push(c);
    else report(skipped(c, reason));
  }
  if (options.serverCommand === undefined) {
    const target = targetAt(options, options.port ?? 7400);
    for (const c of runnable) report(await runServerCase(c, target, runId));
  } else {
    // Groups: one server per distinct option set, and one per exclusive case.
    const groups = new Map<string, ServerCase[]>();
    for (const c of runnable) {
      const key = c.server?.exclusive ? `exclusive:${c.id}` : optionsKey(c.server?.options);
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    for (const group of groups.values()) await runGroup(group, options, runId, report);
  }
  return cases.map((c) => results.get(c.id)!);
}

function targetAt(options: ServerRunOptions, port: number): ServerTarget {
  return { host: options.host, port, authkey: options.authkey, ...(options.tls ? { tls: options.tls.trust, unrelatedCa: options.tls.unrelatedCa } : {}) };
}

async function runGroup(group: ServerCase[], options: ServerRunOptions, runId: string, report: (result: CaseResult) => void): Promise<void> {
  let server: ServerProcess;
  try {
    server = await ServerProcess.start(options.serverCommand!, options.host, options.authkeyFile!, group[0]!.server?.options ?? {}, options.tls?.serverFiles);
  } catch (error) {
    const reason = error instanceof ServerStartError ? error.message : String(error);
    for (const c of group)
      report({ id: c.id, level: c.level, section: c.section, title: c.title, file: c.file, verdict: 'fail', reason: `the server did not start: ${reason.split('\n')[0]}`, actual: reason, seconds: 0 });
    return;
  }
  try {
    const target = targetAt(options, server.port);
    for (const c of group) report(await runServerCase(c, target, runId));
  } finally {
    await server.stop();
  }
}
