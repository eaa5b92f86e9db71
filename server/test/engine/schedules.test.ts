import { strict as assert } from 'node:assert';
import { ManualClock } from '../../src/engine/clock';
import { ScheduleBook, ScheduleInvalid, type ScheduleDefinition, type ScheduleImage } from '../../src/engine/schedules';
import { jsonTextOf } from '../../src/protocol/jsonText';
import { Replay } from '../../src/store/replay';

// Schedules on a manual clock (spec §5.25): interval and cron ticks, time zones, the spring and
// autumn daylight-saving changes, and ticks missed while no manager ran.

const task = { payload: jsonTextOf('https://example.com/') };
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** A book on a manual clock, and every wake-up it asked for. */
function book(start: string) {
  const clock = new ManualClock(at(start));
  const wakes: number[] = [];
  return { clock, wakes, book: new ScheduleBook(clock, (when) => wakes.push(when)) };
}

/** Runs every due tick the way a store does (put, then record the run); returns the ticks' times. */
function runDue(schedules: ScheduleBook, clock: ManualClock): string[] {
  const ran: string[] = [];
  for (const due of schedules.due()) {
    schedules.ran(due.name, { taskId: `t-${ran.length}` });
    ran.push(`${due.name}@${iso(clock.now())}`);
  }
  return ran;
}

/** Steps the clock to each next tick, `count` times; the instants ticks ran at. */
function tickTimes(schedules: ScheduleBook, clock: ManualClock, count: number): string[] {
  const times: string[] = [];
  for (let i = 0; i < count; i++) {
    clock.set(schedules.nextDue()!);
    assert.equal(runDue(schedules, clock).length, 1);
    times.push(iso(clock.now())!);
  }
  return times;
}

describe('Schedules on a manual clock', () => {
  it('an interval ticks one interval after it is set, then every interval, and asks to be woken for its next tick', () => {
    const { clock, wakes, book: schedules } = book('2026-12-01T10:00:00Z');
    const { schedule, created } = schedules.set({ name: 'every10', queue: 'jobs', task, every: 10 });
    assert.equal(created, true);
    assert.equal(iso(schedule.nextRunAt), '2026-12-01T10:00:10.000Z');
    assert.deepEqual(wakes.map(iso), ['2026-12-01T10:00:10.000Z']);
    clock.advance(9_999);
    assert.deepEqual(runDue(schedules, clock), [], 'nothing before its time');
    assert.deepEqual(tickTimes(schedules, clock, 3), ['2026-12-01T10:00:10.000Z', '2026-12-01T10:00:20.000Z', '2026-12-01T10:00:30.000Z']);
    assert.deepEqual(schedules.get('every10')!.lastRun, { at: at('2026-12-01T10:00:30Z'), taskId: 't-0' });
  });

  it('an interval with startAt ticks at startAt and on its grid after; a late run keeps the grid', () => {
    const { clock, book: schedules } = book('2026-12-01T10:00:00Z');
    schedules.set({ name: 's', queue: 'jobs', task, every: 60, startAt: at('2026-12-01T10:05:30Z') });
    assert.equal(iso(schedules.nextDue()), '2026-12-01T10:05:30.000Z');
    clock.set(at('2026-12-01T10:05:42Z')); // the timer fired late
    assert.equal(runDue(schedules, clock).length, 1);
    assert.equal(iso(schedules.nextDue()), '2026-12-01T10:06:30.000Z');
  });

  it('a cron expression ticks in UTC by default, and in its time zone when given', () => {
    const { clock, book: schedules } = book('2026-12-01T10:00:00Z');
    schedules.set({ name: 'utc', queue: 'jobs', task, cron: '0 9 * * *' });
    schedules.set({ name: 'tokyo', queue: 'jobs', task, cron: '0 9 * * *', timezone: 'Asia/Tokyo' });
    schedules.set({ name: 'ny', queue: 'jobs', task, cron: '0 9 * * MON-FRI', timezone: 'America/New_York' });
    assert.deepEqual(
      schedules.list().map((s) => [s.name, iso(s.nextRunAt)]),
      [
        ['ny', '2026-12-01T14:00:00.000Z'], // 09:00 EST (UTC-5)
        ['tokyo', '2026-12-02T00:00:00.000Z'], // 09:00 JST (UTC+9)
        ['utc', '2026-12-02T09:00:00.000Z'],
      ],
    );
    // New York on Friday 4 Dec, then Monday 7 Dec: the weekend is skipped.
    clock.set(at('2026-12-04T14:00:00Z'));
    schedules.keep({ ...schedules.get('ny')!, nextRunAt: at('2026-12-04T14:00:00Z') });
    runDue(schedules, clock);
    assert.equal(iso(schedules.get('ny')!.nextRunAt), '2026-12-07T14:00:00.000Z');
  });

  it('"30 2 * * *" in Europe/Berlin across the spring change runs at 03:00, the first instant after the gap, and once on the autumn change', () => {
    const { clock, book: schedules } = book('2027-03-26T12:00:00Z');
    schedules.set({ name: 'nightly', queue: 'jobs', task, cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    assert.deepEqual(tickTimes(schedules, clock, 4), [
      '2027-03-27T01:30:00.000Z', // 02:30 CET
      '2027-03-28T01:00:00.000Z', // 02:30 does not exist on 28 March: 03:00 CEST, the first instant after the gap
      '2027-03-29T00:30:00.000Z', // 02:30 CEST
      '2027-03-30T00:30:00.000Z',
    ]);
    // 31 October 2027: 02:30 happens twice (CEST, then CET); the schedule runs once.
    clock.set(at('2027-10-30T12:00:00Z'));
    schedules.keep({ ...schedules.get('nightly')!, nextRunAt: at('2027-10-30T12:00:00Z') });
    runDue(schedules, clock);
    assert.deepEqual(tickTimes(schedules, clock, 2), ['2027-10-31T00:30:00.000Z', '2027-11-01T01:30:00.000Z']);
  });

  it('ticks missed while no manager ran are not run one by one: the latest runs once, then the next one still ahead', () => {
    const { clock, book: schedules } = book('2026-12-01T10:00:00Z');
    schedules.set({ name: 'minutely', queue: 'jobs', task, cron: '* * * * *' });
    schedules.set({ name: 'every5s', queue: 'jobs', task, every: 5 });
    const images = schedules.images();
    // The manager stops here, and starts again 3 hours later with what its store kept.
    clock.advance(3 * 3600_000 + 12_345);
    const { book: restarted } = { book: new ScheduleBook(clock) };
    for (const image of images) restarted.keep(image);
    assert.deepEqual(runDue(restarted, clock), ['every5s@2026-12-01T13:00:12.345Z', 'minutely@2026-12-01T13:00:12.345Z']);
    assert.deepEqual(runDue(restarted, clock), [], 'no burst: nothing else is due');
    assert.equal(iso(restarted.get('minutely')!.nextRunAt), '2026-12-01T13:01:00.000Z');
    assert.equal(iso(restarted.get('every5s')!.nextRunAt), '2026-12-01T13:00:15.000Z', 'the interval keeps its grid');
  });

  it('a replaced schedule keeps its last run and takes its new timetable; a deleted one is gone', () => {
    const { clock, book: schedules } = book('2026-12-01T10:00:00Z');
    schedules.set({ name: 's', queue: 'jobs', task, every: 10 });
    tickTimes(schedules, clock, 1);
    const { schedule, created } = schedules.set({ name: 's', queue: 'jobs', task, cron: '0 * * * *' });
    assert.equal(created, false);
    assert.equal(schedule.lastRun?.taskId, 't-0');
    assert.equal(iso(schedule.nextRunAt), '2026-12-01T11:00:00.000Z');
    assert.equal(schedules.delete('s'), true);
    assert.equal(schedules.delete('s'), false);
    assert.equal(schedules.nextDue(), undefined);
  });

  it('refuses what cannot be, naming the member and why', () => {
    const { book: schedules } = book('2026-12-01T10:00:00Z');
    const refused = (definition: Omit<ScheduleDefinition, 'name' | 'queue' | 'task'>): [string, string] => {
      try {
        schedules.set({ name: 's', queue: 'jobs', task, ...definition });
      } catch (error) {
        assert.ok(error instanceof ScheduleInvalid);
        return [error.field, error.message];
      }
      assert.fail('accepted');
    };
    assert.deepEqual(refused({ cron: '0 25 * * *' }), ['/cron', '"cron" "0 25 * * *" is not a valid cron expression: Invalid value for hour: 25']);
    assert.deepEqual(refused({ cron: 'every day' }), [
      '/cron',
      `"cron" "every day" is not a valid cron expression: invalid configuration format ('every day'), exactly five, six, or seven space separated parts are required.`,
    ]);
    assert.deepEqual(refused({ cron: '0 9 * * *', timezone: 'Europe/Atlantis' }), ['/timezone', '"timezone" "Europe/Atlantis" is not an IANA time zone this manager knows']);
    assert.deepEqual(refused({ every: 10, timezone: 'UTC' }), ['/timezone', '"timezone" applies to "cron" only']);
    assert.deepEqual(refused({ every: 0.5 }), ['/every', '"every" must be at least 1 second']);
    assert.deepEqual(refused({}), ['', 'a schedule needs "cron" or "every"']);
    assert.deepEqual(refused({ cron: '* * * * *', every: 60 }), ['/every', 'a schedule takes "cron" or "every", not both']);
    assert.equal(schedules.size, 0);
  });

  it('a journal replays schedule records into the state a restart restores (and a journal without any still reads)', () => {
    const image = (name: string, nextRunAt: number): ScheduleImage => ({ name, queue: 'jobs', task, every: 60, setAt: 0, nextRunAt });
    const replay = new Replay();
    replay.apply({ op: 'queue', queue: 'jobs', options: { maxsize: 0, maxBytes: 0, ttr: 60, maxAttempts: 5, deadLetter: 'jobs.dead' } });
    assert.equal(replay.state().schedules, undefined);
    replay.apply({ op: 'schedule', schedule: image('a', 1) });
    replay.apply({ op: 'schedule', schedule: image('b', 2) });
    replay.apply({ op: 'schedule', schedule: { ...image('a', 61), lastRun: { at: 1, taskId: 't-1' } } });
    replay.apply({ op: 'unschedule', name: 'b' });
    assert.deepEqual(replay.state().schedules, [{ ...image('a', 61), lastRun: { at: 1, taskId: 't-1' } }]);
  });
});
