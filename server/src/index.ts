/**
 * Taskwire: the client library (connect, queues, events), the reference server and its
 * store, and the protocol's generated types. The same parts one by one: `taskwire/client`,
 * `taskwire/server`, `taskwire/cli`.
 */
export * from './client';
export * from './server';
