export { Engine, type EngineOptions } from './engine';
export { EngineError, type EngineErrorReason } from './engineError';
export { ManualClock, systemClock, type Clock } from './clock';
export {
  DEFAULTS,
  type EngineDefaults,
  type EngineEvent,
  type HeldTaskRef,
  type ProgressReport,
  type QueueOptions,
  type RawAck,
  type RawTask,
  type RawTaskSpec,
  type SessionId,
  type Waiter,
} from './types';
export type { Deliver } from './waiters';
export type { EngineState, JournalRecord, JournalSink, QueueImage, RestoreSummary, TaskImage } from './journal';
