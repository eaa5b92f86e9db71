/**
 * `taskwire/server`: the reference manager (TaskwireServer), its options and loggers, and the
 * durable store behind `--data-dir`.
 */
export { TaskwireServer } from './server';
export { DEFAULT_HOST, DEFAULT_LIMITS, DEFAULT_PORT, type ServerLimits, type ServerOptions, type QueueDeclaration } from './options';
export { jsonLogger, textLogger, silentLogger, type Logger } from './logger';
export { DataDirLock, DataDirLockedError, JournalStore, type FsyncMode, type JournalStoreOptions, type LockHolder, type TaskStore } from '../store';
