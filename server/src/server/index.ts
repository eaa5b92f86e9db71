/**
 * `taskwire/server`: the reference manager (TaskwireServer), its options and loggers, the
 * durable store behind `--data-dir`, and the listener for Python multiprocessing clients
 * (`new MpListener(server.listenerHost(), { host, port })`, what `--mp-listen` starts).
 */
export { TaskwireServer } from './server';
export { DEFAULT_HOST, DEFAULT_LIMITS, DEFAULT_PORT, type ServerLimits, type ServerOptions, type QueueDeclaration } from './options';
export { jsonLogger, textLogger, silentLogger, type Logger } from './logger';
export { DataDirLock, DataDirLockedError, JournalStore, type FsyncMode, type JournalStoreOptions, type LockHolder, type TaskStore } from '../store';
export { MpListener, type MpListenerOptions } from '../mp';
export type { ListenerHost, ClientSource } from './listenerHost';
