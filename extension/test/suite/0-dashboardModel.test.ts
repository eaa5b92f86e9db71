// Unit tests of the dashboard's sampling and chart layout: plain modules, no VS Code needed.
// They run with the rest of the suite inside VS Code, and alone with plain mocha after a build:
//   npx mocha dist/test/suite/0-dashboardModel.test.js
import * as assert from 'node:assert/strict';
import { buildDashboard, describeDuration, formatRate, niceCeiling, VIEW_HEIGHT, VIEW_WIDTH } from '../../src/dashboard/chartModel';
import { QueueActivity, type QueueDepth } from '../../src/dashboard/queueActivity';

const depth = (queue: string, ready: number, leased = 0, delayed = 0, dead = 0): QueueDepth & { queue: string } => ({ queue, ready, leased, delayed, dead });

describe('the dashboard: QueueActivity (sampling)', () => {
  it('counts puts, acks and failures (nack, expired, released) per queue, as rates over the time the step took', () => {
    const activity = new QueueActivity({ windowMs: 60_000, stepMs: 1000 });
    activity.step(10_000);
    for (const kind of ['put', 'put', 'put', 'put', 'ack', 'ack', 'nack', 'expired', 'released']) activity.countEvent(kind, 'jobs');
    activity.countEvent('put', 'other');
    activity.step(12_000); // a late timer: 2 s, not 1
    const { queues, times } = activity.snapshot();
    assert.deepEqual(times, [10_000, 12_000]);
    assert.deepEqual(
      queues.map((q) => q.queue),
      ['jobs', 'other'],
    );
    assert.deepEqual(queues[0]!.samples[1], { depth: null, rates: { puts: 2, acks: 1, failures: 1.5 } });
    assert.deepEqual(queues[1]!.samples[1]!.rates, { puts: 0.5, acks: 0, failures: 0 });
    // Before its first event a queue nobody listed is unknown, not zero.
    assert.equal(queues[0]!.samples[0], null);
  });

  it('ignores events that are no rate, and events without a queue', () => {
    const activity = new QueueActivity({ windowMs: 60_000, stepMs: 1000 });
    for (const kind of ['get', 'dead', 'purge', 'client-connected', 'client-disconnected', 'progress', 'paused']) activity.countEvent(kind, 'jobs');
    activity.countEvent('put', undefined);
    activity.step(1000);
    assert.deepEqual(activity.snapshot().queues, []);
  });

  it('counts the first step over one nominal step', () => {
    const activity = new QueueActivity({ windowMs: 60_000, stepMs: 1000 });
    activity.countEvent('ack', 'jobs');
    activity.countEvent('ack', 'jobs');
    activity.step(5000);
    assert.deepEqual(activity.snapshot().queues[0]!.samples[0]!.rates, { puts: 0, acks: 2, failures: 0 });
  });

  it('samples the depth last listed, and a queue left out of the list as unknown', () => {
    const activity = new QueueActivity({ windowMs: 60_000, stepMs: 1000 });
    activity.setDepths([depth('a', 3, 1, 2, 4), depth('b', 0)]);
    activity.step(1000);
    activity.step(2000);
    activity.setDepths([depth('a', 5)]);
    activity.step(3000);
    const [a, b] = activity.snapshot().queues;
    assert.deepEqual(
      a!.samples.map((s) => s?.depth),
      [
        { ready: 3, leased: 1, delayed: 2, dead: 4 },
        { ready: 3, leased: 1, delayed: 2, dead: 4 },
        { ready: 5, leased: 0, delayed: 0, dead: 0 },
      ],
    );
    assert.deepEqual(
      b!.samples.map((s) => s?.depth ?? null),
      [{ ready: 0, leased: 0, delayed: 0, dead: 0 }, { ready: 0, leased: 0, delayed: 0, dead: 0 }, null],
    );
  });

  it('keeps only the window: the oldest steps leave a full ring, in order', () => {
    const activity = new QueueActivity({ windowMs: 5000, stepMs: 1000 });
    for (let i = 1; i <= 8; i++) {
      activity.setDepths([depth('q', i)]);
      activity.step(i * 1000);
    }
    const snapshot = activity.snapshot();
    assert.equal(snapshot.windowMs, 5000);
    assert.deepEqual(snapshot.times, [4000, 5000, 6000, 7000, 8000]);
    assert.deepEqual(
      snapshot.queues[0]!.samples.map((s) => s!.depth!.ready),
      [4, 5, 6, 7, 8],
    );
  });

  it('drops a queue once its last sample leaves the window', () => {
    const activity = new QueueActivity({ windowMs: 2000, stepMs: 1000 });
    activity.countEvent('put', 'gone');
    activity.step(1000);
    activity.step(2000);
    assert.deepEqual(
      activity.snapshot().queues.map((q) => q.queue),
      ['gone'],
    );
    activity.step(3000);
    assert.deepEqual(activity.snapshot().queues, []);
  });

  it('resizes the window keeping the newest steps, and clears', () => {
    const activity = new QueueActivity({ windowMs: 4000, stepMs: 1000 });
    for (let i = 1; i <= 6; i++) activity.step(i * 1000);
    activity.setWindow(2000);
    assert.deepEqual(activity.snapshot().times, [5000, 6000]);
    activity.setWindow(10_000);
    activity.step(7000);
    assert.deepEqual(activity.snapshot().times, [5000, 6000, 7000]);
    assert.equal(activity.windowMs, 10_000);
    activity.countEvent('put', 'q');
    activity.setDepths([depth('q', 1)]);
    activity.clear();
    activity.step(8000);
    assert.deepEqual(activity.snapshot(), { windowMs: 10_000, stepMs: 1000, times: [8000], queues: [] });
  });

  it('refuses a window shorter than one step, with the numbers', () => {
    assert.throws(() => new QueueActivity({ windowMs: 500, stepMs: 1000 }), { name: 'RangeError', message: 'the window (500 ms) must hold at least one step of 1000 ms' });
    assert.throws(() => new QueueActivity({ windowMs: 500, stepMs: 0 }), { name: 'RangeError', message: 'stepMs must be positive, not 0' });
  });
});

describe('the dashboard: chart model (layout and words)', () => {
  it('rounds the axis up to 1, 2 or 5 times a power of ten', () => {
    assert.deepEqual([0, 0.4, 1, 1.5, 3, 12, 100, 101, 4999].map(niceCeiling), [1, 1, 1, 2, 5, 20, 100, 200, 5000]);
  });

  it('formats rates and durations for people', () => {
    assert.deepEqual([0, 0.25, 1.5, 12.34, 99.96, 340.4].map(formatRate), ['0', '0.3', '1.5', '12.3', '100', '340']);
    assert.equal(describeDuration(300_000), '5 minutes');
    assert.equal(describeDuration(60_000), 'minute');
    assert.equal(describeDuration(90_000), '90 seconds');
  });

  it('lays out each queue as a depth chart and a throughput chart, newest at the right edge', () => {
    const activity = new QueueActivity({ windowMs: 4000, stepMs: 1000 });
    activity.setDepths([depth('jobs', 10, 2, 0, 1)]);
    activity.step(1000);
    activity.setDepths([depth('jobs', 4, 3, 1, 1)]);
    for (let i = 0; i < 8; i++) activity.countEvent('put', 'jobs');
    for (let i = 0; i < 3; i++) activity.countEvent('ack', 'jobs');
    activity.countEvent('nack', 'jobs');
    activity.step(2000);
    const model = buildDashboard(activity.snapshot(), { source: '127.0.0.1:7400' });
    assert.equal(model.notice, undefined);
    assert.equal(model.windowLabel, 'last 4 seconds');
    assert.equal(model.axisStart, '−4 s');
    assert.equal(model.source, '127.0.0.1:7400');
    assert.equal(model.queues.length, 1);
    const { depth: d, throughput: t } = model.queues[0]!;

    assert.equal(d.id, 'depth-0');
    assert.equal(d.title, 'jobs: depth');
    assert.equal(d.summary, 'jobs depth now: 4 ready, 3 leased, 1 delayed, 1 dead; at most 10 in one state over the last 4 seconds.');
    assert.equal(d.max, 10);
    assert.deepEqual(
      d.lines.map((l) => [l.key, l.legend, l.colour, l.points]),
      [
        ['ready', 'ready 4', '--vscode-charts-blue', 2],
        ['leased', 'leased 3', '--vscode-charts-yellow', 2],
        ['delayed', 'delayed 1', '--vscode-charts-purple', 2],
        ['dead', 'dead 1', '--vscode-charts-red', 2],
      ],
    );
    // The window is 4 s ending at 2000: 1000 is a quarter of the way from its start (-2000).
    assert.equal(d.lines[0]!.path, `M450,0 L${VIEW_WIDTH},${VIEW_HEIGHT * 0.6}`);

    assert.equal(t.title, 'jobs: throughput');
    assert.equal(t.unit, 'per second');
    assert.equal(t.summary, 'jobs throughput over the last step: 8 puts/s, 3 acks/s, 1 failures/s; at most 8/s over the last 4 seconds.');
    assert.equal(t.max, 10);
    assert.deepEqual(
      t.lines.map((l) => [l.key, l.legend, l.colour]),
      [
        ['puts', 'puts 8/s', '--vscode-charts-blue'],
        ['acks', 'acks 3/s', '--vscode-charts-green'],
        ['failures', 'failures 1/s', '--vscode-charts-red'],
      ],
    );
    assert.equal(t.lines[0]!.path, `M450,${VIEW_HEIGHT} L600,${VIEW_HEIGHT * 0.2}`);
  });

  it('breaks a line where the queue was unknown, rather than drawing zero', () => {
    const activity = new QueueActivity({ windowMs: 4000, stepMs: 1000 });
    activity.setDepths([depth('q', 1)]);
    activity.step(1000);
    activity.setDepths([]);
    activity.countEvent('put', 'q'); // listed again later; meanwhile only its events are known
    activity.step(2000);
    activity.setDepths([depth('q', 2)]);
    activity.step(3000);
    const d = buildDashboard(activity.snapshot()).queues[0]!.depth;
    assert.equal(d.lines[0]!.path, 'M300,60 M600,0');
    assert.equal(d.lines[0]!.points, 2);
    assert.equal(d.summary, 'q depth now: 2 ready, 0 leased, 0 delayed, 0 dead; at most 2 in one state over the last 4 seconds.');
  });

  it('draws only the busiest queues when there are many, and says how many are left out', () => {
    const activity = new QueueActivity({ windowMs: 60_000, stepMs: 1000 });
    activity.setDepths([depth('idle-a', 0), depth('idle-b', 0), depth('backlog', 50), depth('quiet', 1)]);
    for (let i = 0; i < 5; i++) activity.countEvent('ack', 'busy');
    activity.step(1000);
    const model = buildDashboard(activity.snapshot(), {}, 2);
    assert.deepEqual(
      model.queues.map((q) => q.queue),
      ['backlog', 'busy'],
    );
    assert.deepEqual(
      model.queues.map((q) => q.depth.id),
      ['depth-0', 'depth-1'],
    );
    assert.equal(model.note, 'The 2 busiest of 5 queues over the last minute (events and tasks held); 3 more not drawn.');
    assert.equal(buildDashboard(activity.snapshot(), {}, 5).note, undefined);
  });

  it('says why there are no charts: no queues yet, or not connected', () => {
    const activity = new QueueActivity({ windowMs: 60_000, stepMs: 1000 });
    activity.step(1000);
    assert.equal(buildDashboard(activity.snapshot()).notice, 'The manager has no queues yet: they appear here once a task is put.');
    activity.setDepths([depth('q', 1)]);
    activity.step(2000);
    const disconnected = buildDashboard(activity.snapshot(), { notice: 'Not connected.' });
    assert.equal(disconnected.notice, 'Not connected.');
    assert.deepEqual(disconnected.queues, []);
    assert.equal(buildDashboard(activity.snapshot()).windowLabel, 'last minute');
    assert.equal(buildDashboard(activity.snapshot()).axisStart, '−1 min');
  });
});
