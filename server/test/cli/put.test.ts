import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QueueStats, TaskwireClient } from '../../src';
import { cleanupCli, lines, makeHome, startServe, type Serve } from './cliHarness';

async function stats(serve: Serve, queue: string): Promise<QueueStats> {
  const result = await serve.run(['stats', queue, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as QueueStats;
}

describe('cli e2e: taskwire put', function () {
  this.timeout(30_000);
  let serve: Serve;
  let client: TaskwireClient;

  beforeEach(async () => {
    serve = await startServe();
    client = await serve.client({ name: 'checker', role: 'monitor' });
  });
  afterEach(cleanupCli);

  it('prints one id per line; payloads are JSON when they parse (42 → number), text otherwise, --string keeps text', async () => {
    const auto = await serve.run(['put', 'tasks', '42', 'image_url_0', '{"url":"a.png","size":[320,240]}', '"quoted"', 'null']);
    assert.equal(auto.code, 0, auto.stderr);
    const ids = lines(auto.stdout);
    assert.equal(ids.length, 5, auto.stdout);
    assert.equal(new Set(ids).size, 5);
    const text = await serve.run(['put', 'tasks', '--string', '42', '{"a":1}']);
    assert.equal(text.code, 0, text.stderr);
    const textIds = lines(text.stdout);
    assert.equal(textIds.length, 2);

    const tasks = await client.queue('tasks').peek(10);
    assert.deepEqual(
      tasks.map((t) => t.id),
      [...ids, ...textIds],
    );
    assert.deepEqual(
      tasks.map((t) => t.payload),
      [42, 'image_url_0', { url: 'a.png', size: [320, 240] }, 'quoted', null, '42', '{"a":1}'],
    );
    assert.equal(typeof tasks[0]!.payload, 'number');
  });

  it('--quiet prints nothing on success', async () => {
    const result = await serve.run(['put', 'tasks', '1', '--quiet']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.equal((await stats(serve, 'tasks')).ready, 1);
  });

  it('--json with a payload that is not JSON: exit 2, nothing put', async () => {
    const result = await serve.run(['put', 'tasks', '--json', '1', 'image_url_0']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /not valid JSON/);
    assert.equal(result.stdout, '');
    const ok = await serve.run(['put', 'tasks', '--json', '{"a":1}']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await stats(serve, 'tasks')).ready, 1);
  });

  it('--json and --string together: exit 2', async () => {
    const result = await serve.run(['put', 'tasks', '--json', '--string', '1']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /contradict/);
  });

  it('reads 2,000 NDJSON lines from piped stdin and reports "put 2,000 tasks" on stderr', async () => {
    const input = Array.from({ length: 2000 }, (_, i) => (i % 2 === 0 ? JSON.stringify({ n: i }) : `line_${i}`)).join('\n') + '\n';
    const result = await serve.run(['put', 'tasks'], { input });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /put 2,000 tasks on "tasks"/);
    assert.equal(result.stdout, '', 'lines mode prints a summary, not ids');
    const after = await stats(serve, 'tasks');
    assert.equal(after.ready, 2000);
    const first = await client.queue('tasks').peek(2);
    assert.deepEqual(
      first.map((t) => t.payload),
      [{ n: 0 }, 'line_1'],
    );
  });

  it('--file reads NDJSON from a file (blank lines skipped); --file - reads stdin', async () => {
    const file = join(makeHome(), 'tasks.ndjson');
    writeFileSync(file, '1\n\n{"b":2}\r\nthree\n');
    const result = await serve.run(['put', 'tasks', '--file', file]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /put 3 tasks on "tasks" .*from \d+ bytes/);
    const dash = await serve.run(['put', 'tasks', '--file', '-'], { input: '4\n' });
    assert.equal(dash.code, 0, dash.stderr);
    assert.match(dash.stderr, /put 1 tasks/);
    assert.deepEqual(
      (await client.queue('tasks').peek(10)).map((t) => t.payload),
      [1, { b: 2 }, 'three', 4],
    );
  });

  it('--file naming a missing file: exit 2 "cannot read"', async () => {
    const result = await serve.run(['put', 'tasks', '--file', '/nonexistent/tasks.ndjson']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /cannot read \/nonexistent\/tasks\.ndjson/);
  });

  it('--json in lines mode names the bad line', async () => {
    const result = await serve.run(['put', 'tasks', '--json'], { input: '1\n2\nnot json\n' });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /line 3/);
  });

  it('--specs: each line is a task spec; a line without "payload" is exit 2 naming its line number', async () => {
    const good = await serve.run(['put', 'tasks', '--specs', '--priority', '1'], {
      input: '{"payload":"low"}\n{"payload":"high","priority":9,"replyTo":"results"}\n',
    });
    assert.equal(good.code, 0, good.stderr);
    const tasks = await client.queue('tasks').peek(5);
    assert.deepEqual(
      tasks.map((t) => [t.payload, t.priority, t.replyTo]),
      [
        ['high', 9, 'results'],
        ['low', 1, undefined],
      ],
    );

    const bad = await serve.run(['put', 'other', '--specs'], { input: '{"payload":1}\n{"priority":5}\n{"payload":3}\n' });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /line 2\b/);
    assert.match(bad.stderr, /payload/);
    const notJson = await serve.run(['put', 'other', '--specs'], { input: '{"payload":1}\n\n{oops\n' });
    assert.equal(notJson.code, 2, notJson.stderr);
    assert.match(notJson.stderr, /line 3 is not valid JSON/);
    const notObject = await serve.run(['put', 'other', '--specs'], { input: '[1]\n' });
    assert.equal(notObject.code, 2, notObject.stderr);
    assert.match(notObject.stderr, /line 1 is not a task spec/);
    // The bad batches were never sent: the queue was not even created.
    const other = await serve.run(['stats', 'other']);
    assert.equal(other.code, 7, other.stderr);
    assert.match(other.stderr, /queue "other" does not exist/);
  });

  it('--reply-to, --priority, --ttr and --max-attempts reach the task; --delay holds it back', async () => {
    const low = await serve.run(['put', 'tasks', 'low']);
    assert.equal(low.code, 0, low.stderr);
    const result = await serve.run(['put', 'tasks', 'urgent', '--reply-to', 'results', '--priority', '7', '--ttr', '5', '--max-attempts', '2']);
    assert.equal(result.code, 0, result.stderr);
    const [id] = lines(result.stdout);
    const [first] = await client.queue('tasks').peek(1);
    assert.equal(first!.id, id);
    assert.equal(first!.payload, 'urgent');
    assert.equal(first!.priority, 7);
    assert.equal(first!.replyTo, 'results');

    const worker = await serve.client({ name: 'w1', role: 'worker' });
    const leased = await worker.queue('tasks').get({ timeout: 5 });
    assert.equal(leased.id, id);
    // --ttr 5: the lease ends about 5 s after delivery, not after the default 60 s.
    const leaseSeconds = (Date.parse(leased.leaseUntil!) - Date.now()) / 1000;
    assert.ok(leaseSeconds > 2 && leaseSeconds <= 5.5, `lease of ${leaseSeconds} s`);

    const delayed = await serve.run(['put', 'later', 'x', '--delay', '30']);
    assert.equal(delayed.code, 0, delayed.stderr);
    const later = await stats(serve, 'later');
    assert.equal(later.delayed, 1);
    assert.equal(later.ready, 0);
    assert.deepEqual(await client.queue('later').peek(1), []);
  });

  it('--delay applies to every line read from stdin', async () => {
    const result = await serve.run(['put', 'later', '--delay', '30'], { input: '1\n2\n3\n' });
    assert.equal(result.code, 0, result.stderr);
    const later = await stats(serve, 'later');
    assert.equal(later.delayed, 3);
    assert.equal(later.ready, 0);
  });

  it('no payloads and an empty, non-TTY stdin: puts nothing and says so', async () => {
    const result = await serve.run(['put', 'tasks'], { input: '' });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /put 0 tasks on "tasks"/);
    assert.equal(result.stdout, '');
    const list = await serve.run(['stats', '--json']);
    const queues = (JSON.parse(list.stdout) as { queues: QueueStats[] }).queues;
    assert.equal(queues.find((q) => q.queue === 'tasks')?.ready ?? 0, 0);
  });

  it('payloads as arguments and --file together: exit 2', async () => {
    const result = await serve.run(['put', 'tasks', '1', '--file', '-']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /not both/);
  });

  it('bad option values are usage errors: exit 2 before connecting', async () => {
    for (const args of [
      ['--priority', 'high'],
      ['--delay', '-1'],
      ['--ttr', '0'],
      ['--batch', '0'],
      ['--timeout', 'soon'],
    ]) {
      const result = await serve.run(['put', 'tasks', '1', ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /invalid/);
    }
    assert.equal((await serve.run(['stats', '--json'])).stdout.includes('"tasks"'), false);
  });
});
