import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Event } from '../../src/client';
import { eventually, TEST_KEY } from '../helpers/harness';
import { startRedis, type RunningRedis } from '../helpers/redis';
import { proxyFor, serveCli, type Child } from './mpHelpers';

// The multiprocessing listener of a manager whose queues are in Redis: its connections are
// sessions like any other, whose events name them however late the store answers.

describe('mp: the listener on a manager with a Redis store', function () {
  this.timeout(60_000);
  let redis: RunningRedis;
  let dir: string;
  let keyFile: string;
  let manager: Child | undefined;

  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'taskwire-mp-redis-'));
    keyFile = join(dir, 'authkey');
    writeFileSync(keyFile, `${TEST_KEY.toString()}\n`, { mode: 0o600 });
  });

  after(async () => {
    manager?.proc.kill('SIGKILL');
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a Python worker that goes away holding a task: the task is released and the event names the worker, though Redis answers the release late', async () => {
    const served = await serveCli(['--authkey-file', keyFile, '--store', redis.url, '--mp-listen', '127.0.0.1:0', '--mp-typeid', `get_task_queue=mp-redis-${process.pid}`]);
    manager = served.child;
    const watcher = await connect({ host: '127.0.0.1', port: served.port, authkey: TEST_KEY.toString(), reconnect: false, name: 'watcher', role: 'monitor' });
    try {
      const released: Event[] = [];
      await watcher.subscribe({ queues: [`mp-redis-${process.pid}`], kinds: ['released', 'expired'] }, (event) => released.push(event));
      const { client, ident } = await proxyFor(served.mpPort, TEST_KEY, 'get_task_queue');
      assert.deepEqual(await client.call(ident, 'put', ['held']), ['#RETURN', null]);
      assert.deepEqual(await client.call(ident, 'get', []), ['#RETURN', 'held']);
      // Redis holds the release script a while: the connection has left the listener before it answers.
      redis.pauseWrites(500);
      client.close();
      await eventually(() => released.length === 1, 10_000, 'the released event');
      assert.deepEqual(
        [released[0]!.kind, released[0]!.error, released[0]!.client?.name, released[0]!.client?.role],
        ['released', 'multiprocessing client disconnected', 'python multiprocessing', 'worker'],
      );
      assert.equal((await watcher.queue(`mp-redis-${process.pid}`).stats()).ready, 1, 'the task is back');
    } finally {
      watcher.close();
    }
  });

  it('a manager that stops while its Python worker holds a task: a subscriber on another manager sees the release, naming the worker', async () => {
    const queue = `mp-redis-stop-${process.pid}`;
    const stopping = await serveCli(['--authkey-file', keyFile, '--store', redis.url, '--mp-listen', '127.0.0.1:0', '--mp-typeid', `get_task_queue=${queue}`]);
    const other = await serveCli(['--authkey-file', keyFile, '--store', redis.url]);
    const watcher = await connect({ host: '127.0.0.1', port: other.port, authkey: TEST_KEY.toString(), reconnect: false, name: 'watcher', role: 'monitor' });
    try {
      const released: Event[] = [];
      await watcher.subscribe({ queues: [queue], kinds: ['released'] }, (event) => released.push(event));
      const { client, ident } = await proxyFor(stopping.mpPort, TEST_KEY, 'get_task_queue');
      assert.deepEqual(await client.call(ident, 'put', ['held']), ['#RETURN', null]);
      assert.deepEqual(await client.call(ident, 'get', []), ['#RETURN', 'held']);
      // Redis holds the release script a while: the proxy's connection is gone before it answers.
      redis.pauseWrites(500);
      stopping.child.proc.kill('SIGTERM');
      assert.equal(await stopping.child.exited, 0, stopping.child.output());
      await eventually(() => released.length === 1, 10_000, 'the released event');
      assert.deepEqual([released[0]!.error, released[0]!.client?.name], ['manager shut down', 'python multiprocessing']);
    } finally {
      watcher.close();
      other.child.proc.kill('SIGKILL');
    }
  });
});
