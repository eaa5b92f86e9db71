import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { readAuthkeyFile, resolveAuthkey } from '../authkey';
import { CaseFileError, defaultCasesRoot, levelSelected, loadClientCases, loadServerCases, loadUnrelatedCa, type CaseCommon, type Level } from '../conformance/cases';
import { runClientCases } from '../conformance/clientRunner';
import { checkTemplate, CommandTemplateError, placeholdersIn, referenceServerCommand } from '../conformance/commandTemplate';
import { formatResultText, formatTotals, jsonReport, junitReport, type ReportMeta } from '../conformance/reporters';
import { totalsOf, type CaseResult } from '../conformance/results';
import { newRunId, runServerCases, type ServerRunOptions } from '../conformance/serverRunner';
import { CertificateError, makeTestCertificates } from '../conformance/testCertificates';
import { ConnectionFailedError, WireConnection, type TlsTrust } from '../conformance/wireConnection';
import { parsePort } from './connection';
import { CliError, ExitCode } from './exitCodes';

interface SelectionFlags {
  level: string;
  case: string[];
  exclude: string[];
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
  referenceArgs?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
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
    .option('--exclude <id>', 'leave this case out (repeatable; a trailing * matches a prefix, e.g. tls.*)', collect, [])
    .option('--json <file>', 'write a JSON report to this file')
    .option('--junit <file>', 'write a JUnit XML report to this file')
    .option('--cases-dir <dir>', 'the conformance folder (with case.schema.json, cases/, client-cases/)')
    .option('--list', 'list the selected cases and exit');
}

/** Whether a --case/--exclude pattern names the case: its id, or a prefix with a trailing `*`. */
function names(pattern: string, c: CaseCommon): boolean {
  return pattern.endsWith('*') ? c.id.startsWith(pattern.slice(0, -1)) : c.id === pattern;
}

/** The cases the flags select, or a usage error naming an unknown case id. */
function select<T extends CaseCommon>(all: T[], flags: SelectionFlags): T[] {
  const threshold = LEVEL_WORDS[flags.level]!;
  for (const id of [...flags.case, ...flags.exclude]) {
    if (!all.some((c) => names(id, c))) throw new CliError(`unknown case id "${id}" (see --list)`, ExitCode.Usage);
  }
  return all.filter((c) => levelSelected(c.level, threshold) && (flags.case.length === 0 || flags.case.some((id) => names(id, c))) && !flags.exclude.some((id) => names(id, c)));
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

function readPemFlag(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new CliError(`cannot read ${flag} ${file}: ${(error as Error).message}`, ExitCode.Usage);
  }
}

/**
 * The TLS side of a run, or undefined for plain TCP. A server the kit starts serves
 * --tls-cert/--tls-key, or a certificate the kit makes with openssl (signed by a fresh CA it
 * trusts); a running server is trusted through --tls-ca, or the system's CAs.
 */
function tlsOfRun(flags: ServerFlags, privateFolder: () => string): ServerRunOptions['tls'] {
  if (!flags.tls && flags.tlsCa === undefined && flags.tlsCert === undefined && flags.tlsKey === undefined) return undefined;
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined))
    throw new CliError('--tls-cert and --tls-key go together: give both, or neither to let the kit make a certificate', ExitCode.Usage);
  const unrelatedCa = loadUnrelatedCa(flags.casesDir ?? defaultCasesRoot());
  if (flags.serverCmd === undefined) {
    if (flags.tlsCert !== undefined) throw new CliError('--tls-cert and --tls-key are for a server the kit starts (--reference or --server-cmd); for a running server give --tls-ca', ExitCode.Usage);
    const trust: TlsTrust = flags.tlsCa !== undefined ? { ca: readPemFlag('--tls-ca', flags.tlsCa) } : {};
    return { trust, unrelatedCa };
  }
  const missing = ['tlsCert', 'tlsKey'].filter((name) => !placeholdersIn(flags.serverCmd!).has(name));
  if (missing.length > 0) throw new CliError(`--tls: --server-cmd has no ${missing.map((m) => `{${m}?...}`).join(' ')} placeholder to give the server its certificate and key`, ExitCode.Usage);
  if (flags.tlsCert !== undefined) {
    // A self-signed certificate is its own CA; a signed one needs --tls-ca.
    const ca = readPemFlag(flags.tlsCa !== undefined ? '--tls-ca' : '--tls-cert', flags.tlsCa ?? flags.tlsCert);
    readPemFlag('--tls-key', flags.tlsKey!);
    return { trust: { ca }, serverFiles: { certFile: flags.tlsCert, keyFile: flags.tlsKey! }, unrelatedCa };
  }
  if (flags.tlsCa !== undefined)
    throw new CliError('--tls-ca with a server the kit starts needs the certificate it signed: give --tls-cert and --tls-key too (or only --tls, and the kit makes all three)', ExitCode.Usage);
  try {
    const made = makeTestCertificates(path.join(privateFolder(), 'tls'));
    return { trust: { ca: made.ca }, serverFiles: { certFile: made.certFile, keyFile: made.keyFile }, unrelatedCa };
  } catch (error) {
    if (error instanceof CertificateError) throw new CliError(`--tls: ${error.message} (--tls-cert/--tls-key)`, ExitCode.Failure);
    throw error;
  }
}

async function checkServer(given: ServerFlags): Promise<void> {
  if (given.reference && given.serverCmd !== undefined) throw new CliError('--reference and --server-cmd both say how to start the server: give one', ExitCode.Usage);
  if (given.referenceArgs !== undefined && !given.reference) throw new CliError('--reference-args adds options to the server --reference starts: give --reference too', ExitCode.Usage);
  const flags: ServerFlags = given.reference ? { ...given, serverCmd: referenceServerCommand(given.referenceArgs) } : given;
  const cases = select(
    loadOrFail(() => loadServerCases(flags.casesDir ?? defaultCasesRoot())),
    flags,
  );
  if (flags.list) return list(cases);
  let temporaryHome: string | undefined;
  // The runner's own files (a key, certificates) go in a private folder, removed afterwards.
  const privateFolder = () => (temporaryHome ??= mkdtempSync(path.join(tmpdir(), 'taskwire-conformance-')));
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
        // The runner's own server: a fresh key.
        authkeyFile = path.join(privateFolder(), 'authkey');
        writeFileSync(authkeyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
      }
      authkey = readAuthkeyFile(authkeyFile);
    } else {
      authkey = resolveAuthkey({ ...(flags.authkey ? { authkey: flags.authkey } : {}), ...(authkeyFile ? { authkeyFile } : {}) }).key;
    }
    const tls = tlsOfRun(flags, privateFolder);
    if (flags.serverCmd === undefined) {
      try {
        (await WireConnection.open(flags.host, flags.port, 'ndjson', tls ? { tls: tls.trust } : {})).close();
      } catch (error) {
        if (error instanceof ConnectionFailedError) {
          const hint =
            error.kind === 'network'
              ? 'is the server running? or let the kit start it with --server-cmd'
              : error.kind === 'certificate'
                ? 'give the CA that signed its certificate with --tls-ca'
                : 'does it serve TLS?';
          throw new CliError(`${error.message} (${hint})`, ExitCode.Unreachable);
        }
        throw error;
      }
    }
    const runId = newRunId();
    const over = tls ? ' over TLS' : '';
    const target = flags.serverCmd !== undefined ? `server started by: ${flags.serverCmd}${over}` : `server ${flags.host}:${flags.port}${over}`;
    process.stdout.write(`Taskwire conformance: ${cases.length} server case${cases.length === 1 ? '' : 's'} against ${target} (run ${runId})\n\n`);
    const meta: ReportMeta = { kind: 'server', target, runId, startedAt: new Date().toISOString() };
    const results = await runServerCases(cases, {
      host: flags.host,
      port: flags.port,
      authkey,
      ...(flags.serverCmd !== undefined ? { serverCommand: flags.serverCmd, authkeyFile: authkeyFile! } : {}),
      ...(tls ? { tls } : {}),
      runId,
      onResult: (result) => process.stdout.write(formatResultText(result) + '\n'),
    });
    finish(results, flags, meta);
  } finally {
    if (temporaryHome !== undefined) rmSync(temporaryHome, { recursive: true, force: true });
  }
}

async function checkClient(flags: ClientFlags): Promise<void> {
  const cases = select(
    loadOrFail(() => loadClientCases(flags.casesDir ?? defaultCasesRoot())),
    flags,
  );
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
get, cancel-get, reconnect, work), plus the case's TASKWIRE_CONFORMANCE_* variables. The driver
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
      .option('--reference', "start this package's own server (taskwire serve) with every option a case needs: the reference run")
      .option('--reference-args <options>', 'with --reference: more options for taskwire serve, e.g. "--store redis://127.0.0.1:6390" to check a manager on Redis')
      .option('--tls', 'run over TLS: a server the kit starts gets a certificate the kit makes (with openssl); a running one is checked against the system CAs')
      .option('--tls-ca <file>', 'trust this CA certificate (PEM) for the server; implies --tls')
      .option('--tls-cert <file>', 'with --reference or --server-cmd: the certificate (PEM) the server serves instead of one the kit makes; implies --tls')
      .option('--tls-key <file>', 'the private key (PEM) of --tls-cert'),
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
  {tlsCert} {tlsKey}            with --tls: the certificate and key files the server must serve
Options cases need: ttr, maxAttempts, maxFrameBytes, maxPayloadBytes, maxBatch,
maxSubscriptions, handshakeTimeout, maxConnections, maxHandshakesPerAddress, maxQueuedBytes,
noAutoCreate.
Without --server-cmd, cases that need options (or a server of their own) are skipped with the
reason. --reference is --server-cmd with this installation's taskwire serve and every option.

TLS: with --tls (or --tls-ca), every connection of every case is a TLS connection that verifies
the server's certificate and host name, and the tls.* cases run too (a plain-TCP client on the
TLS port, a client trusting the wrong CA); without, they are skipped. For a server the kit
starts, --tls makes a CA and a certificate for 127.0.0.1 and localhost with openssl, or serves
--tls-cert/--tls-key (trusted through --tls-ca, or the certificate itself when self-signed).

Examples:
  taskwire conformance --port 7400 --authkey-file ~/.taskwire/authkey
  taskwire conformance --level must --case handshake.* --junit conformance.xml
  taskwire conformance --reference
  taskwire conformance --reference --tls
  taskwire conformance --reference --reference-args "--store redis://127.0.0.1:6390"
  taskwire conformance --host manager.example.com --port 7400 --tls-ca ca.pem --authkey-file authkey
  taskwire conformance --server-cmd "./my-server --listen {host}:{port} --key {authkeyFile} {ttr?--lease-seconds $}"
  taskwire conformance client --cmd "python3 samples/python/conformance_driver.py"`,
    )
    .addCommand(client)
    .action(async (flags: ServerFlags) => checkServer(flags));
}
