// `--store` URLs: redis://[user:pass@]host:port[/db], rediss:// (TLS) and
// redis+cluster://h1:p1,h2:p2 (a Redis Cluster given by its seed nodes).

export interface StoreAddress {
  kind: 'redis' | 'cluster';
  tls: boolean;
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  db: number;
  /** The URL with its password replaced by `***`: the only form that may appear in a log or an error. */
  redacted: string;
}

/** A --store value that is not a Redis URL. */
export class StoreUrlError extends Error {}

/** The URL with any password (user:pass@) replaced by ***. Safe on any text. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@]*@/i, '$1***@');
}

export function parseStoreUrl(url: string): StoreAddress {
  const redacted = redactUrl(url);
  const match = /^(redis|rediss|redis\+cluster|rediss\+cluster):\/\/(?:([^:@/]*)(?::([^@]*))?@)?([^/?#]+)(?:\/(\d*))?$/i.exec(url);
  if (!match) throw new StoreUrlError(`invalid store URL "${redacted}": expected redis://[user:pass@]host:port[/db], rediss://... or redis+cluster://host:port,host:port`);
  const [, scheme, user, pass, hostList, db] = match as unknown as [string, string, string | undefined, string | undefined, string, string | undefined];
  const kind = scheme.toLowerCase().includes('cluster') ? 'cluster' : 'redis';
  const nodes = hostList.split(',').map((hostPort) => {
    const parts = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
    const port = parts?.[2] === undefined ? 6379 : Number(parts[2]);
    if (!parts || !(port > 0 && port < 65536)) throw new StoreUrlError(`invalid host:port "${hostPort}" in store URL "${redacted}"`);
    return { host: parts[1]!.replace(/^\[|\]$/g, ''), port };
  });
  if (kind === 'redis' && nodes.length > 1) throw new StoreUrlError(`store URL "${redacted}" names several hosts: use redis+cluster:// for a Redis Cluster`);
  return {
    kind,
    tls: scheme.toLowerCase().startsWith('rediss'),
    nodes,
    username: user ? decodeURIComponent(user) : undefined,
    password: pass !== undefined ? decodeURIComponent(pass) : undefined,
    db: db ? Number(db) : 0,
    redacted,
  };
}
