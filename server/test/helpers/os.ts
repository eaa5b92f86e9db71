import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

// Small facts about this machine that several suites ask for.

/** A loopback port free at this instant (for a manager that must come back on the same port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** The state letter of a process in /proc (R, S, Z for a zombie...), or undefined once it is gone. */
export function processState(pid: number): string | undefined {
  try {
    return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
