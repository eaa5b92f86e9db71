// Clients that never finish a frame, never read, read slowly, or subscribe and fall behind.
// Each must cost the server bounded memory, never disturb anyone else, and (where the server
// drops it) leave a log line and give its leases back.
import { strict as assert } from 'node:assert';
import { eventually } from '../helpers/harness';
import { call, expectError, queueName, TEST_KEY, useFixture, waitForStats } from '../server/fixture';
import { bystander, HostileConnection, managerStats, recordingLogger, sleep } from './util';

describe('hardening: slow clients', function () {
  this.timeout(60_000);
  const fx = useFixture();

  async function hostile(port: number, framing: 'ndjson' | 'content-length' = 'ndjson', name = 'hostile'): Promise<HostileConnection> {
    const conn = fx.track(await HostileConnection.open(port, framing));
    const auth = await conn.handshake(TEST_KEY, name);
    assert.ok(auth.result, JSON.stringify(auth));
    return conn;
  }

  /** Puts a task on a queue of its own and leases it to `conn` for long: a lease to watch. */
  async function takeLease(conn: HostileConnection): Promise<{ queue: string; id: string }> {
    const queue = queueName('held');
    const put = await conn.request('queue/put', { queue, tasks: [{ payload: 'held' }] });
    const got = await conn.request('queue/get', { queue, timeout: 0, ttr: 600 });
    assert.equal(got.result.tasks[0].id, put.result.ids[0]);
    return { queue, id: put.result.ids[0] };
  }

  describe('a frame that never ends', () => {
    it('before authentication: dropped at the handshake deadline, logged at a bounded rate', async () => {
      const log = recordingLogger();
      const { port } = await fx.server({ log, limits: { handshakeTimeout: 0.5 } });
      const witness = await bystander(fx, port);
      const started = Date.now();
      const halves = await Promise.all(Array.from({ length: 5 }, () => HostileConnection.open(port)));
      for (const half of halves) {
        fx.track(half);
        half.write('{"jsonrpc":"2.0","id":1,"method":"session/hel');
      }
      for (const half of halves) await half.waitForClose(5000);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 400 && elapsed < 3000, `dropped after ${elapsed} ms`);
      assert.deepEqual(
        halves.map((h) => h.messages),
        halves.map(() => []),
        'closed without an answer (§4.4)',
      );
      await eventually(() => log.matching(/not authenticated within the handshake deadline/).length > 0, 2000, 'the log line');
      await sleep(100);
      const lines = log.matching(/not authenticated within the handshake deadline/);
      assert.equal(lines.length, 1, 'five drops, one line (the rest are summed up later)');
      assert.equal(lines[0]!.level, 'warn');
      assert.equal((await managerStats(witness.raw)).connections.dropped, 5);
      await witness.check();
    });

    it('after authentication: dropped when no byte of it comes for partialFrameTimeout; its lease is released', async () => {
      const log = recordingLogger();
      const { port } = await fx.server({ log, limits: { partialFrameTimeout: 0.5 } });
      const witness = await bystander(fx, port);
      const half = await hostile(port, 'ndjson', 'half-a-line');
      const lease = await takeLease(half);
      const started = Date.now();
      const partial = '{"jsonrpc":"2.0","id":99,"method":"task/ack","params":{"acks":[{"id":"';
      half.write(partial);
      await half.waitForClose(5000);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 400 && elapsed < 3000, `dropped after ${elapsed} ms`);
      const [line] = log.matching(/a frame was left unfinished/);
      assert.ok(line, 'logged');
      assert.deepEqual([line.level, line.fields.name, line.fields.seconds], ['warn', 'half-a-line', 0.5]);
      assert.equal(line.fields.bufferedBytes, Buffer.byteLength(partial));
      const stats = await waitForStats(witness.raw, lease.queue, (s) => s.ready === 1, 'the lease to come back');
      assert.equal(stats.leased, 0);
      const disconnected = log.matching(/^client disconnected$/).find((e) => e.fields.name === 'half-a-line');
      assert.deepEqual([disconnected?.fields.reason, disconnected?.fields.released], ['unfinished frame', 1]);
      await witness.check();
    });

    it('a Content-Length body that never fully arrives (the header said more) is dropped the same way', async () => {
      const { port } = await fx.server({ limits: { partialFrameTimeout: 0.5 } });
      const witness = await bystander(fx, port);
      const liar = await hostile(port, 'content-length', 'liar');
      liar.write('Content-Length: 100\r\n\r\n{"jsonrpc":"2.0","id":5,"method":"session/ping"}');
      await liar.waitForClose(5000);
      assert.deepEqual(liar.messages, []);
      // Saying less than is sent: the rest is read as the next header, which is not one.
      const short = await hostile(port, 'content-length', 'short');
      short.write('Content-Length: 10\r\n\r\n{"jsonrpc":"2.0","id":5,"method":"session/ping"}');
      expectError(await short.waitFor(() => true), -32700, /^parse error/);
      await short.waitForClose();
      await witness.check();
    });

    it('is not dropped while the frame keeps coming, however slowly, nor when idle between frames', async () => {
      const { port } = await fx.server({ limits: { partialFrameTimeout: 0.4 } });
      const slow = await hostile(port, 'ndjson', 'trickle');
      const line = '{"jsonrpc":"2.0","id":"slow","method":"session/ping"}\n';
      // One byte every 100 ms for longer than the timeout: the frame makes progress.
      for (let i = 0; i < 12; i++) {
        slow.write(line[i]!);
        await sleep(100);
      }
      slow.write(line.slice(12));
      assert.ok((await slow.waitFor((m) => m.id === 'slow')).result);
      // Idle, or with whitespace after the last frame: not a frame left unfinished.
      slow.write('  ');
      await sleep(900);
      assert.equal(slow.closed, false);
      assert.ok((await slow.request('session/ping', {})).result);
    });
  });

  describe('a client that does not read', () => {
    const PAYLOAD = 'p'.repeat(50_000);
    const MAX_OUTPUT = 256 * 1024;

    it('stops being read once maxOutputBytes wait for it, is dropped when it reads nothing for slowConsumerTimeout, and gives its leases back', async () => {
      const log = recordingLogger();
      const { port } = await fx.server({ log, limits: { maxOutputBytes: MAX_OUTPUT, slowConsumerTimeout: 1 } });
      const witness = await bystander(fx, port);
      const deaf = await hostile(port, 'ndjson', 'never-reads');
      const lease = await takeLease(deaf);
      const big = queueName('big');
      await deaf.request('queue/put', { queue: big, tasks: [{ payload: PAYLOAD }] });
      deaf.socket.pause(); // from now on it reads nothing
      const peek = Buffer.from(`{"jsonrpc":"2.0","id":1,"method":"queue/peek","params":{"queue":"${big}"}}\n`.repeat(100));
      const samples: number[] = [];
      const started = Date.now();
      // Keeps asking for 50 KB answers: 5 MB of answers per write.
      while (!deaf.closed && Date.now() - started < 8000) {
        deaf.write(peek);
        await sleep(20);
        if (samples.length < 40) samples.push((await managerStats(witness.raw)).bytes.sent);
      }
      assert.ok(deaf.closed, 'dropped');
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 5000, `dropped after ${elapsed} ms`);
      const [line] = log.matching(/dropped slow consumer/);
      assert.ok(line, 'logged');
      assert.equal(line.fields.name, 'never-reads');
      const unsent = line.fields.unsentBytes as number;
      // What the server held for it: above the mark by at most about one answer (it stopped
      // reading in the middle of a chunk of requests), not 5 MB per write for seconds.
      assert.ok(unsent > MAX_OUTPUT && unsent < MAX_OUTPUT + 2 * PAYLOAD.length, `held ${unsent} bytes for it`);
      // And the bytes the server wrote stopped growing long before the drop.
      const total = samples.at(-1)! - samples[0]!;
      const late = samples.at(-1)! - samples[Math.floor(samples.length / 2)]!;
      assert.ok(late < total / 4 + 100_000, `bytes sent kept growing: ${JSON.stringify(samples)}`);
      // Without back-pressure the same client made a server hold 5.5 GB within a second.
      assert.ok(samples.at(-1)! < 64 * 1024 * 1024, `bytes sent: ${samples.at(-1)}`);

      const stats = await waitForStats(witness.raw, lease.queue, (s) => s.ready === 1, 'its lease to come back');
      assert.equal(stats.leased, 0);
      assert.equal((await managerStats(witness.raw)).connections.dropped, 1);
      await witness.check();
    });

    it('is not dropped while it reads, slower than the server writes but steadily, and gets every answer', async () => {
      // Progress is what leaves the server's own buffer, and that happens only once the peer
      // has drained the kernel's socket buffers (a few MB on loopback): the timeout must leave
      // a slow reader time for that. Here: 512 KB every 200 ms against a 1.5 s timeout.
      const { port } = await fx.server({ limits: { maxOutputBytes: MAX_OUTPUT, slowConsumerTimeout: 1.5 } });
      const slow = await hostile(port, 'ndjson', 'reads-slowly');
      const big = queueName('big');
      await slow.request('queue/put', { queue: big, tasks: [{ payload: PAYLOAD }] });
      slow.socket.pause();
      const count = 200; // 10 MB of answers
      slow.write(Array.from({ length: count }, (_, i) => `{"jsonrpc":"2.0","id":${1000 + i},"method":"queue/peek","params":{"queue":"${big}"}}\n`).join(''));
      const answers = () => slow.messages.filter((m) => m.id >= 1000).length;
      const deadline = Date.now() + 20_000;
      let bursts = 0;
      while (answers() < count && !slow.closed && Date.now() < deadline) {
        await sleep(200);
        const before = slow.receivedBytes;
        await new Promise<void>((resolve) => {
          const done = () => {
            slow.socket.off('data', onData);
            slow.socket.off('close', done);
            slow.socket.pause();
            resolve();
          };
          const onData = () => {
            if (slow.receivedBytes - before >= 512 * 1024 || answers() >= count) done();
          };
          slow.socket.on('data', onData);
          slow.socket.on('close', done);
          slow.socket.resume();
        });
        bursts++;
      }
      slow.socket.resume();
      assert.equal(slow.closed, false, 'still connected');
      assert.equal(answers(), count, 'every answer');
      assert.ok(bursts >= 10, `read in ${bursts} bursts: slower than the server writes`);
      assert.ok(slow.messages.every((m) => m.id < 1000 || m.result?.tasks?.[0]?.payload === PAYLOAD));
      assert.ok((await slow.request('session/ping', {})).result);
    });
  });

  describe('a subscriber that cannot keep up', () => {
    it('loses events, counted in manager/stats and logged once, keeps its connection, and gets events again once it reads', async () => {
      const log = recordingLogger();
      const { port } = await fx.server({ log, limits: { maxEventBacklogBytes: 64 * 1024 } });
      const witness = await bystander(fx, port);
      const queue = queueName('firehose');
      const subscriber = await hostile(port, 'ndjson', 'slow-subscriber');
      assert.ok((await subscriber.request('events/subscribe', { queues: [queue], kinds: ['put'], includePayload: true })).result);
      subscriber.socket.pause();
      const producer = await fx.connect(port, 'producer');
      const payload = 'e'.repeat(4000);
      const batches = 60;
      for (let i = 0; i < batches; i++) await call(producer, 'queue/put', { queue, tasks: Array.from({ length: 50 }, () => ({ payload })) });
      const during = await managerStats(witness.raw);
      assert.ok(during.events.dropped > 0, `dropped ${during.events.dropped}`);
      assert.equal(during.events.sent + during.events.dropped, batches * 50, 'every event was sent or counted as dropped');
      // The server held no more than the backlog limit plus what the kernel took: far less than the 12 MB of events.
      assert.ok(during.events.dropped * 4000 > 6 * 1024 * 1024, `only ${during.events.dropped} dropped`);
      assert.equal(subscriber.closed, false, 'a slow subscriber is not disconnected');
      assert.equal(log.matching(/dropping events for a slow subscriber/).length, 1);

      subscriber.socket.resume();
      await eventually(() => subscriber.messages.length === during.events.sent, 10_000, 'the events sent to arrive');
      const { ids } = await call(producer, 'queue/put', { queue, tasks: [{ payload: 'after' }] });
      const event = await subscriber.waitFor((m) => m.method === 'events/event' && m.params.taskId === ids[0]);
      assert.equal(event.params.payload, 'after');
      const [resumed] = log.matching(/events flow again/);
      assert.equal(resumed?.fields.dropped, during.events.dropped);
      assert.equal((await managerStats(witness.raw)).events.dropped, during.events.dropped);
      await witness.check();
    });
  });
});
