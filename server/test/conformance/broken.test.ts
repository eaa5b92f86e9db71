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

/** Why each case failed: the message of an assertion on failedIds, so a surprise explains itself. */
function whyFailed(results: CaseResult[]): string {
  const failed = results.filter((r) => r.verdict === 'fail');
  return failed.length === 0 ? 'no case failed' : failed.map((r) => `${r.id}: ${r.reason}`).join('\n');
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
    assert.deepEqual(failedIds(results), ['handshake.bad-proof', 'handshake.replayed-proof', 'handshake.uppercase-proof'], whyFailed(results));
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
    assert.deepEqual(failedIds(results), [...expected, 'task.payload-opaque'].sort(), whyFailed(results));
    for (const r of results.filter((x) => x.verdict === 'fail')) {
      assert.match(r.reason!, r.id === 'task.payload-opaque' ? /\/payload\/a\/1: expected Infinity, got null/ : /\/attempt: expected 2, got 1/);
    }
  });

  it('a server that sends 1006 to a session of 2026-11 fails on the version, naming the code', async () => {
    const results = await runAgainst(brokenServerCmd('store-unavailable'), (id) => id === 'version.2026-11-still-served' || id === 'session.ping');
    const legacy = results.find((r) => r.id === 'version.2026-11-still-served')!;
    assert.equal(legacy.verdict, 'fail');
    assert.match(legacy.reason!, /protocol violation: .*error 1006 was sent to a session of protocol 2026-11, which does not have that code; it gets -32603 instead/);
    assert.equal(results.find((r) => r.id === 'session.ping')!.verdict, 'pass');
  });

  it('a server that does not say which manager answers fails the 2026-12 cases that need it, and only those', async () => {
    const results = await runAgainst(brokenServerCmd('without-manager-id'), (id) => id.startsWith('version.'));
    assert.deepEqual(failedIds(results), ['version.2026-12-negotiated', 'version.manager-in-clients', 'version.manager-on-events'], whyFailed(results));
    assert.match(results.find((r) => r.id === 'version.2026-12-negotiated')!.reason!, /managerId/);
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
    assert.deepEqual(failedIds(results), expected, whyFailed(results));
    const ping = results.find((r) => r.id === 'session.ping')!;
    assert.match(ping.reason!, /response to id 100\d, but no request with that id is waiting/);
  });

  it('a server that ignores $/cancelRequest fails every cancellation case', async () => {
    const prefixes = ['framing.', 'queue.'];
    const results = await runAgainst(brokenServerCmd('ignore-cancel'), (id) => prefixes.some((p) => id.startsWith(p)));
    assert.deepEqual(failedIds(results), casesMentioning('-32800', prefixes), whyFailed(results));
    assert.ok(failedIds(results).includes('queue.get-cancel'));
  });
});

describe('conformance kit and the optional ack with next (§5.9.1)', function () {
  this.timeout(600_000);
  const ackNextCases = loadServerCases().filter((c) => c.id.startsWith('task.ack-next'));
  const needing = (announced: boolean) =>
    ackNextCases
      .filter((c) => c.server?.capabilities?.['ackNext'] === announced)
      .map((c) => c.id)
      .sort();

  it('a server without capabilities.ackNext skips the cases that need it, saying why, and passes the one for servers without it', async () => {
    const results = await runAgainst(brokenServerCmd('without-ack-next'), (id) => id.startsWith('task.ack-next'));
    assert.deepEqual(failedIds(results), [], whyFailed(results));
    const skipped = results.filter((r) => r.verdict === 'skipped');
    assert.deepEqual(skipped.map((r) => r.id).sort(), needing(true));
    assert.ok(skipped.length >= 10);
    for (const r of skipped) assert.equal(r.reason, 'needs a server that announces capabilities.ackNext (an optional feature); this one does not');
    assert.deepEqual(
      results.filter((r) => r.verdict === 'pass').map((r) => r.id),
      needing(false),
    );
  });

  it('a server that announces ackNext but ignores next fails every case that takes or refuses through next', async () => {
    const results = await runAgainst(brokenServerCmd('ignore-ack-next'), (id) => id.startsWith('task.ack-next'));
    // An unknown lease is refused (1003) with or without next: only that case passes.
    assert.deepEqual(
      failedIds(results),
      needing(true).filter((id) => id !== 'task.ack-next-lease-unknown'),
    );
    const leases = results.find((r) => r.id === 'task.ack-next-leases')!;
    assert.match(leases.reason!, /the answer to task\/ack \(id \d+\) on connection a: at \/result\/tasks: expected an array, got nothing/);
    assert.equal(results.find((r) => r.id === 'task.ack-next-not-announced')!.reason, 'checks a server without capabilities.ackNext; this one announces it');
  });
});
