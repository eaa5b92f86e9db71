import { strict as assert } from 'node:assert';
import { loadClientCases, loadServerCases } from '../../src/conformance/cases';
import { runClientCases } from '../../src/conformance/clientRunner';
import type { CaseResult } from '../../src/conformance/results';
import { brokenServerCmd, misbehavingDriverCmd, PYTHON_DRIVER, REFERENCE_SERVER_CMD, runAgainst, TYPESCRIPT_DRIVER } from './kit';

function failures(results: CaseResult[]): string {
  return results
    .filter((r) => r.verdict === 'fail')
    .map((r) => `${r.id}: ${r.reason}\n  expected: ${r.expected}\n  actual: ${r.actual}`)
    .join('\n');
}

describe('conformance kit against the reference server', function () {
  this.timeout(600_000);

  it('passes every server case, options and exclusive ones included; over plain TCP, the TLS cases are skipped saying why, and so is the case for servers without ackNext', async () => {
    const results = await runAgainst(REFERENCE_SERVER_CMD);
    assert.equal(results.length, loadServerCases().length);
    assert.equal(failures(results), '');
    const skipped = results.filter((r) => r.verdict === 'skipped');
    const tlsCases = loadServerCases().filter((c) => c.server?.tls);
    // The reference server announces every optional feature: a case about its absence does not apply.
    const withoutAckNext = loadServerCases().filter((c) => c.server?.capabilities?.['ackNext'] === false);
    assert.deepEqual(
      skipped.map((r) => r.id),
      loadServerCases()
        .filter((c) => c.server?.tls || c.server?.capabilities?.['ackNext'] === false)
        .map((c) => c.id),
    );
    assert.ok(tlsCases.length > 0 && withoutAckNext.length > 0);
    for (const r of skipped) {
      const reason = withoutAckNext.some((c) => c.id === r.id)
        ? 'checks a server without capabilities.ackNext; this one announces it'
        : 'checks TLS: run with --tls (the kit makes a certificate for a server it starts) or --tls-ca FILE';
      assert.equal(r.reason, reason);
    }
  });

  it('passes the Python client through its driver in the kit’s server mode', async () => {
    const results = await runClientCases(loadClientCases(), { command: `python3 "${PYTHON_DRIVER}"` });
    assert.equal(failures(results), '');
    assert.equal(results.filter((r) => r.verdict === 'pass').length, loadClientCases().length);
  });

  it('passes the TypeScript client through its shipped driver', async () => {
    const results = await runClientCases(loadClientCases(), { command: `"${process.execPath}" "${TYPESCRIPT_DRIVER}"` });
    assert.equal(failures(results), '');
    assert.equal(results.filter((r) => r.verdict === 'pass').length, loadClientCases().length);
  });

  it('fails a driver that never connects', async () => {
    // `true` exits at once without an outcome: every case must fail, none pass or hang.
    const results = await runClientCases(
      loadClientCases().filter((c) => c.id === 'client.bad-server-proof' || c.id === 'client.put'),
      { command: 'true' },
    );
    assert.deepEqual(
      results.map((r) => r.verdict),
      ['fail', 'fail'],
    );
    assert.match(results[0]!.reason!, /expected the client to open connection c1/);
  });

  const handshakeAndPut = (id: string) => ['client.handshake', 'client.bad-server-proof', 'client.put'].includes(id);

  it('fails a client that accepts a wrong server proof in the bad-proof case, and only there', async () => {
    const results = await runClientCases(
      loadClientCases().filter((c) => handshakeAndPut(c.id)),
      { command: misbehavingDriverCmd('accept-any-server-proof') },
    );
    assert.deepEqual(
      results.map((r) => [r.id, r.verdict]),
      [
        ['client.handshake', 'pass'],
        ['client.bad-server-proof', 'fail'],
        ['client.put', 'pass'],
      ],
    );
    const bad = results[1]!;
    assert.match(bad.reason!, /expected the client to close connection c1/);
    assert.match(bad.actual!, /session\/ping/);
  });

  it('fails a client that sends malformed queue/put params in the put case', async () => {
    const results = await runClientCases(
      loadClientCases().filter((c) => c.id === 'client.handshake' || c.id === 'client.put'),
      { command: misbehavingDriverCmd('malformed-put') },
    );
    assert.deepEqual(
      results.map((r) => r.verdict),
      ['pass', 'fail'],
    );
    assert.match(results[1]!.reason!, /queue\/put params at \/tasks: expected an array/);
  });

  it('passes a worker loop that uses next exactly when ackNext is announced, and fails one that always sends it in the case without', async () => {
    // The work cases about ackNext (client.work-stops, about session/state, is another matter).
    const workCases = loadClientCases().filter((c) => c.operation === 'work' && c.id.includes('ack-next'));
    assert.deepEqual(
      workCases.map((c) => c.id),
      ['client.work-ack-next', 'client.work-without-ack-next'],
    );
    const right = await runClientCases(workCases, { command: misbehavingDriverCmd('work-ack-next') });
    assert.equal(failures(right), '');
    assert.deepEqual(
      right.map((r) => r.verdict),
      ['pass', 'pass'],
    );
    const always = await runClientCases(workCases, { command: misbehavingDriverCmd('work-always-next') });
    assert.deepEqual(
      always.map((r) => r.verdict),
      ['pass', 'fail'],
    );
    assert.equal(always[1]!.reason, 'step 5: task/ack params at /next: expected no member here, got {"queue":"cf-client.work-without-ack-next","timeout":1}');
  });

  it('skips a case at once when the driver reports its operation unsupported, before connecting', async () => {
    const started = Date.now();
    const results = await runClientCases(
      loadClientCases().filter((c) => c.id === 'client.reconnect'),
      { command: misbehavingDriverCmd('unsupported') },
    );
    assert.equal(results[0]!.verdict, 'skipped');
    assert.match(results[0]!.reason!, /does not support reconnect/);
    // Well under the 10 s an accept step waits for a connection.
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });

  it('skips cases needing a server option the --server-cmd template cannot pass, saying which', async () => {
    const results = await runAgainst(brokenServerCmd('wrong-id').replace(/\{maxBatch\?[^}]*\}/, ''), (id) => id === 'queue.put-batch-limit');
    assert.equal(results[0]!.verdict, 'skipped');
    assert.match(results[0]!.reason!, /maxBatch/);
  });
});
