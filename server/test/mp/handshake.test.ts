import { strict as assert } from 'node:assert';
import { createHmac, randomBytes } from 'node:crypto';
import { PyTuple } from '../../src/mp/pyValue';
import { eventually, TEST_KEY } from '../helpers/harness';
import { answerFor, MpTestClient, proxyFor, python3, python312, runPython, startMpServer, type MpServer } from './mpHelpers';

/** A seed-style client: connect(), a queue proxy, a put and a get; prints what it got. */
const ROUND_TRIP = `
import sys, queue
from multiprocessing.managers import BaseManager
BaseManager.register('get_task_queue')
m = BaseManager(address=('127.0.0.1', int(sys.argv[1])), authkey=sys.argv[2].encode())
m.connect()
q = m.get_task_queue()
q.put({'hello': sys.version_info[:2]})
print('got', q.get(timeout=5), flush=True)
try:
    q.get(timeout=0.1)
except queue.Empty:
    print('empty', flush=True)
try:
    q.get(timeout=-1)
except ValueError as e:
    print('ValueError:', e, flush=True)
`;

describe('mp: the multiprocessing listener handshake', function () {
  this.timeout(60_000);
  let mp: MpServer;

  beforeEach(async () => {
    mp = await startMpServer({ limits: { handshakeTimeout: 1, authFailureDelay: 50 } });
  });

  afterEach(async () => {
    await mp.stop();
  });

  it("admits the machine's python3 (its own handshake) and serves it", async () => {
    const { code, output } = await runPython(python3(), ROUND_TRIP, [String(mp.mpPort), TEST_KEY.toString()]);
    assert.equal(code, 0, output);
    assert.match(output, /^got \{'hello': \[3, \d+\]\}\nempty\nValueError: 'timeout' must be a non-negative number\n$/);
  });

  it('speaks the {sha256} handshake of CPython 3.12+ (a real 3.12+ when the machine has one, else the documented format)', async function () {
    const modern = python312();
    if (modern) {
      console.log(`      (with ${modern.command}, Python ${modern.version})`);
      const { code, output } = await runPython(modern.command, ROUND_TRIP, [String(mp.mpPort), TEST_KEY.toString()], { PYENV_VERSION: '' });
      assert.equal(code, 0, output);
      assert.match(output, new RegExp(`^got \\{'hello': \\[${modern.version.replace('.', ', ')}\\]\\}\\nempty\\nValueError: 'timeout' must be a non-negative number\\n$`));
    } else {
      console.log('      (no Python 3.12+ on this machine: the 3.12 handshake is spoken by the test client, from the documented format)');
    }
    // Always, whatever the machine has: the 3.12 handshake from the documented format, both ways.
    const { client, ident } = await proxyFor(mp.mpPort, TEST_KEY, 'get_task_queue', 'sha256');
    assert.deepEqual(await client.call(ident, 'put', ['x']), ['#RETURN', null]);
    assert.deepEqual(await client.call(ident, 'get', []), ['#RETURN', 'x']);
    client.close();
  });

  it('speaks the handshake of CPython ≤ 3.11: a bare HMAC-MD5 answer, and a 20-byte challenge answered with one', async () => {
    const { client, ident } = await proxyFor(mp.mpPort, TEST_KEY, 'get_task_queue', 'legacy');
    assert.deepEqual(await client.call(ident, 'qsize'), ['#RETURN', 0n]);
    client.close();
  });

  it('refuses a wrong authkey: python3 raises AuthenticationError, in bounded time', async () => {
    const started = Date.now();
    const { code, output } = await runPython(
      python3(),
      `
import sys
from multiprocessing.managers import BaseManager
from multiprocessing import AuthenticationError
m = BaseManager(address=('127.0.0.1', int(sys.argv[1])), authkey=b'wrong key')
try:
    m.connect()
except AuthenticationError as e:
    print('AuthenticationError:', e)
`,
      [String(mp.mpPort)],
    );
    assert.equal(code, 0, output);
    assert.equal(output, 'AuthenticationError: digest sent was rejected\n');
    assert.ok(Date.now() - started < 10_000);
    assert.equal(mp.running.server.stats().authFailures, 1);
  });

  for (const [what, answer] of [
    ['a digest CPython does not allow ({sha1})', (message: Buffer) => Buffer.concat([Buffer.from('{sha1}'), createHmac('sha1', TEST_KEY).update(message).digest()])],
    ['a {sha256} answer with a wrong MAC', () => Buffer.concat([Buffer.from('{sha256}'), randomBytes(32)])],
    ['a bare MD5 answer made with another key', (message: Buffer) => createHmac('md5', 'another key').update(message).digest()],
    ['a {sha256} answer over the message without its prefix', (message: Buffer) => answerFor(TEST_KEY, message.subarray(8), 'sha256')],
  ] as const) {
    it(`refuses ${what}: #FAILURE#, then closes`, async () => {
      const client = await MpTestClient.open(mp.mpPort);
      const challenge = await client.receive();
      assert.equal(challenge.subarray(0, 19).toString('latin1'), '#CHALLENGE#{sha256}');
      assert.equal(challenge.length, 11 + 8 + 40);
      client.send(answer(challenge.subarray(11)));
      assert.equal((await client.receive()).toString('latin1'), '#FAILURE#');
      await client.closed(5_000);
    });
  }

  it('closes a client that never answers the challenge at the handshake deadline', async () => {
    const client = await MpTestClient.open(mp.mpPort);
    const started = Date.now();
    await client.receive(); // the challenge
    await client.closed(10_000);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 800 && elapsed < 8_000, `closed after ${elapsed} ms (deadline 1 s)`);
  });

  it('closes a client that answers but never sends its own challenge, at the same deadline', async () => {
    const client = await MpTestClient.open(mp.mpPort);
    const challenge = await client.receive();
    client.send(answerFor(TEST_KEY, challenge.subarray(11), 'sha256'));
    assert.equal((await client.receive()).toString('latin1'), '#WELCOME#');
    await client.closed(10_000);
  });

  it('backs off an address after failed proofs (shared with the manager port): even the right key is refused until it ends', async () => {
    await mp.stop();
    mp = await startMpServer({ limits: { authFailureDelay: 3000 } });
    // Five failures are free; the sixth earns the address a back-off of authFailureDelay (3 s),
    // from the moment it is checked (its #FAILURE# comes after the same delay).
    const guesses = await Promise.all(Array.from({ length: 6 }, () => MpTestClient.open(mp.mpPort)));
    for (const client of guesses) await client.receive(); // the challenge
    for (const client of guesses) client.send(randomBytes(16));
    const answered = Promise.all(guesses.map(async (client) => assert.equal((await client.receive()).toString('latin1'), '#FAILURE#')));
    await eventually(() => mp.running.server.stats().authFailures === 6);
    await Promise.all([
      assert.rejects(MpTestClient.connect(mp.mpPort, TEST_KEY), /the manager answered #FAILURE#/),
      // The manager's own port counts the same failures.
      assert.rejects(mp.running.client(), /too many failed authentications from this address/),
    ]);
    await answered;
    assert.equal(mp.running.server.stats().authFailures, 6, 'proofs sent while backing off are not checked');
  });

  it('refuses shutdown unless --mp-allow-shutdown, with the reason as a RemoteError', async () => {
    const client = await MpTestClient.connect(mp.mpPort, TEST_KEY);
    const [kind, text] = await client.call(null, 'shutdown');
    assert.equal(kind, '#TRACEBACK');
    assert.equal(text, 'Taskwire: shutdown is refused: the manager was started without --mp-allow-shutdown (stop it with Ctrl+C or SIGTERM)\n');
    await client.closed();
    const still = await MpTestClient.connect(mp.mpPort, TEST_KEY);
    assert.deepEqual(await still.call(null, 'dummy'), ['#RETURN', null]);
  });

  it('with allowShutdown, a shutdown request stops the manager', async () => {
    await mp.stop();
    mp = await startMpServer({}, { allowShutdown: true });
    const client = await MpTestClient.connect(mp.mpPort, TEST_KEY);
    assert.deepEqual(await client.call(null, 'shutdown'), ['#RETURN', null]);
    await mp.running.server.closed;
  });

  it('answers the manager requests connect() and proxies send, and a clear RemoteError text for the rest', async () => {
    const manager = async (method: string, args: unknown[] = []) => {
      const client = await MpTestClient.connect(mp.mpPort, TEST_KEY);
      const reply = await client.call(null, method, args as never);
      await client.closed();
      return reply;
    };
    assert.deepEqual(await manager('dummy'), ['#RETURN', null]);
    const [, created] = await manager('create', ['get_task_queue']);
    assert.ok(created instanceof PyTuple);
    assert.equal(created.items[0], 'get_task_queue:task');
    assert.deepEqual((created.items[1] as PyTuple).items, ['empty', 'full', 'get', 'get_nowait', 'join', 'put', 'put_nowait', 'qsize', 'task_done']);
    assert.deepEqual(await manager('incref', ['get_task_queue:task']), ['#RETURN', null]);
    assert.deepEqual(await manager('decref', ['get_task_queue:task']), ['#RETURN', null]);
    assert.deepEqual(await manager('number_of_objects'), ['#RETURN', 1n]);
    assert.match(String((await manager('debug_info'))[1]), /get_task_queue:task: queue "task" \(type id get_task_queue\)/);
    assert.deepEqual(await manager('create', ['get_task_queue', 1]), ['#TRACEBACK', 'Taskwire: get_task_queue() takes no arguments here: a type id stands for a Taskwire queue\n']);
    assert.deepEqual(await manager('frobnicate'), [
      '#TRACEBACK',
      'Taskwire: unknown manager request "frobnicate": supported are dummy, create, incref, decref, accept_connection, get_methods, debug_info, number_of_objects, shutdown\n',
    ]);
    const { client, ident } = await proxyFor(mp.mpPort, TEST_KEY, 'get_task_queue');
    assert.deepEqual(await client.call(ident, 'pop'), [
      '#TRACEBACK',
      'Taskwire: "pop" is not a method of a Taskwire queue proxy: supported are empty, full, get, get_nowait, join, put, put_nowait, qsize, task_done\n',
    ]);
    client.close();
  });
});
