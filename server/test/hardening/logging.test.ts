// What `taskwire serve --json` logs: one JSON object per line for every event an operator
// needs (listening, clients connecting and leaving, authentication failures and refused
// connections at a bounded rate, dropped slow consumers, shutdown), and never the key.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { readAuthkeyFile } from '../../src/authkey';
import { jsonLogger } from '../../src/server/logger';
import { cleanupCli, jsonLines, startServe } from '../cli/cliHarness';
import { eventually } from '../helpers/harness';
import { call, queueName, TEST_KEY, useFixture } from '../server/fixture';
import { HostileConnection, sleep } from './util';

interface Line {
  time: string;
  level: string;
  message: string;
  [field: string]: unknown;
}

describe('hardening: structured logs', function () {
  this.timeout(60_000);

  describe('taskwire serve --json', () => {
    afterEach(cleanupCli);

    it('logs listening, connections, failures and refusals (rate-limited) and the shutdown, as JSON lines', async () => {
      const serve = await startServe(['--json', '--max-connections', '3']);
      const key = readFileSync(serve.authkeyFile);
      const lines = () => jsonLines<Line>(serve.stdout);
      const client = await serve.client({ name: 'logged-client' });
      await client.queue('logged').put('x');
      // Twenty wrong proofs, each from its own address (from one address, the back-off would refuse most unchecked).
      for (let i = 0; i < 20; i++) {
        const conn = await HostileConnection.open(serve.port, 'ndjson', `127.0.3.${i + 1}`);
        const answer = await conn.handshake(Buffer.from('wrong key'), 'guesser');
        assert.equal(answer.error?.code, -32001);
        conn.close();
      }
      // Ten connections over --max-connections 3 (the client and two other sessions hold the slots:
      // a connection that has not authenticated would be closed to make room instead).
      await eventually(async () => (await client.managerStats()).connections.current === 1, 5000, 'the guessers to be gone');
      const holders = await Promise.all([HostileConnection.open(serve.port), HostileConnection.open(serve.port)]);
      for (const conn of holders) assert.ok((await conn.handshake(readAuthkeyFile(serve.authkeyFile), 'holder')).result);
      for (let i = 0; i < 10; i++) {
        const conn = await HostileConnection.open(serve.port);
        conn.send('session/ping');
        await conn.waitForClose();
      }
      for (const conn of holders) conn.close();
      client.close();
      await serve.waitFor('the disconnect', () => lines().some((l) => l.message === 'client disconnected' && l.name === 'logged-client'));
      const result = await serve.stop('SIGTERM');
      assert.equal(result.code, 0, result.stderr);

      const all = lines();
      for (const line of all) {
        assert.match(line.time, /^\d{4}-\d\d-\d\dT/);
        assert.ok(['info', 'warn', 'error', 'debug'].includes(line.level), JSON.stringify(line));
      }
      const messages = all.map((l) => l.message);
      const count = (message: string) => messages.filter((m) => m === message).length;
      const find = (message: string) => all.find((l) => l.message === message);
      assert.deepEqual(find('listening')?.port, serve.port);
      assert.equal(find('client connected')?.name, 'logged-client');
      assert.equal(find('client connected')?.role, 'worker');
      // (The holders close first; which disconnect the manager logs first is up to the sockets.)
      assert.deepEqual(
        all
          .filter((l) => l.message === 'client disconnected')
          .map((l) => l.name)
          .sort(),
        ['holder', 'holder', 'logged-client'],
      );
      // Failures and refusals: one line at once, one summing up the rest (flushed at shutdown).
      assert.equal(count('authentication failed'), 1);
      assert.equal(find('authentication failed')?.level, 'warn');
      assert.equal(find('authentication failed (repeated)')?.repeated, 19);
      assert.equal(count('connection refused: maxConnections reached'), 1);
      assert.deepEqual([find('connection refused: maxConnections reached')?.limit, find('connection refused: maxConnections reached')?.max], ['maxConnections', 3]);
      assert.equal(find('connection refused: maxConnections reached (repeated)')?.repeated, 9);
      // The shutdown, in order.
      const order = ['signal received: shutting down', 'shutting down', 'stopped'].map((m) => messages.indexOf(m));
      assert.ok(order.every((i) => i >= 0) && order[0]! < order[1]! && order[1]! < order[2]!, JSON.stringify(messages));
      assert.ok(!serve.stdout.includes(key.toString('utf8').trim()), 'the key is never logged');
      assert.equal(all.filter((l) => l.level === 'error').length, 0);
    });
  });

  describe('the drops, as JSON lines', () => {
    const fx = useFixture();

    it('slow consumers, unfinished frames, handshake deadlines, slow subscribers and a requested shutdown each leave a line', async () => {
      const stream = new PassThrough();
      let text = '';
      stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      const { port, server } = await fx.server({
        log: jsonLogger(stream),
        limits: { handshakeTimeout: 0.3, partialFrameTimeout: 0.3, maxOutputBytes: 64 * 1024, slowConsumerTimeout: 0.5, maxEventBacklogBytes: 16 * 1024 },
      });
      const lines = () => jsonLines<Line>(text);
      // Handshake deadline.
      const silent = fx.track(await HostileConnection.open(port));
      // Unfinished frame.
      const half = fx.track(await HostileConnection.open(port));
      assert.ok((await half.handshake(TEST_KEY, 'half')).result);
      half.write('{"jsonrpc":"2.0",');
      // Slow subscriber, then slow consumer.
      const queue = queueName('logged');
      const deaf = fx.track(await HostileConnection.open(port));
      assert.ok((await deaf.handshake(TEST_KEY, 'deaf')).result);
      assert.ok((await deaf.request('events/subscribe', { queues: [queue], includePayload: true })).result);
      deaf.socket.pause();
      const producer = await fx.connect(port, 'producer');
      for (let i = 0; i < 20; i++) await call(producer, 'queue/put', { queue, tasks: Array.from({ length: 50 }, () => ({ payload: 'p'.repeat(5000) })) });
      deaf.write(`{"jsonrpc":"2.0","id":1,"method":"queue/peek","params":{"queue":"${queue}","max":50}}\n`.repeat(200));
      await silent.waitForClose();
      await half.waitForClose();
      // A client that does not read does not see its connection reset either: watch the log.
      await eventually(() => lines().some((l) => /dropped slow consumer/.test(l.message)), 10_000, 'the slow consumer to be dropped');
      deaf.socket.resume();
      await deaf.waitForClose();
      await call(producer, 'manager/shutdown');
      await server.closed;
      await eventually(() => lines().some((l) => l.message === 'shutting down'), 2000, 'the shutdown line');
      await sleep(10);

      const find = (pattern: RegExp) => lines().find((l) => pattern.test(l.message));
      assert.equal(find(/not authenticated within the handshake deadline/)?.level, 'warn');
      assert.deepEqual([find(/a frame was left unfinished/)?.name, find(/a frame was left unfinished/)?.level], ['half', 'warn']);
      assert.equal(find(/dropping events for a slow subscriber/)?.name, 'deaf');
      const dropped = find(/dropped slow consumer/);
      assert.deepEqual([dropped?.name, dropped?.level], ['deaf', 'warn']);
      assert.ok((dropped?.unsentBytes as number) > 64 * 1024);
      assert.deepEqual(
        lines()
          .filter((l) => l.message === 'client disconnected')
          .map((l) => [l.name, l.reason])
          .sort(),
        [
          ['deaf', 'slow consumer'],
          ['half', 'unfinished frame'],
          ['producer', undefined],
        ],
      );
      assert.equal(find(/^shutdown requested$/)?.name, 'producer');
    });
  });
});
