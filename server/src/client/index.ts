/**
 * `taskwire/client`: the client library (connect, queues, received tasks, events, errors), the
 * key helpers it uses, and the protocol's generated types.
 */
export { connect, TaskwireClient, DEFAULT_CLIENT_PORT, type ConnectOptions, type ReconnectOptions, type Subscription } from './client';
export { QueueHandle, type PutOptions, type UniquePutResult, type GetOptions, type ConsumeOptions, type WorkOptions } from './queue';
export { ReceivedTask, type ProgressReport } from './receivedTask';
export { Schedules, type ScheduleOptions } from './schedules';
export type { Requester } from './requester';
export { Channel, type ChannelOptions } from './channel';
export { resolveAddresses, formatAddress, type ManagerAddress, type AddressSource } from './addresses';
export * from './errors';
export { resolveAuthkey, readAuthkeyFile, generateAuthkeyFile, defaultAuthkeyFile, taskwireHome } from '../authkey';
// The protocol's generated types, and its values: the method table, error codes and registry,
// and a handle per method (QueuePutRequest, ...) for request().
export * from '../protocol/generated';
