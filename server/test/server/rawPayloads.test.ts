import { strict as assert } from 'node:assert';
import type { RawTask } from '../../src/engine';
import type { JsonText } from '../../src/protocol/jsonText';
import { putResult, rawAcks, rawTaskSpecs, taskText, tasksResult } from '../../src/server/rawPayloads';

// How answers carry payload texts, and how params get them from their frame (rawPayloads.ts).

function task(id: string, payload: string, extra: Partial<RawTask> = {}): RawTask {
  return { id, queue: 'q', payload: payload as JsonText, attempt: 1, priority: 0, enqueuedAt: '2026-12-06T00:00:00.000Z', ...extra };
}

describe('server: rawPayloads', () => {
  it('writes a get result with each payload text as it is, in place', () => {
    const tasks = [task('a', '{"n":1.0}'), task('b', '"x"', { lastError: 'the text "payload":0 inside a string' }), task('c', '12345678901234567890123')];
    const text = tasksResult(tasks).text;
    assert.equal(
      text,
      '{"tasks":[{"id":"a","queue":"q","payload":{"n":1.0},"attempt":1,"priority":0,"enqueuedAt":"2026-12-06T00:00:00.000Z"},' +
        '{"id":"b","queue":"q","payload":"x","attempt":1,"priority":0,"enqueuedAt":"2026-12-06T00:00:00.000Z","lastError":"the text \\"payload\\":0 inside a string"},' +
        '{"id":"c","queue":"q","payload":12345678901234567890123,"attempt":1,"priority":0,"enqueuedAt":"2026-12-06T00:00:00.000Z"}]}',
    );
    assert.equal(tasksResult([]).text, '{"tasks":[]}');
    assert.equal(tasksResult([task('a', '1.0')], { acked: 2 }).text, '{"acked":2,"tasks":[{"id":"a","queue":"q","payload":1.0,"attempt":1,"priority":0,"enqueuedAt":"2026-12-06T00:00:00.000Z"}]}');
  });

  it('writes a put result as JSON.stringify would, with duplicates only when given', () => {
    const cases: [string[], boolean[] | undefined][] = [
      [['m-1'], undefined],
      [['m-1', 'm-2', 'm-3'], undefined],
      [['m-1'], [false]],
      [
        ['m-1', 'm-1', 'm-2'],
        [false, true, false],
      ],
      [['id "quoted" \\ \u0001 \ud800'], [true]],
      [[], undefined],
      [[], []],
    ];
    for (const [ids, duplicates] of cases) {
      const expected = JSON.stringify(duplicates === undefined ? { ids } : { ids, duplicates });
      assert.equal(putResult(ids, duplicates).text, expected);
    }
  });

  it('writes every member of a task as JSON, escaping what needs it', () => {
    const odd = task('id "quoted" \\ \u0001 \ud800', '"p"', {
      queue: 'q',
      leaseUntil: '2026-12-06T00:00:30.000Z',
      replyTo: 'r',
      lastError: 'line\nbreak "and" \ud83d\ude00',
      deadLetteredFrom: 'dlq',
    });
    const text = tasksResult([odd], { acked: 1 }).text;
    assert.deepEqual(JSON.parse(text), { acked: 1, tasks: [{ ...odd, payload: 'p' }] });
    assert.equal(text, `{"acked":1,"tasks":[${taskText(odd).replace(',"payload":"p"', '').replace('"queue":"q"', '"queue":"q","payload":"p"')}]}`);
  });

  it('writes string payloads back exactly, whatever characters they hold', () => {
    const strings = [...['', 'plain', 'é 日本語 😀', '{"a":1}', 'back\\slash', 'x'.repeat(70_000)].map((value) => JSON.stringify(value)), String.raw`"\u00e9"`, String.raw`"\\"`];
    // Built from characters, not escapes: U+2028, U+2029 and DEL as themselves.
    strings.push(`"${String.fromCharCode(0x2028, 0x2029, 0x7f, 0xe9, 0xd83d, 0xde00)}"`);
    const tasks = strings.map((text, i) => task(`t${i}`, text));
    const text = tasksResult(tasks).text;
    for (const payload of strings) assert.ok(text.includes(`"payload":${payload},`), payload.slice(0, 40));
    assert.deepEqual(
      JSON.parse(text).tasks.map((t: { payload: unknown }) => t.payload),
      strings.map((s) => JSON.parse(s)),
    );
  });

  it('writes a task with a member the Task type does not have through taskText, whole', () => {
    // A member the Task type does not have today (holding a "payload", which must stay where it is).
    const odd = { ...task('a', '[1.0]'), extra: { payload: 0 } } as unknown as RawTask;
    const text = tasksResult([odd]).text;
    assert.equal(text, `{"tasks":[${taskText(odd)}]}`);
    assert.equal(tasksResult([odd], { acked: 1 }).text, `{"acked":1,"tasks":[${taskText(odd)}]}`);
    assert.deepEqual(JSON.parse(text).tasks[0].extra, { payload: 0 });
    assert.ok(text.includes('"payload":[1.0]'));
  });

  it('gives params their payload and result texts from the frame, and leaves acks without results alone', () => {
    const frame = '{"jsonrpc":"2.0","id":1,"method":"queue/put","params":{"queue":"q","tasks":[{"payload":1.0,"priority":2},{"payload":{"b":1,"a":2}}]}}';
    const parsed = JSON.parse(frame).params.tasks;
    assert.deepEqual(rawTaskSpecs(parsed, frame), [{ payload: '1.0', priority: 2 }, { payload: '{"b":1,"a":2}' }]);
    const acks = [{ id: 'a' }, { id: 'b' }];
    assert.equal(rawAcks(acks, 'not even looked at'), acks);
    const ackFrame = '{"params":{"acks":[{"id":"a","result":1E2},{"id":"b"}]}}';
    assert.deepEqual(rawAcks(JSON.parse(ackFrame).params.acks, ackFrame), [{ id: 'a', result: '1E2' }, { id: 'b' }]);
  });

  it('refuses (as an internal error) params that do not match their frame', () => {
    assert.throws(() => rawTaskSpecs([{ payload: 1 }, { payload: 2 }], '{"params":{"tasks":[{"payload":1}]}}'), /params.tasks was not found in its frame as parsed/);
    assert.throws(() => rawTaskSpecs([{ payload: 1 }], '{"params":{"tasks":[{"nope":1}]}}'), /the payload of task 0 was not found in its frame/);
  });
});
