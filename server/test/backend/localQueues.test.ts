import { join } from 'node:path';
import { LocalQueues } from '../../src/server/localQueues';
import { JournalStore } from '../../src/store';
import { removeTempDirs, tempDir } from '../store/storeHarness';
import { describeQueueBackend } from './queueBackendContract';

// The in-process queues, in memory and on the journal of a data dir, held to the QueueBackend contract.

describeQueueBackend('LocalQueues in memory', async () => {
  const backend = new LocalQueues();
  return { backend, close: () => backend.close() };
});

describeQueueBackend('LocalQueues on a JournalStore (fsync always)', async () => {
  const store = await JournalStore.open(join(tempDir(), 'data'), { fsync: 'always' });
  const backend = new LocalQueues({ store });
  return {
    backend,
    close: async () => {
      await backend.close();
      removeTempDirs();
    },
  };
});
