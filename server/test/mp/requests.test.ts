import { strict as assert } from 'node:assert';
import { TEST_KEY } from '../helpers/harness';
import { python3, runPython, startMpServer, type MpServer } from './mpHelpers';

/** A program connecting like the seed's worker, to type ids get_small_queue and get_mixed_queue. */
const program = (body: string) => `
import sys, queue
from multiprocessing.managers import BaseManager
BaseManager.register('get_small_queue')
BaseManager.register('get_mixed_queue')
m = BaseManager(address=('127.0.0.1', int(sys.argv[1])), authkey=sys.argv[2].encode())
m.connect()
small = m.get_small_queue()
mixed = m.get_mixed_queue()
${body}
`;

describe('mp: queue proxy methods from CPython, and payloads shared with TypeScript', function () {
  this.timeout(60_000);
  let mp: MpServer;

  beforeEach(async () => {
    mp = await startMpServer({ queues: [{ name: 'small', maxsize: 1 }] });
  });

  afterEach(async () => {
    await mp.stop();
  });

  const run = async (body: string) => {
    const { code, output } = await runPython(python3(), program(body), [String(mp.mpPort), TEST_KEY.toString()]);
    assert.equal(code, 0, output);
    return output;
  };

  it('raises the real queue.Full and queue.Empty, and answers qsize, empty, full, task_done and join as queue.Queue does', async () => {
    const output = await run(`
small.put_nowait('a')
print('qsize', small.qsize(), 'empty', small.empty(), 'full', small.full())
for call in (lambda: small.put_nowait('b'), lambda: small.put('b', timeout=0.2), lambda: small.put('b', False)):
    try:
        call()
    except queue.Full as e:
        print('Full', type(e).__module__ + '.' + type(e).__qualname__)
print('got', small.get_nowait())
for call in (lambda: small.get_nowait(), lambda: small.get(timeout=0.2), lambda: small.get(False)):
    try:
        call()
    except queue.Empty as e:
        print('Empty', type(e).__module__ + '.' + type(e).__qualname__)
small.task_done()
small.join()
print('joined', small.qsize(), small.empty(), small.full())
`);
    assert.equal(
      output,
      [
        'qsize 1 empty False full True',
        'Full queue.Full',
        'Full queue.Full',
        'Full queue.Full',
        'got a',
        'Empty _queue.Empty',
        'Empty _queue.Empty',
        'Empty _queue.Empty',
        'joined 0 True False',
        '',
      ].join('\n'),
    );
  });

  it('a task put from Python is JSON for a TypeScript worker, and one put from TypeScript is Python data for a Python worker', async () => {
    const client = await mp.running.client();
    await run(`mixed.put({'url': 'a', 'size': (1, 2), 'raw': b'\\x00', 'ratio': 1.0, 'tags': {'x'}, 'none': None})`);
    const [task] = await client.queue('mixed').getMany(1, { timeout: 5 });
    assert.deepEqual(task!.payload, { url: 'a', size: [1, 2], raw: { $bytes: 'AA==' }, ratio: 1, tags: ['x'], none: null });
    await task!.ack();

    await client.queue('mixed').put({ n: 1, x: 1.5, big: 12345678901234567890n.toString(), list: [true, null, 'é'], raw: { $bytes: 'aGk=' } });
    const output = await run(`print(repr(mixed.get(timeout=5)))`);
    assert.equal(output, "{'n': 1, 'x': 1.5, 'big': '12345678901234567890', 'list': [True, None, 'é'], 'raw': b'hi'}\n");
  });

  it('refuses what has no JSON form with a RemoteError naming it, and the proxy keeps working', async () => {
    const output = await run(`
from multiprocessing.managers import RemoteError
for item in (2**64, float('inf'), {1: 'a'}, bytearray(b'x'), object()):
    try:
        mixed.put(item)
    except RemoteError as e:
        print(str(e).strip().splitlines()[1])
mixed.put('still fine')
print(mixed.get(timeout=5))
`);
    assert.equal(
      output,
      [
        'Taskwire: int 18446744073709551616 is too large: a JSON number holds integers up to ±(2**53 - 1) exactly (send it as a str)',
        'Taskwire: float Infinity has no JSON form (NaN and infinities are not JSON numbers)',
        'Taskwire: the request was refused, not unpickled: dict keys must be str (got a int): a dict becomes a JSON object',
        'Taskwire: the request was refused, not unpickled: forbidden global builtins.bytearray: only None, bool, int, float, str, bytes, tuple, list, dict, set are accepted',
        'Taskwire: the request was refused, not unpickled: forbidden global builtins.object: only None, bool, int, float, str, bytes, tuple, list, dict, set are accepted',
        'still fine',
        '',
      ].join('\n'),
    );
  });
});
