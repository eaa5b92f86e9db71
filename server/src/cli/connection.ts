import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { defaultAuthkeyFile } from '../authkey';
import { connect, resolveAddresses, type TaskwireClient } from '../client';
import { AuthenticationFailedError } from '../client/errors';
import type { ClientRole } from '../protocol/generated';
import { CliError, ExitCode } from './exitCodes';

export interface ConnectionFlags {
  host?: string;
  port?: number;
  authkey?: string;
  authkeyFile?: string;
  tls?: boolean;
  tlsCa?: string;
}

/** Parses a TCP port or fails with a usage error. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`invalid port "${value}": expected a number from 0 to 65535`, ExitCode.Usage);
  return port;
}

export function parseNumber(name: string, { integer = false, min = 0 } = {}) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
      throw new CliError(`invalid ${name} "${value}": expected ${integer ? 'a whole number' : 'a number'} >= ${min}`, ExitCode.Usage);
    }
    return n;
  };
}

/** The options every client command shares: where the manager is and how to prove the key. */
export function withConnectionOptions(command: Command): Command {
  return (
    command
      .addOption(
        new Option('--host <host>', 'manager host, or several to fail over between, tried in order: h1,h2:7401 (an entry without a port takes --port)').env('TASKWIRE_HOST').default('127.0.0.1'),
      )
      // An empty $TASKWIRE_PORT counts as unset, as in the client libraries.
      .addOption(
        new Option('-p, --port <port>', 'manager port')
          .env('TASKWIRE_PORT')
          .default(7400)
          .argParser((value) => (value.trim() === '' ? 7400 : parsePort(value))),
      )
      // No .env() here: the key is looked up by resolveAuthkey, in the one order every Taskwire
      // tool uses (--authkey, --authkey-file, $TASKWIRE_AUTHKEY, $TASKWIRE_AUTHKEY_FILE, default file).
      .option('--authkey <key>', 'the shared key (prefer --authkey-file: arguments are visible to other users)')
      .option('--authkey-file <file>', 'file holding the key (else $TASKWIRE_AUTHKEY, $TASKWIRE_AUTHKEY_FILE, ~/.taskwire/authkey)')
      .option('--tls', "connect with TLS, trusting the system's CAs (and NODE_EXTRA_CA_CERTS)")
      .option('--tls-ca <file>', "connect with TLS, trusting this CA certificate (PEM): the one that signed the manager's certificate")
  );
}

/** Connects for a one-shot command: no reconnect, a clear one-line error when it fails. */
export async function connectFromFlags(flags: ConnectionFlags, role: ClientRole, reconnect = false, name = 'taskwire-cli'): Promise<TaskwireClient> {
  const tls = flags.tlsCa ? { ca: readFileSync(flags.tlsCa) } : flags.tls ? true : undefined;
  try {
    resolveAddresses({ host: flags.host, port: flags.port, hostLabel: '--host' });
  } catch (error) {
    throw new CliError((error as Error).message, ExitCode.Usage);
  }
  try {
    return await connect({
      host: flags.host,
      port: flags.port,
      ...(flags.authkey ? { authkey: flags.authkey } : {}),
      ...(flags.authkeyFile ? { authkeyFile: flags.authkeyFile } : {}),
      ...(tls ? { tls } : {}),
      name,
      role,
      reconnect,
      connectTimeout: 10_000,
    });
  } catch (error) {
    if (error instanceof AuthenticationFailedError) throw new CliError(`${error.message}: the manager refused ${keySource(flags)}. ${KEY_ADVICE}`, ExitCode.AuthFailed);
    throw error;
  }
}

const KEY_ADVICE =
  'Use the key the manager was started with: its banner names it ("Authkey: FILE"); copy that file and pass --authkey-file FILE, or set TASKWIRE_AUTHKEY_FILE (or TASKWIRE_AUTHKEY to the key itself)';

/** Where this command took its key from, in the order resolveAuthkey looks (for the message of a refused key). */
export function keySource(flags: ConnectionFlags): string {
  if (flags.authkey) return 'the key given with --authkey';
  if (flags.authkeyFile) return `the key in ${flags.authkeyFile} (--authkey-file)`;
  if (process.env.TASKWIRE_AUTHKEY) return 'the key in $TASKWIRE_AUTHKEY';
  if (process.env.TASKWIRE_AUTHKEY_FILE) return `the key in ${process.env.TASKWIRE_AUTHKEY_FILE} ($TASKWIRE_AUTHKEY_FILE)`;
  return `the key in ${defaultAuthkeyFile()} (the default key file, as no --authkey-file, --authkey, $TASKWIRE_AUTHKEY_FILE or $TASKWIRE_AUTHKEY was given)`;
}
