import { existsSync, readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { defaultAuthkeyFile, generateAuthkeyFile, readAuthkeyFile } from '../authkey';
import { PROTOCOL_VERSIONS } from '../protocol/generated';
import { jsonLogger, textLogger, type Logger } from '../server/logger';
import { DEFAULT_LIMITS, type QueueDeclaration, type ServerLimits } from '../server/options';
import { TaskwireServer } from '../server/server';
import { DEFAULTS } from '../engine';
import { packageVersion } from '../version';
import { parseNumber, parsePort } from './connection';
import { CliError, ExitCode } from './exitCodes';

interface ServeFlags {
  host: string;
  port: number;
  authkey?: string;
  authkeyFile?: string;
  queue: QueueDeclaration[];
  autoCreate: boolean;
  ttr: number;
  maxAttempts: number;
  maxFrameBytes: number;
  maxPayloadBytes: number;
  maxBatch: number;
  maxConnections: number;
  tlsCert?: string;
  tlsKey?: string;
  json?: boolean;
  verbose?: boolean;
}

/**
 * `--queue NAME[:key=value,...]`, e.g. `--queue tasks:maxsize=1000,ttr=30,maxAttempts=3,deadLetter=failed`.
 */
export function parseQueueDeclaration(value: string, previous: QueueDeclaration[] = []): QueueDeclaration[] {
  const [name, rest] = value.split(/:(.*)/s, 2) as [string, string | undefined];
  if (!/^[A-Za-z0-9._:/-]{1,195}$/.test(name)) throw new CliError(`invalid queue name "${name}" in --queue ${value}`, ExitCode.Usage);
  const declaration: QueueDeclaration = { name };
  for (const pair of rest ? rest.split(',') : []) {
    const [key, raw = ''] = pair.split('=', 2) as [string, string | undefined];
    const number = Number(raw);
    switch (key.trim()) {
      case 'maxsize':
      case 'maxAttempts':
        if (!Number.isInteger(number) || number < 0) throw new CliError(`invalid ${key} "${raw}" in --queue ${value}: expected a whole number >= 0`, ExitCode.Usage);
        declaration[key.trim() as 'maxsize' | 'maxAttempts'] = number;
        break;
      case 'ttr':
        if (!(number > 0)) throw new CliError(`invalid ttr "${raw}" in --queue ${value}: expected seconds > 0`, ExitCode.Usage);
        declaration.ttr = number;
        break;
      case 'deadLetter':
        declaration.deadLetter = raw === '' || raw === 'none' ? null : raw;
        break;
      default:
        throw new CliError(`unknown queue option "${key}" in --queue ${value}: use maxsize, ttr, maxAttempts or deadLetter`, ExitCode.Usage);
    }
  }
  return [...previous, declaration];
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('start a manager: queues on the network for workers and producers in any language')
    .addOption(new Option('--host <host>', 'address to listen on (0.0.0.0 for every interface)').env('TASKWIRE_HOST').default('127.0.0.1'))
    .addOption(new Option('-p, --port <port>', 'port to listen on (0: any free port)').env('TASKWIRE_PORT').default(7400).argParser(parsePort))
    .option('--authkey <key>', 'the shared key (prefer --authkey-file: arguments are visible to other users)')
    .option('--authkey-file <file>', 'read the key from this file; one is generated there if missing')
    .option('-q, --queue <spec>', 'declare a queue: NAME[:maxsize=N,ttr=SECONDS,maxAttempts=N,deadLetter=QUEUE|none] (repeatable)', parseQueueDeclaration, [])
    .option('--no-auto-create', 'refuse queues that were not declared (error 1001) instead of creating them on first use')
    .option('--ttr <seconds>', 'default lease length', parseNumber('ttr', { min: 0.001 }), DEFAULTS.ttr)
    .option('--max-attempts <n>', 'default deliveries before a task is dead-lettered (0: unlimited)', parseNumber('max-attempts', { integer: true }), DEFAULTS.maxAttempts)
    .option('--max-frame-bytes <n>', 'largest frame accepted', parseNumber('max-frame-bytes', { integer: true, min: 1024 }), DEFAULT_LIMITS.maxFrameBytes)
    .option('--max-payload-bytes <n>', 'largest task payload or result', parseNumber('max-payload-bytes', { integer: true, min: 1 }), DEFAULT_LIMITS.maxPayloadBytes)
    .option('--max-batch <n>', 'most tasks, acks or nacks in one request', parseNumber('max-batch', { integer: true, min: 1 }), DEFAULT_LIMITS.maxBatch)
    .option('--max-connections <n>', 'most simultaneous connections', parseNumber('max-connections', { integer: true, min: 1 }), DEFAULT_LIMITS.maxConnections)
    .option('--tls-cert <file>', 'serve TLS with this certificate (PEM); needs --tls-key')
    .option('--tls-key <file>', 'private key (PEM) for --tls-cert')
    .option('--json', 'log one JSON object per line')
    .option('-v, --verbose', 'log more (TLS failures, debug detail)')
    .addHelpText(
      'after',
      `
The authkey: --authkey, $TASKWIRE_AUTHKEY, --authkey-file, $TASKWIRE_AUTHKEY_FILE, or else
${defaultAuthkeyFile()} (generated with 32 random bytes, mode 0600, when missing).
Clients on this machine find that default file by themselves.

Examples:
  taskwire serve
  taskwire serve --port 8001 --authkey-file ./authkey --queue tasks:maxsize=1000 --queue results
  taskwire serve --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem --json`,
    )
    .action(async (flags: ServeFlags) => serve(flags));
}

/**
 * The key, in the order every Taskwire tool uses: --authkey, --authkey-file, $TASKWIRE_AUTHKEY,
 * $TASKWIRE_AUTHKEY_FILE, the default file. A key file that does not exist yet is generated.
 */
function loadKey(flags: ServeFlags): { key: Buffer; where: string; file?: string } {
  if (flags.authkey) return { key: Buffer.from(flags.authkey, 'utf8'), where: 'the --authkey option' };
  if (!flags.authkeyFile && process.env.TASKWIRE_AUTHKEY) return { key: Buffer.from(process.env.TASKWIRE_AUTHKEY, 'utf8'), where: '$TASKWIRE_AUTHKEY' };
  const file = flags.authkeyFile || process.env.TASKWIRE_AUTHKEY_FILE || defaultAuthkeyFile();
  if (existsSync(file)) return { key: readAuthkeyFile(file), where: file, file };
  return { key: generateAuthkeyFile(file), where: `${file} (generated)`, file };
}

/** How clients get the key, for the banner. */
function keyHint(file: string | undefined): string[] {
  if (file === defaultAuthkeyFile()) {
    return [`  Clients on this machine find ${file} by themselves; elsewhere copy the key and`, `  pass --authkey-file FILE or set TASKWIRE_AUTHKEY.`];
  }
  if (file) return [`  Clients: pass --authkey-file ${file} (or set TASKWIRE_AUTHKEY_FILE=${file}).`];
  return ['  Clients: pass the same key with --authkey-file FILE or TASKWIRE_AUTHKEY.'];
}

async function serve(flags: ServeFlags): Promise<void> {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new CliError('--tls-cert and --tls-key go together: give both, or neither for plain TCP', ExitCode.Usage);
  }
  const log: Logger = flags.json ? jsonLogger(process.stdout, flags.verbose) : textLogger(process.stderr, flags.verbose);
  const { key, where, file } = loadKey(flags);
  const tls = flags.tlsCert ? { cert: readPem(flags.tlsCert), key: readPem(flags.tlsKey!) } : undefined;
  const limits: Partial<ServerLimits> = {
    maxFrameBytes: flags.maxFrameBytes,
    maxPayloadBytes: flags.maxPayloadBytes,
    maxBatch: flags.maxBatch,
    maxConnections: flags.maxConnections,
  };
  const server = new TaskwireServer({
    authkey: key,
    host: flags.host,
    port: flags.port,
    ...(tls ? { tls } : {}),
    limits,
    engine: { ttr: flags.ttr, maxAttempts: flags.maxAttempts },
    autoCreateQueues: flags.autoCreate,
    queues: flags.queue,
    log,
  });
  try {
    await server.listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CliError(`port ${flags.port} on ${flags.host} is already in use (another manager?): stop it or pick another port with --port`, ExitCode.Unreachable);
    if (code === 'EACCES') throw new CliError(`not allowed to listen on ${flags.host}:${flags.port}: pick a port above 1023`, ExitCode.Unreachable);
    if (code === 'EADDRNOTAVAIL') throw new CliError(`cannot listen on ${flags.host}: no such address on this machine`, ExitCode.Unreachable);
    throw error;
  }
  const { address, port } = server.address;
  // Handlers first: whoever waits for the banner (or the ready line) may signal at once.
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log.warn('second signal: exiting at once', { signal });
        process.exit(130);
      }
      stopping = true;
      log.info('signal received: shutting down', { signal });
      const force = setTimeout(() => {
        log.warn('clients did not close in 10 s: exiting');
        process.exit(1);
      }, 10_000);
      force.unref();
      void server.shutdown().then(resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    // manager/shutdown from a client ends the process too.
    void server.closed.then(resolve);
  });
  const shownHost = address.includes(':') ? `[${address}]` : address;
  if (flags.json) {
    log.info('ready', { version: packageVersion, protocol: PROTOCOL_VERSIONS.at(-1), address, port, authkey: where, store: 'memory' });
  } else {
    const portFlag = port === 7400 ? '' : ` --port ${port}`;
    process.stderr.write(
      [
        `Taskwire manager ${packageVersion} listening on ${shownHost}:${port}${tls ? ' (TLS)' : ''} — protocol ${PROTOCOL_VERSIONS.at(-1)}`,
        `Store: in memory (queued tasks are lost when the manager stops)`,
        `Authkey: ${where}`,
        ...keyHint(file),
        `Try:  npx taskwire put tasks image_url_0${portFlag}   npx taskwire get tasks${portFlag}   npx taskwire tail${portFlag}`,
        `Stop: Ctrl+C (leases are released, clients closed cleanly)`,
        '',
      ].join('\n'),
    );
  }
  await stopped;
  log.info('stopped');
}

function readPem(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`, ExitCode.Usage);
  }
}
