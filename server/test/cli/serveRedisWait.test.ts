import { strict as assert } from 'node:assert';
import { Redis } from 'ioredis';
import { eventually } from '../helpers/harness';
import { startRedis, type RunningRedis } from '../helpers/redis';
import { cleanupCli, lines, runCli, startServe } from './cliHarness';

// `taskwire serve --store ... --store-wait N`: a change is answered once N replicas have it
// (Redis's WAIT). A primary and a real replica (redis-server --replicaof) started here: a put
// answered with the replica in step survives a failover to it; with the replica stalled
// (SIGSTOP) the put is answered with the documented error instead of a success.

describe('cli e2e: taskwire serve --store-wait (Redis replicas)', function () {
  this.timeout(60_000);
  let primary: RunningRedis;
  let replica: RunningRedis;
  let replicaClient: Redis;
  before(async () => {
    primary = await startRedis();
    replica = await startRedis({ replicaOf: primary.port });
    replicaClient = new Redis({ host: '127.0.0.1', port: replica.port, maxRetriesPerRequest: 1 });
    await eventually(async () => /master_link_status:up/.test(await replicaClient.info('replication')), 20_000, 'the replica in step with its primary');
  });
  after(async () => {
    if (replica) process.kill(replica.pid, 'SIGCONT');
    replicaClient?.disconnect();
    await replica?.stop();
    await primary?.stop();
  });
  afterEach(cleanupCli);

  it('answers a put once the replica has it, which a failover keeps; a stalled replica makes the put an error that says so', async () => {
    const a = await startServe(['--store', primary.url, '--store-wait', '1', '--store-wait-timeout', '0.5']);
    const kept = await a.run(['put', 'replicated', 'kept by the replica']);
    assert.equal(kept.code, 0, kept.stderr);

    process.kill(replica.pid, 'SIGSTOP');
    try {
      const unconfirmed = await a.run(['put', 'replicated', 'not confirmed']);
      assert.equal(unconfirmed.code, 7, unconfirmed.stderr);
      assert.deepEqual(lines(unconfirmed.stderr), [
        `taskwire: error: store unavailable: ${primary.url}: only 0 of 1 replica confirmed the change within 500 ms (--store-wait); it was made, and a failover may lose it`,
      ]);
    } finally {
      process.kill(replica.pid, 'SIGCONT');
    }

    // The primary dies; the replica is promoted; a manager on it has the put that was answered.
    await a.stop();
    await primary.stop({ kill: true });
    await replicaClient.replicaof('NO', 'ONE');
    const b = await startServe(['--store', replica.url]);
    const got = await b.run(['get', 'replicated', '--timeout', '5']);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /kept by the replica/);
  });

  it('--store-wait without --store, on a Redis Cluster, or --store-wait-timeout alone: exit 2 and why', async () => {
    const cases: [string[], string][] = [
      [['--store-wait', '1'], '--store-wait is for managers that share a --store (Redis with replicas)'],
      [['--store', 'redis+cluster://127.0.0.1:7000,127.0.0.1:7001', '--store-wait', '1'], '--store-wait is for one Redis and its replicas; a Redis Cluster is not supported with it'],
      [['--store', primary.url, '--store-wait-timeout', '1'], '--store-wait-timeout is for --store-wait'],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['serve', '--port', '0', ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.deepEqual(lines(result.stderr), [`taskwire: error: ${message}`]);
    }
  });
});
