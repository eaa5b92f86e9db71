import { strict as assert } from 'node:assert';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { EngineEvent, RawTask } from '../../src/engine';
import { jsonTextOf } from '../../src/protocol/jsonText';
import { RedisQueues } from '../../src/redis/redisQueues';
import { cleanupCli, startServe } from '../cli/cliHarness';
import { startRedis, type RunningRedis } from '../helpers/redis';

// Managers that die and a Redis that goes away: a dead manager's leases come back through the
// survivors within a bound (its heartbeat's TTL), and a live manager's never do, not even after
// an outage of Redis longer than the TTL (REDIS-DESIGN: the outage rule).

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function put(backend: RedisQueues, queue: string, payloads: string[]): Promise<string[]> {
  return new Promise((resolve, reject) =>
    backend.put({ queue, tasks: payloads.map((p) => ({ payload: jsonTextOf(p) })), timeout: 0 }, (outcome) => (Array.isArray(outcome) ? resolve(outcome) : reject(outcome))),
  );
}

function get(backend: RedisQueues, session: string, queue: string, timeout: number, ttr = 60): Promise<RawTask[]> {
  return new Promise((resolve) =>
    backend.get({ queue, session, max: 1, timeout, ttr, autoAck: false }, (tasks) => {
      resolve(tasks);
      return true;
    }),
  );
}

describe('RedisQueues: managers that die', function () {
  this.timeout(40_000);
  let redis: RunningRedis;
  before(async () => (redis = await startRedis()));
  after(async () => redis?.stop());
  afterEach(cleanupCli);

  it("a manager SIGKILLed: its workers' leases come back through a survivor within the heartbeat bound; the survivor's own lease stays", async () => {
    const survivor = await RedisQueues.connect({ url: redis.url, heartbeatTtl: 1 });
    const events: EngineEvent[] = [];
    survivor.onEvent((event) => events.push(event));
    try {
      const doomed = await startServe(['--store', redis.url, '--heartbeat-ttl', '1']);
      const client = await doomed.client({ name: 'worker-on-a-doomed-manager' });
      const queue = `reaped-${process.pid}`;
      await client.queue(queue).putMany([{ payload: 'held by the dead' }, { payload: 'held by the living' }]);
      const [orphan] = await client.queue(queue).getMany(1, { ttr: 60 });
      const [kept] = await get(survivor, 'live-worker', queue, 0);
      assert.equal(kept?.payload, '"held by the living"');

      const killedAt = Date.now();
      doomed.child.kill('SIGKILL');
      const [back] = await get(survivor, 'next-worker', queue, 20);
      const after = Date.now() - killedAt;
      assert.deepEqual([back?.id, back?.attempt], [orphan!.id, 2]);
      // Its key expires a TTL after its last beat (at most a third of a TTL before the kill), and the survivor looks every third of a TTL.
      assert.ok(after < 3_000, `the lease came back ${after} ms after the kill (heartbeat TTL 1 s)`);
      const released = events.find((e) => e.kind === 'released' && e.taskId === orphan!.id);
      assert.equal(released?.error, 'manager gone');
      assert.equal(await survivor.ack('live-worker', [{ id: kept!.id }]), 1, "the survivor's own lease was taken away");
    } finally {
      await survivor.close();
    }
  });
});

/**
 * A TCP relay to Redis that the test can shut: a manager behind it reconnects only once the
 * relay lets it, so the test decides which manager is back first.
 */
async function relayTo(port: number): Promise<{ url: string; shut: boolean; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const relay = {
    url: '',
    shut: false,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (relay.shut) {
      client.destroy();
      return;
    }
    const upstream = connect(port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  relay.url = `redis://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return relay;
}

describe('RedisQueues: an outage of Redis longer than the heartbeat TTL', function () {
  this.timeout(40_000);
  it('takes no lease away from a live manager that comes back after the others (within a TTL)', async () => {
    const redis = await startRedis({ appendonly: true, appendfsync: 'always' });
    const relay = await relayTo(redis.port);
    // a reaches Redis through the relay; b directly. TTL 3 s: b beats every second.
    const a = await RedisQueues.connect({ url: relay.url, heartbeatTtl: 3 });
    const b = await RedisQueues.connect({ url: redis.url, heartbeatTtl: 3 });
    try {
      const queue = `outage-lease-${process.pid}`;
      await put(a, queue, ['long job']);
      const [task] = await get(a, 'worker', queue, 0);
      assert.ok(task);
      // Down 4 s: when Redis comes back from its AOF, a's heartbeat (3 s) has expired. b is
      // back at once; a only 1.5 s later, when the relay opens. Judging a on its first beat
      // after coming back, b would release a's lease; waiting a full TTL of its own beats
      // first (the outage rule), it sees a back.
      relay.shut = true;
      await redis.restart({ downMs: 4_000 });
      await sleep(1_500);
      relay.shut = false;
      await sleep(5_000);
      assert.equal((await b.queueStats(queue)).leased, 1, 'the live lease was released');
      assert.equal(await a.ack('worker', [{ id: task.id }]), 1);
    } finally {
      await a.close();
      await b.close();
      await relay.close();
      await redis.stop();
    }
  });
});

describe('RedisQueues: Redis killed and restarted mid-load (appendfsync always)', function () {
  this.timeout(60_000);
  it('puts fail with store unavailable while it is away, then go on; every answered put is there afterwards', async () => {
    const redis = await startRedis({ appendonly: true, appendfsync: 'always' });
    const backend = await RedisQueues.connect({ url: redis.url });
    const queue = `restart-load-${process.pid}`;
    const answered: string[] = [];
    const refusals = new Set<string>();
    let lostDuring = 0;
    let restarting: Promise<void> | undefined;
    try {
      while (answered.length < 300) {
        const outcome = await new Promise<string[] | Error>((done) => backend.put({ queue, tasks: [{ payload: jsonTextOf(answered.length) }], timeout: 0 }, done));
        if (Array.isArray(outcome)) answered.push(...outcome);
        else {
          assert.equal((outcome as { reason?: string }).reason, 'store_unavailable', outcome.message);
          refusals.add(outcome.message.replace(/127\.0\.0\.1:\d+/, 'HOST'));
          if (outcome.message.includes('lost during the request')) lostDuring++;
          await sleep(20);
        }
        // A crash of Redis (SIGKILL) after 100 answered puts; the load goes on meanwhile.
        if (answered.length === 100 && !restarting) restarting = redis.restart({ kill: true, downMs: 500 });
      }
      await restarting;
      assert.ok(refusals.size > 0, 'no put saw the store away');
      const expected = [
        'store unavailable: redis://HOST: the connection to Redis is down',
        'store unavailable: redis://HOST: the connection to Redis was lost during the request (its change may or may not have been made)',
      ];
      assert.deepEqual(
        [...refusals].filter((m) => !expected.includes(m)),
        [],
      );
      const delivered: string[] = [];
      for (;;) {
        const tasks = await new Promise<RawTask[]>((done) => backend.get({ queue, session: 'drain', max: 100, timeout: 0, autoAck: true }, (t) => (done(t), true)));
        if (tasks.length === 0) break;
        delivered.push(...tasks.map((t) => t.id));
      }
      // Every answered put, in order; a put refused as its connection dropped may have gone in too.
      const answeredOnly = delivered.filter((id) => answered.includes(id));
      assert.deepEqual(answeredOnly, answered, 'an answered put was lost, or the order changed');
      assert.ok(delivered.length - answered.length <= lostDuring, `${delivered.length - answered.length} tasks nobody was told of`);
    } finally {
      await backend.close();
      await redis.stop();
    }
  });
});
