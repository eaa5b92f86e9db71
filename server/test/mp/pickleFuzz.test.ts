import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonMappingError, toJsonText } from '../../src/mp/jsonMapping';
import { PickleError, readPickle } from '../../src/mp/pickleReader';
import { TEST_KEY } from '../helpers/harness';
import { prng } from '../helpers/prng';
import { proxyFor, python3, startMpServer, type MpServer } from './mpHelpers';

const SEED = 17_017;
const LIMITS = { maxBytes: 1024 * 1024, maxDepth: 256 };

/** Opcodes the reader accepts (with their arguments); every other byte value is refused. */
const ACCEPTED = new Set([
  0x28, 0x2e, 0x30, 0x31, 0x32, 0x46, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x52, 0x58, 0x61, 0x62, 0x63, 0x64, 0x7d, 0x65, 0x67, 0x68, 0x6a, 0x6c, 0x5d, 0x70, 0x71, 0x72, 0x73, 0x74, 0x29, 0x75, 0x47,
  0x80, 0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x42, 0x43, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x93, 0x94, 0x95,
]);

const b = (...parts: (number[] | string | Buffer)[]): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.isBuffer(part) ? part : Buffer.from(part))));
const u32 = (n: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(n >>> 0);
  return buffer;
};
const u64 = (n: bigint) => {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(n);
  return buffer;
};

/** Hostile pickles that would each run `touch <canary>` in Python's own unpickler. */
function shellPickles(canary: string): Buffer[] {
  const command = `touch ${canary}`;
  const arg = b([0x8c, command.length], command);
  const out: Buffer[] = [];
  for (const [module, name] of [
    ['os', 'system'],
    ['posix', 'system'],
    ['subprocess', 'call'],
    ['subprocess', 'Popen'],
    ['builtins', 'eval'],
    ['builtins', 'exec'],
    ['__builtin__', 'eval'],
    ['os', 'popen'],
    ['builtins', '__import__'],
    ['pickle', 'loads'],
  ]) {
    out.push(b([0x80, 2], `c${module}\n${name}\n`, arg, [0x85, 0x52, 0x2e])); // GLOBAL + REDUCE
    out.push(b([0x80, 4], [0x8c, module!.length], module!, [0x8c, name!.length], name!, [0x93], arg, [0x85, 0x52, 0x2e])); // STACK_GLOBAL + REDUCE
    out.push(b([0x80, 4, 0x28], `i${module}\n${name}\n`, arg, [0x2e])); // INST
    out.push(b([0x80, 4, 0x28], [0x8c, module!.length], module!, [0x8c, name!.length], name!, [0x93], arg, [0x6f, 0x2e])); // OBJ
    out.push(b([0x80, 4], [0x8c, module!.length], module!, [0x8c, name!.length], name!, [0x93], arg, [0x85], [0x7d], [0x92, 0x2e])); // NEWOBJ_EX
  }
  // A set() whose REDUCE is swapped for os.system after the fact, via the memo.
  out.push(b([0x80, 2], 'cos\nsystem\n', [0x94], 'c__builtin__\nset\n', [0x94, 0x68, 0], arg, [0x85, 0x52, 0x2e]));
  return out;
}

/** The hostile and malformed pickles: ≥ 10,000, drawn from a seed. */
function hostilePickles(canary: string): { kind: string; data: Buffer }[] {
  const random = prng(SEED);
  const int = (n: number) => Math.floor(random() * n);
  const cases: { kind: string; data: Buffer }[] = [];
  const add = (kind: string, data: Buffer) => cases.push({ kind, data });
  // Valid pickles from CPython, as the raw material for truncations and mutations.
  const code =
    "import pickle\nvals = [(None,'put',('image_url_0',),{}), ('x','get',(True,),{'timeout':5}), {'a':[1,2.5,b'xy',(None,True)],'s':{1,2}}, list(range(300)), 'é'*40, 2**62, -1.5]\nfor v in vals:\n    for p in (2,3,4,5):\n        print(pickle.dumps(v, p).hex())";
  const run = spawnSync(python3(), ['-c', code], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const valid = run.stdout
    .trim()
    .split('\n')
    .map((hex) => Buffer.from(hex, 'hex'));
  for (const data of shellPickles(canary)) add('shell', data);
  // Every refused byte value as an opcode, in protocols 2 and 4, bare and after a value.
  for (let op = 0; op < 256; op++) {
    if (ACCEPTED.has(op)) continue;
    for (const proto of [2, 4]) {
      add('forbidden opcode', b([0x80, proto, op, 0x2e]));
      add('forbidden opcode', b([0x80, proto, 0x4e, op, 1, 2, 3, 4, 5, 6, 7, 8, 0x2e]));
    }
  }
  // Huge lengths: every length-prefixed opcode claiming far more than there is.
  for (const [op, size] of [
    [0x58, u32(0xffffffff)],
    [0x42, u32(0xffffffff)],
    [0x8d, u64(2n ** 63n)],
    [0x8e, u64(2n ** 64n - 1n)],
    [0x95, u64(2n ** 62n)],
    [0x8b, u32(0x7fffffff)],
    [0x8b, u32(0xffffffff)],
    [0x96, u64(2n ** 40n)],
    [0x72, u32(0xffffffff)],
    [0x6a, u32(0xffffffff)],
  ] as const) {
    add('huge length', b([0x80, 4, op], size, 'abc'));
    add('huge length', b([0x80, 4, op], size));
  }
  add('huge length', b([0x80, 4, 0x8a, 200], Buffer.alloc(200, 0xff), [0x2e]));
  // Deep nesting: lists, tuples, dicts and MARKs thousands deep; a list that contains itself; a memo bomb.
  for (const depth of [300, 5_000, 100_000]) {
    add('deep nesting', b([0x80, 4], Buffer.alloc(depth, 0x5d), Buffer.alloc(depth - 1, 0x61), [0x2e]));
    add('deep nesting', b([0x80, 4], Buffer.alloc(depth, 0x28), [0x74], Buffer.alloc(depth - 1, 0x85), [0x2e]));
    add('deep nesting', b([0x80, 4], Buffer.alloc(depth, 0x28), [0x2e]));
    add('deep nesting', b([0x80, 4, 0x4e], Buffer.alloc(depth, 0x85), [0x2e]));
  }
  add('self reference', b([0x80, 4, 0x5d, 0x94, 0x68, 0, 0x61, 0x2e]));
  add('self reference', b([0x80, 4, 0x7d, 0x94, 0x8c, 1], 'k', [0x68, 0, 0x73, 0x2e]));
  {
    // [x, x] nested 60 times through the memo: 2^60 leaves if expanded.
    const parts: number[] = [0x80, 4, 0x4e];
    for (let i = 0; i < 60; i++) parts.push(0x94, 0x68, i, 0x86);
    parts.push(0x2e);
    add('memo bomb', Buffer.from(parts));
  }
  // Protocols out of range, no PROTO, data after STOP, empty.
  for (const proto of [0, 1, 6, 255]) add('protocol', b([0x80, proto, 0x4e, 0x2e]));
  add('protocol', b('N.'));
  add('protocol', b([]));
  add('after STOP', b([0x80, 4, 0x4e, 0x2e, 0x4e]));
  // Every truncation of every valid pickle.
  for (const data of valid) for (let end = 0; end < data.length; end++) add('truncated', data.subarray(0, end));
  // Mutations of valid pickles: flipped, inserted and deleted bytes, until there are ≥ 10,000 cases.
  while (cases.length < 10_500) {
    const data = Buffer.from(valid[int(valid.length)]!);
    const edits = 1 + int(4);
    let mutated: Buffer = data;
    for (let i = 0; i < edits; i++) {
      const at = int(mutated.length);
      const choice = int(3);
      if (choice === 0) mutated[at] = int(256);
      else if (choice === 1) mutated = Buffer.concat([mutated.subarray(0, at), Buffer.from([int(256)]), mutated.subarray(at)]);
      else mutated = Buffer.concat([mutated.subarray(0, at), mutated.subarray(at + 1)]);
    }
    add('mutated', mutated);
  }
  // Random bytes after a PROTO.
  for (let i = 0; i < 500; i++) add('random', b([0x80, 2 + int(4)], Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)))));
  return cases;
}

describe('mp: the pickle reader and the listener under hostile pickles', function () {
  this.timeout(180_000);
  let dir: string;
  let canary: string;
  let mp: MpServer | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'taskwire-mp-fuzz-'));
    canary = join(dir, 'canary');
  });

  after(async () => {
    await mp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`reads ≥ 10,000 malformed and hostile pickles (seed ${SEED}) with a PickleError or a value, never anything else, and runs none`, () => {
    const cases = hostilePickles(canary);
    assert.ok(cases.length >= 10_000, `${cases.length} cases`);
    const outcomes = new Map<string, { refused: number; read: number; unmapped: number }>();
    const started = Date.now();
    for (const { kind, data } of cases) {
      const tally = outcomes.get(kind) ?? { refused: 0, read: 0, unmapped: 0 };
      outcomes.set(kind, tally);
      let value;
      try {
        value = readPickle(data);
      } catch (error) {
        if (!(error instanceof PickleError)) throw new Error(`${kind} pickle ${data.subarray(0, 64).toString('hex')}: ${String(error)}`, { cause: error });
        tally.refused++;
        continue;
      }
      try {
        toJsonText(value, LIMITS);
        tally.read++;
      } catch (error) {
        if (!(error instanceof JsonMappingError)) throw new Error(`${kind} pickle ${data.subarray(0, 64).toString('hex')} → JSON: ${String(error)}`, { cause: error });
        tally.unmapped++;
      }
    }
    const elapsed = Date.now() - started;
    console.log(`      ${cases.length} pickles in ${elapsed} ms: ${[...outcomes].map(([kind, t]) => `${kind} ${t.refused} refused/${t.unmapped} unmapped/${t.read} read`).join('; ')}`);
    for (const kind of ['shell', 'forbidden opcode', 'huge length', 'protocol', 'after STOP'])
      assert.equal(outcomes.get(kind)!.read + outcomes.get(kind)!.unmapped, 0, `every ${kind} pickle is refused`);
    assert.equal(outcomes.get('deep nesting')!.read, 0, 'every nesting is deeper than maxNestingDepth (256) or malformed');
    assert.equal(outcomes.get('memo bomb')!.read, 0);
    assert.equal(existsSync(canary), false, 'no pickle ran a command');
  });

  it('answers each of ≥ 10,000 hostile requests with a RemoteError on the same connection, while serving another client throughout', async () => {
    mp = await startMpServer();
    const cases = hostilePickles(canary);
    const hostile = await proxyFor(mp.mpPort, TEST_KEY, 'get_task_queue');
    const bystander = await proxyFor(mp.mpPort, TEST_KEY, 'get_jobs_queue');
    let served = 0;
    let refused = 0;
    for (const [i, { data }] of cases.entries()) {
      hostile.client.send(data);
      const [kind, text] = await hostile.client.reply();
      if (kind === '#TRACEBACK') {
        assert.match(String(text), /^Taskwire: /);
        refused++;
      }
      if (i % 500 === 0) {
        // The other client: a put and a get, answered as usual.
        assert.deepEqual(await bystander.client.call(bystander.ident, 'put', [`job ${i}`]), ['#RETURN', null]);
        assert.deepEqual(await bystander.client.call(bystander.ident, 'get', [], new Map([['timeout', 5n]])), ['#RETURN', `job ${i}`]);
        served++;
      }
    }
    console.log(`      ${cases.length} hostile requests: ${refused} answered with a RemoteError, the others answered too; the other client was served ${served} times meanwhile`);
    assert.ok(refused >= 10_000, `${refused} refused`);
    assert.equal(existsSync(canary), false, 'no pickle ran a command');
    // The hostile connection itself still works.
    const [kind, value] = await hostile.client.call(hostile.ident, 'qsize');
    assert.deepEqual([kind, value], ['#RETURN', 0n]);
    hostile.client.close();
    bystander.client.close();
  });
});
