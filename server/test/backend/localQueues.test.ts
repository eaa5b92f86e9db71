import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalQueues } from '../../src/server/localQueues';
import { JournalStore } from '../../src/store';
import { describeQueueBackend } from './queueBackendContract';

// The in-process queues, in memory and on the journal of a data dir, held to the QueueBackend contract.

describeQueueBackend('LocalQueues in memory', async (options) => {
  const backend = new LocalQueues({ ...options });
  return { backend, close: () => backend.close() };
});

describeQueueBackend('LocalQueues on a JournalStore (fsync always)', async (options) => {
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-store-'));
  const store = await JournalStore.open(join(dir, 'data'), { fsync: 'always' });
  const backend = new LocalQueues({ store, ...options });
  return {
    backend,
    close: async () => {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
