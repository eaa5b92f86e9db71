/**
 * Taskwire: the client library (connect, queues, events), the reference server and its
 * engine, and the protocol's generated types.
 */
export * from './client';
export { TaskwireServer } from './server/server';
export { DEFAULT_HOST, DEFAULT_LIMITS, DEFAULT_PORT, type ServerLimits, type ServerOptions, type QueueDeclaration } from './server/options';
export { jsonLogger, textLogger, silentLogger, type Logger } from './server/logger';
export { DataDirLock, DataDirLockedError, JournalStore, type FsyncMode, type JournalStoreOptions, type LockHolder, type TaskStore } from './store';
export { resolveAuthkey, readAuthkeyFile, generateAuthkeyFile, defaultAuthkeyFile, taskwireHome } from './authkey';
export type * from './protocol/generated';
export { PROTOCOL_VERSIONS, ErrorCodes, METHODS } from './protocol/generated';
