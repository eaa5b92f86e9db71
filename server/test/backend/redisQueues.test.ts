import { strict as assert } from 'node:assert';
import { RedisQueues } from '../../src/redis/redisQueues';
import { startRedis, type RunningRedis } from '../helpers/redis';
import { describeQueueBackend } from './queueBackendContract';

// The Redis store held to the QueueBackend contract: the same suite as the in-process queues,
// against a real redis-server this file starts.

let redis: RunningRedis;
before(async function () {
  this.timeout(20_000);
  redis = await startRedis();
});
after(async () => redis?.stop());

describeQueueBackend('RedisQueues on one redis-server', async () => {
  const backend = await RedisQueues.connect({ url: redis.url });
  return { backend, close: () => backend.close() };
});

describe('RedisQueues: connecting', function () {
  this.timeout(20_000);
  it('fails at once with store unavailable when Redis cannot be reached', async () => {
    const stopped = await startRedis();
    await stopped.stop();
    await assert.rejects(RedisQueues.connect({ url: `redis://user:secret@127.0.0.1:${stopped.port}` }), {
      name: 'EngineError',
      reason: 'store_unavailable',
      message: `store unavailable: cannot reach redis://user:***@127.0.0.1:${stopped.port} (ECONNREFUSED)`,
    });
  });
});
