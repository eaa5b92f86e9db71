import { closeSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * The data directory's lock: a Unix socket, `DIR/lock`, on which the manager using the
 * directory listens for as long as it runs.
 *
 * Why a socket: the kernel closes it when the process dies, whatever state the process is left
 * in (SIGKILL, OOM kill, a zombie its parent never reaps: a zombie has already closed every
 * descriptor), so a new manager that connects gets ECONNREFUSED at once and takes over. A pid
 * file cannot tell that: `kill(pid, 0)` answers "running" for a zombie and for a pid reused by
 * another process. Node has no flock(), and a native addon for one would make `npx taskwire`
 * depend on a compiler; a socket needs nothing but `net`.
 *
 * A live holder answers each connection with one line of JSON naming itself (pid, host, when it
 * started), so a second manager is refused with a message that says who holds the directory.
 * The lock is local to one machine, like the kernel that keeps it: a data dir shared between
 * machines (NFS) is not protected by it and must not be used by two managers.
 */
export const LOCK = 'lock';

/** What a live holder says about itself when a new manager knocks. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the holder took the lock. */
  since: string;
}

/** Another manager runs on the data directory. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    /** Undefined when the holder accepted the connection but did not say who it is in time. */
    readonly holder: LockHolder | undefined,
  ) {
    super(
      holder
        ? `the data dir ${dir} is in use by another manager (pid ${holder.pid} on ${holder.host}, since ${holder.since}); stop that manager first, or give this one another --data-dir`
        : `the data dir ${dir} is in use by another manager: its lock ${join(dir, LOCK)} accepts connections but the manager did not say who it is (it may be stopped with SIGSTOP, or very busy); stop it first, or give this one another --data-dir`,
    );
    this.name = 'DataDirLockedError';
  }

  /** The holder's pid, when it said. */
  get pid(): number | undefined {
    return this.holder?.pid;
  }
}

/** Longest socket path the kernel takes (sun_path is 108 bytes on Linux, 104 on macOS, with its NUL). */
const MAX_SOCKET_PATH = process.platform === 'linux' ? 107 : 103;
/** How long a holder that accepted the connection has to name itself. */
const HOLDER_ANSWER_MS = 1000;
/** Takeover rounds before giving up: each round is lost only to another manager starting at that very moment. */
const TAKEOVER_ROUNDS = 8;
/** A holder whose process is exiting: probe again after this long, for at most DYING_PATIENCE_MS. */
const DYING_RETRY_MS = 20;
const DYING_PATIENCE_MS = 3000;
/** `lock.stale-<pid>-<random>`: a dead holder's socket moved aside during a takeover. */
const ASIDE_INFIX = '.stale-';

type Probe =
  | { state: 'live'; holder: LockHolder | undefined }
  /** Accepted, then closed without a word: the holder is exiting (a dead process's descriptors close when its last thread is gone). */
  | { state: 'dying' }
  | { state: 'stale' }
  | { state: 'gone' }
  | { state: 'unknown'; error: Error };

/**
 * A held lock. `release()` closes the socket (which also removes `DIR/lock`); a crash releases
 * it by itself.
 */
export class DataDirLock {
  private released = false;

  private constructor(
    readonly dir: string,
    private readonly server: Server,
    /** An open descriptor of `dir` while the socket is reached through /proc/self/fd (a long path). */
    private readonly dirFd: number | undefined,
  ) {}

  /**
   * Claims `dir` (created if missing) for this process. A lock whose holder is dead (the socket
   * refuses connections) is taken over; a live one throws DataDirLockedError naming it.
   */
  static async acquire(dir: string): Promise<DataDirLock> {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, LOCK);
    // sun_path is short: a long data dir is reached through a descriptor of the directory.
    const dirFd = Buffer.byteLength(file) > MAX_SOCKET_PATH && process.platform === 'linux' ? openSync(dir, 'r') : undefined;
    const address = dirFd === undefined ? file : `/proc/self/fd/${dirFd}/${LOCK}`;
    if (Buffer.byteLength(address) > MAX_SOCKET_PATH) {
      throw new Error(`the data dir path ${dir} is too long for its lock socket (${Buffer.byteLength(file)} bytes with /${LOCK}; at most ${MAX_SOCKET_PATH} here): use a shorter path`);
    }
    const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    const answer = `${JSON.stringify(holder)}\n`;
    // Stale sockets this claim moved aside: deleted only once the claim is decided, so that
    // their inode numbers cannot be reused by a new socket while other claims compare them.
    const movedAside: string[] = [];
    try {
      let dyingSince: number | undefined;
      for (let round = 0; round < TAKEOVER_ROUNDS; round++) {
        const server = createServer({ allowHalfOpen: false }, (socket) => {
          socket.on('error', () => {});
          socket.end(answer);
        });
        if (await listen(server, address)) {
          // The lock must not keep a stopping manager alive.
          server.unref();
          removeLeftovers(dir);
          return new DataDirLock(dir, server, dirFd);
        }
        if ((await takeOverIfStale(dir, file, address, movedAside)) !== 'dying') {
          dyingSince = undefined;
          continue;
        }
        dyingSince ??= Date.now();
        // A holder exits in milliseconds; one that keeps closing connections unanswered is something else.
        if (Date.now() - dyingSince > DYING_PATIENCE_MS) {
          throw new Error(
            `the lock ${file} accepts connections and closes them without naming a manager: is something other than a Taskwire manager listening there? stop it, or give this manager another --data-dir`,
          );
        }
        round--;
        await new Promise((done) => setTimeout(done, DYING_RETRY_MS));
      }
      throw new Error(`could not take the lock ${file}: it kept changing hands (other managers starting on ${dir} at the same time?); try again`);
    } catch (error) {
      if (dirFd !== undefined) closeSync(dirFd);
      throw error;
    } finally {
      for (const aside of movedAside) unlinkQuietly(aside);
    }
  }

  /** Gives the directory up (the socket file goes with the socket). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await new Promise<void>((done) => this.server.close(() => done()));
    if (this.dirFd !== undefined) closeSync(this.dirFd);
  }
}

/** Listens on `address`; false when something is already there (a live holder or a stale socket). */
function listen(server: Server, address: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') resolve(false);
      else reject(new Error(`cannot create the lock ${address}: ${error.message}`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(true);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(address);
  });
}

/**
 * Something is at DIR/lock. A live holder: refuse, naming it. A dead one (connection refused):
 * move its socket aside and let the caller bind again. Moving aside rather than unlinking lets
 * us see, by the inode, whether another new manager replaced the stale socket with its own live
 * one between our probe and our move; if so it is put back. The stale inode is kept (in
 * `movedAside`) until the claim is decided: freed, its number could be given to that new
 * socket, and the comparison would be fooled.
 */
async function takeOverIfStale(dir: string, file: string, address: string, movedAside: string[]): Promise<'dying' | undefined> {
  const before = statOrUndefined(file);
  if (!before) return;
  const probe = await probeLock(address);
  if (probe.state === 'live') throw new DataDirLockedError(dir, probe.holder);
  if (probe.state === 'gone') return;
  if (probe.state === 'dying') return 'dying';
  if (probe.state === 'unknown') throw new Error(`cannot tell whether a manager holds ${file}: ${probe.error.message}`);
  const aside = `${file}${ASIDE_INFIX}${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another manager moved it first
    throw error;
  }
  const moved = lstatSync(aside);
  if (moved.ino === before.ino && moved.dev === before.dev) {
    movedAside.push(aside);
    return;
  }
  // Not the socket we probed: a manager that took over meanwhile. Give it its lock back.
  try {
    linkSync(aside, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  unlinkSync(aside);
}

/** Stale sockets moved aside by a claim that crashed before deleting them (renamed, so ctime says when, over a minute ago: far longer than any claim). */
function removeLeftovers(dir: string): void {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(LOCK + ASIDE_INFIX)) continue;
    const stats = statOrUndefined(join(dir, name));
    if (stats && now - stats.ctimeMs > 60_000) unlinkQuietly(join(dir, name));
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Gone already.
  }
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Connects to the lock. Refused (nobody listens: the holder died, or a file from an older
 * version that used a pid file) is stale; accepted is live, whatever it then says.
 */
export function probeLock(address: string): Promise<Probe> {
  return new Promise((resolve) => {
    const socket = createConnection(address);
    let text = '';
    let connected = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (probe: Probe) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(probe);
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      timer = setTimeout(() => finish({ state: 'live', holder: undefined }), HOLDER_ANSWER_MS);
    });
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) finish({ state: 'live', holder: parseHolder(text) });
    });
    // A live holder answers at once on accept; closed with nothing said, it is going away.
    socket.on('end', () => finish(text === '' ? { state: 'dying' } : { state: 'live', holder: parseHolder(text) }));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (connected) return finish(text === '' ? { state: 'dying' } : { state: 'live', holder: parseHolder(text) });
      if (error.code === 'ENOENT') return finish({ state: 'gone' });
      // EAGAIN: the holder's accept backlog is full; it is alive, only busy.
      if (error.code === 'EAGAIN') return finish({ state: 'live', holder: undefined });
      // ECONNREFUSED: no process listens (Linux answers this for a file that is not a socket too).
      if (error.code === 'ECONNREFUSED') return finish({ state: 'stale' });
      finish({ state: 'unknown', error });
    });
  });
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text.split('\n')[0]!) as Partial<LockHolder>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.since === 'string') return { pid: value.pid, host: value.host, since: value.since };
  } catch {
    // Not a holder's line: treated as a holder that did not say who it is.
  }
  return undefined;
}
