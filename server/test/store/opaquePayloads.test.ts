import { strict as assert } from 'node:assert';
import { cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { memberTexts } from '../../src/protocol/rawJson';
import { RawConnection, type WireMessage } from '../helpers/harness';
import { processCrash, removeTempDirs, startStoreServer, tempDir, type StoreServer } from './storeHarness';

// A durable store keeps payloads as the bytes they arrived as (spec §7.17), through its journal
// and its snapshot, and reads the data dirs an earlier Taskwire wrote.

// This file runs from dist/test/store; the data dirs stay in test/fixtures.
const OLD_DATA_DIRS = resolve(__dirname, '../../../test/fixtures/datadir-8c255af');

const ODD_PAYLOAD = '{"b":1,"a":[1.0,1e400,12345678901234567890123,-0],"s":"\\u00e9\\/\\ud83d\\ude00 ü","k":1,"k":2}';
const ODD_RESULT = '{"n":1.50,"big":98765432109876543210,"e":"\\u00e9"}';

let nextId = 1000;

async function requestText(raw: RawConnection, method: string, paramsText: string): Promise<WireMessage> {
  const id = nextId++;
  raw.write(`{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${paramsText}}\n`);
  const response = await raw.waitFor((message) => message.id === id);
  assert.ok('result' in response, `${method} failed: ${JSON.stringify(response)}`);
  return response;
}

/** Every task on `queue` (autoAck), each as the text of its payload in the answer. */
async function payloadTexts(raw: RawConnection, queue: string): Promise<{ id: string; text: string }[]> {
  const got = await raw.request('queue/get', { queue, max: 100, timeout: 0, autoAck: true });
  const tasks = (got.result as { tasks: { id: string }[] }).tasks;
  // The scanner (tested on its own in test/protocol) finds each payload's text in the answer.
  const texts = memberTexts(raw.textOf(got), ['result', 'tasks'], 'payload')!;
  return tasks.map((task, i) => ({ id: task.id, text: texts[i]! }));
}

describe('store: payloads are opaque', function () {
  this.timeout(20_000);
  const running: StoreServer[] = [];
  const start = async (dataDir?: string) => {
    const server = await startStoreServer({ dataDir });
    running.push(server);
    return server;
  };
  afterEach(async () => {
    for (const server of running.splice(0)) await server.stop();
    removeTempDirs();
  });

  it('a restart from the journal, then from the snapshot, gives back payloads and routed results byte for byte', async () => {
    const a = await start();
    const raw = await RawConnection.authenticated(a.port);
    await requestText(raw, 'queue/put', `{"queue":"jobs","tasks":[{"payload":${ODD_PAYLOAD},"replyTo":"results"},{"payload":${ODD_PAYLOAD}}]}`);
    const leased = await raw.request('queue/get', { queue: 'jobs', timeout: 0 });
    const [first] = (leased.result as { tasks: { id: string }[] }).tasks;
    await requestText(raw, 'task/ack', `{"acks":[{"id":${JSON.stringify(first!.id)},"result":${ODD_RESULT}}]}`);
    raw.close();

    // A crash: the journal holds the puts and the routed result.
    const b = await start(processCrash(a.store));
    assert.equal(b.store.recovery.tasks, 2);
    const second = await RawConnection.authenticated(b.port);
    assert.deepEqual(
      (await payloadTexts(second, 'jobs')).map((task) => task.text),
      [ODD_PAYLOAD],
    );
    assert.deepEqual(
      (await payloadTexts(second, 'results')).map((task) => task.text),
      [`{"taskId":${JSON.stringify(first!.id)},"result":${ODD_RESULT}}`],
    );
    await requestText(second, 'queue/put', `{"queue":"kept","tasks":[{"payload":${ODD_PAYLOAD}}]}`);
    second.close();
    // A clean stop writes a snapshot: the next start reads the task from it.
    await b.stop();
    running.splice(running.indexOf(b), 1);
    const c = await start(b.dataDir);
    const third = await RawConnection.authenticated(c.port);
    assert.deepEqual(
      (await payloadTexts(third, 'kept')).map((task) => task.text),
      [ODD_PAYLOAD],
    );
    third.close();
  });

  for (const form of ['journal', 'snapshot']) {
    it(`loads a data dir written by Taskwire 8c255af (tasks in its ${form}): payloads are the compact JSON it wrote`, async () => {
      const dataDir = join(tempDir(), 'data');
      cpSync(join(OLD_DATA_DIRS, form), dataDir, { recursive: true });
      const server = await start(dataDir);
      assert.deepEqual(server.server.restored, { queues: 4 - (form === 'journal' ? 1 : 0), tasks: 5 + (form === 'snapshot' ? 1 : 0), leasesReturned: 0 });
      // Every task as the engine holds it, the delayed one included (whether it is due depends on the clock).
      const held = Object.fromEntries(server.server.queues.engine.exportState().tasks.map((task) => [task.id, task.payload]));
      assert.deepEqual(held, {
        'e33147-3': '"doomed"',
        'e33147-4': '"done"',
        'e33147-2': '[1,{"deep":[null,true]}]',
        'e33147-5': '{"taskId":"e33147-0","result":{"ok":true,"n":1.5}}',
        'e33147-1': '"plain \\"quoted\\" \\\\ text"',
        ...(form === 'snapshot' ? { '7d8710-0': '{"after":"the snapshot","n":2}' } : {}),
      });
      const raw = await RawConnection.authenticated(server.port);
      assert.deepEqual(await payloadTexts(raw, 'results'), [{ id: 'e33147-5', text: '{"taskId":"e33147-0","result":{"ok":true,"n":1.5}}' }]);
      const dead = await raw.request('queue/get', { queue: 'jobs.dead', timeout: 0, autoAck: true });
      const [buried] = (dead.result as { tasks: { payload: unknown; lastError: string; deadLetteredFrom: string }[] }).tasks;
      assert.deepEqual([buried!.payload, buried!.lastError, buried!.deadLetteredFrom], ['plain "quoted" \\ text', 'broken', 'jobs']);
      assert.ok(raw.textOf(dead).includes('"payload":"plain \\"quoted\\" \\\\ text"'), raw.textOf(dead));
      raw.close();
    });
  }
});
