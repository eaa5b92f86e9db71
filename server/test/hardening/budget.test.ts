// The byte budget bounds the manager's memory, measured from outside: a real `taskwire serve
// --max-queued-bytes 256MiB` in a process of its own, and one client pushing 120 payloads of
// 8 MiB (960 MiB; before the budget existed this took a manager to 1.16 GB of RSS). Its peak
// resident set (VmHWM in /proc/<pid>/status) must stay near the budget, another client must be
// served throughout, and every put must go in once a consumer makes room.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from '../../src';
import { call, expectError, queueName, TEST_KEY, useFixture, type RawConnection } from '../server/fixture';
import { sleep } from './util';
import { mib, procStatus, stopChild } from '../helpers/os';

const BIN = resolve(__dirname, '..', '..', '..', 'bin', 'taskwire.js');
const MiB = 1024 * 1024;
const BUDGET = 256 * MiB;
const PUTS = 120;
/** Just under the default maxPayloadBytes (8 MiB) once quoted. */
const PAYLOAD = 8 * MiB - 2;
/**
 * Twice the budget, plus the manager's own ~60 MiB and change: V8 lets its heap grow to about
 * twice what is live before a full collection (each put also leaves its frame's text behind as
 * garbage), and the manager holds frames being parsed, 16 MiB of waiting puts per connection
 * and answers being written. Without the budget the same load reaches about 1.2 GB.
 */
const RSS_BOUND = 2 * BUDGET + 128 * MiB;

describe('hardening: the byte budget bounds memory', function () {
  this.timeout(300_000);
  const fx = useFixture();
  let child: ChildProcess | undefined;
  let dir: string | undefined;

  before(function () {
    if (process.platform !== 'linux') this.skip(); // /proc/<pid>/status
  });
  afterEach(async () => {
    await stopChild(child);
    child = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** Starts `taskwire serve` with `args`; resolves with its pid and port from the JSON ready line. */
  async function serve(args: string[]): Promise<{ pid: number; port: number }> {
    dir = mkdtempSync(join(tmpdir(), 'taskwire-budget-'));
    const keyFile = join(dir, 'authkey');
    writeFileSync(keyFile, TEST_KEY, { mode: 0o600 });
    const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--authkey-file', keyFile, '--json', ...args], {
      env: { PATH: process.env.PATH, HOME: dir, TASKWIRE_HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const ready = await new Promise<{ port: number; maxQueuedBytes: number }>((resolveReady, reject) => {
      let stdout = '';
      proc.stdout!.setEncoding('utf8').on('data', (text: string) => {
        stdout += text;
        for (const line of stdout.split('\n')) {
          if (line.includes('"ready"')) resolveReady(JSON.parse(line) as { port: number; maxQueuedBytes: number });
        }
      });
      proc.once('exit', (code) => reject(new Error(`taskwire serve exited (${code}) before it was ready: ${stderr}`)));
    });
    assert.equal(ready.maxQueuedBytes, BUDGET, 'the ready line reports the budget');
    return { pid: proc.pid!, port: ready.port };
  }

  /** Writes the puts one frame at a time, waiting for the socket to drain: the test holds one payload, not 960 MiB. */
  async function pushPuts(raw: RawConnection, queue: string, count: number): Promise<number[]> {
    const ids: number[] = [];
    const payload = 'x'.repeat(PAYLOAD - 2);
    for (let i = 0; i < count; i++) {
      const id = 1000 + i;
      ids.push(id);
      const frame = `{"jsonrpc":"2.0","id":${id},"method":"queue/put","params":{"queue":"${queue}","tasks":[{"payload":"${payload}"}]}}\n`;
      if (!raw.socket.write(frame)) await new Promise((resolveDrain) => raw.socket.once('drain', resolveDrain));
    }
    return ids;
  }

  it(`keeps the RSS of a manager with --max-queued-bytes 256MiB under ${RSS_BOUND / MiB} MiB while one client pushes ${PUTS} × 8 MiB, and serves another throughout`, async () => {
    const { pid, port } = await serve(['--max-queued-bytes', '256MiB']);
    const baseline = procStatus(pid, 'VmRSS');
    const producer = await fx.connect(port, 'producer');
    const bystander = await fx.connect(port, 'bystander');
    const queue = queueName('big');
    const pushing = pushPuts(producer, queue, PUTS);

    // The budget fills: 31 tasks of 8 MiB fit in 256 MiB, the next puts wait.
    const fits = Math.floor(BUDGET / PAYLOAD);
    const deadline = Date.now() + 120_000;
    while ((await call(bystander, 'queue/stats', { queue })).ready < fits) {
      assert.ok(Date.now() < deadline, 'the budget did not fill within 2 minutes');
      await sleep(200);
    }
    await sleep(1000);
    const stats = await call(bystander, 'manager/stats');
    const queueStats = await call(bystander, 'queue/stats', { queue });
    assert.equal(queueStats.ready, fits, 'no more than the budget went in');
    assert.ok(queueStats.waitingPutters >= 1, 'puts wait for room');
    assert.equal(stats.queuedBytes, fits * PAYLOAD);
    assert.equal(stats.maxQueuedBytes, BUDGET);
    const fullRss = procStatus(pid, 'VmRSS');
    // A put with timeout 0 fails at once; the bystander is served.
    expectError(await bystander.request('queue/put', { queue: queueName('other'), tasks: [{ payload: 'small' }], timeout: 0 }), 1002, /^queue full: the manager has no room/, {
      reason: 'queue_full',
      limit: 'maxQueuedBytes',
      max: BUDGET,
    });
    const pingStarted = Date.now();
    await call(bystander, 'session/ping');
    assert.ok(Date.now() - pingStarted < 2000, 'the bystander waited more than 2 s for a ping');

    // A consumer makes room, one task at a time; every put goes in, in order.
    const consumer = await connect({ port, authkey: TEST_KEY, name: 'consumer', reconnect: false });
    fx.track(consumer);
    let peakSampled = fullRss;
    for (let consumed = 1; consumed <= PUTS; consumed++) {
      const task = await consumer.queue<string>(queue).get({ timeout: 30, autoAck: true });
      assert.equal(task.payload.length, PAYLOAD - 2);
      if (consumed % 10 === 0) peakSampled = Math.max(peakSampled, procStatus(pid, 'VmRSS'));
    }
    const ids = await pushing;
    for (const id of ids) {
      const answer = await producer.waitFor((m) => m.id === id, 60_000);
      assert.ok(answer.result, `put ${id}: ${JSON.stringify(answer.error)}`);
    }
    const highWater = procStatus(pid, 'VmHWM');
    const after = await call(bystander, 'manager/stats');
    console.log(
      `      budget report: ${JSON.stringify({
        command: 'cd server && npx tsc -p . && npx mocha --no-config --exit --timeout 300000 dist/test/hardening/budget.test.js',
        budget: mib(BUDGET),
        pushed: `${PUTS} × ${mib(PAYLOAD)}`,
        baselineRss: mib(baseline),
        rssWhileFull: mib(fullRss),
        peakRssSampled: mib(peakSampled),
        peakRssVmHWM: mib(highWater),
        queuedBytesAfter: after.queuedBytes,
      })}`,
    );
    assert.ok(highWater < RSS_BOUND, `peak RSS ${mib(highWater)} (bound ${mib(RSS_BOUND)})`);
    assert.equal(after.queuedBytes, 0);
  });
});
