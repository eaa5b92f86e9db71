// Connection floods beyond maxConnections, floods of unauthenticated connections from one
// address, and handshake brute force. Everything connects to 127.0.0.1; a second source
// address on the loopback interface (127.0.0.2) plays the attacker's machine where a test
// needs two.
import { strict as assert } from 'node:assert';
import { clientProof } from '../../src/protocol/auth';
import { eventually } from '../helpers/harness';
import { expectError, TEST_KEY, useFixture } from '../server/fixture';
import { bystander, HostileConnection, managerStats, recordingLogger, sleep } from './util';

const ATTACKER = '127.0.0.2';

describe('hardening: floods and brute force', function () {
  this.timeout(60_000);
  const fx = useFixture();

  async function open(port: number, localAddress?: string): Promise<HostileConnection> {
    return fx.track(await HostileConnection.open(port, 'ndjson', localAddress));
  }

  it('refuses a flood beyond maxConnections with 1005, serves the connected clients throughout, and recovers when it ends', async () => {
    const log = recordingLogger();
    const max = 20;
    const { server, port } = await fx.server({ log, limits: { maxConnections: max } });
    const witness = await bystander(fx, port);
    const others = await Promise.all(Array.from({ length: max - 1 }, () => open(port)));
    for (const other of others) assert.ok((await other.handshake(TEST_KEY, 'resident')).result);
    assert.equal(server.connectionCount, max);

    const flood = await Promise.all(Array.from({ length: 400 }, () => open(port)));
    for (const conn of flood) conn.send('session/hello', { protocolVersions: ['2026-11'], nonce: Buffer.alloc(32, 9).toString('base64'), client: { name: 'flood' } });
    // Served while the flood is on.
    await witness.raw.request('session/ping', {});
    for (const conn of flood) await conn.waitForClose(10_000);
    const answered = flood.filter((conn) => conn.messages.length > 0);
    // Up to 256 refusals at once are explained; beyond, they are closed without a word.
    assert.ok(answered.length >= 100, `${answered.length} of 400 refusals answered`);
    for (const conn of answered) {
      assert.equal(conn.messages.length, 1);
      expectError(conn.messages[0], 1005, `limit exceeded: the manager serves at most ${max} connections`, { limit: 'maxConnections', max, reason: 'limit_exceeded' });
    }
    const during = await managerStats(witness.raw);
    assert.equal(during.connections.refused, 400);
    assert.equal(during.connections.current, max);
    // One log line for 400 refusals (the rest are summed up at the end of the interval).
    assert.equal(log.matching(/^connection refused/).length, 1);

    for (const other of others) assert.ok((await other.request('session/ping', {})).result, 'every resident is served');
    await witness.check();
    for (const other of others) other.close();
    await eventually(() => server.connectionCount === 1, 5000, 'the residents to leave');
    // The flood is over: new clients get in again.
    const newcomers = await Promise.all(Array.from({ length: 5 }, () => open(port)));
    for (const conn of newcomers) assert.ok((await conn.handshake(TEST_KEY, 'newcomer')).result);
  });

  it('at maxHandshakesPerAddress, the oldest connection still authenticating from that address makes room (silent ones first); authenticated ones and other addresses are not affected', async () => {
    const max = 10;
    const { server, port } = await fx.server({ limits: { maxHandshakesPerAddress: max, handshakeTimeout: 30, helloTimeout: 30 } });
    const witness = await bystander(fx, port);
    const hello = (conn: HostileConnection, name: string) => conn.request('session/hello', { protocolVersions: ['2026-11'], nonce: Buffer.alloc(32, 1).toString('base64'), client: { name } });
    // The attacker's address: five connections that said hello, then five silent ones.
    const greeted: HostileConnection[] = [];
    const serverNonces: string[] = [];
    for (let i = 0; i < 5; i++) {
      const conn = await open(port, ATTACKER);
      const answer = await hello(conn, 'greeted');
      assert.ok(answer.result);
      greeted.push(conn);
      serverNonces.push(answer.result.nonce);
    }
    const silent: HostileConnection[] = [];
    for (let i = 0; i < 5; i++) silent.push(await open(port, ATTACKER));
    await eventually(() => server.connectionCount === 11, 5000, 'the attacker connections');

    // Five newcomers get in: each closes the oldest silent one, without a word (it never spoke).
    const newcomers: HostileConnection[] = [];
    for (let i = 0; i < 5; i++) {
      const conn = await open(port, ATTACKER);
      assert.ok((await hello(conn, 'newcomer')).result, 'the newcomer is served');
      newcomers.push(conn);
      await silent[i]!.waitForClose();
      assert.deepEqual(silent[i]!.messages, []);
    }
    for (const conn of greeted) assert.ok(!conn.closed, 'greeted connections go after the silent ones');
    // No silent one left: the next newcomer closes the oldest greeted one, which is told why.
    const sixth = await open(port, ATTACKER);
    assert.ok((await hello(sixth, 'sixth')).result);
    const notice = await greeted[0]!.waitFor((m) => m.id === null);
    expectError(notice, 1005, `limit exceeded: closed to make room for a newer connection; at most ${max} connections from one address may be authenticating at once`, {
      limit: 'maxHandshakesPerAddress',
      max,
      reason: 'limit_exceeded',
    });
    await greeted[0]!.waitForClose();

    // An authenticated connection no longer counts, and is never chosen.
    const proof = clientProof(TEST_KEY, serverNonces[1]!, Buffer.alloc(32, 1).toString('base64'), '2026-11');
    assert.ok((await greeted[1]!.request('session/authenticate', { proof })).result);
    for (let i = 0; i < 2 * max; i++) {
      const conn = await open(port, ATTACKER);
      assert.ok((await hello(conn, 'churn')).result);
    }
    assert.ok((await greeted[1]!.request('session/ping', {})).result, 'the authenticated one is still served');
    // Another address is not affected at all.
    const legit = await open(port);
    assert.ok((await legit.handshake(TEST_KEY, 'legit')).result);
    const stats = await managerStats(witness.raw);
    assert.equal(stats.connections.refused, 0);
    assert.ok(stats.connections.dropped >= 5 + 1 + 2 * max - 1, JSON.stringify(stats.connections));
    await witness.check();
  });

  it('answers every wrong proof with -32001 after the delay and no detail, lets a correct client in meanwhile, and logs it at a bounded rate', async () => {
    // Each guess from an address of its own (127.1.x.y): from one address, the shared back-off
    // would refuse most of them unchecked (see admission.test.ts).
    const guesser = (i: number) => `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const log = recordingLogger();
    const delay = 100;
    const { server, port } = await fx.server({ log, limits: { authFailureDelay: delay } });
    const witness = await bystander(fx, port);
    const attempts = 400;
    const parallel = 40;
    const timings: number[] = [];
    const badProofs: unknown[] = [
      'f'.repeat(64),
      '0'.repeat(64),
      'F'.repeat(64), // upper case is never right
      'f'.repeat(63),
      '',
      42,
      null,
      ['f'.repeat(64)],
    ];
    const attacker = async (index: number) => {
      for (let i = index; i < attempts; i += parallel) {
        const conn = await open(port, guesser(i));
        const hello = await conn.request('session/hello', { protocolVersions: ['2026-11'], nonce: Buffer.alloc(32, i % 256).toString('base64'), client: { name: 'guesser' } });
        assert.ok(hello.result);
        const proof = i % 10 === 0 ? badProofs[(i / 10) % badProofs.length] : Buffer.alloc(32, i % 256).toString('hex');
        const params = i % 37 === 0 ? { proof, extra: true } : i % 41 === 0 ? 'not an object' : { proof };
        const sent = Date.now();
        const answer = await conn.request('session/authenticate', params, 5000);
        timings.push(Date.now() - sent);
        // Exactly the registry's error: no message detail, no data, whatever was wrong.
        assert.deepEqual(answer, { jsonrpc: '2.0', id: answer.id, error: { code: -32001, message: 'authentication failed' } });
        await conn.waitForClose();
        conn.close();
      }
    };
    const attack = Promise.all(Array.from({ length: parallel }, (_, i) => attacker(i)));
    await sleep(300);
    // In the middle of the attack, the right key gets in at once.
    const started = Date.now();
    const legit = await open(port);
    assert.ok((await legit.handshake(TEST_KEY, 'legit-during-attack')).result);
    const legitTime = Date.now() - started;
    await attack;

    assert.equal(timings.length, attempts);
    assert.ok(Math.min(...timings) >= delay - 5, `an answer came after ${Math.min(...timings)} ms`);
    assert.ok(legitTime < 1000, `the correct client took ${legitTime} ms`);
    const stats = await managerStats(witness.raw);
    assert.equal(stats.authFailures, attempts);
    const lines = log.matching(/^authentication failed/);
    assert.equal(lines.length, 1, `${lines.length} log lines for ${attempts} failures`);
    assert.ok(!JSON.stringify(log.entries).includes(TEST_KEY.toString()), 'the key is never logged');
    await eventually(() => server.connectionCount === 2, 5000, 'the guessers to be gone');
    await witness.check();
  });
});
