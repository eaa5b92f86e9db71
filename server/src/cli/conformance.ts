import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { readAuthkeyFile, resolveAuthkey } from '../authkey';
import { CaseFileError, defaultCasesRoot, levelSelected, loadClientCases, loadServerCases, type CaseCommon, type Level } from '../conformance/cases';
import { runClientCases } from '../conformance/clientRunner';
import { checkTemplate, CommandTemplateError, referenceServerCommand } from '../conformance/commandTemplate';
import { formatResultText, formatTotals, jsonReport, junitReport, type ReportMeta } from '../conformance/reporters';
import { totalsOf, type CaseResult } from '../conformance/results';
import { newRunId, runServerCases } from '../conformance/serverRunner';
import { ConnectionFailedError, WireConnection } from '../conformance/wireConnection';
import { parsePort } from './connection';
import { CliError, ExitCode } from './exitCodes';

interface SelectionFlags {
  level: string;
  case: string[];
  json?: string;
  junit?: string;
  casesDir?: string;
  list?: boolean;
}

interface ServerFlags extends SelectionFlags {
  host: string;
  port: number;
  authkey?: string;
  authkeyFile?: string;
  serverCmd?: string;
  reference?: boolean;
}

interface ClientFlags extends SelectionFlags {
  cmd: string;
}

const LEVEL_WORDS: Readonly<Record<string, Level>> = { must: 'MUST', should: 'SHOULD', may: 'MAY' };

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function selectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--level <level>', 'run cases up to this level: must (MUST only), should (MUST and SHOULD), may (all)').choices(Object.keys(LEVEL_WORDS)).default('may'))
    .option('--case <id>', 'run only this case (repeatable; a trailing * matches a prefix, e.g. handshake.*)', collect, [])
    .option('--json <file>', 'write a JSON report to this file')
    .option('--junit <file>', 'write a JUnit XML report to this file')
    .option('--cases-dir <dir>', 'the conformance folder (with case.schema.json, cases/, client-cases/)')
    .option('--list', 'list the selected cases and exit');
}

/** The cases the flags select, or a usage error naming an unknown case id. */
function select<T extends CaseCommon>(all: T[], flags: SelectionFlags): T[] {
  const threshold = LEVEL_WORDS[flags.level]!;
  const ids = flags.case;
  for (const id of ids) {
    const found = id.endsWith('*') ? all.some((c) => c.id.startsWith(id.slice(0, -1))) : all.some((c) => c.id === id);
    if (!found) throw new CliError(`unknown case id "${id}" (see --list)`, ExitCode.Usage);
  }
  return all.filter((c) => levelSelected(c.level, threshold) && (ids.length === 0 || ids.some((id) => (id.endsWith('*') ? c.id.startsWith(id.slice(0, -1)) : c.id === id))));
}

function loadOrFail<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof CaseFileError) throw new CliError(`invalid case file: ${error.message}`, ExitCode.Failure);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CliError(`cannot read the cases: ${(error as Error).message}`, ExitCode.Usage);
    throw error;
  }
}

function writeReport(file: string | undefined, text: string): void {
  if (file === undefined) return;
  try {
    writeFileSync(file, text);
  } catch (error) {
    throw new CliError(`cannot write the report ${file}: ${(error as Error).message}`, ExitCode.Failure);
  }
}

/** Prints the verdicts' total, writes the reports, and fails the command when a case failed. */
function finish(results: CaseResult[], flags: SelectionFlags, meta: ReportMeta): void {
  const totals = totalsOf(results);
  writeReport(flags.json, jsonReport(results, meta));
  writeReport(flags.junit, junitReport(results, meta));
  process.stdout.write(`\n${formatTotals(totals)}\n`);
  if (totals.failed > 0) throw new CliError(`${totals.failed} conformance case${totals.failed === 1 ? '' : 's'} failed`, ExitCode.Failure);
}

function list(cases: CaseCommon[]): void {
  for (const c of cases) process.stdout.write(`${c.id}  ${c.level}  §${c.section.slice(1)}  ${c.title}\n`);
}

async function checkServer(given: ServerFlags): Promise<void> {
  if (given.reference && given.serverCmd !== undefined) throw new CliError('--reference and --server-cmd both say how to start the server: give one', ExitCode.Usage);
  const flags: ServerFlags = given.reference ? { ...given, serverCmd: referenceServerCommand() } : given;
  const cases = select(loadOrFail(() => loadServerCases(flags.casesDir ?? defaultCasesRoot())), flags);
  if (flags.list) return list(cases);
  let temporaryHome: string | undefined;
  let authkey: Buffer;
  let authkeyFile = flags.authkeyFile;
  try {
    if (flags.serverCmd !== undefined) {
      try {
        checkTemplate(flags.serverCmd);
      } catch (error) {
        if (error instanceof CommandTemplateError) throw new CliError(`--server-cmd: ${error.message}`, ExitCode.Usage);
        throw error;
      }
      if (authkeyFile === undefined) {
        // The runner's own server: a fresh key in a private folder, removed afterwards.
        temporaryHome = mkdtempSync(path.join(tmpdir(), 'taskwire-conformance-'));
        authkeyFile = path.join(temporaryHome, 'authkey');
        writeFileSync(authkeyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
      }
      authkey = readAuthkeyFile(authkeyFile);
    } else {
      authkey = resolveAuthkey({ ...(flags.authkey ? { authkey: flags.authkey } : {}), ...(authkeyFile ? { authkeyFile } : {}) }).key;
      try {
        (await WireConnection.open(flags.host, flags.port, 'ndjson')).close();
      } catch (error) {
        if (error instanceof ConnectionFailedError) throw new CliError(`${error.message} (is the server running? or let the kit start it with --server-cmd)`, ExitCode.Unreachable);
        throw error;
      }
    }
    const runId = newRunId();
    const target = flags.serverCmd !== undefined ? `server started by: ${flags.serverCmd}` : `server ${flags.host}:${flags.port}`;
    process.stdout.write(`Taskwire conformance: ${cases.length} server case${cases.length === 1 ? '' : 's'} against ${target} (run ${runId})\n\n`);
    const meta: ReportMeta = { kind: 'server', target, runId, startedAt: new Date().toISOString() };
    const results = await runServerCases(cases, {
      host: flags.host,
      port: flags.port,
      authkey,
      ...(flags.serverCmd !== undefined ? { serverCommand: flags.serverCmd, authkeyFile: authkeyFile! } : {}),
      runId,
      onResult: (result) => process.stdout.write(formatResultText(result) + '\n'),
    });
    finish(results, flags, meta);
  } finally {
    if (temporaryHome !== undefined) rmSync(temporaryHome, { recursive: true, force: true });
  }
}

async function checkClient(flags: ClientFlags): Promise<void> {
  const cases = select(loadOrFail(() => loadClientCases(flags.casesDir ?? defaultCasesRoot())), flags);
  if (flags.list) return list(cases);
  try {
    checkTemplate(flags.cmd);
  } catch (error) {
    if (error instanceof CommandTemplateError) throw new CliError(`--cmd: ${error.message}`, ExitCode.Usage);
    throw error;
  }
  const runId = newRunId();
  process.stdout.write(`Taskwire conformance: ${cases.length} client case${cases.length === 1 ? '' : 's'}, the kit playing the server for: ${flags.cmd} (run ${runId})\n\n`);
  const meta: ReportMeta = { kind: 'client', target: flags.cmd, runId, startedAt: new Date().toISOString() };
  const results = await runClientCases(cases, { command: flags.cmd, onResult: (result) => process.stdout.write(formatResultText(result) + '\n') });
  finish(results, flags, meta);
}

export function conformanceCommand(): Command {
  const client = selectionOptions(
    new Command('client')
      .description('check a client library: the kit plays a server (correct and deliberately wrong) for a driver command')
      .requiredOption('--cmd <command>', 'the driver command, e.g. "python3 samples/python/conformance_driver.py" (split without a shell)'),
  )
    .addHelpText(
      'after',
      `
For each client case the kit listens on a free loopback port and runs the driver with
TASKWIRE_HOST, TASKWIRE_PORT, TASKWIRE_AUTHKEY_FILE and TASKWIRE_CONFORMANCE_OP (ping, put,
get, cancel-get, reconnect), plus the case's TASKWIRE_CONFORMANCE_* variables. The driver
performs the operation with its client library and prints one JSON line:
  {"outcome": "ok", "value": ...}   or   {"outcome": "error", "error": "<class>", "message": "..."}
  or {"outcome": "unsupported", "reason": "..."} (the case is skipped).
Driver contract and error classes: spec/conformance/README.md.

Example:
  taskwire conformance client --cmd "python3 samples/python/conformance_driver.py"`,
    )
    .action(async (flags: ClientFlags) => checkClient(flags));

  return selectionOptions(
    new Command('conformance')
      .description('check a Taskwire server (or, with `client`, a client library) against the protocol spec')
      // `client` has the selection options too: after `client` they are its own, not these.
      .enablePositionalOptions()
      .addOption(new Option('--host <host>', 'server host').env('TASKWIRE_HOST').default('127.0.0.1'))
      .addOption(new Option('-p, --port <port>', 'server port').env('TASKWIRE_PORT').default(7400).argParser(parsePort))
      .option('--authkey <key>', 'the shared key (prefer --authkey-file)')
      .option('--authkey-file <file>', 'file holding the key (else $TASKWIRE_AUTHKEY, $TASKWIRE_AUTHKEY_FILE, ~/.taskwire/authkey)')
      .option('--server-cmd <command>', 'start the server with this command (placeholders below) instead of connecting to --host/--port')
      .option('--reference', "start this package's own server (taskwire serve) with every option a case needs: the reference run"),
  )
    .addHelpText(
      'after',
      `
Runs the language-neutral cases of spec/conformance/cases/ one after another, validating every
message received against spec/protocol.json, and prints a verdict per case and a total line.
Exit code 0 when no case failed, 1 when one did (see taskwire --help for the others).

--server-cmd placeholders (expanded after the command is split, without a shell):
  {port} {host} {authkeyFile}   where the server must listen and the key file it must read
  {NAME}                        the value of a server option a case needs
  {NAME?TEXT}                   TEXT with $ replaced by the option's value, only when a case needs it
Options cases need: ttr, maxAttempts, maxFrameBytes, maxPayloadBytes, maxBatch,
maxSubscriptions, handshakeTimeout, maxConnections, maxHandshakesPerAddress, maxQueuedBytes,
noAutoCreate.
Without --server-cmd, cases that need options (or a server of their own) are skipped with the
reason. --reference is --server-cmd with this installation's taskwire serve and every option.

Examples:
  taskwire conformance --port 7400 --authkey-file ~/.taskwire/authkey
  taskwire conformance --level must --case handshake.* --junit conformance.xml
  taskwire conformance --reference
  taskwire conformance --server-cmd "./my-server --listen {host}:{port} --key {authkeyFile} {ttr?--lease-seconds $}"
  taskwire conformance client --cmd "python3 samples/python/conformance_driver.py"`,
    )
    .addCommand(client)
    .action(async (flags: ServerFlags) => checkServer(flags));
}
