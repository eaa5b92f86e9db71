import * as assert from 'node:assert/strict';
import type { TaskwireClient } from 'taskwire';
import * as vscode from 'vscode';
import type { TaskwireApi } from '../../src/api';
import { formatEvent } from '../../src/views/eventTail';
import type { ScheduleItem } from '../../src/views/schedulesView';
import { activateExtension, connectClient, ensureLocalManager, labelOf, rootItems, shownSince, uniqueQueue, waitFor, waitForNotification } from './helpers';

// The Schedules view (protocol 2026-12) against the real local manager: schedules set by a
// client appear with their queue, timetable and next run; a tick updates the last run; delete
// asks first (skipped here with confirm) and refuses an unknown name with the manager's words.

async function scheduleNamed(api: TaskwireApi, name: string): Promise<ScheduleItem | undefined> {
  return (await rootItems<ScheduleItem>(api.views.schedules)).find((i) => labelOf(i) === name);
}

describe('the Schedules view', () => {
  let api: TaskwireApi;
  let producer: TaskwireClient;

  before(async () => {
    api = await activateExtension();
    await vscode.commands.executeCommand('taskwire.sidebar.show');
    await ensureLocalManager(api);
    producer = await connectClient(api, 'schedule-test-producer', 'producer');
  });

  after(async () => {
    for (const schedule of await producer.schedules.list()) await producer.schedules.delete(schedule.name);
    producer?.close();
  });

  it('lists each schedule with its queue, timetable and next run; refresh reads them again', async () => {
    const queue = uniqueQueue('sched');
    const nightly = `${queue}-nightly`;
    const { schedule } = await producer.schedules.set({ name: nightly, queue, task: { payload: 'https://example.com/' }, cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    await vscode.commands.executeCommand('taskwire.schedules.refresh');
    const item = await waitFor('the schedule in the Schedules view', () => scheduleNamed(api, nightly));
    assert.equal(item.contextValue, 'taskwire.schedule');
    const next = new Date(schedule.nextRun);
    const shownTime = next.toDateString() === new Date().toDateString() ? next.toLocaleTimeString() : next.toLocaleString();
    assert.equal(item.description, `${queue} · cron 30 2 * * * (Europe/Berlin) · next ${shownTime}`);
    const tooltip = (item.tooltip as vscode.MarkdownString).value;
    assert.match(tooltip, /last run: never yet/);
    assert.match(tooltip, /"payload":"https:\/\/example.com\/"/);
  });

  it('follows the ticks of an interval: its last run shows the task it put', async () => {
    const queue = uniqueQueue('tick');
    const name = `${queue}-pulse`;
    await producer.schedules.set({ name, queue, task: { payload: { ping: 1 } }, every: 1 });
    await vscode.commands.executeCommand('taskwire.schedules.refresh');
    const ticked = await waitFor(
      'a tick in the tooltip',
      async () => {
        await vscode.commands.executeCommand('taskwire.schedules.refresh');
        const item = await scheduleNamed(api, name);
        return item && /last run: \S+Z: put \S+/.test((item.tooltip as vscode.MarkdownString).value) ? item : undefined;
      },
      { timeoutMs: 10_000 },
    );
    assert.match(String(ticked.description), new RegExp(`^${queue} · every 1 s · next `));
    assert.ok((await producer.queue(queue).stats()).ready >= 1);
  });

  it("follows another client's set, replace and delete without a refresh (their schedule-set and schedule-deleted events)", async () => {
    const queue = uniqueQueue('live');
    const name = `${queue}-live`;
    await vscode.commands.executeCommand('taskwire.schedules.refresh');
    await producer.schedules.set({ name, queue, task: { payload: 1 }, every: 3600 });
    await waitFor('the new schedule, with no refresh', () => scheduleNamed(api, name));
    await producer.schedules.set({ name, queue, task: { payload: 1 }, every: 7200 });
    await waitFor('the new timetable, with no refresh', async () => {
      const item = await scheduleNamed(api, name);
      return item && String(item.description).startsWith(`${queue} · every 7200 s · next `) ? item : undefined;
    });
    await producer.schedules.delete(name);
    await waitFor('the deleted schedule to leave, with no refresh', async () => (await scheduleNamed(api, name)) === undefined);
  });

  it('the event tail names the schedule of a tick, a set and a delete', () => {
    const at = '2026-12-07T10:00:00.123Z';
    const client = { sessionId: 's-1', name: 'admin', role: 'monitor' as const };
    assert.equal(formatEvent({ subscription: 'sub-1', kind: 'scheduled', queue: 'crawl', schedule: 'recrawl', taskId: 't-1', at }), '10:00:00.123 scheduled crawl schedule recrawl t-1');
    assert.equal(formatEvent({ subscription: 'sub-1', kind: 'schedule-set', queue: 'crawl', schedule: 'recrawl', client, at }), '10:00:00.123 schedule-set crawl schedule recrawl by admin (monitor)');
    assert.equal(
      formatEvent({ subscription: 'sub-1', kind: 'schedule-deleted', queue: 'crawl', schedule: 'recrawl', client, at }),
      '10:00:00.123 schedule-deleted crawl schedule recrawl by admin (monitor)',
    );
  });

  it('delete removes the schedule (after confirmation), and an unknown name is refused with the reason', async () => {
    const queue = uniqueQueue('del');
    const name = `${queue}-gone`;
    await producer.schedules.set({ name, queue, task: { payload: 1 }, every: 3600 });
    await vscode.commands.executeCommand('taskwire.schedules.refresh');
    const item = await waitFor('the schedule to delete', () => scheduleNamed(api, name));
    const mark = new Date();
    assert.equal(await vscode.commands.executeCommand<boolean>('taskwire.schedule.delete', item, { confirm: true }), true);
    await waitForNotification(api, mark, new RegExp(`Deleted the schedule "${name}"`));
    await waitFor('the schedule to leave the view', async () => (await scheduleNamed(api, name)) === undefined);
    assert.deepEqual(
      (await producer.schedules.list()).filter((s) => s.name === name),
      [],
    );
    const again = new Date();
    assert.equal(await vscode.commands.executeCommand<boolean>('taskwire.schedule.delete', name, { confirm: true }), false);
    await waitForNotification(api, again, new RegExp(`Cannot delete the schedule "${name}": schedule not found: no schedule is named "${name}"`));
    assert.ok(shownSince(api, again).length >= 1);
  });
});
