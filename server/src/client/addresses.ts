// Where a client looks for its managers: one address or several, from the options or from
// $TASKWIRE_HOST / $TASKWIRE_PORT. The Python and Go clients read these the same way.

/** The port a manager listens on unless told otherwise. */
export const DEFAULT_CLIENT_PORT = 7400;
const DEFAULT_HOST = '127.0.0.1';

/** One manager a client may connect to. */
export interface ManagerAddress {
  host: string;
  port: number;
}

/** What the addresses are made of: the options' host and port, and the environment. */
export interface AddressSource {
  /** One entry, a comma-separated list of entries, or an array of entries ("host" or "host:port"). */
  host?: string | readonly string[];
  /** The port of entries that name none. */
  port?: number;
  env?: NodeJS.ProcessEnv;
  /** How errors name `host` (default "the host option"; the CLI says --host). */
  hostLabel?: string;
}

/** "host:port", with brackets around an IPv6 host. */
export function formatAddress(address: ManagerAddress): string {
  return `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

/**
 * The managers to try, in order. The host comes from `host` (the option), else $TASKWIRE_HOST,
 * else 127.0.0.1; the port of an entry without one from `port`, else $TASKWIRE_PORT, else 7400.
 * An empty variable counts as unset. A mistake throws a TypeError naming the entry and where it came from.
 */
export function resolveAddresses(source: AddressSource = {}): ManagerAddress[] {
  const env = source.env ?? process.env;
  const envPort = nonEmpty(env.TASKWIRE_PORT);
  if (source.port !== undefined && !isPort(source.port)) throw new TypeError(`the port option (${source.port}) is not a port number (1 to 65535)`);
  const defaultPort = source.port ?? (envPort !== undefined ? parsePort(envPort, `$TASKWIRE_PORT ("${envPort}")`) : DEFAULT_CLIENT_PORT);
  const fromOption = typeof source.host === 'string' ? nonEmpty(source.host) : source.host;
  const hostText = fromOption ?? nonEmpty(env.TASKWIRE_HOST);
  const optionLabel = source.hostLabel ?? 'the host option';
  const where = fromOption !== undefined ? optionLabel : '$TASKWIRE_HOST';
  if (hostText === undefined) return [{ host: DEFAULT_HOST, port: defaultPort }];
  const entries = (typeof hostText === 'string' ? hostText.split(',') : hostText).map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) {
    if (fromOption !== undefined && typeof fromOption !== 'string') throw new TypeError(`${optionLabel} is an empty list: give at least one manager address`);
    return [{ host: DEFAULT_HOST, port: defaultPort }];
  }
  return entries.map((entry) => parseEntry(entry, defaultPort, where));
}

/** "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address (several colons: no port). */
function parseEntry(entry: string, defaultPort: number, where: string): ManagerAddress {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] === undefined ? defaultPort : parsePort(bracketed[2], `the port of "${entry}" in ${where}`) };
  const colon = entry.indexOf(':');
  if (colon < 0 || entry.indexOf(':', colon + 1) >= 0) return { host: entry, port: defaultPort };
  const host = entry.slice(0, colon);
  if (host === '') throw new TypeError(`the manager address "${entry}" in ${where} has no host: write host:port`);
  return { host, port: parsePort(entry.slice(colon + 1), `the port of "${entry}" in ${where}`) };
}

function parsePort(text: string, what: string): number {
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text) : NaN;
  if (!isPort(port)) throw new TypeError(`${what} is not a port number (1 to 65535)`);
  return port;
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port < 65536;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
