import { strict as assert } from 'node:assert';
import { loadServerCases } from '../../src/conformance/cases';
import type { CaseResult } from '../../src/conformance/results';
import { brokenServerCmd, runAgainst } from './kit';

function failedIds(results: CaseResult[]): string[] {
  return results
    .filter((r) => r.verdict === 'fail')
    .map((r) => r.id)
    .sort();
}

/** Ids of the cases whose file text contains `needle` (what a broken behaviour must trip). */
function casesMentioning(needle: string, prefixes: string[]): string[] {
  return loadServerCases()
    .filter((c) => prefixes.some((p) => c.id.startsWith(p)) && JSON.stringify(c).includes(needle))
    .map((c) => c.id)
    .sort();
}

describe('conformance kit against a deliberately broken server', function () {
  this.timeout(600_000);

  it('a server that accepts any proof fails the bad-proof, uppercase-proof and replay cases, and only those', async () => {
    const results = await runAgainst(brokenServerCmd('accept-any-proof'), (id) => id.startsWith('handshake.'));
    assert.deepEqual(failedIds(results), ['handshake.bad-proof', 'handshake.replayed-proof', 'handshake.uppercase-proof']);
    const bad = results.find((r) => r.id === 'handshake.bad-proof')!;
    assert.match(bad.reason!, /session\/authenticate.*at \/error: expected an object/);
    assert.match(bad.actual!, /"result":\{"sessionId"/);
  });

  it('a server that resets the attempt count fails every case that expects attempt 2', async () => {
    const prefixes = ['lease.', 'task.'];
    const results = await runAgainst(brokenServerCmd('reset-attempt'), (id) => prefixes.some((p) => id.startsWith(p)));
    const expected = casesMentioning('"attempt":2', prefixes);
    assert.ok(expected.length >= 4);
    // The proxy parses and serializes again every task it delivers, which turns 1e400 into null:
    // it is also a server task.payload-opaque catches (spec §7.17).
    assert.deepEqual(failedIds(results), [...expected, 'task.payload-opaque'].sort());
    for (const r of results.filter((x) => x.verdict === 'fail')) {
      assert.match(r.reason!, r.id === 'task.payload-opaque' ? /\/payload\/a\/1: expected Infinity, got null/ : /\/attempt: expected 2, got 1/);
    }
  });

  it('a server that drops the attempt member fails on the schema, naming it', async () => {
    const results = await runAgainst(brokenServerCmd('drop-attempt'), (id) => id === 'queue.put-get-ack' || id === 'session.ping');
    const get = results.find((r) => r.id === 'queue.put-get-ack')!;
    assert.equal(get.verdict, 'fail');
    assert.match(get.reason!, /protocol violation: .*queue\/get result does not match the spec: .*attempt/);
    assert.equal(results.find((r) => r.id === 'session.ping')!.verdict, 'pass');
  });

  it('a server that answers with a wrong id fails every NDJSON case that pings, with a clear message', async () => {
    const prefixes = ['framing.', 'session.', 'handshake.'];
    const results = await runAgainst(brokenServerCmd('wrong-id'), (id) => prefixes.some((p) => id.startsWith(p)));
    // The fixture alters NDJSON only: the Content-Length case goes through untouched.
    const expected = casesMentioning('session/ping', prefixes).filter((id) => id !== 'framing.content-length');
    assert.deepEqual(failedIds(results), expected);
    const ping = results.find((r) => r.id === 'session.ping')!;
    assert.match(ping.reason!, /response to id 100\d, but no request with that id is waiting/);
  });

  it('a server that ignores $/cancelRequest fails every cancellation case', async () => {
    const prefixes = ['framing.', 'queue.'];
    const results = await runAgainst(brokenServerCmd('ignore-cancel'), (id) => prefixes.some((p) => id.startsWith(p)));
    assert.deepEqual(failedIds(results), casesMentioning('-32800', prefixes));
    assert.ok(failedIds(results).includes('queue.get-cancel'));
  });
});
