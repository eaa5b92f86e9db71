import { strict as assert } from 'node:assert';
import type { QueueStats, Task } from '../../src';
import { validateDefinition } from '../../src/protocol/validation';
import { cleanupCli, jsonLines, lines, startServe, type Serve } from './cliHarness';

async function stats(serve: Serve, queue: string): Promise<QueueStats> {
  const result = await serve.run(['stats', queue, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as QueueStats;
}

async function put(serve: Serve, queue: string, ...payloads: string[]): Promise<string[]> {
  const result = await serve.run(['put', queue, ...payloads]);
  assert.equal(result.code, 0, result.stderr);
  return lines(result.stdout);
}

describe('cli e2e: taskwire get', function () {
  this.timeout(30_000);
  let serve: Serve;

  beforeEach(async () => {
    serve = await startServe();
  });
  afterEach(cleanupCli);

  it('prints each task as a JSON line and removes it from the queue', async () => {
    const ids = await put(serve, 'tasks', '42', 'image_url_0');
    const first = await serve.run(['get', 'tasks']);
    assert.equal(first.code, 0, first.stderr);
    const [task, ...rest] = jsonLines<Task>(first.stdout);
    assert.deepEqual(rest, []);
    assert.equal(validateDefinition('Task', task), undefined);
    assert.equal(task!.id, ids[0]);
    assert.equal(task!.queue, 'tasks');
    assert.equal(task!.payload, 42);
    assert.equal(task!.attempt, 1);
    assert.equal((await stats(serve, 'tasks')).ready, 1);
    // Taken with autoAck: not leased to anyone.
    assert.equal((await stats(serve, 'tasks')).leased, 0);

    const second = await serve.run(['get', 'tasks']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(jsonLines<Task>(second.stdout)[0]!.payload, 'image_url_0');
    const after = await stats(serve, 'tasks');
    assert.equal(after.ready, 0);
    assert.equal(after.leased, 0);
  });

  it('--payload prints only the payloads, as JSON', async () => {
    await put(serve, 'tasks', '42', 'image_url_0', '{"a":[1,2]}');
    const result = await serve.run(['get', 'tasks', '--payload', '--max', '3']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(lines(result.stdout), ['42', '"image_url_0"', '{"a":[1,2]}']);
  });

  it('--max 3 takes up to three tasks, in order', async () => {
    const ids = await put(serve, 'tasks', '1', '2', '3', '4', '5');
    const result = await serve.run(['get', 'tasks', '--max', '3']);
    assert.equal(result.code, 0, result.stderr);
    const tasks = jsonLines<Task>(result.stdout);
    assert.deepEqual(
      tasks.map((t) => t.id),
      ids.slice(0, 3),
    );
    assert.equal((await stats(serve, 'tasks')).ready, 2);
    // Fewer ready than --max: what there is, without waiting for more.
    const rest = await serve.run(['get', 'tasks', '-n', '10', '--payload']);
    assert.equal(rest.code, 0, rest.stderr);
    assert.deepEqual(lines(rest.stdout), ['4', '5']);
  });

  it('--no-wait on an empty queue: exit 5 "is empty" at once', async () => {
    await put(serve, 'tasks', '1');
    assert.equal((await serve.run(['get', 'tasks'])).code, 0);
    const started = Date.now();
    const result = await serve.run(['get', 'tasks', '--no-wait']);
    assert.equal(result.code, 5, result.stderr);
    assert.match(result.stderr, /queue "tasks" is empty/);
    assert.equal(result.stdout, '');
    assert.ok(Date.now() - started < 5_000);
  });

  it('--timeout 0.2 on an empty queue: exit 5 after about 0.2 s', async () => {
    const started = Date.now();
    const result = await serve.run(['get', 'tasks', '--timeout', '0.2', '--create']);
    const elapsed = Date.now() - started;
    assert.equal(result.code, 5, result.stderr);
    assert.match(result.stderr, /is empty \(waited 0\.2 s\)/);
    assert.ok(elapsed >= 200, `returned after ${elapsed} ms`);
    assert.ok(elapsed < 8_000, `returned after ${elapsed} ms`);
  });

  it('without --timeout, waits until a task arrives', async () => {
    const get = serve.background(['get', 'tasks', '--payload', '--create']);
    const deadline = Date.now() + 10_000;
    // Until the get has created the queue, stats refuses it (exit 7): wait for the queue, then for the getter.
    const waiting = async () => {
      const result = await serve.run(['stats', 'tasks', '--json']);
      return result.code === 0 ? (JSON.parse(result.stdout) as QueueStats).waitingGetters : 0;
    };
    while ((await waiting()) < 1) {
      assert.ok(Date.now() < deadline, 'the get never blocked');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await put(serve, 'tasks', '"late"');
    const result = await get.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(lines(result.stdout), ['"late"']);
  });

  it('a queue that does not exist: exit 7 at once, naming the known queues and the nearest; nothing is created', async () => {
    await put(serve, 'tasks', '1');
    await put(serve, 'results', '1');
    const typo = await serve.run(['get', 'taks']);
    assert.equal(typo.code, 7, typo.stderr);
    assert.equal(typo.stderr, 'taskwire: error: queue "taks" does not exist (did you mean "tasks"? known queues: results, tasks); --create waits for it to be created\n');
    const unlike = await serve.run(['get', 'zzz', '--no-wait']);
    assert.equal(unlike.code, 7, unlike.stderr);
    assert.match(unlike.stderr, /queue "zzz" does not exist \(known queues: results, tasks\)/);
    const stats = await serve.run(['stats', 'taks']);
    assert.equal(stats.code, 7, stats.stderr);
    assert.equal(stats.stderr, 'taskwire: error: queue "taks" does not exist (did you mean "tasks"? known queues: results, tasks)\n');
    const list = JSON.parse((await serve.run(['stats', '--json'])).stdout) as { queues: QueueStats[] };
    assert.deepEqual(list.queues.map((q) => q.queue).sort(), ['results', 'tasks']);
  });

  it('on a manager with no queues yet, says so', async () => {
    const result = await serve.run(['get', 'tasks', '--no-wait']);
    assert.equal(result.code, 7, result.stderr);
    assert.match(result.stderr, /queue "tasks" does not exist \(the manager has no queues yet\); --create waits for it to be created/);
  });

  it('bad --max or --timeout: exit 2', async () => {
    for (const args of [
      ['--max', '0'],
      ['--max', '1.5'],
      ['--timeout', '-1'],
    ]) {
      const result = await serve.run(['get', 'tasks', ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    }
  });
});
