// The handshake over real TCP: session/hello, session/authenticate, mutual proofs, and every
// way a connection can fail to authenticate.
import { strict as assert } from 'node:assert';
import { clientProof, newNonce, serverProof } from '../../src/protocol/auth';
import { defaultMaxQueuedBytes } from '../../src/server/memoryBudget';
import { call, expectError, expectResult, expectServes, handshake, PROTOCOL_VERSION, sendHello, SHARED_STORE_VERSION, TEST_KEY, useFixture } from './fixture';

describe('server: handshake', () => {
  const fx = useFixture();

  it('completes a good handshake, and the server proves it knows the key', async () => {
    const { port } = await fx.server();
    const raw = await fx.open(port);
    const clientNonce = newNonce();
    const helloResponse = await raw.request('session/hello', {
      protocolVersions: [PROTOCOL_VERSION],
      nonce: clientNonce,
      client: { name: 'hs-good', version: '1.0.0', language: 'typescript', role: 'producer' },
    });
    const hello = expectResult('session/hello', helloResponse);
    assert.equal(hello.protocolVersion, PROTOCOL_VERSION);
    assert.equal(hello.server.name, 'taskwire');
    assert.equal(typeof hello.server.version, 'string');
    assert.equal(Buffer.from(hello.nonce, 'base64').length, 32, 'the server nonce is 32 bytes, base64');
    assert.notEqual(hello.nonce, clientNonce);

    const proof = clientProof(TEST_KEY, hello.nonce, clientNonce, PROTOCOL_VERSION);
    const auth = expectResult('session/authenticate', await raw.request('session/authenticate', { proof }));
    assert.equal(auth.serverProof, serverProof(TEST_KEY, hello.nonce, clientNonce, PROTOCOL_VERSION));
    assert.notEqual(auth.serverProof, proof, 'the server proof is not the client proof reflected');
    assert.match(auth.sessionId, /\S/);
    assert.deepEqual(auth.capabilities, { events: true, framings: ['ndjson', 'content-length'], autoCreateQueues: true, ackNext: true });
    assert.deepEqual(auth.limits, { maxFrameBytes: 16 * 1024 * 1024, maxPayloadBytes: 8 * 1024 * 1024, maxBatch: 10_000, maxSubscriptions: 32, maxQueuedBytes: defaultMaxQueuedBytes() });

    assert.match((await call(raw, 'session/ping')).time, /^\d{4}-\d\d-\d\dT/);
    await expectServes(raw);
  });

  it('announces the configured limits and capabilities', async () => {
    const { port } = await fx.server({ autoCreateQueues: false, limits: { maxFrameBytes: 4096, maxPayloadBytes: 1000, maxBatch: 7, maxSubscriptions: 2, maxQueuedBytes: 5000 } });
    const raw = await fx.open(port);
    const auth = expectResult('session/authenticate', await handshake(raw, { name: 'hs-limits' }));
    assert.deepEqual(auth.limits, { maxFrameBytes: 4096, maxPayloadBytes: 1000, maxBatch: 7, maxSubscriptions: 2, maxQueuedBytes: 5000 });
    assert.equal(auth.capabilities.autoCreateQueues, false);
  });

  it('negotiates the newest common version when the client offers several', async () => {
    const { port } = await fx.server();
    const raw = await fx.open(port);
    const hello = await sendHello(raw, { name: 'hs-versions' }, ['1999-01', PROTOCOL_VERSION, '2099-01']);
    assert.equal(expectResult('session/hello', hello.response).protocolVersion, PROTOCOL_VERSION);
  });

  it('refuses a wrong key with -32001 "authentication failed", no detail, after a delay, then closes', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.open(port);
    const hello = await sendHello(raw, { name: 'hs-wrong-key' });
    const proof = clientProof(Buffer.from('not-the-key'), hello.result.nonce, hello.clientNonce, PROTOCOL_VERSION);
    const sent = Date.now();
    const response = await raw.request('session/authenticate', { proof });
    const elapsed = Date.now() - sent;
    const error = expectError(response, -32001, 'authentication failed');
    assert.equal(error.data, undefined, 'no detail about which part failed');
    assert.ok(elapsed >= 150, `the failure is answered after a delay (took ${elapsed} ms)`);
    await raw.waitForClose();
    await expectServes(bystander);
  });

  for (const [what, params] of [
    ['a proof that is not a string', { proof: 12345 }],
    ['a missing proof', {}],
    ['an uppercase proof', undefined],
    ['params that are not an object', [1, 2]],
  ] as const) {
    it(`answers -32001 to a malformed authenticate (${what}) and closes`, async () => {
      const { port } = await fx.server();
      const bystander = await fx.connect(port, 'bystander');
      const raw = await fx.open(port);
      const hello = await sendHello(raw, { name: 'hs-malformed-auth' });
      const good = clientProof(TEST_KEY, hello.result.nonce, hello.clientNonce, PROTOCOL_VERSION);
      const response = await raw.request('session/authenticate', params ?? { proof: good.toUpperCase() });
      const error = expectError(response, -32001, 'authentication failed');
      assert.equal(error.data, undefined);
      await raw.waitForClose();
      await expectServes(bystander);
    });
  }

  it('answers authenticate before hello with -32002 and closes', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.open(port);
    const response = await raw.request('session/authenticate', { proof: '00'.repeat(32) });
    expectError(response, -32002, 'not authenticated: the first request must be session/hello');
    await raw.waitForClose();
    await expectServes(bystander);
  });

  it('answers queue/put before the handshake with -32002 and closes, without enqueuing', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.open(port);
    const response = await raw.request('queue/put', { queue: 'hs-sneaky', tasks: [{ payload: 1 }] });
    expectError(response, -32002, 'not authenticated: the first request must be session/hello');
    await raw.waitForClose();
    const { queues } = await call(bystander, 'queue/list');
    assert.equal(
      queues.find((q: { queue: string }) => q.queue === 'hs-sneaky'),
      undefined,
      'nothing was enqueued',
    );
    await expectServes(bystander);
  });

  it('answers a method between hello and authenticate with -32002 and closes', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.open(port);
    await sendHello(raw, { name: 'hs-between' });
    const response = await raw.request('queue/get', { queue: 'hs-between', timeout: 0 });
    expectError(response, -32002, 'not authenticated: session/authenticate must follow session/hello');
    await raw.waitForClose();
    await expectServes(bystander);
  });

  it('ignores notifications before authentication (no answer, no close)', async () => {
    const { port } = await fx.server();
    const raw = await fx.open(port);
    raw.notify('$/cancelRequest', { id: 1 });
    raw.notify('queue/put', { queue: 'x', tasks: [{ payload: 1 }] });
    const auth = await handshake(raw, { name: 'hs-notify' });
    expectResult('session/authenticate', auth);
    assert.deepEqual(raw.messages, []);
  });

  it('answers an unknown protocol version with -32003 and data.supported, then closes', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.open(port);
    const hello = await sendHello(raw, { name: 'hs-version' }, ['1999-01', '2000-02']);
    expectError(hello.response, -32003, `unsupported protocol version: the server speaks ${PROTOCOL_VERSION}, ${SHARED_STORE_VERSION}`, { supported: [PROTOCOL_VERSION, SHARED_STORE_VERSION] });
    await raw.waitForClose();
    await expectServes(bystander);
  });

  for (const [what, params, text, field] of [
    ['missing nonce', { protocolVersions: [PROTOCOL_VERSION], client: { name: 'x' } }, 'invalid params: missing required field "nonce"', '/nonce'],
    ['missing client', { protocolVersions: [PROTOCOL_VERSION], nonce: newNonce() }, 'invalid params: missing required field "client"', '/client'],
    ['client.name not a string', { protocolVersions: [PROTOCOL_VERSION], nonce: newNonce(), client: { name: 7 } }, 'invalid params: "client/name" must be a string', '/client/name'],
    ['empty protocolVersions', { protocolVersions: [], nonce: newNonce(), client: { name: 'x' } }, 'invalid params: "protocolVersions" must not be empty', '/protocolVersions'],
    ['a short nonce', { protocolVersions: [PROTOCOL_VERSION], nonce: 'abc', client: { name: 'x' } }, 'invalid params: "nonce" must be at least 40 characters long', '/nonce'],
    [
      'an unknown role',
      { protocolVersions: [PROTOCOL_VERSION], nonce: newNonce(), client: { name: 'x', role: 'boss' } },
      'invalid params: "client/role" must be one of "worker", "producer", "monitor"',
      '/client/role',
    ],
    ['an unknown field', { protocolVersions: [PROTOCOL_VERSION], nonce: newNonce(), client: { name: 'x' }, extra: 1 }, 'invalid params: unknown field "extra"', '/extra'],
  ] as const) {
    it(`answers a malformed hello (${what}) with -32602 naming the field; the connection can still say hello`, async () => {
      const { port } = await fx.server();
      const bystander = await fx.connect(port, 'bystander');
      const raw = await fx.open(port);
      expectError(await raw.request('session/hello', params), -32602, text, { field });
      await expectServes(bystander);
      expectResult('session/authenticate', await handshake(raw, { name: 'hs-retry' }));
      await expectServes(raw);
    });
  }

  it('drops a connection that does not authenticate within the handshake deadline', async () => {
    const { server, port } = await fx.server({ limits: { handshakeTimeout: 0.3 } });
    const authenticated = await fx.connect(port, 'in-time');
    const silent = await fx.open(port);
    const greeted = await fx.open(port);
    await sendHello(greeted, { name: 'hs-slow' });
    await silent.waitForClose(3000);
    await greeted.waitForClose(3000);
    assert.deepEqual(silent.messages, [], 'a silent connection is dropped without an answer');
    // The authenticated connection opened at the same time outlived the deadline.
    await expectServes(authenticated);
    assert.equal(server.connectionCount, 1);
  });

  it('refuses a proof replayed from an earlier connection (the server nonce is fresh)', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const first = await fx.open(port);
    const firstHello = await sendHello(first, { name: 'hs-original' });
    const proof = clientProof(TEST_KEY, firstHello.result.nonce, firstHello.clientNonce, PROTOCOL_VERSION);
    expectResult('session/authenticate', await first.request('session/authenticate', { proof }));

    // An eavesdropper replays the same client nonce and the same proof on a new connection.
    const replay = await fx.open(port);
    const replayHello = await sendHello(replay, { name: 'hs-replay' }, [PROTOCOL_VERSION], firstHello.clientNonce);
    assert.notEqual(replayHello.result.nonce, firstHello.result.nonce, 'every hello gets a fresh server nonce');
    expectError(await replay.request('session/authenticate', { proof }), -32001, 'authentication failed');
    await replay.waitForClose();
    await expectServes(first);
    await expectServes(bystander);
  });

  it('answers a second hello before authenticate with -32002 and closes', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.open(port);
    await sendHello(raw, { name: 'hs-twice' });
    const again = await sendHello(raw, { name: 'hs-twice' });
    expectError(again.response, -32002, 'not authenticated: session/authenticate must follow session/hello');
    await raw.waitForClose();
    await expectServes(bystander);
  });

  it('refuses hello and authenticate on an authenticated session with -32600, and the session goes on', async () => {
    const { port } = await fx.server();
    const bystander = await fx.connect(port, 'bystander');
    const raw = await fx.connect(port, 'hs-again');
    const hello = await sendHello(raw, { name: 'hs-again' });
    expectError(hello.response, -32600, 'invalid request: the session is already authenticated');
    expectError(await raw.request('session/authenticate', { proof: '00' }), -32600, 'invalid request: the session is already authenticated');
    await expectServes(raw);
    await expectServes(bystander);
  });
});
