import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { fromJsonText, JsonMappingError, toJsonText } from '../../src/mp/jsonMapping';
import { PickleError, readPickle } from '../../src/mp/pickleReader';
import { writePickle } from '../../src/mp/pickleWriter';
import { PyException, PySet, QUEUE_EMPTY, QUEUE_FULL, type PyValue } from '../../src/mp/pyValue';
import { python3 } from './mpHelpers';

const LIMITS = { maxBytes: 8 * 1024 * 1024, maxDepth: 256 };

/** Pickles made by the machine's CPython: each expression in each protocol, as hex. */
function cpythonPickles(expressions: string[], protocols: number[]): Buffer[][] {
  const code = `import pickle, sys, json\nexprs = json.loads(sys.argv[1])\nfor e in exprs:\n    v = eval(e)\n    print(' '.join(pickle.dumps(v, p).hex() for p in ${JSON.stringify(protocols)}))`;
  const run = spawnSync(python3(), ['-c', code, JSON.stringify(expressions)], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout
    .trim()
    .split('\n')
    .map((line) => line.split(' ').map((hex) => Buffer.from(hex, 'hex')));
}

/** What CPython makes of pickles written by the listener: repr() of each. */
function cpythonRepr(pickles: Buffer[]): string[] {
  const code = 'import pickle, sys\nfor h in sys.argv[1:]:\n    v = pickle.loads(bytes.fromhex(h))\n    print(type(v).__module__ + "." + type(v).__qualname__ + " " + repr(v))';
  const run = spawnSync(python3(), ['-c', code, ...pickles.map((p) => p.toString('hex'))], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim().split('\n');
}

describe('mp: the restricted pickle reader and writer against CPython', () => {
  // [Python expression, the JSON text a queue holds]
  const cases: [string, string][] = [
    ['None', 'null'],
    ['True', 'true'],
    ['False', 'false'],
    ['0', '0'],
    ['255', '255'],
    ['65535', '65535'],
    ['-1', '-1'],
    ['2**31', '2147483648'],
    ['-2**31 - 1', '-2147483649'],
    ['2**53 - 1', '9007199254740991'],
    ['-(2**53 - 1)', '-9007199254740991'],
    ['1.5', '1.5'],
    ['1.0', '1.0'],
    ['-0.0', '-0.0'],
    ['1e300', '1e+300'],
    ["''", '""'],
    ["'image_url_0'", '"image_url_0"'],
    ['\'héllo ☃ 𝄞 "q" \\n\'', '"héllo ☃ 𝄞 \\"q\\" \\n"'],
    ["'x' * 300", JSON.stringify('x'.repeat(300))],
    // Long strs take toJsonText's quoted-as-is path when nothing in them needs escaping.
    ["'x' * 300 + '\"' + 'y' * 10", JSON.stringify(`${'x'.repeat(300)}"${'y'.repeat(10)}`)],
    ["'x' * 300 + '\\\\'", JSON.stringify(`${'x'.repeat(300)}\\`)],
    ["'x' * 300 + '\\x01\\n\\t\\x1f'", JSON.stringify(`${'x'.repeat(300)}\x01\n\t\x1f`)],
    ["'x' * 300 + '\\x7f é ☃ 𝄞 \\u2028'", JSON.stringify(`${'x'.repeat(300)}\x7f é ☃ 𝄞 \u2028`)],
    ["'z' * 70000", JSON.stringify('z'.repeat(70_000))],
    ["b''", '{"$bytes":""}'],
    ["b'\\x00\\xff'", '{"$bytes":"AP8="}'],
    ["b'y' * 300", JSON.stringify({ $bytes: Buffer.from('y'.repeat(300)).toString('base64') })],
    ['()', '[]'],
    ["(1, 'a')", '[1,"a"]'],
    ['(1, 2, 3, 4)', '[1,2,3,4]'],
    ['[1, [2, [3, []]]]', '[1,[2,[3,[]]]]'],
    ["{'a': 1, 'b': [None], 'c': {'d': (True,)}}", '{"a":1,"b":[null],"c":{"d":[true]}}'],
    ['{1, 2}', '[1,2]'],
    ['frozenset([3])', '[3]'],
    ['set()', '[]'],
    ['(lambda x: [x, x, (x,)])([1])', '[[1],[1],[[1]]]'],
    ['list(range(2500))', JSON.stringify(Array.from({ length: 2500 }, (_, i) => i))],
    ['{str(i): i for i in range(1500)}', JSON.stringify(Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [String(i), i])))],
  ];

  it(`reads ${cases.length} kinds of value pickled by CPython in protocols 2, 3, 4 and 5, and maps them to JSON as documented`, () => {
    const pickles = cpythonPickles(
      cases.map(([expression]) => expression),
      [2, 3, 4, 5],
    );
    cases.forEach(([expression, json], i) => {
      for (const [p, pickle] of pickles[i]!.entries()) {
        assert.equal(toJsonText(readPickle(pickle), LIMITS), json, `${expression} in protocol ${p + 2}`);
      }
    });
  });

  it('writes what CPython reads back: every JSON type, big ints, bytes, nesting, and queue.Empty / queue.Full as the real exceptions', () => {
    const values: PyValue[] = [
      fromJsonText('{"a":[1,2.5,"s",null,true,false,{"$bytes":"AAE="}],"n":-7,"f":1.0}'),
      fromJsonText('123456789012345678901234567890'),
      fromJsonText('-70000'),
      fromJsonText('2147483648'),
      fromJsonText(`"${'é'.repeat(200)}"`),
      fromJsonText(JSON.stringify(Array.from({ length: 1200 }, (_, i) => i))),
      QUEUE_EMPTY,
      QUEUE_FULL,
      new PyException('builtins', 'ValueError', ["'timeout' must be a non-negative number"]),
    ];
    const reprs = cpythonRepr(values.map((value) => writePickle(value)));
    assert.equal(reprs[0], "builtins.dict {'a': [1, 2.5, 's', None, True, False, b'\\x00\\x01'], 'n': -7, 'f': 1.0}");
    assert.equal(reprs[1], 'builtins.int 123456789012345678901234567890');
    assert.equal(reprs[2], 'builtins.int -70000');
    assert.equal(reprs[3], 'builtins.int 2147483648');
    assert.equal(reprs[4], `builtins.str '${'é'.repeat(200)}'`);
    assert.equal(reprs[5], `builtins.list [${Array.from({ length: 1200 }, (_, i) => i).join(', ')}]`);
    assert.equal(reprs[6], '_queue.Empty Empty()');
    assert.equal(reprs[7], 'queue.Full Full()');
    assert.equal(reprs[8], `builtins.ValueError ValueError("'timeout' must be a non-negative number")`);
  });

  it('reads strings back from JSON exactly, escapes and all, wherever the backslashes are', () => {
    const strings = ['', 'plain', 'z'.repeat(70_000), `${'x'.repeat(300)}"q"`, 'back\\slash\\', 'end\\\\', '\\"', '"\\', 'é😀\u2028', 'ctl\u0001\n', '\\u0041'];
    for (const text of strings) assert.equal(fromJsonText(JSON.stringify(text)), text, JSON.stringify(text).slice(0, 40));
    // A backslash only in the last string, only in the first, and between plain ones.
    for (const list of [
      [...Array.from({ length: 2000 }, (_, i) => `s${i}`), 'last\\one'],
      ['first\\one', ...Array.from({ length: 2000 }, (_, i) => `s${i}`)],
      ['a\\b', 'plain', 'c\\"d', 'plain2', { 'k\\"ey': 'v"al' }, 'e'],
    ]) {
      assert.deepEqual(
        fromJsonText(JSON.stringify(list)),
        list.map((item) => (typeof item === 'string' ? item : new Map(Object.entries(item)))),
      );
    }
  });

  it('keeps int and float apart through a round trip Python → JSON → Python', () => {
    const [[pickle]] = cpythonPickles(['[1, 1.0, -0.0, 2.5e-8, 10**15]'], [4]) as [[Buffer]];
    const json = toJsonText(readPickle(pickle), LIMITS);
    assert.equal(json, '[1,1.0,-0.0,2.5e-8,1000000000000000]');
    assert.deepEqual(cpythonRepr([writePickle(fromJsonText(json))]), ['builtins.list [1, 1.0, -0.0, 2.5e-08, 1000000000000000]']);
  });

  it('refuses, by name, what the listener does not accept, and runs none of it', () => {
    const refusals: [string, RegExp][] = [
      ['__import__("os").system', /^forbidden global posix\.system: only None, bool, int, float, str, bytes, tuple, list, dict, set are accepted$/],
      ['eval', /^forbidden global builtins\.eval/],
      ['__import__("collections").OrderedDict(a=1)', /^forbidden global collections\.OrderedDict/],
      ['bytearray(b"x")', /^opcode BYTEARRAY8 at offset \d+ is not accepted: bytearray is not one of the accepted types \(send bytes\)$/],
      ['__import__("datetime").date(2020, 1, 1)', /^forbidden global datetime\.date/],
      ['__import__("subprocess").Popen', /^forbidden global subprocess\.Popen/],
    ];
    const pickles = cpythonPickles(
      refusals.map(([expression]) => expression),
      [5],
    );
    refusals.forEach(([expression, message], i) => {
      assert.throws(
        () => readPickle(pickles[i]![0]!),
        (error: Error) => error instanceof PickleError && message.test(error.message),
        expression,
      );
    });
    // Protocol 2's GLOBAL, and a REDUCE that would run a shell command.
    const reduce = Buffer.concat([Buffer.from([0x80, 2]), Buffer.from('cos\nsystem\n'), Buffer.from([0x8c, 4]), Buffer.from('true'), Buffer.from([0x85, 0x52, 0x2e])]);
    assert.throws(() => readPickle(reduce), /^PickleError: forbidden global os\.system/);
    assert.throws(() => readPickle(Buffer.from('(lp0\n.', 'latin1')), /^PickleError: protocol 0 and 1 pickles are not accepted/);
    assert.throws(() => readPickle(Buffer.from([0x80, 4, 0x7d, 0x4b, 1, 0x4b, 2, 0x73, 0x2e])), /^PickleError: dict keys must be str \(got a int\): a dict becomes a JSON object$/);
    assert.throws(() => readPickle(Buffer.from([0x80, 4, 0x4e, 0x62, 0x2e])), /^PickleError: opcode BUILD is not accepted: it sets the state of an object/);
    assert.throws(() => readPickle(Buffer.from([0x80, 4, 0x4e, 0x51, 0x2e])), /^PickleError: opcode BINPERSID at offset 3 is not accepted: persistent ids are not accepted$/);
    assert.throws(() => readPickle(Buffer.from([0x80, 4, 0x82, 1, 0x2e])), /^PickleError: opcode EXT1 at offset 2 is not accepted: extension codes are not accepted$/);
    assert.throws(() => readPickle(Buffer.from([0x80, 6, 0x4e, 0x2e])), /^PickleError: pickle protocol 6 is not accepted: protocols 2-5 are$/);
  });

  it('reads a set of 300,000 items added in one ADDITEMS (a hand-made pickle; CPython adds 1,000 at a time), without overflowing the stack', () => {
    const many = 300_000;
    const body = Buffer.alloc(many * 2);
    for (let i = 0; i < many; i++) body.writeUInt16BE(0x4b00 | (i & 0xff), i * 2); // BININT1 i % 256
    const pickle = Buffer.concat([Buffer.from([0x80, 4, 0x8f, 0x28]), body, Buffer.from([0x90, 0x2e])]); // PROTO 4, EMPTY_SET, MARK, …, ADDITEMS, STOP
    const value = readPickle(pickle) as PySet;
    assert.ok(value instanceof PySet);
    assert.equal(value.items.length, many);
    assert.deepEqual(value.items.slice(0, 3), [0n, 1n, 2n]);
  });

  it('refuses values that have no JSON form with the reason', () => {
    const [[big], [nan], [deep]] = cpythonPickles(['2**53', "float('nan')", '(lambda l: [l.append(l), l][1])([])'], [4]) as [[Buffer], [Buffer], [Buffer]];
    assert.throws(
      () => toJsonText(readPickle(big), LIMITS),
      (e: Error) => e instanceof JsonMappingError && e.message === 'int 9007199254740992 is too large: a JSON number holds integers up to ±(2**53 - 1) exactly (send it as a str)',
    );
    assert.throws(() => toJsonText(readPickle(nan), LIMITS), /float NaN has no JSON form/);
    assert.throws(() => toJsonText(readPickle(deep), LIMITS), /nested deeper than 256 levels \(or a container that contains itself\)/);
    assert.throws(() => toJsonText(QUEUE_EMPTY, LIMITS), /a _queue\.Empty cannot be put on a queue/);
  });
});
