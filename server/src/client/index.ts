export { connect, TaskwireClient, DEFAULT_CLIENT_PORT, type ConnectOptions, type ReconnectOptions, type Subscription } from './client';
export { QueueHandle, type PutOptions, type GetOptions, type ConsumeOptions, type WorkOptions } from './queue';
export { ReceivedTask } from './receivedTask';
export { Channel, type ChannelOptions } from './channel';
export * from './errors';
