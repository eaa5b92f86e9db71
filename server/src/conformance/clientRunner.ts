// Runs client cases: for each, the kit listens as a server, starts the client command (the
// driver) pointed at it, plays the case's script, and judges the driver's one-line outcome.
// The driver contract is in spec/conformance/README.md.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ClientCase } from './cases';
import { ClientExchange, clientQueueName } from './clientExchange';
import { expandCommand } from './commandTemplate';
import { CaseError, describe, match } from './pattern';
import { CaseFailure, type CaseResult } from './results';
import { DEFAULT_CASE_TIMEOUT } from './serverRunner';

/** What a driver prints as its last stdout line. */
export interface DriverOutcome {
  outcome: 'ok' | 'error' | 'unsupported';
  /** For `error`: the error class (see the README's list). */
  error?: string;
  code?: number;
  message?: string;
  value?: unknown;
  reason?: string;
}

interface DriverRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ClientRunOptions {
  /** The driver command line (split without a shell). */
  command: string;
  onResult?: (result: CaseResult) => void;
}

function lastJsonLine(stdout: string): DriverOutcome | undefined {
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const value = JSON.parse(lines[i]!) as unknown;
      if (value !== null && typeof value === 'object' && typeof (value as { outcome?: unknown }).outcome === 'string') return value as DriverOutcome;
    } catch {
      // Not the outcome line: drivers may log.
    }
  }
  return undefined;
}

function tail(text: string, max = 1500): string {
  const trimmed = text.trim();
  return trimmed.length > max ? `…${trimmed.slice(-max)}` : trimmed;
}

/** Runs one client case; never throws. */
export async function runClientCase(c: ClientCase, options: ClientRunOptions): Promise<CaseResult> {
  const started = Date.now();
  const base = { id: c.id, level: c.level, section: c.section, title: c.title, file: c.file };
  const key = Buffer.from(randomBytes(32).toString('hex'), 'utf8');
  const home = mkdtempSync(path.join(tmpdir(), 'taskwire-conformance-'));
  const keyFile = path.join(home, 'authkey');
  writeFileSync(keyFile, `${key.toString('utf8')}\n`, { mode: 0o600 });
  const exchange = new ClientExchange(c, key);
  const limit = c.timeout ?? DEFAULT_CASE_TIMEOUT;
  let step = 0;
  let driverProcess: ReturnType<typeof spawn> | undefined;
  const finish = (verdict: CaseResult['verdict'], extra: Partial<CaseResult> = {}): CaseResult => ({ ...base, verdict, seconds: (Date.now() - started) / 1000, ...extra });
  try {
    const port = await exchange.listen();
    const args = expandCommand(options.command, {});
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('TASKWIRE_') && value !== undefined) env[name] = value;
    Object.assign(env, {
      TASKWIRE_HOST: '127.0.0.1',
      TASKWIRE_PORT: String(port),
      TASKWIRE_AUTHKEY_FILE: keyFile,
      TASKWIRE_HOME: home,
      TASKWIRE_CONFORMANCE_OP: c.operation,
      TASKWIRE_CONFORMANCE_QUEUE: clientQueueName(c),
      TASKWIRE_CONFORMANCE_CASE: c.id,
      ...c.env,
    });
    const child = spawn(args[0]!, args.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    driverProcess = child;
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const exited = new Promise<DriverRun>((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, stdout, stderr: `${stderr}\ncannot run ${args[0]}: ${error.message}` }));
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
    const deadline = Date.now() + limit * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CaseFailure(`the case did not finish within ${limit} s (stuck at step ${step})`)), limit * 1000);
    });
    // A driver that does not support the operation may exit before it connects: its
    // answer ends the case at once instead of a script step waiting for a connection.
    const unsupported = exited.then((run) => (lastJsonLine(run.stdout)?.outcome === 'unsupported' ? run : new Promise<never>(() => {})));
    try {
      const declined = await Promise.race([exchange.run((index) => (step = index)).then(() => undefined), unsupported, timeout]);
      if (declined !== undefined) return judge(c, declined, finish);
      step = c.script.length + 1;
      const run = await Promise.race([exited, timeout]);
      return judge(c, run, finish);
    } catch (error) {
      // The script failed: the driver's own words help explain why.
      const run = await Promise.race([exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), Math.max(0, Math.min(2000, deadline - Date.now()))))]);
      const driverSaid = run ? `driver exit ${run.code ?? run.signal}; stdout: ${tail(run.stdout) || '(nothing)'}; stderr: ${tail(run.stderr) || '(nothing)'}` : 'the driver was still running';
      if (error instanceof CaseFailure)
        return finish('fail', { reason: `step ${step}: ${error.message}`, expected: error.expected, actual: [error.actual, driverSaid].filter((s) => s !== undefined).join('\n'), step });
      if (error instanceof CaseError) return finish('fail', { reason: `step ${step}: the case file is wrong: ${error.message}`, step });
      throw error;
    } finally {
      clearTimeout(timer);
    }
  } catch (error) {
    return finish('fail', { reason: (error as Error).message ?? String(error) });
  } finally {
    exchange.dispose();
    if (driverProcess && driverProcess.exitCode === null && driverProcess.signalCode === null) driverProcess.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
}

function judge(c: ClientCase, run: DriverRun, finish: (verdict: CaseResult['verdict'], extra?: Partial<CaseResult>) => CaseResult): CaseResult {
  const outcome = lastJsonLine(run.stdout);
  const said = `driver exit ${run.code ?? run.signal}; stdout: ${tail(run.stdout) || '(nothing)'}; stderr: ${tail(run.stderr) || '(nothing)'}`;
  if (outcome === undefined) return finish('fail', { reason: 'the driver printed no outcome line ({"outcome": ...})', expected: describe(c.outcome), actual: said });
  if (outcome.outcome === 'unsupported') return finish('skipped', { reason: `the driver does not support ${c.operation}: ${outcome.reason ?? 'no reason given'}` });
  if (run.code !== 0) return finish('fail', { reason: `the driver exited with ${run.code ?? run.signal}; a driver exits 0 whenever it prints an outcome`, actual: said });
  const wanted = c.outcome;
  if (outcome.outcome !== wanted.outcome)
    return finish('fail', {
      reason: `the client's operation ended with ${outcome.outcome}${outcome.error ? ` (${outcome.error}: ${outcome.message ?? ''})` : ''}, expected ${wanted.outcome}`,
      expected: describe(wanted),
      actual: describe(outcome),
    });
  if (wanted.outcome === 'error' && wanted.error !== undefined && !wanted.error.includes(String(outcome.error))) {
    return finish('fail', {
      reason: `the client reported error class ${JSON.stringify(outcome.error)}, expected ${wanted.error.map((e) => JSON.stringify(e)).join(' or ')}`,
      expected: describe(wanted),
      actual: describe(outcome),
    });
  }
  if (wanted.value !== undefined) {
    const mismatch = match(wanted.value, outcome.value, new Map());
    if (mismatch) return finish('fail', { reason: `the driver's value at ${mismatch.path || '/'}: ${mismatch.reason}`, expected: describe(wanted.value), actual: describe(outcome.value) });
  }
  return finish('pass');
}

/** Runs client cases one after another. */
export async function runClientCases(cases: readonly ClientCase[], options: ClientRunOptions): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    const result = await runClientCase(c, options);
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}
