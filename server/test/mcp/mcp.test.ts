import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { QueueStats } from '../../src';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { cleanupCli, runCli, startServe, type Serve } from '../cli/cliHarness';
import { closeMcpSessions, startMcp, textOf, type McpSession } from './mcpHarness';

// `taskwire mcp` end to end: the SDK's MCP client starts bin/taskwire.js mcp over stdio against
// a real manager (`taskwire serve`), calls every tool and checks the manager's state with an
// ordinary client connection.

const PROTOCOL = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'spec', 'protocol.json'), 'utf8')) as { $defs: Record<string, JsonSchema> };

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchema;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  $ref?: string;
}

const READ_ONLY = ['list_queues', 'queue_stats', 'peek', 'recent_results', 'list_workers', 'list_schedules'];
const MUTATING = ['put_tasks', 'pause_queue', 'resume_queue', 'requeue_dead_letters', 'quiet_worker', 'stop_worker', 'set_schedule', 'delete_schedule', 'purge_queue'];
const DESTRUCTIVE = ['requeue_dead_letters', 'stop_worker', 'set_schedule', 'delete_schedule', 'purge_queue'];

function def(name: string): JsonSchema {
  return PROTOCOL.$defs[name]!;
}
function names(schema: JsonSchema | undefined): string[] {
  return Object.keys(schema?.properties ?? {}).sort();
}
function required(schema: JsonSchema | undefined): string[] {
  return [...(schema?.required ?? [])].sort();
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function snapshot(queues: QueueStats[]) {
  return queues.map((q) => ({ queue: q.queue, ready: q.ready, leased: q.leased, delayed: q.delayed, dead: q.dead, paused: q.paused, totals: q.totals })).sort((a, b) => a.queue.localeCompare(b.queue));
}

describe('taskwire mcp (MCP server over stdio, against a real manager)', function () {
  this.timeout(90_000);
  let serve: Serve;
  let key: string;

  beforeEach(async () => {
    serve = await startServe();
    key = readFileSync(serve.authkeyFile, 'utf8').trim();
  });
  afterEach(async () => {
    await closeMcpSessions();
    await cleanupCli();
  });

  /** Asserts the key (and any trace of redacting it) appears nowhere the server wrote. */
  function assertNoKey(mcp: McpSession): void {
    const everything = [...mcp.seen, mcp.stderr()].join('\n');
    assert.ok(key.length >= 16, 'the manager generated a key');
    assert.ok(!everything.includes(key), 'the key appears in what the MCP server sent');
    assert.ok(!everything.includes('[authkey]'), 'a message carried the key (redacted)');
  }

  it('lists every tool with annotations and input schemas that match spec/protocol.json', async () => {
    const mcp = await startMcp(serve.portArgs, serve.env);
    const { tools } = await mcp.client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    assert.deepEqual([...byName.keys()].sort(), [...READ_ONLY, ...MUTATING].sort());
    for (const t of tools) {
      assert.ok(t.description && t.description.length > 20, `${t.name} has a description`);
      assert.equal(t.annotations?.readOnlyHint, READ_ONLY.includes(t.name), `${t.name} readOnlyHint`);
      assert.equal(t.annotations?.destructiveHint, DESTRUCTIVE.includes(t.name), `${t.name} destructiveHint`);
      assert.equal(t.inputSchema.type, 'object');
      assert.equal((t.inputSchema as JsonSchema).additionalProperties, false, `${t.name} refuses unknown arguments`);
    }
    const input = (name: string) => byName.get(name)!.inputSchema as JsonSchema;
    // Tools that are one protocol method take its params (plus, named here, their own extras).
    const mapped: [string, string, string[]][] = [
      ['queue_stats', 'QueueParams', []],
      ['pause_queue', 'QueueParams', []],
      ['resume_queue', 'QueueParams', []],
      ['purge_queue', 'QueueParams', ['confirm']],
      ['peek', 'PeekParams', []],
      ['put_tasks', 'PutParams', ['createQueue']],
      ['quiet_worker', 'ControlParams', []],
      ['stop_worker', 'ControlParams', []],
      ['list_schedules', 'ScheduleListParams', []],
      ['set_schedule', 'ScheduleSetParams', []],
      ['delete_schedule', 'ScheduleDeleteParams', []],
    ];
    for (const [tool, params, extras] of mapped) {
      assert.deepEqual(names(input(tool)), [...names(def(params)), ...extras].sort(), `${tool}'s arguments are ${params}'s`);
      assert.deepEqual(required(input(tool)), [...required(def(params)), ...extras.filter((e) => e === 'confirm')].sort(), `${tool}'s required arguments`);
    }
    // put_tasks' tasks and set_schedule's task are TaskSpecs, down to Unique.
    const taskSpec = def('TaskSpec');
    for (const spec of [input('put_tasks').properties!.tasks!.items!, input('set_schedule').properties!.task!]) {
      assert.deepEqual(names(spec), names(taskSpec));
      assert.deepEqual(required(spec), required(taskSpec));
      assert.equal(spec.additionalProperties, false);
      assert.deepEqual(names(spec.properties!.unique), names(def('Unique')));
      assert.deepEqual(spec.properties!.unique!.properties!.scope!.enum, def('Unique').properties!.scope!.enum);
      assert.equal(spec.properties!.replyTo!.pattern, def('QueueName').pattern);
    }
    assert.equal(input('queue_stats').properties!.queue!.pattern, def('QueueName').pattern);
    assert.equal(input('purge_queue').properties!.confirm!.const, true);
    await mcp.close();
    assertNoKey(mcp);
  });

  it('calls every tool: read-only ones change nothing, the others change what they say', async () => {
    const admin = await serve.client({ name: 'test-admin', role: 'monitor' });
    await admin.declareQueue('crawl.images', { maxAttempts: 1 });
    await admin.declareQueue('crawl.results');
    const images = admin.queue('crawl.images');
    await images.putMany([{ payload: 'https://example.com/a.png', replyTo: 'crawl.results' }, { payload: 'https://example.com/b.png' }, { payload: 'https://example.com/c.png' }]);
    // A worker that downloaded a.png (a result), failed b.png for good (a dead letter) and holds c.png with progress.
    const worker = await serve.client({ name: 'ts-1', role: 'worker' });
    const [a] = await worker.queue('crawl.images').getMany(1, { timeout: 5 });
    await a!.ack({ bytes: 123, sha256: 'abc' });
    const [b] = await worker.queue('crawl.images').getMany(1, { timeout: 5 });
    await b!.nack({ error: 'HTTP 404', retry: false });
    const [c] = await worker.queue('crawl.images').getMany(1, { timeout: 5, ttr: 600 });
    await c!.progress(40, 'fetching c.png');
    await admin.schedules.set({ name: 'recrawl', queue: 'crawl.images', task: { payload: 'https://example.com/' }, every: 3600 });

    const mcp = await startMcp([...serve.portArgs, '--authkey-file', serve.authkeyFile], serve.env);
    const before = snapshot(await admin.queues());

    const listed = await mcp.call('list_queues');
    assert.equal(listed.isError, undefined);
    const queues = (listed.structuredContent as { queues: QueueStats[] }).queues;
    assert.deepEqual(queues.map((q) => q.queue).sort(), ['crawl.images', 'crawl.images.dead', 'crawl.results']);
    assert.match(textOf(listed), /crawl\.images: 0 ready, 1 leased, 0 delayed, 1 dead/);

    const stats = await mcp.call('queue_stats', { queue: 'crawl.images' });
    assert.equal((stats.structuredContent as { stats: QueueStats }).stats.dead, 1);

    const peeked = await mcp.call('peek', { queue: 'crawl.images.dead', max: 5 });
    const deadTasks = (peeked.structuredContent as { tasks: { payload: unknown; deadLetteredFrom?: string; lastError?: string }[] }).tasks;
    assert.deepEqual(
      deadTasks.map((t) => [t.payload, t.deadLetteredFrom, t.lastError]),
      [['https://example.com/b.png', 'crawl.images', 'HTTP 404']],
    );
    assert.match(textOf(peeked), /last error: HTTP 404/);

    const results = await mcp.call('recent_results', { queue: 'crawl.results' });
    assert.deepEqual(
      (results.structuredContent as { results: { taskId: string; result: unknown }[] }).results.map((r) => [r.taskId, r.result]),
      [[a!.id, { bytes: 123, sha256: 'abc' }]],
    );

    const workers = await mcp.call('list_workers', { role: 'worker' });
    const listedWorkers = (workers.structuredContent as { workers: { name: string; sessionId: string; tasks?: { id: string; progress?: { percent?: number; message?: string } }[] }[] }).workers;
    assert.deepEqual(
      listedWorkers.map((w) => w.name),
      ['ts-1'],
    );
    assert.equal(listedWorkers[0]!.tasks?.[0]?.id, c!.id);
    assert.equal(listedWorkers[0]!.tasks?.[0]?.progress?.message, 'fetching c.png');
    assert.match(textOf(workers), /ts-1 \(worker, typescript \(node [\d.]+\), active\) session \S+: holds 1, acked 1, nacked 1.*crawl\.images#\S+ 40% fetching c\.png/);

    const schedules = await mcp.call('list_schedules');
    assert.deepEqual(
      (schedules.structuredContent as { schedules: { name: string }[] }).schedules.map((s) => s.name),
      ['recrawl'],
    );

    for (const uri of ['taskwire://queues', 'taskwire://workers', 'taskwire://schedules']) assert.ok((await mcp.read(uri)).length > 10, uri);
    assert.deepEqual(snapshot(await admin.queues()), before, 'the read-only tools changed nothing');

    // The tools that change things, each checked through the admin connection.
    const put = await mcp.call('put_tasks', {
      queue: 'crawl.images',
      tasks: [
        { payload: 'https://example.com/d.png', priority: 5, unique: { key: 'd', scope: 'active' } },
        { payload: 'https://example.com/e.png', rateKey: 'example.com' },
      ],
    });
    assert.equal(put.isError, undefined, textOf(put));
    assert.equal((put.structuredContent as { ids: string[] }).ids.length, 2);
    assert.match(textOf(put), /^Put 2 task\(s\) on crawl\.images: /);
    const again = await mcp.call('put_tasks', { queue: 'crawl.images', tasks: [{ payload: 'https://example.com/d.png', unique: { key: 'd' } }] });
    assert.deepEqual(again.structuredContent, { queue: 'crawl.images', ids: [(put.structuredContent as { ids: string[] }).ids[0]], duplicates: [true] });
    assert.match(textOf(again), /^Put 0 task\(s\) on crawl\.images; 1 not added, as a task holding the same unique key is there/);
    assert.equal((await images.stats()).ready, 2);
    assert.deepEqual((await images.peek(1))[0]!.payload, 'https://example.com/d.png');

    await mcp.call('pause_queue', { queue: 'crawl.images' });
    assert.equal((await images.stats()).paused, true);
    const resumed = await mcp.call('resume_queue', { queue: 'crawl.images' });
    assert.equal((await images.stats()).paused, false);
    assert.match(textOf(resumed), /^Resumed crawl\.images: 2 ready, 1 leased, 0 delayed, 1 dead$/);

    const requeued = await mcp.call('requeue_dead_letters', { queue: 'crawl.images' });
    assert.equal(requeued.isError, undefined, textOf(requeued));
    assert.match(textOf(requeued), /Moved 1 dead letter\(s\) from crawl\.images\.dead back to crawl\.images; crawl\.images\.dead holds 0 now\./);
    assert.equal((await admin.queue('crawl.images.dead').stats()).ready, 0);
    assert.ok((await images.peek(10)).some((t) => t.payload === 'https://example.com/b.png'));

    const setResult = await mcp.call('set_schedule', { name: 'nightly', queue: 'crawl.images', task: { payload: 'https://example.com/', priority: 1 }, cron: '0 3 * * *', timezone: 'Europe/Berlin' });
    assert.equal(setResult.isError, undefined, textOf(setResult));
    assert.match(textOf(setResult), /Created schedule nightly on crawl\.images: cron 0 3 \* \* \* Europe\/Berlin/);
    assert.deepEqual(
      (await admin.schedules.list()).map((s) => s.name),
      ['nightly', 'recrawl'],
    );
    await mcp.call('delete_schedule', { name: 'recrawl' });
    assert.deepEqual(
      (await admin.schedules.list()).map((s) => s.name),
      ['nightly'],
    );

    const session = listedWorkers[0]!.sessionId;
    const quiet = await mcp.call('quiet_worker', { session: session.slice(0, 8) });
    assert.match(textOf(quiet), /is quiet/);
    assert.equal((await admin.clients()).find((x) => x.sessionId === session)?.state, 'quiet');
    const stop = await mcp.call('stop_worker', { session });
    assert.match(textOf(stop), /\(ts-1\) is stopping/);
    assert.equal((await admin.clients()).find((x) => x.sessionId === session)?.state, 'stopping');

    const purged = await mcp.call('purge_queue', { queue: 'crawl.images', confirm: true });
    assert.match(textOf(purged), /Purged crawl\.images: removed 3 task\(s\)/);
    assert.equal((await images.stats()).ready, 0);

    await mcp.close();
    assert.match(mcp.stderr(), /^taskwire mcp: serving 15 tools over stdio for the manager at 127\.0\.0\.1:\d+\n/);
    assertNoKey(mcp);
  });

  it('--read-only serves only the tools that change nothing', async () => {
    const mcp = await startMcp(['--read-only', '--authkey', key, ...serve.portArgs], serve.env);
    const { tools } = await mcp.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [...READ_ONLY].sort());
    assert.ok(tools.every((t) => t.annotations?.readOnlyHint === true));
    const listed = await mcp.call('list_queues');
    assert.equal(listed.isError, undefined, 'connected with the key given as --authkey');
    const refused = await mcp.call('purge_queue', { queue: 'crawl.images', confirm: true });
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /Tool purge_queue not found/);
    await mcp.close();
    assert.match(mcp.stderr(), /\(read-only\)/);
    assertNoKey(mcp);
  });

  it('answers tool errors with clear text: bad arguments, an unknown queue, a missing confirmation, an unknown schedule', async () => {
    const admin = await serve.client();
    await admin.declareQueue('crawl.images');
    const mcp = await startMcp(serve.portArgs, { ...serve.env, TASKWIRE_AUTHKEY: key });
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['put_tasks', { queue: 'crawl.images', tasks: [{ payload: 1, prio: 5 }] }, /Invalid arguments for tool put_tasks: Unrecognized key: "prio" at tasks\[0\]/],
      ['put_tasks', { queue: 'crawl.images', tasks: [] }, /Invalid arguments for tool put_tasks: .*tasks/],
      ['peek', { queue: 'bad name!' }, /Invalid arguments for tool peek: .*queue/],
      ['queue_stats', { queue: 'crawl.imagez' }, /^queue_stats failed: queue "crawl\.imagez" does not exist \(queues: crawl\.images\)$/],
      ['put_tasks', { queue: 'crawl.imagez', tasks: [{ payload: 1 }] }, /^put_tasks failed: queue "crawl\.imagez" does not exist \(queues: crawl\.images\)$/],
      ['purge_queue', { queue: 'crawl.images' }, /purge_queue removes the tasks for good: pass confirm: true to do it/],
      ['purge_queue', { queue: 'crawl.images', confirm: false }, /purge_queue removes the tasks for good: pass confirm: true to do it/],
      ['delete_schedule', { name: 'nope' }, /^delete_schedule failed: .*nope/],
      ['set_schedule', { name: 's', queue: 'crawl.images', task: { payload: 1 }, cron: '0 * * * *', every: 60 }, /^set_schedule failed: .*(cron|every)/],
      ['stop_worker', { session: 'zzzz' }, /^stop_worker failed: no session zzzz is connected/],
    ];
    for (const [tool, args, expected] of cases) {
      const result = await mcp.call(tool, args);
      assert.equal(result.isError, true, `${tool} ${JSON.stringify(args)}: ${textOf(result)}`);
      assert.match(textOf(result), expected, `${tool} ${JSON.stringify(args)}`);
    }
    // Nothing was created by the refused calls, and the server still answers.
    assert.deepEqual(
      (await admin.queues()).map((q) => q.queue),
      ['crawl.images'],
    );
    assert.equal((await mcp.call('list_queues')).isError, undefined);
    await mcp.close();
    assertNoKey(mcp);
  });

  it('a wrong key and an unreachable manager are tool errors, and the server keeps running', async () => {
    const wrongKey = 'not-the-key-0123456789abcdef';
    const wrong = await startMcp(serve.portArgs, { ...serve.env, TASKWIRE_AUTHKEY: wrongKey });
    const refused = await wrong.call('list_queues');
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /^list_queues failed: not connected to the Taskwire manager at 127\.0\.0\.1:\d+: .*the manager refused the key in \$TASKWIRE_AUTHKEY\./);
    assert.equal((await wrong.call('list_workers')).isError, true, 'the next call tries again, and fails again');
    await wrong.close();
    assert.ok(![...wrong.seen, wrong.stderr()].join('\n').includes(wrongKey), 'the wrong key appears in the output');
    assertNoKey(wrong);

    const port = await closedPort();
    const down = await startMcp(['--port', String(port)], serve.env);
    const unreachable = await down.call('queue_stats', { queue: 'crawl.images' });
    assert.equal(unreachable.isError, true);
    assert.match(
      textOf(unreachable),
      new RegExp(
        `^queue_stats failed: not connected to the Taskwire manager at 127\\.0\\.0\\.1:${port}: .*cannot connect to the manager at 127\\.0\\.0\\.1:${port}: connection refused \\(is \`taskwire serve\` running there\\?\\)$`,
      ),
    );
    await down.close();
    assertNoKey(down);
  });

  it('--http serves the same tools over Streamable HTTP on loopback, and refuses another address without --allow-remote', async () => {
    const admin = await serve.client();
    await admin.declareQueue('crawl.images');
    const mcp = serve.background(['mcp', '--http', '0']);
    const url = await mcp.waitFor('the HTTP banner', () => /at (http:\/\/127\.0\.0\.1:\d+\/mcp) for the manager/.exec(mcp.stderr)?.[1]);
    const client = new Client({ name: 'taskwire-mcp-http-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    try {
      assert.equal((await client.listTools()).tools.length, READ_ONLY.length + MUTATING.length);
      const put = (await client.callTool({ name: 'put_tasks', arguments: { queue: 'crawl.images', tasks: [{ payload: 'over http' }] } })) as CallToolResult;
      assert.equal(put.isError, undefined, textOf(put));
      assert.deepEqual(
        (await admin.queue('crawl.images').peek(1)).map((t) => t.payload),
        ['over http'],
      );
      const missing = (await client.callTool({ name: 'queue_stats', arguments: { queue: 'nope' } })) as CallToolResult;
      assert.equal(missing.isError, true);
      assert.match(textOf(missing), /queue "nope" does not exist/);
    } finally {
      await client.close();
    }
    // A page elsewhere cannot reach it through DNS rebinding: another Host header is refused.
    const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'page', version: '1' } } });
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const request = httpRequest(url, { method: 'POST', headers: { host: 'evil.example', 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, (response) => {
        response.resume();
        resolve(response.statusCode);
      });
      request.once('error', reject);
      request.end(initialize);
    });
    assert.equal(status, 403);
    await mcp.stop();
    assert.ok(!(mcp.stdout + mcp.stderr).includes(key));

    const remote = await runCli(['mcp', '--http', '0.0.0.0:0', ...serve.portArgs], { env: serve.env });
    assert.equal(remote.code, 2);
    assert.equal(remote.stderr, 'taskwire: error: --http 0.0.0.0:0 is not a loopback address: the MCP endpoint has no authentication, so add --allow-remote to serve it there on purpose\n');
  });

  it('the other commands do not load the MCP SDK or zod', async () => {
    const main = join(__dirname, '..', '..', 'src', 'cli', 'main.js');
    const script = `const cli = require(${JSON.stringify(main)}); cli.buildProgram(); console.log(JSON.stringify(Object.keys(require.cache).filter((f) => /[\\\\/](@modelcontextprotocol|zod)[\\\\/]/.test(f))))`;
    const { execFileSync } = await import('node:child_process');
    assert.equal(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim(), '[]');
  });

  it('requeue_dead_letters takes only the dead letters of its queue from a shared dead-letter queue, and never creates one', async () => {
    const admin = await serve.client();
    for (const name of ['a', 'b']) await admin.declareQueue(name, { maxAttempts: 1, deadLetter: 'shared.dead' });
    await admin.declareQueue('c');
    const worker = await serve.client({ name: 'failing-worker' });
    // Dead letters in the order a1, b1, a2.
    for (const [queue, payload] of [
      ['a', 'a1'],
      ['b', 'b1'],
      ['a', 'a2'],
    ] as const) {
      await admin.queue(queue).put(payload);
      const [task] = await worker.queue(queue).getMany(1, { timeout: 5 });
      await task!.nack({ error: 'broken', retry: false });
    }
    const mcp = await startMcp(serve.portArgs, serve.env);
    const first = await mcp.call('requeue_dead_letters', { queue: 'a' });
    assert.equal(textOf(first), "Moved 1 dead letter(s) from shared.dead back to a; shared.dead holds 2 now. Stopped at a dead letter of b, next in line: requeue that queue's to reach the rest.");
    assert.deepEqual(
      (await admin.queue('shared.dead').peek(5)).map((t) => [t.payload, t.attempt]),
      [
        ['b1', 1],
        ['a2', 1],
      ],
      'b1 was not leased',
    );
    await mcp.call('requeue_dead_letters', { queue: 'b' });
    const second = await mcp.call('requeue_dead_letters', { queue: 'a' });
    assert.match(textOf(second), /^Moved 1 dead letter\(s\) from shared\.dead back to a; shared\.dead holds 0 now\.$/);
    assert.deepEqual(
      (await admin.queue('a').peek(5)).map((t) => t.payload),
      ['a1', 'a2'],
    );
    assert.deepEqual(
      (await admin.queue('b').peek(5)).map((t) => t.payload),
      ['b1'],
    );

    const none = await mcp.call('requeue_dead_letters', { queue: 'c' });
    assert.equal(textOf(none), 'c.dead does not exist yet: no dead letter to move.');
    assert.ok(!(await admin.queues()).some((q) => q.queue === 'c.dead'));
    // The MCP server's own session is named for what it is (in `taskwire workers`), and not in list_workers.
    assert.ok((await admin.clients()).some((c) => c.name === 'taskwire-mcp' && c.role === 'monitor'));
    const workers = await mcp.call('list_workers');
    assert.ok(!(workers.structuredContent as { workers: { name: string }[] }).workers.some((w) => w.name === 'taskwire-mcp'));
    await mcp.close();
    assertNoKey(mcp);
  });
});
