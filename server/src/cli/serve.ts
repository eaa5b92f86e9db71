import type { QueueBackend } from '../engine/queueBackend';
import { existsSync, readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { defaultAuthkeyFile, generateAuthkeyFile, readAuthkeyFile } from '../authkey';
import { PROTOCOL_VERSIONS } from '../protocol/generated';
import { jsonLogger, textLogger, type Logger } from '../server/logger';
import { parseRate } from '../engine/rateLimit';
import type { RateLimit } from '../protocol/generated';
import { DEFAULT_LIMITS, type QueueDeclaration, type ServerLimits } from '../server/options';
import { TaskwireServer } from '../server/server';
import { DEFAULTS, EngineError } from '../engine';
import { MpListener, parseTypeIdMapping } from '../mp';
import type { RedisQueues } from '../redis/redisQueues';
import { StoreUrlError } from '../redis/storeUrl';
import { DEFAULT_HEARTBEAT_TTL } from '../redis/heartbeatDefaults';
import { CorruptRecordError, FSYNC_MODES, JournalStore, type FsyncMode, type RecoveryReport } from '../store';
import { packageVersion } from '../version';
import { BYTE_SIZE_HELP, parseByteSize } from './byteSize';
import { parseNumber, parsePort } from './connection';
import { bytes as formatSize } from './format';
import { CliError, ExitCode } from './exitCodes';
import { startMetrics } from './serveMetrics';

interface ServeFlags {
  host: string;
  port: number;
  authkey?: string;
  authkeyFile?: string;
  queue: QueueDeclaration[];
  autoCreate: boolean;
  ttr: number;
  maxAttempts: number;
  maxCrashes: number;
  maxFrameBytes: number;
  maxPayloadBytes: number;
  maxBatch: number;
  maxConnections: number;
  maxHandshakesPerAddress: number;
  maxSubscriptions: number;
  maxQueuedBytes?: number;
  handshakeTimeout: number;
  stopGrace: number;
  helloTimeout: number;
  maxAuthFailureBackoff: number;
  tlsCert?: string;
  tlsKey?: string;
  json?: boolean;
  verbose?: boolean;
  dataDir?: string;
  store?: string;
  storeCa?: string;
  storeWait?: number;
  storeWaitTimeout?: number;
  heartbeatTtl?: number;
  fsync?: FsyncMode;
  repair?: boolean;
  mpListen?: { host: string; port: number };
  mpTypeid: [string, string][];
  mpAllowShutdown?: boolean;
  metrics?: { host: string; port: number };
}

/** `--mp-listen HOST:PORT` (or just PORT, on --host). */
export function parseListenAddress(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port >= 0 && port <= 65535)) throw new CliError(`invalid --mp-listen "${value}": expected HOST:PORT (e.g. 127.0.0.1:8001; port 0: any free port)`, ExitCode.Usage);
  return { host: match[1] ?? match[2] ?? '', port };
}

/**
 * `--metrics HOST:PORT`; a bare PORT or `:PORT` is loopback (the metrics have no key, and show
 * queue names: another address is a choice to make explicitly).
 */
export function parseMetricsAddress(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port >= 0 && port <= 65535))
    throw new CliError(`invalid --metrics "${value}": expected HOST:PORT or PORT (e.g. 127.0.0.1:9464, or 9464 for loopback; port 0: any free port)`, ExitCode.Usage);
  return { host: match[1] || match[2] || '127.0.0.1', port };
}

function parseTypeIdFlag(value: string, previous: [string, string][] = []): [string, string][] {
  const mapping = parseTypeIdMapping(value);
  if (!mapping) throw new CliError(`invalid --mp-typeid "${value}": expected TYPEID=QUEUE, e.g. get_task_queue=tasks`, ExitCode.Usage);
  return [...previous, mapping];
}

/**
 * `--queue NAME[:key=value,...]`, e.g. `--queue tasks:maxsize=1000,maxBytes=64MiB,ttr=30,maxAttempts=3,deadLetter=failed`.
 */
/** A rate option (`10/s`, `2/5s`, `100/m`) or a usage error naming where it was written. */
export function rateOption(name: string, raw: string, where: string): RateLimit {
  try {
    return parseRate(raw);
  } catch (error) {
    throw new CliError(`invalid ${name} in ${where}: ${(error as Error).message}`, ExitCode.Usage);
  }
}

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
      case 'maxBytes': {
        const bytes = parseByteSize(raw);
        if (bytes === undefined) throw new CliError(`invalid maxBytes "${raw}" in --queue ${value}: expected ${BYTE_SIZE_HELP}; 0 or none: unbounded`, ExitCode.Usage);
        declaration.maxBytes = bytes;
        break;
      }
      case 'ttr':
        if (!(number > 0)) throw new CliError(`invalid ttr "${raw}" in --queue ${value}: expected seconds > 0`, ExitCode.Usage);
        declaration.ttr = number;
        break;
      case 'deadLetter':
        declaration.deadLetter = raw === '' || raw === 'none' ? null : raw;
        break;
      case 'rate':
      case 'keyRate':
        declaration[key.trim() as 'rate' | 'keyRate'] = raw === 'none' ? null : rateOption(key.trim(), raw, `--queue ${value}`);
        break;
      case 'keyConcurrency':
        if (!Number.isInteger(number) || number < 0) throw new CliError(`invalid keyConcurrency "${raw}" in --queue ${value}: expected a whole number >= 0 (0: no cap)`, ExitCode.Usage);
        declaration.keyConcurrency = number;
        break;
      default:
        throw new CliError(`unknown queue option "${key}" in --queue ${value}: use maxsize, maxBytes, ttr, maxAttempts, deadLetter, rate, keyRate or keyConcurrency`, ExitCode.Usage);
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
    .option(
      '-q, --queue <spec>',
      'declare a queue: NAME[:maxsize=N,maxBytes=SIZE,ttr=SECONDS,maxAttempts=N,deadLetter=QUEUE|none,rate=MAX/PERIOD,keyRate=MAX/PERIOD,keyConcurrency=N] (repeatable; rates like 10/s, 2/5s, 100/m)',
      parseQueueDeclaration,
      [],
    )
    .option('--no-auto-create', 'refuse queues that were not declared (error 1001) instead of creating them on first use')
    .option('--ttr <seconds>', 'default lease length', parseNumber('ttr', { min: 0.001 }), DEFAULTS.ttr)
    .option('--max-attempts <n>', 'default deliveries before a task is dead-lettered (0: unlimited)', parseNumber('max-attempts', { integer: true }), DEFAULTS.maxAttempts)
    .option('--max-frame-bytes <n>', 'largest frame accepted', parseNumber('max-frame-bytes', { integer: true, min: 1024 }), DEFAULT_LIMITS.maxFrameBytes)
    .option('--max-payload-bytes <n>', 'largest task payload or result', parseNumber('max-payload-bytes', { integer: true, min: 1 }), DEFAULT_LIMITS.maxPayloadBytes)
    .option('--max-batch <n>', 'most tasks, acks or nacks in one request', parseNumber('max-batch', { integer: true, min: 1 }), DEFAULT_LIMITS.maxBatch)
    .option('--max-connections <n>', 'most simultaneous connections', parseNumber('max-connections', { integer: true, min: 1 }), DEFAULT_LIMITS.maxConnections)
    .option(
      '--max-handshakes-per-address <n>',
      'most connections from one remote address that may be authenticating at once; beyond, the oldest of them is closed to make room (authenticated ones do not count)',
      parseNumber('max-handshakes-per-address', { integer: true, min: 1 }),
      DEFAULT_LIMITS.maxHandshakesPerAddress,
    )
    .option(
      '--max-queued-bytes <size>',
      `budget for the payloads of every queued task, as JSON bytes: puts beyond it wait, or fail with 1002 (0 or none: unlimited; default: a quarter of the smaller of memory and the JS heap limit, here ${formatSize(DEFAULT_LIMITS.maxQueuedBytes)})`,
      parseSizeFlag('max-queued-bytes'),
    )
    .option('--max-subscriptions <n>', 'most event subscriptions one session holds', parseNumber('max-subscriptions', { integer: true, min: 1 }), DEFAULT_LIMITS.maxSubscriptions)
    .option('--handshake-timeout <seconds>', 'seconds a connection has to authenticate before it is dropped', parseNumber('handshake-timeout', { min: 0.1 }), DEFAULT_LIMITS.handshakeTimeout)
    .option(
      '--stop-grace <seconds>',
      'seconds a session told to stop (taskwire workers stop) may stay once it holds no task, to close by itself, before the manager closes it',
      parseNumber('stop-grace', { min: 0 }),
      DEFAULT_LIMITS.stopGracePeriod,
    )
    .option('--hello-timeout <seconds>', 'seconds a new connection has to send session/hello before it is dropped', parseNumber('hello-timeout', { min: 0.1 }), DEFAULT_LIMITS.helloTimeout)
    .option(
      '--max-auth-failure-backoff <seconds>',
      'longest time the proofs of an address go unchecked after failed authentications (the back-off doubles with each failure in a row)',
      parseNumber('max-auth-failure-backoff', { integer: true, min: 1 }),
      DEFAULT_LIMITS.maxAuthFailureBackoff,
    )
    .option('--tls-cert <file>', 'serve TLS with this certificate (PEM); needs --tls-key')
    .option('--tls-key <file>', 'private key (PEM) for --tls-cert')
    .addOption(new Option('--data-dir <dir>', 'keep the queues in DIR (a journal and a snapshot) so they survive a restart; default: in memory').env('TASKWIRE_DATA_DIR'))
    .addOption(
      new Option(
        '--store <url>',
        'keep the queues in Redis, shared by every manager started with the same URL: redis://[user:pass@]host:port[/db], rediss://... (TLS), redis+cluster://host:port,host:port (docs/redis.md); default: in memory',
      ).env('TASKWIRE_STORE'),
    )
    .addOption(new Option('--store-ca <file>', "with a rediss:// --store: the CA (PEM) that signed Redis's certificate (default: the system's CAs, and NODE_EXTRA_CA_CERTS)").env('TASKWIRE_STORE_CA'))
    .option(
      '--store-wait <replicas>',
      "with --store: answer a change only once this many of Redis's replicas have it (Redis's WAIT); fewer within --store-wait-timeout is a store unavailable error (docs/redis.md)",
      parseNumber('store-wait', { integer: true, min: 1 }),
    )
    .option('--store-wait-timeout <seconds>', 'with --store-wait: how long a change waits for the replicas (default 1)', parseNumber('store-wait-timeout', { min: 0.001 }))
    .option(
      '--heartbeat-ttl <seconds>',
      `with --store: a manager silent this long is gone, and the others release the leases of its workers (default ${DEFAULT_HEARTBEAT_TTL})`,
      parseNumber('heartbeat-ttl', { min: 0.1 }),
    )
    .addOption(new Option('--fsync <mode>', 'with --data-dir: when to sync the journal to the disk: always (before answering; default), everysec, never').choices(FSYNC_MODES))
    .option('--repair', 'with --data-dir: skip damaged records in the middle of the journal instead of refusing to start (what they held is lost)')
    .option(
      '--max-crashes <n>',
      "with --data-dir: dead-letter a task that was leased through N manager crashes, as a possible poison task (0: never); a crash never uses up a task's attempts",
      parseNumber('max-crashes', { integer: true }),
      DEFAULTS.maxCrashes,
    )
    .option('--mp-listen <host:port>', 'also listen for Python multiprocessing.managers clients (BaseManager.connect()) on HOST:PORT, with the same key as bytes (see below)', parseListenAddress)
    .option(
      '--mp-typeid <typeid=queue>',
      'with --mp-listen: the queue a registered type id stands for (repeatable; default: the type id without get_ and _queue, get_task_queue → task)',
      parseTypeIdFlag,
      [],
    )
    .option('--mp-allow-shutdown', "with --mp-listen: let a multiprocessing client's shutdown request stop the manager (refused by default)")
    .option(
      '--metrics <host:port>',
      'serve Prometheus metrics on HTTP at /metrics, and /healthz and /readyz (PORT or :PORT: loopback only; they need no key, so a non-loopback address shows queue names to anyone who reaches it) (docs/metrics.md)',
      parseMetricsAddress,
    )
    .option('--json', 'log one JSON object per line')
    .option('-v, --verbose', 'log more (TLS failures, debug detail)')
    .addHelpText(
      'after',
      `
The authkey: --authkey, $TASKWIRE_AUTHKEY, --authkey-file, $TASKWIRE_AUTHKEY_FILE, or else
${defaultAuthkeyFile()} (generated with 32 random bytes, mode 0600, when missing).
Clients on this machine find that default file by themselves.

TLS: with --tls-cert and --tls-key the manager speaks only TLS on its port; clients verify the
certificate and the host name they connect by. A CA and a certificate it signs, for localhost:
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \\
    -subj "/CN=My Taskwire CA" -addext "keyUsage = critical, keyCertSign, cRLSign" -keyout ca.key -out ca.pem
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \\
    -keyout key.pem -out manager.csr
  printf 'basicConstraints = critical, CA:FALSE\\nextendedKeyUsage = serverAuth\\nsubjectAltName = DNS:localhost, IP:127.0.0.1\\nauthorityKeyIdentifier = keyid\\n' > manager.ext
  openssl x509 -req -in manager.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -extfile manager.ext -out cert.pem
  taskwire serve --tls-cert cert.pem --tls-key key.pem
  taskwire ping --tls-ca ca.pem      (TypeScript: tls: { ca }; Python: tls_ca=; Go: taskwire.TLSConfigWithCA)

Python multiprocessing clients (--mp-listen): the seed's workers join unchanged but for the
address and the key, which is the key's bytes as Python gives them: authkey=b'...' with the
text of the key file (without its newline) or of $TASKWIRE_AUTHKEY, e.g.
  authkey=open(os.path.expanduser('~/.taskwire/authkey'), 'rb').read().strip()
A task a multiprocessing client takes is leased to its connection: its next call on that queue
(get, empty, qsize, ...) or task_done() finishes it; if the connection dies first it goes back
to the queue (attempt 2). See docs/multiprocessing.md.
  taskwire serve --mp-listen 127.0.0.1:8001 --mp-typeid get_task_queue=tasks --mp-typeid get_result_queue=results

Examples:
  taskwire serve
  taskwire serve --port 8001 --authkey-file ./authkey --queue tasks:maxsize=1000 --queue results
  taskwire serve --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem --json
  taskwire serve --data-dir /var/lib/taskwire --fsync everysec
  taskwire serve --store redis://redis.internal:6379 --host 0.0.0.0    (start several: they share the queues)
  taskwire serve --max-queued-bytes 2GiB --queue uploads:maxBytes=256MiB
  taskwire serve --metrics 9464    (Prometheus scrapes http://127.0.0.1:9464/metrics)

Memory: queued tasks live in the manager's memory. --max-queued-bytes bounds the payloads of
all of them together (ready, delayed, leased and dead-lettered, measured as their JSON text),
maxBytes=SIZE one queue's, and maxsize=N one queue's task count. A put that does not fit
waits for room (or fails with error 1002 "queue full" once its timeout passes; at once with
timeout 0, or when it could never fit), and the manager keeps serving everyone else.

Durability: without --data-dir, queued tasks are lost when the manager stops. With it, every
change is journaled before it is answered; on start the manager replays the journal: tasks put
and not acked are back, leased ones with attempt + 1. --fsync always (default) syncs before
each answer (concurrent requests share a sync); everysec syncs once a second (a machine crash
may lose the last second; a crash of the manager alone loses nothing); never leaves it to the
operating system. Back up a data dir by stopping the manager and copying it.

Metrics (--metrics): Prometheus's text format at /metrics, and /healthz (200 while the process
runs) and /readyz (200 once listening with the store reachable, else 503 and why), on plain
HTTP. PORT or :PORT binds 127.0.0.1; a non-loopback address exposes the queue names and counts
to anyone who reaches it, without a key. Every metric: docs/metrics.md.

Redis (--store): the queues live in Redis, and every manager started with the same --store
serves them; workers and producers may connect to any. A change is answered once Redis has run
its script; with Redis's appendfsync always nothing answered is lost when Redis restarts, and
with --store-wait N nothing answered is lost when Redis fails over to one of N replicas. While
Redis is unreachable requests fail at once with "store unavailable" and the manager reconnects
by itself. --max-queued-bytes has no default there and bounds the payloads of the queues this
manager serves (bound Redis itself with its maxmemory, and queues with maxBytes). The password
in the URL never appears in logs or errors. Over TLS (rediss://), --store-ca trusts the CA
that signed Redis's certificate. See docs/redis.md.`,
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

/** $TASKWIRE_HOST may list several managers for clients; a manager listens on one address. */
function checkListenHost(host: string): void {
  if (host.includes(',')) {
    throw new CliError(`--host takes one address to listen on, not a list ("${host}"; a list in $TASKWIRE_HOST is for clients): give --host`, ExitCode.Usage);
  }
}

async function serve(flags: ServeFlags): Promise<void> {
  checkListenHost(flags.host);
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new CliError('--tls-cert and --tls-key go together: give both, or neither for plain TCP', ExitCode.Usage);
  }
  if (!flags.mpListen && (flags.mpTypeid.length > 0 || flags.mpAllowShutdown)) {
    throw new CliError(`${flags.mpAllowShutdown ? '--mp-allow-shutdown' : '--mp-typeid'} needs --mp-listen`, ExitCode.Usage);
  }
  const log: Logger = flags.json ? jsonLogger(process.stdout, flags.verbose) : textLogger(process.stderr, flags.verbose);
  const { key, where, file } = loadKey(flags);
  const tls = flags.tlsCert ? { cert: readPem(flags.tlsCert), key: readPem(flags.tlsKey!) } : undefined;
  if (flags.store !== undefined && flags.dataDir !== undefined) {
    throw new CliError(
      '--store and --data-dir are two different stores: give one (--data-dir keeps the queues of one manager on its disk; --store shares them between managers through Redis)',
      ExitCode.Usage,
    );
  }
  if (flags.heartbeatTtl !== undefined && flags.store === undefined) throw new CliError('--heartbeat-ttl is for managers that share a --store', ExitCode.Usage);
  if (flags.storeWait !== undefined && flags.store === undefined) throw new CliError('--store-wait is for managers that share a --store (Redis with replicas)', ExitCode.Usage);
  if (flags.storeWaitTimeout !== undefined && flags.storeWait === undefined) throw new CliError('--store-wait-timeout is for --store-wait', ExitCode.Usage);
  if (flags.storeWait !== undefined && /^rediss?\+cluster:/i.test(flags.store!)) {
    throw new CliError('--store-wait is for one Redis and its replicas; a Redis Cluster is not supported with it', ExitCode.Usage);
  }
  if (flags.storeCa !== undefined && !/^rediss(\+cluster)?:\/\//i.test(flags.store ?? '')) {
    throw new CliError('--store-ca is for a Redis reached over TLS: give a rediss:// --store', ExitCode.Usage);
  }
  const backend = flags.store === undefined ? undefined : await openRedis(flags, log);
  const store = backend ? undefined : await openStore(flags, log);
  const limits: Partial<ServerLimits> = {
    maxFrameBytes: flags.maxFrameBytes,
    maxPayloadBytes: flags.maxPayloadBytes,
    maxBatch: flags.maxBatch,
    maxConnections: flags.maxConnections,
    maxHandshakesPerAddress: flags.maxHandshakesPerAddress,
    maxSubscriptions: flags.maxSubscriptions,
    // In Redis, the queued payloads are Redis's memory, not this process's.
    maxQueuedBytes: backend ? backend.maxQueuedBytes : (flags.maxQueuedBytes ?? DEFAULT_LIMITS.maxQueuedBytes),
    handshakeTimeout: flags.handshakeTimeout,
    stopGracePeriod: flags.stopGrace,
    helloTimeout: flags.helloTimeout,
    maxAuthFailureBackoff: flags.maxAuthFailureBackoff,
  };
  let server: TaskwireServer<QueueBackend>;
  try {
    server = new TaskwireServer({
      authkey: key,
      host: flags.host,
      port: flags.port,
      ...(tls ? { tls } : {}),
      limits,
      engine: { ttr: flags.ttr, maxAttempts: flags.maxAttempts, maxCrashes: flags.maxCrashes },
      autoCreateQueues: flags.autoCreate,
      queues: flags.queue,
      log,
      store,
      backend,
    });
  } catch (error) {
    await store?.close();
    await backend?.close();
    throw error;
  }
  try {
    await server.listen();
  } catch (error) {
    await store?.close();
    await backend?.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CliError(`port ${flags.port} on ${flags.host} is already in use (another manager?): stop it or pick another port with --port`, ExitCode.Unreachable);
    if (code === 'EACCES') throw new CliError(`not allowed to listen on ${flags.host}:${flags.port}: pick a port above 1023`, ExitCode.Unreachable);
    if (code === 'EADDRNOTAVAIL') throw new CliError(`cannot listen on ${flags.host}: no such address on this machine`, ExitCode.Unreachable);
    throw error;
  }
  let mp: MpListener | undefined;
  if (flags.mpListen) {
    mp = new MpListener(server.listenerHost(), { host: flags.mpListen.host || flags.host, port: flags.mpListen.port, typeIds: flags.mpTypeid, allowShutdown: flags.mpAllowShutdown === true });
    try {
      await mp.listen();
    } catch (error) {
      await server.shutdown();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new CliError(`--mp-listen: port ${flags.mpListen.port} is already in use (a multiprocessing manager?): stop it or pick another port`, ExitCode.Unreachable);
      throw new CliError(`--mp-listen ${flags.mpListen.host}:${flags.mpListen.port}: ${(error as Error).message}`, ExitCode.Unreachable);
    }
  }
  let metrics: Awaited<ReturnType<typeof startMetrics>> | undefined;
  if (flags.metrics) {
    try {
      metrics = await startMetrics(flags.metrics, server, backend ? { kind: 'redis', redis: backend } : store ? { kind: 'journal', journal: store } : { kind: 'memory' });
    } catch (error) {
      await server.shutdown();
      throw error;
    }
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
    const storeFields = backend
      ? { store: 'redis', storeUrl: backend.address.redacted, managerId: backend.managerId }
      : store
        ? { store: 'journal', dataDir: store.dir, fsync: store.fsync, recovered: recoveredFields(store.recovery, server.restored?.leasesReturned ?? 0) }
        : { store: 'memory' };
    const mpFields = mp ? { mpAddress: mp.address.address, mpPort: mp.address.port } : {};
    const metricsFields = metrics ? { metricsAddress: metrics.address.address, metricsPort: metrics.address.port } : {};
    log.info('ready', {
      version: packageVersion,
      protocol: PROTOCOL_VERSIONS.at(-1),
      address,
      port,
      authkey: where,
      maxQueuedBytes: server.limits.maxQueuedBytes,
      ...storeFields,
      ...mpFields,
      ...metricsFields,
    });
  } else {
    const portFlag = port === 7400 ? '' : ` --port ${port}`;
    process.stderr.write(
      [
        `Taskwire manager ${packageVersion} listening on ${shownHost}:${port}${tls ? ' (TLS)' : ''} — protocol ${PROTOCOL_VERSIONS.at(-1)}`,
        backend
          ? `Store: ${backend.address.redacted} (Redis, shared by every manager on it; this one is manager ${backend.managerId})`
          : store
            ? `Store: ${store.dir} (fsync ${store.fsync}); ${recoveredText(store.recovery, server.restored?.leasesReturned ?? 0)}`
            : `Store: in memory (queued tasks are lost when the manager stops)`,
        backend
          ? `Memory: queued payloads live in Redis (bound them with its maxmemory and each queue's maxBytes${backend.maxQueuedBytes > 0 ? `; --max-queued-bytes ${formatSize(backend.maxQueuedBytes)} for the queues this manager serves` : ''})`
          : `Memory: queued payloads ${server.limits.maxQueuedBytes === 0 ? 'unlimited' : `up to ${formatSize(server.limits.maxQueuedBytes)}`} (--max-queued-bytes)`,
        `Authkey: ${where}`,
        ...(mp ? [mpBanner(mp)] : []),
        ...(metrics ? [metricsBanner(metrics.address)] : []),
        ...keyHint(file),
        `Try:  npx taskwire put tasks image_url_0${portFlag}   npx taskwire get tasks${portFlag}   npx taskwire tail${portFlag}`,
        `Stop: Ctrl+C (leases are released, clients closed cleanly)`,
        '',
      ].join('\n'),
    );
  }
  await stopped;
  await metrics?.close();
  if (server.storeFailure) throw new CliError(`the data dir ${store!.dir} could not be written (${server.storeFailure.message}): stopped`, ExitCode.Failure);
  log.info('stopped');
}

/**
 * Connects to the Redis of --store. ioredis is loaded here, and only here: a manager on the
 * memory or journal store never loads it.
 */
async function openRedis(flags: ServeFlags, log: Logger): Promise<RedisQueues> {
  if (flags.fsync !== undefined || flags.repair)
    throw new CliError(`${flags.fsync !== undefined ? '--fsync' : '--repair'} is for --data-dir: with --store, Redis's own persistence settings apply (docs/redis.md)`, ExitCode.Usage);
  const { RedisQueues } = await import('../redis/redisQueues.js');
  try {
    return await RedisQueues.connect({
      url: flags.store!,
      tls: flags.storeCa === undefined ? {} : { ca: readPem(flags.storeCa) },
      wait: flags.storeWait === undefined ? undefined : { replicas: flags.storeWait, timeoutMs: Math.round((flags.storeWaitTimeout ?? 1) * 1000) },
      defaults: { ttr: flags.ttr, maxAttempts: flags.maxAttempts },
      autoCreate: flags.autoCreate,
      queues: flags.queue,
      // No default: the default budget is a share of this process's memory, which Redis's tasks do not use.
      maxQueuedBytes: flags.maxQueuedBytes ?? 0,
      heartbeatTtl: flags.heartbeatTtl,
      log,
    });
  } catch (error) {
    if (error instanceof StoreUrlError) throw new CliError(error.message, ExitCode.Usage);
    if (error instanceof EngineError && error.reason === 'store_unavailable') throw new CliError(error.message + untrustedHint(error.message, flags.storeCa), ExitCode.Unreachable);
    throw error;
  }
}

/** What to try when Redis's TLS certificate was not trusted. */
function untrustedHint(message: string, storeCa: string | undefined): string {
  if (!message.includes('TLS certificate is not trusted')) return '';
  return storeCa === undefined
    ? '; give the CA that signed it with --store-ca FILE (or $TASKWIRE_STORE_CA)'
    : `; check that ${storeCa} (--store-ca) is the CA that signed it and that the certificate names the host of the URL`;
}

/** The banner's line for --metrics. */
function metricsBanner({ address, port }: { address: string; port: number }): string {
  const base = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  return `Metrics: ${base}/metrics (Prometheus), ${base}/healthz, ${base}/readyz`;
}

/** The banner's line for --mp-listen. */
function mpBanner(mp: MpListener): string {
  const { address, port } = mp.address;
  const host = address.includes(':') ? `[${address}]` : address;
  const mapped = mp.typeIds.entries().map(([typeid, queue]) => `${typeid} → ${queue}`);
  return `Python multiprocessing clients: ${host}:${port} (${mapped.length > 0 ? mapped.join(', ') : 'type ids map to queues by name: get_task_queue → task'}; authkey=b'<the key>')`;
}

/** Opens --data-dir, reporting what recovery found; undefined without --data-dir. */
async function openStore(flags: ServeFlags, log: Logger): Promise<JournalStore | undefined> {
  if (!flags.dataDir) {
    if (flags.fsync !== undefined || flags.repair)
      throw new CliError(`${flags.fsync !== undefined ? '--fsync' : '--repair'} needs --data-dir: without it the manager keeps nothing on disk`, ExitCode.Usage);
    return undefined;
  }
  let store: JournalStore;
  try {
    store = await JournalStore.open(flags.dataDir, { fsync: flags.fsync ?? 'always', repair: flags.repair === true });
  } catch (error) {
    if (error instanceof CorruptRecordError) {
      throw new CliError(
        `${error.message}; start with --repair to skip the damaged records (what they held is lost), or restore the data dir from a backup; \`taskwire journal check ${flags.dataDir}\` lists every damaged record`,
        ExitCode.Failure,
      );
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR' || code === 'EROFS') throw new CliError(`cannot use the data dir ${flags.dataDir}: ${(error as Error).message}`, ExitCode.Failure);
    throw error;
  }
  const report = store.recovery;
  for (const torn of report.torn) {
    log.warn('dropped a torn record at the end of the journal (a write cut short by a crash; it was never answered)', { file: torn.file, offset: torn.offset, bytes: torn.bytes, reason: torn.reason });
  }
  for (const skipped of report.skipped) {
    log.warn('--repair: skipped damaged records', { file: skipped.file, offset: skipped.offset, bytes: skipped.bytes, reason: skipped.reason });
  }
  return store;
}

function recoveredFields(report: RecoveryReport, leasesReturned: number) {
  return { tasks: report.tasks, queues: report.queues, leasesReturned, tornRecords: report.torn.length, skippedRecords: report.skipped.length };
}

function recoveredText(report: RecoveryReport, leasesReturned: number): string {
  const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
  const parts = [`recovered ${plural(report.tasks, 'task')} in ${plural(report.queues, 'queue')}`, `${plural(leasesReturned, 'lease')} returned`];
  if (report.torn.length > 0) parts.push(`${plural(report.torn.length, 'torn record')} dropped`);
  if (report.skipped.length > 0) parts.push(`${plural(report.skipped.length, 'damaged part')} skipped (--repair)`);
  return parts.join(', ');
}

function parseSizeFlag(name: string) {
  return (value: string): number => {
    const bytes = parseByteSize(value);
    if (bytes === undefined) throw new CliError(`invalid ${name} "${value}": expected ${BYTE_SIZE_HELP}; 0 or none: unlimited`, ExitCode.Usage);
    return bytes;
  };
}

function readPem(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`, ExitCode.Usage);
  }
}
