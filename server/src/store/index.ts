export type { TaskStore } from './store';
export { JournalStore, FSYNC_MODES, type FsyncMode, type JournalStoreOptions } from './journalStore';
export { DEFAULT_COMPACTION, type CompactionPolicy } from './compaction';
export { CorruptRecordError, encodeRecord, scanRecords, type ScanResult, type StoredRecord } from './records';
export { DataDirLock, DataDirLockedError, type LockHolder } from './dataDirLock';
export { DataDirError, recover, type RecoveryReport, type DamagedStretch } from './recovery';
export { Replay } from './replay';
