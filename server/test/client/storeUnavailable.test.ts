// The TypeScript client against a manager whose shared store goes away (spec §7.18): it offers
// 2026-11 and 2026-12, learns the manager's id, and gets StoreUnavailableError — a failure of
// the request, after which the same connection goes on.
import { strict as assert } from 'node:assert';
import { connect, InternalServerError, RemoteError, remoteError, StoreUnavailableError, type TaskwireClient } from '../../src';
import { clientProof, newNonce } from '../../src/protocol/auth';
import type { TaskwireServer } from '../../src/server/server';
import { RawConnection, TEST_KEY } from '../helpers/harness';
import { OUTAGE, serverWithStore, type StoreBehindNetwork } from '../helpers/storeBehindNetwork';
import { rejection } from './util';

describe('client: a manager whose store is unavailable', () => {
  let server: TaskwireServer<StoreBehindNetwork>;
  let store: StoreBehindNetwork;
  let port: number;
  const clients: TaskwireClient[] = [];

  beforeEach(async () => {
    ({ server, store, port } = await serverWithStore());
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await server.shutdown();
  });

  async function client(): Promise<TaskwireClient> {
    const connected = await connect({ host: '127.0.0.1', port, authkey: TEST_KEY, reconnect: false, name: 'store-outage' });
    clients.push(connected);
    return connected;
  }

  it('negotiates 2026-12 and knows which manager it is on', async () => {
    const worker = await client();
    assert.equal(worker.protocolVersion, '2026-12');
    assert.equal(worker.managerId, 'm-test-7f3a');
    const me = (await worker.clients()).find((entry) => entry.sessionId === worker.sessionId);
    assert.equal(me?.manager, 'm-test-7f3a');
  });

  it('throws StoreUnavailableError with the message and retryAfter, and the connection goes on', async () => {
    const producer = await client();
    const jobs = producer.queue('outage-jobs');
    store.reachable = false;
    const error = await rejection(jobs.put('image_url_0'));
    assert.ok(error instanceof StoreUnavailableError, `expected StoreUnavailableError, got ${error.name}: ${error.message}`);
    assert.ok(error instanceof RemoteError);
    assert.equal(error.code, 1006);
    assert.equal(error.message, `store unavailable: ${OUTAGE}`);
    assert.equal(error.data?.reason, 'store_unavailable');
    assert.equal(error.retryAfter, 1.5);
    // A call the backend answers later (a promise that rejects) fails the same way.
    assert.ok((await rejection(jobs.stats())) instanceof StoreUnavailableError);
    // The request failed, not the connection: the same session goes on once the store is back.
    const session = producer.sessionId;
    store.reachable = true;
    await jobs.put('image_url_0');
    assert.equal((await jobs.stats()).ready, 1);
    assert.equal(producer.sessionId, session, 'no reconnect happened');
  });

  it('is InternalServerError "internal error: store unavailable" for a session of 2026-11', async () => {
    // A raw 2026-11 session, as an older client would make it.
    const raw = await RawConnection.open(port);
    try {
      const nonce = newNonce();
      const hello = (await raw.request('session/hello', { protocolVersions: ['2026-11'], nonce, client: { name: 'old' } })).result as { nonce: string };
      await raw.request('session/authenticate', { proof: clientProof(TEST_KEY, hello.nonce, nonce, '2026-11') });
      store.reachable = false;
      const answer = await raw.request('queue/put', { queue: 'outage-old', tasks: [{ payload: 1 }] });
      const error = remoteError(answer.error!.code, answer.error!.message, answer.error!.data);
      assert.ok(error instanceof InternalServerError);
      assert.equal(error.message, `internal error: store unavailable: ${OUTAGE}`);
      assert.equal(error.data, undefined);
    } finally {
      raw.close();
    }
  });
});
