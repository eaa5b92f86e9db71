import { strict as assert } from 'node:assert';
import { compactJson, hasInsignificantWhitespace, keptText, memberTexts, valueText } from '../../src/protocol/rawJson';
import { prng } from '../helpers/prng';

// The scanner that finds a payload's source text in a frame (src/protocol/rawJson.ts). The
// property: for any frame JSON.parse accepts, JSON.parse of each text found equals the value
// JSON.parse put there, and a payload written compactly comes back character for character.

/** Writes JSON texts as a client might: random whitespace, escapes, number spellings, duplicate keys. */
class Writer {
  constructor(
    private readonly next: () => number,
    /** Whether to put whitespace between tokens. */
    private readonly spaced: boolean,
  ) {}

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  ws(): string {
    if (!this.spaced || this.next() < 0.5) return '';
    return this.pick([' ', '  ', '\n', '\t', '\r\n', ' \n\t ']);
  }

  string(): string {
    const pieces = ['a', 'Z', ' ', '{', '}', '[', ']', ',', ':', 'é', '日本', '😀', '\\"', '\\\\', '\\/', '\\n', '\\t', '\\u00e9', '\\u0000', '\\ud83d\\ude00', '\\\\\\"', '"'];
    let text = '';
    const length = Math.floor(this.next() * 12);
    for (let i = 0; i < length; i++) {
      const piece = this.pick(pieces);
      text += piece === '"' ? '\\"' : piece;
    }
    return `"${text}"`;
  }

  number(): string {
    return this.pick(['0', '-0', '1', '1.0', '1.50', '-12.5e3', '1e400', '1E-7', '12345678901234567890123', '9007199254740993', '0.1', '-1e21']);
  }

  value(depth: number): string {
    const roll = this.next();
    if (depth > 3 || roll < 0.35) return this.pick([this.string(), this.number(), 'true', 'false', 'null', this.string()]);
    if (roll < 0.65) {
      const items = Array.from({ length: Math.floor(this.next() * 4) }, () => this.ws() + this.value(depth + 1) + this.ws());
      return `[${items.join(',') || this.ws()}]`;
    }
    const keys = ['a', 'b', 'payload', 'result', 'k"ey', 'é', 'a'];
    const members = Array.from({ length: Math.floor(this.next() * 4) }, () => {
      const key = this.pick(keys).replace('"', '\\"');
      return `${this.ws()}"${key}"${this.ws()}:${this.ws()}${this.value(depth + 1)}${this.ws()}`;
    });
    return `{${members.join(',') || this.ws()}}`;
  }

  /** An object with `members` in a random order, some keys spelled with escapes. */
  object(members: [string, string][]): string {
    const shuffled = [...members].sort(() => this.next() - 0.5);
    return `{${shuffled.map(([key, value]) => `${this.ws()}${this.key(key)}${this.ws()}:${this.ws()}${value}${this.ws()}`).join(',')}}`;
  }

  key(key: string): string {
    if (this.next() < 0.8) return JSON.stringify(key);
    // The same key with its first letter as a \u escape: JSON.parse reads it as the key.
    return `"\\u${key.charCodeAt(0).toString(16).padStart(4, '0')}${key.slice(1)}"`;
  }
}

/** A queue/put frame with `payloads` (their source texts) and decoys around them. */
function putFrame(w: Writer, payloads: string[]): string {
  const tasks = payloads.map((payload) => {
    const members: [string, string][] = [
      ['payload', payload],
      ['priority', '1'],
      ['payloadX', w.value(0)],
    ];
    // Sometimes the key twice: JSON.parse keeps the last, which is the payload put last here.
    if (w.pick([false, false, true])) members.unshift(['meta', w.object([['payload', w.value(0)]])]);
    const text = w.object(members);
    return w.pick([false, false, true]) ? text.replace('{', `{"payload":${w.value(0)},`) : text;
  });
  const params = w.object([
    ['queue', '"jobs"'],
    ['tasks', `[${tasks.map((task) => w.ws() + task + w.ws()).join(',')}]`],
    ['note', w.value(0)],
  ]);
  return w.object([
    ['jsonrpc', '"2.0"'],
    ['id', '7'],
    ['method', '"queue/put"'],
    ['params', params],
  ]);
}

describe('protocol: rawJson, the payload scanner', () => {
  it('finds each payload of random frames: JSON.parse of its text equals the parsed payload, and a compact payload comes back as written', function () {
    this.timeout(60_000);
    for (let seed = 1; seed <= 3000; seed++) {
      const next = prng(seed);
      const payloadWriter = new Writer(next, seed % 2 === 0);
      const frameWriter = new Writer(next, seed % 3 !== 0);
      const payloads = Array.from({ length: 1 + Math.floor(next() * 4) }, () => payloadWriter.value(0));
      const frame = putFrame(frameWriter, payloads);
      const parsed = JSON.parse(frame) as { params: { tasks: { payload: unknown }[] } };
      const texts = memberTexts(frame, ['params', 'tasks'], 'payload');
      assert.ok(texts, `seed ${seed}: no texts in ${frame}`);
      assert.equal(texts.length, payloads.length, `seed ${seed}`);
      texts.forEach((source, i) => {
        assert.equal(source, payloads[i], `seed ${seed}, task ${i}: the source text in ${frame}`);
        const value = parsed.params.tasks[i]!.payload;
        const kept = keptText(source!, value, frame.length);
        assert.deepEqual(JSON.parse(kept), value, `seed ${seed}, task ${i}: ${kept} in ${frame}`);
        assert.equal(hasInsignificantWhitespace(kept), false, `seed ${seed}: ${kept}`);
        if (!hasInsignificantWhitespace(payloads[i]!)) assert.equal(kept, payloads[i], `seed ${seed}, task ${i}`);
        else assert.equal(kept, compactJson(payloads[i]!), `seed ${seed}, task ${i}`);
      });
    }
  });

  it('keeps what a serializer would change: big numbers, 1.0, exponents, escapes, key order and duplicate keys', () => {
    const payload = '{"b":1,"a":[1.0,1e400,12345678901234567890123,-0],"s":"\\u00e9\\/\\ud83d\\ude00","k":1,"k":2}';
    const frame = `{"jsonrpc":"2.0","id":1,"method":"queue/put","params":{"queue":"q","tasks":[{"payload":${payload}}]}}`;
    assert.deepEqual(memberTexts(frame, ['params', 'tasks'], 'payload'), [payload]);
  });

  it('finds results, which an ack may leave out (undefined), and gives undefined for an element that is not an object', () => {
    const frame = '{"params":{"acks":[{"id":"a","result":null},{"id":"b"},{"result":"x","id":"c"},7]},"method":"task/ack","jsonrpc":"2.0","id":2}';
    assert.deepEqual(memberTexts(frame, ['params', 'acks'], 'result'), ['null', undefined, '"x"', undefined]);
    assert.deepEqual(memberTexts('{"params":{"acks":[]}}', ['params', 'acks'], 'result'), []);
    assert.equal(memberTexts('{"params":{"acks":{}}}', ['params', 'acks'], 'result'), undefined);
    assert.equal(memberTexts('{"params":7}', ['params', 'acks'], 'result'), undefined);
    assert.equal(memberTexts('{}', ['params', 'acks'], 'result'), undefined);
  });

  it('reads the last of duplicate keys, at every level, as JSON.parse does', () => {
    const frame = '{"params":{"tasks":[{"payload":"first"}]},"params":{"tasks":[{"payload":1},{"payload":2,"payload":[3]}],"tasks":[{"payload":"last"}]}}';
    assert.deepEqual(memberTexts(frame, ['params', 'tasks'], 'payload'), ['"last"']);
    assert.equal(valueText('{"task":{"payload":1},"task":{"payload":{"x":[]}}}', ['task', 'payload']), '{"x":[]}');
  });

  it('is not fooled by strings full of escaped quotes, backslashes and brackets', () => {
    const tricky = ['"\\\\"', '"\\""', '"\\\\\\""', `"${'\\"'.repeat(5000)}"`, `"${'\\\\'.repeat(5000)}"`, '"}]},{\\"payload\\":1}"', '["]","[",{"a":"}"}]', '{"payload":"not me"}'];
    for (const payload of tricky) {
      const frame = `{"params":{"tasks":[{"payload":${payload},"x":"\\\\"},{"payload":"${'\\\\'.repeat(3)}\\""}]}}`;
      const texts = memberTexts(frame, ['params', 'tasks'], 'payload');
      assert.deepEqual(texts, [payload, `"${'\\\\'.repeat(3)}\\""`], payload.slice(0, 40));
      assert.deepEqual(JSON.parse(texts![0]!), JSON.parse(payload));
    }
  });

  it('handles nesting as deep as the manager allows, without recursion', () => {
    const depth = 250;
    const payload = `${'['.repeat(depth)}"deep"${']'.repeat(depth)}`;
    const objects = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const frame = `{"params":{"tasks":[{"payload":${payload}},{"payload":${objects}}]}}`;
    assert.deepEqual(memberTexts(frame, ['params', 'tasks'], 'payload'), [payload, objects]);
    // Far deeper than any stack: the scanner still walks it (the manager refuses it earlier).
    const abyss = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    assert.deepEqual(memberTexts(`{"params":{"tasks":[{"payload":${abyss}}]}}`, ['params', 'tasks'], 'payload'), [abyss]);
  });

  it('returns huge strings, non-ASCII and surrogate pairs whole', () => {
    const huge = `"${'x'.repeat(4 * 1024 * 1024)}"`;
    const unicode = `"${'é日本😀'.repeat(1000)}"`;
    const frame = `{"params":{"tasks":[{"payload":${huge}},{"payload":${unicode}},{"payload":"\\ud83d\\ude00😀"}]}}`;
    const texts = memberTexts(frame, ['params', 'tasks'], 'payload')!;
    assert.equal(texts[0]!.length, huge.length);
    assert.equal(texts[0], huge);
    assert.equal(texts[1], unicode);
    assert.equal(texts[2], '"\\ud83d\\ude00😀"');
  });

  it('compacts only whitespace outside strings', () => {
    assert.equal(compactJson(' { "a b" : [ 1 ,\n\t2.0 ] , "c" : " \\" x " } '), '{"a b":[1,2.0],"c":" \\" x "}');
    assert.equal(hasInsignificantWhitespace('{"a b":[1,2.0],"c":" \\" x "}'), false);
    assert.equal(hasInsignificantWhitespace('[1, 2]'), true);
    assert.equal(hasInsignificantWhitespace('" "'), false);
    const frame = '{"params":{"tasks":[{"payload": { "a" : [ 1.0 , "x y" ] } }]}}';
    const [source] = memberTexts(frame, ['params', 'tasks'], 'payload')!;
    assert.equal(source, '{ "a" : [ 1.0 , "x y" ] }');
    assert.equal(keptText(source!, { a: [1, 'x y'] }, frame.length), '{"a":[1.0,"x y"]}');
  });

  it('keeps the text as written whichever way it copies it: small or large, matching its serialization or not', () => {
    const frameLength = 1_000_000; // a large frame: every text is copied
    for (const [source, value] of [
      ['"plain"', 'plain'],
      ['"\\u00e9"', 'é'],
      ['1.0', 1],
      ['-0', -0],
      ['1e400', Infinity],
      [`"${'x'.repeat(300)}"`, 'x'.repeat(300)],
      [`["\\u00e9",${'1.0,'.repeat(100)}1]`, ['é', ...Array<number>(100).fill(1), 1]],
    ] as [string, unknown][]) {
      assert.equal(keptText(source, value, frameLength), source);
      assert.equal(keptText(source, value, source.length + 10), source, 'most of its frame: kept as it is');
    }
  });
});
