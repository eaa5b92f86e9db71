// The address of a manager, or of several managers of one shared store that a connection
// fails over between: how the extension reads, shows and hands them on (TASKWIRE_HOST).

/** Where a manager listens. */
export interface ManagerAddress {
  host: string;
  port: number;
  tls?: boolean;
  /** A PEM file with the CA that signed the manager's certificate (implies TLS). */
  tlsCaFile?: string;
  /**
   * Other managers of the same shared store (`serve --store`), tried in order when this one
   * cannot be reached or goes away; they take the same key. After a failover the connection's
   * address names the manager in use and these the others.
   */
  alternates?: HostPort[];
}

export interface HostPort {
  host: string;
  port: number;
}

/** "host:port", with brackets around an IPv6 host. */
export function formatHostPort({ host, port }: HostPort): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Every manager of an address, the one to try first first. */
export function managersOf(address: ManagerAddress): HostPort[] {
  return [{ host: address.host, port: address.port }, ...(address.alternates ?? [])];
}

/** Every manager of an address as TASKWIRE_HOST and the clients take them: "host:port,host:port". */
export function hostList(address: ManagerAddress): string {
  return managersOf(address).map(formatHostPort).join(',');
}

/** "host:port", or "host:port (+2 more managers)" for an address with alternates. */
export function describeAddress(address: ManagerAddress): string {
  const more = address.alternates?.length ?? 0;
  return `${formatHostPort(address)}${more > 0 ? ` (+${more} more manager${more === 1 ? '' : 's'})` : ''}`;
}

/** The same address with `inUse` first and the others after it, in their order. */
export function withFirst(address: ManagerAddress, inUse: HostPort): ManagerAddress {
  const all = managersOf(address);
  const at = all.findIndex((m) => m.host === inUse.host && m.port === inUse.port);
  if (at <= 0) return address;
  const rotated = [...all.slice(at), ...all.slice(0, at)];
  return { ...address, host: rotated[0]!.host, port: rotated[0]!.port, alternates: rotated.slice(1) };
}

/** "host:port", "[::1]:7400", "host" or a bare IPv6 address (port `defaultPort`). */
export function parseAddress(text: string, defaultPort = 7400): HostPort | undefined {
  const trimmed = text.trim();
  // Two colons or more and no brackets: an IPv6 address without a port.
  if (/^[0-9A-Fa-f:.]+$/.test(trimmed) && trimmed.indexOf(':') !== trimmed.lastIndexOf(':')) return { host: trimmed, port: defaultPort };
  const match = /^(?:\[([^\]]+)\]|([^:\s,]+))(?::(\d{1,5}))?$/.exec(trimmed);
  if (!match) return undefined;
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (match[1] ?? match[2])!, port };
}

/**
 * One manager, or several managers of one shared store separated by commas
 * ("10.0.0.5:7400,10.0.0.6:7400"): the first is tried first, the others when it cannot be
 * reached or goes away. Undefined when an entry is not an address.
 */
export function parseAddresses(text: string, defaultPort = 7400): ManagerAddress | undefined {
  const managers: HostPort[] = [];
  for (const entry of text.split(',')) {
    const manager = parseAddress(entry, defaultPort);
    if (!manager) return undefined;
    if (!managers.some((m) => m.host === manager.host && m.port === manager.port)) managers.push(manager);
  }
  const [first, ...alternates] = managers;
  if (!first) return undefined;
  return alternates.length > 0 ? { ...first, alternates } : first;
}
