import type { MetricsSource } from '../metrics';
import type { RedisQueues } from '../redis/redisQueues';
import type { JournalStore } from '../store';
import { CliError, ExitCode } from './exitCodes';

/** The store a manager runs on, as the metrics observe it. */
export type ObservedStore = { kind: 'memory' } | { kind: 'journal'; journal: JournalStore } | { kind: 'redis'; redis: RedisQueues };

/**
 * Starts `--metrics`: the manager's metrics and their HTTP server. prom-client is loaded here,
 * and only here: a manager without --metrics never loads it.
 */
export async function startMetrics(address: { host: string; port: number }, source: MetricsSource, store: ObservedStore) {
  const { ManagerMetrics, MetricsServer } = await import('../metrics/index.js');
  const metrics = new ManagerMetrics(source, store.kind);
  if (store.kind === 'journal') metrics.observeJournal(store.journal);
  if (store.kind === 'redis') metrics.observeRedis(store.redis);
  const http = new MetricsServer(metrics);
  try {
    await http.listen(address.host, address.port);
  } catch (error) {
    metrics.close();
    const code = (error as NodeJS.ErrnoException).code;
    const where = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
    if (code === 'EADDRINUSE')
      throw new CliError(`--metrics: port ${address.port} on ${address.host} is already in use: stop what uses it or pick another port (e.g. --metrics 127.0.0.1:9465)`, ExitCode.Unreachable);
    if (code === 'EACCES') throw new CliError(`--metrics: not allowed to listen on ${where}: pick a port above 1023`, ExitCode.Unreachable);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      throw new CliError(`--metrics: cannot listen on ${address.host}: no such address on this machine`, ExitCode.Unreachable);
    throw new CliError(`--metrics ${where}: ${(error as Error).message}`, ExitCode.Unreachable);
  }
  return {
    address: http.address,
    async close() {
      await http.close();
      metrics.close();
    },
  };
}
