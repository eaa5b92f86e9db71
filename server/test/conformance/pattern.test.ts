import { strict as assert } from 'node:assert';
import { expandCommand, splitCommandLine } from '../../src/conformance/commandTemplate';
import { match, substitute, type Variables } from '../../src/conformance/pattern';
import { escapeXml } from '../../src/conformance/reporters';
import { clientProof } from '../../src/protocol/auth';

describe('conformance pattern language', () => {
  it('matches objects partially, arrays exactly, and type words', () => {
    const vars: Variables = new Map();
    assert.equal(match({ result: { tasks: [{ attempt: 1 }] } }, { id: 1, result: { tasks: [{ attempt: 1, id: 't' }] } }, vars), undefined);
    assert.deepEqual(match({ result: { tasks: [{ attempt: 2 }] } }, { result: { tasks: [{ attempt: 1 }] } }, vars), { path: '/result/tasks/0/attempt', reason: 'expected 2, got 1' });
    assert.ok(match({ tasks: [] }, { tasks: [1] }, vars));
    assert.equal(match({ time: '$timestamp', n: '$integer' }, { time: '2026-11-03T09:14:07.512Z', n: 3 }, vars), undefined);
    assert.ok(match({ leaseUntil: '$absent' }, { leaseUntil: 'x' }, vars));
    assert.ok(match({ n: '$integer' }, { n: 1.5 }, vars));
  });

  it('names numbers out of double range in a failure, where JSON would write null', () => {
    // 1e400 in a case file parses as Infinity; a server that serializes it again sends null.
    /* eslint-disable no-loss-of-precision -- 1e400 is written as a case file writes it; it is Infinity here too */
    assert.deepEqual(match({ a: [1e400] }, { a: [null] }, new Map()), { path: '/a/0', reason: 'expected Infinity, got null' });
    assert.deepEqual(match({ a: -1e400 }, { a: 0 }, new Map()), { path: '/a', reason: 'expected -Infinity, got 0' });
    assert.equal(match({ a: [1e400] }, { a: [Infinity] }, new Map()), undefined);
    /* eslint-enable no-loss-of-precision */
  });

  it('captures only when the whole match succeeds, and substitutes with the JSON type kept', () => {
    const vars: Variables = new Map();
    assert.ok(match({ id: { $capture: 'x' }, ok: true }, { id: 7, ok: false }, vars));
    assert.equal(vars.has('x'), false);
    assert.equal(match({ id: { $capture: 'x' }, ok: true }, { id: 7, ok: true }, vars), undefined);
    const context = { variables: vars, authkey: Buffer.from('k') };
    assert.deepEqual(substitute({ id: '${x}', text: 'task ${x}' }, context), { id: 7, text: 'task 7' });
    assert.throws(() => substitute('${nope}', context), /before anything set it/);
  });

  it('computes nonces and proofs', () => {
    const vars: Variables = new Map([
      ['sn', 'S'],
      ['cn', 'C'],
    ]);
    const proof = substitute({ $clientProof: { serverNonce: '${sn}', clientNonce: '${cn}', version: '2026-11' } }, { variables: vars, authkey: Buffer.from('biu') });
    assert.equal(proof, clientProof(Buffer.from('biu'), 'S', 'C', '2026-11'));
    const nonce = substitute({ $nonce: 'mine' }, { variables: vars, authkey: Buffer.from('biu') });
    assert.equal(Buffer.from(String(nonce), 'base64').length, 32);
    assert.equal(vars.get('mine'), nonce);
  });

  it('expands command templates without a shell', () => {
    assert.deepEqual(splitCommandLine(`a "b c" 'd e' f\\ g`), ['a', 'b c', 'd e', 'f g']);
    const template = 'serve --port {port} --key "{authkeyFile}" {ttr?--ttr $} {noAutoCreate?--no-auto-create}';
    assert.deepEqual(expandCommand(template, { port: 5, authkeyFile: '/tmp/a b' }), ['serve', '--port', '5', '--key', '/tmp/a b']);
    assert.deepEqual(expandCommand(template, { port: 5, authkeyFile: 'k', ttr: 1, noAutoCreate: true }), ['serve', '--port', '5', '--key', 'k', '--ttr', '1', '--no-auto-create']);
    // A value with spaces (a path) stays one argument; `$` patterns in a value are not special.
    assert.deepEqual(expandCommand('serve {tlsCert?--tls-cert $} {tlsKey?--key=$}', { tlsCert: '/tmp/a b/cert.pem', tlsKey: '/k$&' }), ['serve', '--tls-cert', '/tmp/a b/cert.pem', '--key=/k$&']);
    assert.throws(() => expandCommand('serve {prot}', {}), /unknown placeholder \{prot\}/);
  });

  it('escapes XML', () => {
    assert.equal(escapeXml(`<a href="x">&'\u0001`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});
