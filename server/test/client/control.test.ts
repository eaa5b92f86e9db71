import { strict as assert } from 'node:assert';
import type { TaskwireClient } from '../../src';
import { SessionNotFoundError } from '../../src';
import { startServer, type RunningServer } from '../helpers/harness';
import { within } from './util';

// The TypeScript client and quiet/stop (spec §7.20): the `state` event and workState, consume()
// and work() obeying, quietClient/stopClient and their typed error.

let counter = 0;
const fresh = (prefix = 'ctl') => `${prefix}-${process.pid}-${++counter}`;

describe('client: quiet and stop (workState, consume(), work())', function () {
  this.timeout(20_000);
  let running: RunningServer;
  let operator: TaskwireClient;

  beforeEach(async () => {
    running = await startServer();
    operator = await running.client({ name: 'operator', role: 'monitor' });
  });
  afterEach(async () => running.stop());

  it('consume(): quieted, it takes no other task and waits; stopped, it ends after the task in hand is acked and closes the client', async () => {
    const worker = await running.client({ name: 'consumer' });
    const states: string[] = [];
    worker.on('state', (state: string) => states.push(state));
    const queue = fresh();
    const tasks = operator.queue(queue);
    await tasks.putMany([{ payload: 1 }, { payload: 2 }]);
    const seen: unknown[] = [];
    const loop = (async () => {
      for await (const task of worker.queue(queue).consume()) {
        seen.push(task.payload);
        if (seen.length === 1) {
          assert.equal((await operator.quietClient(worker.sessionId!)).state, 'quiet');
          await within(
            waitUntil(() => worker.workState === 'quiet'),
            5000,
            'the quiet state',
          );
        }
      }
    })();
    // Quiet: the first task is acked, the second is not taken; the loop waits.
    await within(
      waitUntil(async () => (await tasks.stats()).totals.acked === 1),
      5000,
      'the first ack',
    );
    assert.deepEqual(seen, [1]);
    assert.equal((await tasks.stats()).ready, 1);
    assert.equal((await operator.stopClient(worker.sessionId!)).state, 'stopping');
    await within(loop, 5000, 'the loop to end');
    assert.deepEqual(states, ['quiet', 'stopping']);
    assert.equal(worker.isClosed, true, 'the loop closed the client');
    assert.equal((await tasks.stats()).totals.released, 0);
  });

  it('work(): quieted while it waits for a task (idle timeout 30 s) it takes none; stopped, it resolves at once with what it handled', async () => {
    const worker = await running.client({ name: 'worker' });
    const queue = fresh();
    const done = worker.queue(queue).work(() => 'ok', { idleTimeout: 30 });
    await within(
      waitUntil(async () => (await operator.clients()).some((c) => c.sessionId === worker.sessionId)),
      5000,
      'the worker in the registry',
    );
    await operator.quietClient(worker.sessionId!);
    await within(
      waitUntil(() => worker.workState === 'quiet'),
      5000,
      'the quiet state',
    );
    await operator.queue(queue).put('later');
    await operator.stopClient(worker.sessionId!);
    assert.equal(await within(done, 5000, 'work() to resolve'), 0, 'nothing handled: the task put while quiet was not taken');
    assert.equal((await operator.queue(queue).stats()).ready, 1);
  });

  it('work() with concurrency 16: quieted and stopped, every task in hand is acked, none released, and no listener warning', async () => {
    const worker = await running.client({ name: 'wide-worker' });
    const queue = fresh();
    await operator.queue(queue).putMany(Array.from({ length: 2000 }, (_, i) => ({ payload: i })));
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      let started = 0;
      const done = worker.queue(queue).work(
        async () => {
          started++;
          await new Promise((resolve) => setTimeout(resolve, 5));
        },
        { concurrency: 16 },
      );
      await within(
        waitUntil(() => started >= 50),
        10_000,
        'fifty tasks started',
      );
      await operator.quietClient(worker.sessionId!);
      await within(
        waitUntil(() => worker.workState === 'quiet'),
        5000,
        'the quiet state',
      );
      await operator.stopClient(worker.sessionId!);
      const handled = await within(done, 10_000, 'work() to resolve');
      const stats = await operator.queue(queue).stats();
      assert.equal(stats.totals.acked, handled, 'every task handled was acked');
      assert.equal(stats.totals.released, 0);
      assert.equal(stats.leased, 0);
      assert.equal(stats.ready, 2000 - handled);
      assert.equal(worker.isClosed, true);
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(
      warnings.map((w) => w.message),
      [],
    );
  });

  it('quietClient() of a session that is not connected throws SessionNotFoundError with its id', async () => {
    await assert.rejects(operator.quietClient('s-gone'), (error: unknown) => {
      assert.ok(error instanceof SessionNotFoundError);
      assert.equal(error.code, 1007);
      assert.equal(error.session, 's-gone');
      assert.equal(error.message, 'session not found: no session s-gone is connected');
      return true;
    });
  });
});

async function waitUntil(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
}
