import { strict as assert } from 'node:assert';
import type { ClientInfo, Event, ManagerStats, QueueStats } from '../../src';
import { validateDefinition } from '../../src/protocol/validation';
import { cleanupCli, jsonLines, lines, startServe, type RunningCli, type Serve } from './cliHarness';

async function put(serve: Serve, args: string[]): Promise<string[]> {
  const result = await serve.run(['put', ...args]);
  assert.equal(result.code, 0, result.stderr);
  return lines(result.stdout);
}

/** Starts `taskwire tail ...args` and waits until it is subscribed. */
async function startTail(serve: Serve, args: string[]): Promise<RunningCli> {
  const tail = serve.background(['tail', ...args]);
  await tail.waitFor('the subscription', () => tail.stderr.includes('following events on'));
  return tail;
}

describe('cli e2e: stats, workers, ping, tail', function () {
  this.timeout(30_000);
  let serve: Serve;

  beforeEach(async () => {
    serve = await startServe();
  });
  afterEach(cleanupCli);

  describe('stats', () => {
    it('prints a manager line, then a table with the header and a row of counts and rates per queue', async () => {
      await put(serve, ['tasks', '1', '2', '3']);
      await put(serve, ['later', 'x', '--delay', '60']);
      const worker = await serve.client({ name: 'w1' });
      await worker.queue('tasks').get({ timeout: 5 }); // one leased
      // One released: w2 takes a task and stops (session/close); the task is ready again.
      const stopping = await serve.client({ name: 'w2' });
      await stopping.queue('tasks').get({ timeout: 5 });
      stopping.close();
      while ((await worker.queue('tasks').stats()).totals.released !== 1) await new Promise((resolve) => setTimeout(resolve, 20));
      const result = await serve.run(['stats']);
      assert.equal(result.code, 0, result.stderr);
      const [managerLine, header, ...rows] = lines(result.stdout);
      // Open now: w1 and the stats command itself; since start: the two puts and w2 besides.
      assert.match(
        managerLine!,
        /^manager \d+\.\d+\.\d+\S*, up \d+ s: 2 connections \(2 sessions; 5 since start, 0 refused, 0 dropped\), 0 auth failures, 0 events dropped, rss \d+\.\d MiB, queued 6 B of \d+\.\d GiB$/,
      );
      assert.deepEqual(header!.split(/\s+/), [
        'QUEUE',
        'READY',
        'LEASED',
        'DELAYED',
        'DEAD',
        'MAXSIZE',
        'BYTES',
        'MAXBYTES',
        'GETTERS',
        'PUT',
        'ACKED',
        'NACKED',
        'EXPIRED',
        'RELEASED',
        'PAUSED',
        'PUT/S',
        'ACK/S',
      ]);
      const cells = Object.fromEntries(rows.map((row) => [row.split(/\s+/)[0], row.split(/\s+/)]));
      // Payloads 1, 2, 3 (JSON numbers: a byte each) and "x" (3 bytes); none bounded.
      assert.deepEqual(cells['tasks']!.slice(0, 15), ['tasks', '2', '1', '0', '0', '-', '3B', '-', '0', '3', '0', '0', '0', '1', 'no']);
      assert.deepEqual(cells['later']!.slice(0, 15), ['later', '0', '0', '1', '0', '-', '3B', '-', '0', '1', '0', '0', '0', '0', 'no']);
      // Rates over the manager's young life: 3 puts in a few seconds, no acks.
      assert.ok(Number(cells['tasks']![15]) > 0, `put rate of tasks: ${cells['tasks']![15]}`);
      assert.equal(cells['tasks']![16], '0');
      // Sorted by name.
      assert.deepEqual(
        rows.map((row) => row.split(/\s+/)[0]),
        [...rows.map((row) => row.split(/\s+/)[0])].sort(),
      );
    });

    it('says so when there are no queues yet, below the manager line', async () => {
      const result = await serve.run(['stats']);
      assert.equal(result.code, 0, result.stderr);
      const [managerLine, message] = lines(result.stdout);
      assert.match(managerLine!, /^manager .*, up \d+ s: 1 connection \(1 session; 1 since start, 0 refused, 0 dropped\), 0 auth failures, 0 events dropped, rss /);
      assert.match(message!, /no queues yet/);
    });

    it('counts authentication failures in the manager line', async () => {
      const wrong = await serve.run(['ping', '--authkey', 'not-the-key']);
      assert.equal(wrong.code, 4, wrong.stderr);
      const result = await serve.run(['stats']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(lines(result.stdout)[0]!, /, 1 auth failure, /);
    });

    it('stats tasks --json prints one QueueStats object', async () => {
      await put(serve, ['tasks', '1', '2']);
      const result = await serve.run(['stats', 'tasks', '--json']);
      assert.equal(result.code, 0, result.stderr);
      const stats = JSON.parse(result.stdout) as QueueStats;
      assert.equal(validateDefinition('QueueStats', stats), undefined, result.stdout);
      assert.equal(stats.queue, 'tasks');
      assert.equal(stats.ready, 2);
      assert.equal(stats.totals.put, 2);
    });

    it('stats --json prints {manager: ManagerStats, queues: QueueStats[]}', async () => {
      await put(serve, ['a', '1']);
      await put(serve, ['b', '1', '2']);
      const result = await serve.run(['stats', '--json']);
      assert.equal(result.code, 0, result.stderr);
      const { manager, queues } = JSON.parse(result.stdout) as { manager: ManagerStats; queues: QueueStats[] };
      assert.equal(validateDefinition('ManagerStats', manager), undefined, result.stdout);
      assert.deepEqual(Object.keys(JSON.parse(result.stdout) as object), ['manager', 'queues']);
      assert.equal(manager.connections.sessions, 1, 'the stats command itself');
      assert.equal(manager.connections.total, 3, 'two puts and the stats command');
      assert.ok(manager.frames.received > 0 && manager.bytes.sent > 0 && manager.memory.rss > 0);
      assert.deepEqual(manager.queues.map((q) => [q.queue, q.ready]).sort(), [
        ['a', 1],
        ['b', 2],
      ]);
      for (const queue of queues) assert.equal(validateDefinition('QueueStats', queue), undefined);
      assert.deepEqual(
        queues
          .filter((q) => q.queue === 'a' || q.queue === 'b')
          .map((q) => [q.queue, q.ready])
          .sort(),
        [
          ['a', 1],
          ['b', 2],
        ],
      );
    });
  });

  describe('workers', () => {
    it('lists a connected worker with its name, role and pid', async () => {
      const worker = await serve.client({ name: 'w1', role: 'worker' });
      await put(serve, ['tasks', '1']);
      await worker.queue('tasks').get({ timeout: 5 });
      const result = await serve.run(['workers']);
      assert.equal(result.code, 0, result.stderr);
      const [header, ...rows] = lines(result.stdout);
      assert.match(header!, /^SESSION\s+NAME\s+ROLE\s+STATE\s+LANGUAGE\s+HOST\s+PID\s+ADDRESS\s+HOLDING\s+ACKED\s+NACKED\s+CONNECTED\s+TASK$/);
      const row = rows.find((r) => r.startsWith(`${worker.sessionId} `));
      assert.ok(row, result.stdout);
      assert.match(row, /^[0-9a-f]+\s+w1\s+worker\s+active\s+/);
      assert.match(row, new RegExp(`\\s${process.pid}\\s`));
      // Its own connection is left out by default.
      assert.equal(
        rows.some((r) => r.includes(' taskwire-cli ')),
        false,
      );
    });

    it('--json lists ClientInfo objects; --all includes the command itself', async () => {
      await serve.client({ name: 'w1', role: 'worker', labels: { gpu: 'yes' } });
      const result = await serve.run(['workers', '--json']);
      assert.equal(result.code, 0, result.stderr);
      const { clients } = JSON.parse(result.stdout) as { clients: ClientInfo[] };
      for (const client of clients) assert.equal(validateDefinition('ClientInfo', client), undefined);
      const w1 = clients.find((c) => c.name === 'w1');
      assert.ok(w1, result.stdout);
      assert.equal(w1.role, 'worker');
      assert.equal(w1.pid, process.pid);
      assert.deepEqual(w1.labels, { gpu: 'yes' });
      assert.equal(clients.length, 1);

      const all = await serve.run(['workers', '--json', '--all']);
      const everyone = (JSON.parse(all.stdout) as { clients: ClientInfo[] }).clients;
      assert.ok(
        everyone.some((c) => c.name === 'taskwire-cli' && c.role === 'monitor'),
        all.stdout,
      );
    });

    it('says so when nobody is connected', async () => {
      const result = await serve.run(['workers']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /no clients connected/);
    });
  });

  describe('ping', () => {
    it('ping -c 2 prints the connection and two "pong" lines', async () => {
      const result = await serve.run(['ping', '-c', '2']);
      assert.equal(result.code, 0, result.stderr);
      const out = lines(result.stdout);
      assert.equal(out.length, 3, result.stdout);
      assert.match(out[0]!, new RegExp(`^connected to 127\\.0\\.0\\.1:${serve.port} in [\\d.]+ ms`));
      assert.equal(out.filter((line) => line.startsWith('pong')).length, 2);
      assert.match(out[1]!, new RegExp(`^pong from 127\\.0\\.0\\.1:${serve.port}: [\\d.]+ ms \\(manager clock \\d{4}-`));
    });

    it('-c 0 is a usage error', async () => {
      const result = await serve.run(['ping', '-c', '0']);
      assert.equal(result.code, 2, result.stderr);
    });
  });

  describe('tail', () => {
    it('tail --json --queue results shows the result routed by replyTo when a worker acks', async () => {
      const tail = await startTail(serve, ['--json', '--queue', 'results', '--payload']);
      const [id] = await put(serve, ['tasks', 'image_url_0', '--reply-to', 'results']);
      const worker = await serve.client({ name: 'w1', role: 'worker' });
      const task = await worker.queue('tasks').get({ timeout: 5 });
      assert.equal(task.id, id);
      await task.ack({ thumbnail: 'image_0.png' });

      const line = await tail.waitForLine(/"kind":"put"/);
      const event = JSON.parse(line) as Event;
      assert.equal(validateDefinition('Event', event), undefined, line);
      assert.equal(event.queue, 'results');
      assert.deepEqual(event.payload, { taskId: id, result: { thumbnail: 'image_0.png' } });
      // Only the results queue: nothing about "tasks".
      assert.equal(
        jsonLines<Event>(tail.stdout).some((e) => e.queue === 'tasks'),
        false,
      );
      const stopped = await tail.stop('SIGTERM');
      assert.equal(stopped.code, 0, stopped.stderr);
    });

    it('tail --json --kind ack shows the ack event with its result and who acked', async () => {
      const tail = await startTail(serve, ['--json', '--kind', 'ack']);
      const [id] = await put(serve, ['tasks', 'image_url_0', '--reply-to', 'results']);
      const worker = await serve.client({ name: 'w1', role: 'worker' });
      const task = await worker.queue('tasks').get({ timeout: 5 });
      await task.ack({ thumbnail: 'image_0.png' });

      const event = JSON.parse(await tail.waitForLine(/"kind":"ack"/)) as Event;
      assert.equal(validateDefinition('Event', event), undefined);
      assert.equal(event.queue, 'tasks');
      assert.equal(event.taskId, id);
      assert.deepEqual(event.result, { thumbnail: 'image_0.png' });
      assert.equal(event.client?.name, 'w1');
      // --kind ack: no put or get events.
      assert.deepEqual(
        jsonLines<Event>(tail.stdout).map((e) => e.kind),
        ['ack'],
      );
      const stopped = await tail.stop('SIGINT');
      assert.equal(stopped.code, 0, stopped.stderr);
    });

    it('prints readable lines without --json', async () => {
      const tail = await startTail(serve, ['--queue', 'tasks']);
      const [id] = await put(serve, ['tasks', 'image_url_0']);
      const line = await tail.waitForLine(/\bput\b/);
      assert.match(line, /^\d\d:\d\d:\d\d\.\d{3} put\s+tasks /);
      assert.ok(line.includes(id!), line);
      assert.match(line, /by taskwire-cli/);
    });

    it('SIGINT or SIGTERM the moment it is following: exit 0 (repeated)', async () => {
      for (let i = 0; i < 6; i++) {
        const tail = await startTail(serve, ['--json']);
        const result = await tail.stop(i % 2 === 0 ? 'SIGINT' : 'SIGTERM');
        assert.equal(result.signal, null, `round ${i}: killed by ${result.signal} before its handlers were installed`);
        assert.equal(result.code, 0, result.stderr);
      }
    });

    it('tail --kind bogus: exit 2', async () => {
      const result = await serve.run(['tail', '--kind', 'bogus']);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /unknown event kind "bogus"/);
      // Every kind of the spec is named, the later ones too.
      assert.match(result.stderr, /: use put, get, .*, progress, scheduled, schedule-set, schedule-deleted\n/);
    });
  });
});
