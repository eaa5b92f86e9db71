// manager/stats over the wire (every result checked against the spec's ManagerStats with
// validateResult), the counters behind it, and the client library's managerStats().
import { strict as assert } from 'node:assert';
import { validateDefinition } from '../../src/protocol/validation';
import { ManagerCounters } from '../../src/server/counters';
import { ThrottledLog } from '../../src/server/throttle';
import type { QueueStats } from '../../src/protocol/generated';
import { packageVersion } from '../../src/version';
import { eventually } from '../helpers/harness';
import { call, expectError, nextEvent, queueName, sleep, useFixture, type Json } from './fixture';

describe('server: manager/stats', () => {
  const fx = useFixture();

  it('answers a ManagerStats of a fresh manager', async () => {
    const { port } = await fx.server();
    const raw = await fx.connect(port, 'stats-fresh');
    const stats = await call(raw, 'manager/stats');
    assert.equal(stats.version, packageVersion);
    assert.ok(Math.abs(Date.parse(stats.startedAt) - Date.now()) < 10_000, stats.startedAt);
    assert.ok(stats.uptime >= 0 && stats.uptime < 10, `uptime ${stats.uptime}`);
    assert.deepEqual(stats.connections, { current: 1, sessions: 1, total: 1, refused: 0, dropped: 0, tlsFailures: 0 });
    assert.equal(stats.authFailures, 0);
    // hello, authenticate and this request in; their two answers out (this answer is not written yet).
    assert.deepEqual(stats.frames, { received: 3, sent: 2 });
    assert.ok(stats.bytes.received > 100 && stats.bytes.sent > 100, JSON.stringify(stats.bytes));
    assert.deepEqual(stats.events, { sent: 0, dropped: 0 });
    assert.deepEqual(stats.leases, { held: 0, expired: 0, released: 0 });
    assert.ok(stats.memory.rss > stats.memory.heapUsed && stats.memory.heapTotal >= stats.memory.heapUsed, JSON.stringify(stats.memory));
    assert.ok(stats.rateWindow >= 0 && stats.rateWindow <= 60);
    assert.deepEqual(stats.queues, []);
    // Params are EmptyParams: omitted, or {}.
    const again = await raw.request('manager/stats');
    assert.ok(again.result, JSON.stringify(again));
    expectError(await raw.request('manager/stats', { queue: 'x' }), -32602, 'invalid params: unknown field "queue"', { field: '/queue' });
  });

  it('counts connections, failures, traffic, events, leases and queue activity', async () => {
    const { port, server } = await fx.server({ limits: { maxConnections: 3, authFailureDelay: 10 } });
    const raw = await fx.connect(port, 'stats-watcher');
    const queue = queueName('stats');
    await call(raw, 'events/subscribe', { queues: [queue], kinds: ['put'] });

    // A failed handshake and a refused connection.
    const intruder = await fx.open(port);
    const wrong = await intruder.handshake(Buffer.from('not the key'));
    assert.equal(wrong.error?.code, -32001);
    await eventually(() => server.connectionCount === 1, 5000, 'the intruder to be gone');
    const worker = await fx.connect(port, 'stats-worker');
    const second = await fx.connect(port, 'stats-second');
    const refused = await fx.open(port);
    refused.send('session/ping');
    expectError(await refused.waitFor(() => true), 1005, /^limit exceeded: /, { limit: 'maxConnections' });

    // 10 tasks in, 4 leased: 2 acked, 2 left to expire; the second session takes 1 and leaves.
    const { ids } = await call(raw, 'queue/put', { queue, tasks: Array.from({ length: 10 }, (_, i) => ({ payload: i })) });
    for (let i = 0; i < 10; i++) await nextEvent(raw, (e) => e.taskId === ids[i]);
    const { tasks } = await call(worker, 'queue/get', { queue, max: 4, timeout: 0, ttr: 0.2 });
    await call(worker, 'task/ack', { acks: tasks.slice(0, 2).map((t: Json) => ({ id: t.id })) });
    await call(second, 'queue/get', { queue, timeout: 0 });
    second.close();
    await eventually(() => server.connectionCount === 2, 5000, 'the second session to close');
    await sleep(400); // the two remaining leases expire

    const stats = await call(raw, 'manager/stats');
    assert.deepEqual(stats.connections, { current: 2, sessions: 2, total: 4, refused: 1, dropped: 0, tlsFailures: 0 });
    assert.equal(stats.authFailures, 1);
    assert.deepEqual(stats.events, { sent: 10, dropped: 0 });
    assert.deepEqual(stats.leases, { held: 0, expired: 2, released: 1 });
    const [activity] = stats.queues;
    const queueStats: QueueStats = await call(raw, 'queue/stats', { queue });
    assert.deepEqual([activity.queue, activity.ready, activity.leased, activity.delayed], [queue, queueStats.ready, 0, 0]);
    assert.equal(queueStats.ready, 8);
    // The manager is younger than a minute: rates are totals over its age so far.
    assert.ok(stats.rateWindow > 0 && stats.rateWindow < 60, `rateWindow ${stats.rateWindow}`);
    assert.ok(Math.abs(activity.putsPerSecond - 10 / stats.rateWindow) < 0.01 * (10 / stats.rateWindow) + 0.002, JSON.stringify(activity));
    assert.ok(Math.abs(activity.acksPerSecond - 2 / stats.rateWindow) < 0.01 * (2 / stats.rateWindow) + 0.002, JSON.stringify(activity));
    // In: watcher 5 (hello, authenticate, subscribe, put, stats), intruder 2, worker 4, second 3;
    // the refused connection's frame is not read. Out: the answers, and 10 events to the watcher.
    assert.deepEqual(stats.frames, { received: 14, sent: 23 });
  });

  it('is what the client library returns from managerStats()', async () => {
    const running = await fx.server();
    const client = await running.client({ name: 'stats-lib' });
    await client.queue('lib-q').put('x');
    const stats = await client.managerStats();
    assert.equal(validateDefinition('ManagerStats', stats), undefined, JSON.stringify(stats));
    assert.equal(stats.connections.sessions, 1);
    assert.deepEqual(
      stats.queues.map((q) => [q.queue, q.ready]),
      [['lib-q', 1]],
    );
    assert.equal(running.server.stats().connections.sessions, 1);
  });
});

describe('server: ManagerCounters', () => {
  /** A fake engine whose queue totals the test sets. */
  function fakeEngine() {
    const queues = new Map<string, QueueStats>();
    const listeners: ((event: Json) => void)[] = [];
    return {
      set(queue: string, put: number, acked: number, ready = 0) {
        queues.set(queue, { queue, ready, leased: 0, delayed: 0, dead: 0, maxsize: 0, waitingGetters: 0, totals: { put, acked, nacked: 0, expired: 0, deadLettered: 0 } });
      },
      emit(event: Json) {
        for (const listener of listeners) listener(event);
      },
      listQueues: () => [...queues.values()],
      onEvent(listener: (event: Json) => void) {
        listeners.push(listener);
        return () => {};
      },
    };
  }

  it('measures rates over the last minute from samples every 5 s', () => {
    let now = 1_000_000;
    const engine = fakeEngine();
    const counters = new ManagerCounters(engine, () => now);
    engine.set('a', 0, 0);
    counters.sample();
    // 30 s later: 300 puts, 60 acks; rates over 30 s.
    now += 30_000;
    engine.set('a', 300, 60);
    let stats = counters.snapshot({ current: 0, sessions: 0 });
    assert.equal(stats.rateWindow, 30);
    assert.deepEqual([stats.queues[0]!.putsPerSecond, stats.queues[0]!.acksPerSecond], [10, 2]);
    // Samples every 5 s for two minutes, 5 puts per second: the window stays at one minute.
    for (let t = 0; t < 24; t++) {
      now += 5000;
      engine.set('a', 300 + 25 * (t + 1), 60);
      counters.sample();
    }
    stats = counters.snapshot({ current: 0, sessions: 0 });
    assert.equal(stats.rateWindow, 60);
    assert.deepEqual([stats.queues[0]!.putsPerSecond, stats.queues[0]!.acksPerSecond], [5, 0]);
    assert.equal(stats.uptime, 150);
    // A queue created within the window counts from 0.
    engine.set('b', 12, 3);
    stats = counters.snapshot({ current: 0, sessions: 0 });
    assert.deepEqual([stats.queues[1]!.putsPerSecond, stats.queues[1]!.acksPerSecond], [0.2, 0.05]);
  });

  it('tells expired leases from released ones', () => {
    const engine = fakeEngine();
    const counters = new ManagerCounters(engine);
    for (let i = 0; i < 5; i++) engine.emit({ kind: 'expired', queue: 'a', at: 0 });
    engine.emit({ kind: 'ack', queue: 'a', at: 0 });
    counters.leasesReleased += 2; // two of the five were releases
    assert.deepEqual(counters.snapshot({ current: 0, sessions: 0 }).leases, { held: 0, expired: 3, released: 2 });
  });
});

describe('server: ThrottledLog', () => {
  it('logs the first warning of a kind at once and sums up the rest at the end of the interval', async () => {
    const lines: [string, Json][] = [];
    const log = { info() {}, debug() {}, error() {}, warn: (message: string, fields?: Json) => void lines.push([message, fields]) };
    const throttled = new ThrottledLog(log, 50);
    for (let i = 0; i < 100; i++) throttled.warn('auth', 'authentication failed', { address: `10.0.0.${i}` });
    throttled.warn('other', 'connection refused');
    assert.deepEqual(
      lines.map(([m]) => m),
      ['authentication failed', 'connection refused'],
    );
    await sleep(120);
    assert.deepEqual(lines[2], ['authentication failed (repeated)', { address: '10.0.0.99', repeated: 99, withinSeconds: 0.05 }]);
    assert.equal(lines.length, 3, 'nothing to sum up for a kind seen once');
    throttled.warn('auth', 'authentication failed', { address: 'again' });
    throttled.warn('auth', 'authentication failed', { address: 'again' });
    throttled.flushAll();
    assert.deepEqual(
      lines.slice(3).map(([m, f]) => [m, f?.repeated]),
      [
        ['authentication failed', undefined],
        ['authentication failed (repeated)', 1],
      ],
    );
  });
});
