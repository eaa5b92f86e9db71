import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readPickle } from '../../src/mp/pickleReader';
import { WARM_UP_REQUESTS, warmUpCodec } from '../../src/mp/warmUp';
import { python3 } from './mpHelpers';

describe('mp: the codec warm-up at start', () => {
  it("reads samples that are the requests the machine's CPython proxy sends, and runs over them without an error", () => {
    // What the seed's proxies send, pickled the way multiprocessing.connection does.
    const code = [
      'from multiprocessing.reduction import ForkingPickler',
      "t, r = 'get_task_queue:tasks', 'get_result_queue:results'",
      "for req in [(t, 'put', ('image_url_12345',), {}), (t, 'get', (True,), {'timeout': 1}), (r, 'get', (), {'timeout': 120}), (t, 'qsize', (), {}), (r, 'put', ('image_url_12345 ---> success',), {})]:",
      '    print(bytes(ForkingPickler.dumps(req)).hex())',
    ].join('\n');
    const run = spawnSync(python3(), ['-c', code], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const cpython = run.stdout.trim().split('\n');
    assert.equal(WARM_UP_REQUESTS.length, cpython.length);
    WARM_UP_REQUESTS.forEach((framed, i) => {
      assert.equal(framed.readInt32BE(0), framed.length - 4, 'framed with its length');
      assert.deepEqual(readPickle(framed.subarray(4)), readPickle(Buffer.from(cpython[i]!, 'hex')));
    });
    assert.ok(warmUpCodec(3) >= 0);
  });
});
