import { strict as assert } from 'node:assert';
import { loadClientCases, loadServerCases } from '../../src/conformance/cases';
import { runClientCases } from '../../src/conformance/clientRunner';
import type { CaseResult } from '../../src/conformance/results';
import { brokenServerCmd, PYTHON_DRIVER, REFERENCE_SERVER_CMD, runAgainst } from './kit';

function failures(results: CaseResult[]): string {
  return results
    .filter((r) => r.verdict === 'fail')
    .map((r) => `${r.id}: ${r.reason}\n  expected: ${r.expected}\n  actual: ${r.actual}`)
    .join('\n');
}

describe('conformance kit against the reference server', function () {
  this.timeout(600_000);

  it('passes every server case, options and exclusive ones included', async () => {
    const results = await runAgainst(REFERENCE_SERVER_CMD);
    assert.equal(results.length, loadServerCases().length);
    assert.equal(failures(results), '');
    assert.deepEqual(results.filter((r) => r.verdict === 'skipped').map((r) => r.id), []);
  });

  it('passes the Python client through its driver in the kit’s server mode', async () => {
    const results = await runClientCases(loadClientCases(), { command: `python3 "${PYTHON_DRIVER}"` });
    assert.equal(failures(results), '');
    assert.equal(results.filter((r) => r.verdict === 'pass').length, loadClientCases().length);
  });

  it('fails a client that accepts a wrong server proof or never sends its request', async () => {
    // `true` exits at once: it connects to nothing, so every case must fail, none pass or hang.
    const results = await runClientCases(loadClientCases().filter((c) => c.id === 'client.bad-server-proof' || c.id === 'client.put'), { command: 'true' });
    assert.deepEqual(results.map((r) => r.verdict), ['fail', 'fail']);
    assert.match(results[0]!.reason!, /expected the client to open connection c1/);
  });

  it('skips cases needing a server option the --server-cmd template cannot pass, saying which', async () => {
    const results = await runAgainst(brokenServerCmd('wrong-id').replace(/\{maxBatch\?[^}]*\}/, ''), (id) => id === 'queue.put-batch-limit');
    assert.equal(results[0]!.verdict, 'skipped');
    assert.match(results[0]!.reason!, /maxBatch/);
  });
});
