import { strict as assert } from 'node:assert';
import { EngineError } from '../../src/engine';
import { jsonTextOf } from '../../src/protocol/jsonText';
import { RedisQueues } from '../../src/redis/redisQueues';
import { startRedisCluster, type RunningRedisCluster } from '../helpers/redis';
import { describeQueueBackend } from './queueBackendContract';

// The Redis store on a 3-node Redis Cluster this file makes: every queue's keys share its
// family's hash tag, so each script runs in one slot, and results cross slots by the outbox.

describe('RedisQueues on a Redis Cluster this file makes', function () {
  let cluster: RunningRedisCluster;
  before(async function () {
    this.timeout(60_000);
    cluster = await startRedisCluster();
  });
  after(async () => cluster?.stop());

  describeQueueBackend('RedisQueues on a 3-node Redis Cluster', async (options) => {
    const backend = await RedisQueues.connect({ url: cluster.url, ...options });
    return { backend, close: () => backend.close() };
  });

  describe('RedisQueues on a 3-node Redis Cluster: two managers', function () {
    this.timeout(20_000);
    it('a task put through one manager reaches a get blocked on the other, and its result comes back across slots', async () => {
      const a = await RedisQueues.connect({ url: cluster.url });
      const b = await RedisQueues.connect({ url: cluster.url });
      try {
        // Enough queues that their families land on different nodes.
        const queues = Array.from({ length: 6 }, (_, i) => `cluster-${process.pid}-${i}`);
        for (const queue of queues) {
          const results = `${queue}-results`;
          const waiting = new Promise<string>((resolve) =>
            b.get({ queue, session: 'worker', max: 1, timeout: 10, autoAck: false }, (tasks) => {
              resolve(tasks[0]!.id);
              return true;
            }),
          );
          const ids = await new Promise<string[]>((resolve, reject) =>
            a.put({ queue, tasks: [{ payload: jsonTextOf(queue), replyTo: results }], timeout: 0 }, (outcome) => (outcome instanceof EngineError ? reject(outcome) : resolve(outcome))),
          );
          assert.equal(await waiting, ids[0]);
          await b.ack('worker', [{ id: ids[0]!, result: jsonTextOf('ok') }]);
          const [result] = await new Promise<{ payload: string }[]>((resolve) => a.get({ queue: results, session: 'producer', max: 1, timeout: 5, autoAck: true }, (tasks) => (resolve(tasks), true)));
          assert.equal(result?.payload, `{"taskId":${JSON.stringify(ids[0])},"result":"ok"}`);
        }
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
