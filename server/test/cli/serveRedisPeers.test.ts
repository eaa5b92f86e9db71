import { strict as assert } from 'node:assert';
import type { ClientInfo, Event } from '../../src';
import { startRedis, type RunningRedis } from '../helpers/redis';
import { cleanupCli, lines, makeHome, startServe } from './cliHarness';

// Several managers on one Redis are one system to whoever watches it (spec §7.18): the registry
// (manager/clients, `taskwire workers`) and the events (events/subscribe, `taskwire tail`) of any
// manager cover the sessions and changes of every manager, each naming the manager it is on.

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('cli e2e: several managers on one Redis, seen as one', function () {
  this.timeout(40_000);
  let redis: RunningRedis;
  before(async () => (redis = await startRedis()));
  after(async () => redis?.stop());
  afterEach(cleanupCli);

  it('manager/clients on either manager lists the sessions of both, each with its manager; taskwire workers shows a MANAGER column', async () => {
    const home = makeHome();
    const a = await startServe(['--store', redis.url], { home });
    const b = await startServe(['--store', redis.url], { home });
    const worker = await a.client({ name: 'worker-on-a', role: 'worker' });
    const monitor = await b.client({ name: 'monitor-on-b', role: 'monitor' });
    const managerA = worker.managerId!;
    const managerB = monitor.managerId!;
    assert.notEqual(managerA, managerB);

    const seen = await eventually("the worker on A in B's registry", async () => (await monitor.clients()).find((c) => c.name === 'worker-on-a'));
    assert.equal(seen.manager, managerA);
    assert.equal(seen.role, 'worker');
    const fromA = await eventually("B's monitor in A's registry", async () => {
      const list = await worker.clients();
      return list.some((c) => c.name === 'monitor-on-b') ? list : undefined;
    });
    assert.equal(fromA.find((c) => c.name === 'monitor-on-b')?.manager, managerB);
    assert.equal(fromA.find((c) => c.name === 'worker-on-a')?.manager, managerA);

    const table = await b.run(['workers']);
    assert.equal(table.code, 0, table.stderr);
    const [header, ...rows] = lines(table.stdout);
    assert.match(header!, /^MANAGER\s+SESSION\s+NAME\s+ROLE\s+STATE/);
    assert.ok(
      rows.some((row) => row.startsWith(managerA) && row.includes('worker-on-a')),
      table.stdout,
    );
    assert.ok(
      rows.some((row) => row.startsWith(managerB) && row.includes('monitor-on-b')),
      table.stdout,
    );

    // Leaving: gone from the other manager's registry (its list is rewritten at once).
    worker.close();
    await eventually("the worker to leave B's registry", async () => !(await monitor.clients()).some((c: ClientInfo) => c.name === 'worker-on-a'));
  });

  it('a subscriber on one manager gets the events of changes made through another, with their client and manager', async () => {
    const home = makeHome();
    const a = await startServe(['--store', redis.url], { home });
    const b = await startServe(['--store', redis.url], { home });
    const watcher = await b.client({ name: 'watcher', role: 'monitor' });
    const events: Event[] = [];
    await watcher.subscribe({ queues: ['peers-jobs'], kinds: ['put', 'get', 'ack'], includePayload: true }, (event) => events.push(event));
    const connections: Event[] = [];
    await watcher.subscribe({ kinds: ['client-connected', 'client-disconnected'] }, (event) => connections.push(event));
    // The other manager hears of the subscriber at once (tw:control), not after a heartbeat.
    await sleep(200);

    const producer = await a.client({ name: 'producer-on-a', role: 'producer' });
    const managerA = producer.managerId!;
    const id = await producer.queue('peers-jobs').put({ url: 'https://example.com/' });
    const [task] = await producer.queue('peers-jobs').getMany(1, { timeout: 5 });
    await task!.ack('done');

    await eventually('put, get and ack from A', () => (events.length >= 3 ? true : undefined));
    assert.deepEqual(
      events.map((e) => [e.kind, e.taskId, e.manager, e.client?.name]),
      [
        ['put', id, managerA, 'producer-on-a'],
        ['get', id, managerA, 'producer-on-a'],
        ['ack', id, managerA, 'producer-on-a'],
      ],
    );
    assert.deepEqual(events[0]!.payload, { url: 'https://example.com/' });
    assert.equal(events[2]!.result, 'done');
    const connected = await eventually('client-connected from A', () => connections.find((e) => e.kind === 'client-connected' && e.client?.name === 'producer-on-a'));
    assert.equal(connected.manager, managerA);
    producer.close();
    const left = await eventually('client-disconnected from A', () => connections.find((e) => e.kind === 'client-disconnected' && e.client?.name === 'producer-on-a'));
    assert.equal(left.manager, managerA);
  });

  it('a manager SIGKILLed: a survivor says its sessions left (once), and its workers leave the registry', async () => {
    const home = makeHome();
    const doomed = await startServe(['--store', redis.url, '--heartbeat-ttl', '1'], { home });
    const survivor = await startServe(['--store', redis.url, '--heartbeat-ttl', '1'], { home });
    const other = await startServe(['--store', redis.url, '--heartbeat-ttl', '1'], { home });
    const worker = await doomed.client({ name: 'worker-on-the-doomed', role: 'worker', reconnect: false });
    const managerDoomed = worker.managerId!;
    const watchers = [await survivor.client({ name: 'watcher-1', role: 'monitor' }), await other.client({ name: 'watcher-2', role: 'monitor' })];
    const departures: Event[][] = [[], []];
    for (const [i, watcher] of watchers.entries()) await watcher.subscribe({ kinds: ['client-disconnected'] }, (event) => departures[i]!.push(event));
    await eventually('the worker in the registry', async () => (await watchers[0]!.clients()).some((c) => c.name === 'worker-on-the-doomed'));

    doomed.child.kill('SIGKILL');
    for (const [i] of watchers.entries()) {
      const event = await eventually(`watcher ${i + 1} told of the departure`, () => departures[i]!.find((e) => e.client?.name === 'worker-on-the-doomed'));
      assert.equal(event.manager, managerDoomed);
    }
    assert.ok(!(await watchers[0]!.clients()).some((c) => c.name === 'worker-on-the-doomed'));
    await sleep(1500);
    // Said once for the store, not once per survivor.
    for (const list of departures) assert.equal(list.filter((e) => e.client?.name === 'worker-on-the-doomed').length, 1, JSON.stringify(list));
  });
  it('quiet and stop through one manager reach a worker on another (tw:control); every registry shows its state; an unknown session is 1007', async () => {
    const home = makeHome();
    const a = await startServe(['--store', redis.url], { home });
    const b = await startServe(['--store', redis.url], { home });
    const worker = await a.client({ name: 'quiet-worker-on-a', role: 'worker' });
    const states: string[] = [];
    worker.on('state', (state: string) => states.push(state));
    const operator = await b.client({ name: 'operator-on-b', role: 'monitor' });
    const session = worker.sessionId!;
    await eventually("the worker in B's registry", async () => (await operator.clients()).some((c) => c.sessionId === session));
    const tasks = operator.queue('peers-quiet');
    await tasks.put('image_url_0');
    const [held] = await worker.queue('peers-quiet').getMany(1, { timeout: 5 });
    assert.ok(held);

    const quiet = await b.run(['workers', 'quiet', session]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.match(quiet.stdout, new RegExp(`^session ${session} \\(quiet-worker-on-a\\) is quiet`));
    await eventually('the worker told it is quiet', () => (states.includes('quiet') ? true : undefined));
    // The answer comes after A wrote its registry: B shows the state at once.
    assert.equal((await operator.clients()).find((c) => c.sessionId === session)?.state, 'quiet');
    assert.equal((await worker.clients()).find((c) => c.sessionId === session)?.state, 'quiet');
    await tasks.put('image_url_1');
    assert.deepEqual(await worker.queue('peers-quiet').getMany(1, { timeout: 0.3 }), [], 'A hands its quiet session nothing');

    const result = await operator.stopClient(session);
    assert.deepEqual(result, { session, manager: worker.managerId, state: 'stopping', notified: true });
    await eventually('the worker told to stop', () => (states.includes('stopping') ? true : undefined));
    // Its ack still counts; with next, it takes no task (spec §7.20), the ack's script none either.
    assert.deepEqual(await held.ackAndGetNext('done', { timeout: 0.3 }), [], "a stopping session's ack with next takes no task");
    assert.equal((await operator.queue('peers-quiet').stats()).ready, 1, 'image_url_1 is still there');
    const table = await b.run(['workers', '--json']);
    assert.equal(JSON.parse(table.stdout).clients.find((c: ClientInfo) => c.sessionId === session)?.state, 'stopping', table.stdout);

    const missing = await b.run(['workers', 'stop', 'f00dfeedf00dfeed']);
    assert.equal(missing.code, 7);
    assert.equal(missing.stderr, 'taskwire: error: no session f00dfeedf00dfeed is connected (taskwire workers lists the sessions)\n');
    await assert.rejects(operator.quietClient('f00dfeedf00dfeed'), (error: Error & { code?: number }) => {
      assert.equal(error.code, 1007);
      assert.equal(error.message, 'session not found: no session f00dfeedf00dfeed is connected');
      return true;
    });
  });
});
