/** The addresses `taskwire mcp --http` binds without --allow-remote, and the Host headers it accepts there. */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '::1']);
