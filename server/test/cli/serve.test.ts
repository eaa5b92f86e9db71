import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { ConnectionClosedError, ShuttingDownError, type QueueStats } from '../../src';
import { newNonce } from '../../src/protocol/auth';
import { cleanEnv, cleanupCli, jsonLines, lines, makeHome, runCli, startServe, type Serve } from './cliHarness';

const HEX_KEY_FILE = /^[0-9a-f]{64}\n$/;

/** Waits until the manager reports `count` blocked getters on `queue`. */
async function waitForGetters(serve: Serve, queue: string, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const result = await serve.run(['stats', queue, '--json']);
    if (result.code === 0 && (JSON.parse(result.stdout) as QueueStats).waitingGetters >= count) return;
    if (Date.now() > deadline) throw new Error(`no ${count} waiting getters on ${queue}: ${result.stdout}${result.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('cli e2e: taskwire serve', function () {
  this.timeout(30_000);
  afterEach(cleanupCli);

  describe('the authkey', () => {
    it('generates $TASKWIRE_HOME/authkey (64 hex characters and a newline, mode 0600) and says so in the banner', async () => {
      const home = makeHome();
      const file = join(home, 'authkey');
      assert.equal(existsSync(file), false);
      const serve = await startServe([], { home });
      const text = readFileSync(file, 'utf8');
      assert.match(text, HEX_KEY_FILE);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      await serve.waitFor('the whole banner', () => serve.stderr.includes('Stop:'));
      assert.match(serve.stderr, new RegExp(`Authkey: ${escape(file)} \\(generated\\)`));
      assert.match(serve.stderr, /in memory/);
      assert.match(serve.stderr, new RegExp(`listening on 127\\.0\\.0\\.1:${serve.port}`));
      // The key never appears in the output.
      assert.equal(serve.stderr.includes(text.trim()), false);
      // A client on the same machine (same TASKWIRE_HOME) finds the key by itself.
      const ping = await serve.run(['ping']);
      assert.equal(ping.code, 0, ping.stderr);
    });

    it('reuses the existing key file on the next start', async () => {
      const home = makeHome();
      const file = join(home, 'authkey');
      const first = await startServe([], { home });
      const key = readFileSync(file, 'utf8');
      assert.equal((await first.stop('SIGTERM')).code, 0);

      const second = await startServe([], { home });
      await second.waitFor('the whole banner', () => second.stderr.includes('Stop:'));
      assert.equal(readFileSync(file, 'utf8'), key, 'the key file was rewritten');
      assert.match(second.stderr, new RegExp(`Authkey: ${escape(file)}\\n`));
      assert.doesNotMatch(second.stderr, /generated/);
      const ping = await second.run(['ping']);
      assert.equal(ping.code, 0, ping.stderr);
    });

    it('--authkey-file F generates the key in F, not in TASKWIRE_HOME, and clients need F', async () => {
      const home = makeHome();
      const dir = makeHome();
      const file = join(dir, 'sub', 'key');
      const serve = await startServe(['--authkey-file', file], { home });
      assert.match(readFileSync(file, 'utf8'), HEX_KEY_FILE);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(existsSync(join(home, 'authkey')), false);
      await serve.waitFor('the whole banner', () => serve.stderr.includes('Stop:'));
      assert.match(serve.stderr, new RegExp(`Authkey: ${escape(file)} \\(generated\\)`));
      assert.match(serve.stderr, new RegExp(`Clients: pass --authkey-file ${escape(file)}`));
      assert.doesNotMatch(serve.stderr, /find .* by themselves/);

      // An explicit --authkey-file wins over a key in the environment, as in the client library.
      const fileOverEnv = await serve.run(['ping', '--authkey-file', file], { env: cleanEnv({ TASKWIRE_HOME: home, TASKWIRE_AUTHKEY: 'some other key' }) });
      assert.equal(fileOverEnv.code, 0, fileOverEnv.stderr);

      const withFile = await serve.run(['ping', '--authkey-file', file]);
      assert.equal(withFile.code, 0, withFile.stderr);
      const viaEnv = await serve.run(['ping'], { env: cleanEnv({ TASKWIRE_HOME: home, TASKWIRE_AUTHKEY_FILE: file }) });
      assert.equal(viaEnv.code, 0, viaEnv.stderr);
      const without = await serve.run(['ping']);
      assert.equal(without.code, 4);
      assert.match(without.stderr, /no authkey/);
    });

    it('--authkey-file F uses the key already in F', async () => {
      const dir = makeHome();
      const file = join(dir, 'key');
      writeFileSync(file, 'correct horse battery staple\n', { mode: 0o600 });
      const serve = await startServe(['--authkey-file', file]);
      assert.equal(readFileSync(file, 'utf8'), 'correct horse battery staple\n');
      const byKey = await serve.run(['ping', '--authkey', 'correct horse battery staple']);
      assert.equal(byKey.code, 0, byKey.stderr);
      const byEnv = await serve.run(['ping'], { env: cleanEnv({ TASKWIRE_HOME: makeHome(), TASKWIRE_AUTHKEY: 'correct horse battery staple' }) });
      assert.equal(byEnv.code, 0, byEnv.stderr);
    });
  });

  it('--json writes JSON log lines to stdout, with a "ready" line carrying the port', async () => {
    const serve = await startServe(['--json']);
    const entries = jsonLines<Record<string, unknown>>(serve.stdout);
    const ready = entries.find((e) => e['message'] === 'ready');
    assert.ok(ready, serve.stdout);
    assert.equal(ready['port'], serve.port);
    assert.equal(ready['address'], '127.0.0.1');
    assert.equal(ready['store'], 'memory');
    assert.equal(typeof ready['version'], 'string');
    assert.equal(typeof ready['time'], 'string');
    assert.equal(ready['level'], 'info');
    // No human banner in JSON mode.
    assert.doesNotMatch(serve.stderr, /listening on/);
    const ping = await serve.run(['ping']);
    assert.equal(ping.code, 0, ping.stderr);

    const result = await serve.stop('SIGTERM');
    assert.equal(result.code, 0);
    const all = jsonLines<Record<string, unknown>>(result.stdout); // every line is JSON
    assert.ok(
      all.some((e) => e['message'] === 'stopped'),
      result.stdout,
    );
  });

  it('a port already in use: exit 3 and one line saying "already in use"', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as { port: number }).port;
      const result = await runCli(['serve', '--port', String(port)]);
      assert.equal(result.code, 3, result.stderr);
      assert.equal(lines(result.stderr).length, 1, result.stderr);
      assert.match(result.stderr, /already in use/);
      assert.match(result.stderr, new RegExp(String(port)));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('--tls-cert without --tls-key (and the reverse) is a usage error: exit 2', async () => {
    const home = makeHome();
    const env = cleanEnv({ TASKWIRE_HOME: home });
    const certOnly = await runCli(['serve', '--port', '0', '--tls-cert', 'cert.pem'], { env });
    assert.equal(certOnly.code, 2, certOnly.stderr);
    assert.match(certOnly.stderr, /--tls-cert and --tls-key go together/);
    const keyOnly = await runCli(['serve', '--port', '0', '--tls-key', 'key.pem'], { env });
    assert.equal(keyOnly.code, 2, keyOnly.stderr);
    // Refused before anything was written.
    assert.equal(existsSync(join(home, 'authkey')), false);
  });

  it('--tls-cert and --tls-key naming missing files: exit 2 "cannot read"', async () => {
    const result = await runCli(['serve', '--port', '0', '--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /cannot read \/nonexistent\/cert\.pem/);
  });

  it('--queue tasks:maxsize=2 declares a bounded queue: a third put --timeout 0 exits 6 "queue full"', async () => {
    const serve = await startServe(['--queue', 'tasks:maxsize=2,ttr=30,maxAttempts=3,deadLetter=failed']);
    const stats = await serve.run(['stats', 'tasks', '--json']);
    assert.equal(stats.code, 0, stats.stderr);
    const declared = JSON.parse(stats.stdout) as QueueStats;
    assert.equal(declared.maxsize, 2);
    assert.equal(declared.ttr, 30);
    assert.equal(declared.maxAttempts, 3);
    assert.equal(declared.deadLetter, 'failed');

    const two = await serve.run(['put', 'tasks', 'a', 'b']);
    assert.equal(two.code, 0, two.stderr);
    const third = await serve.run(['put', 'tasks', 'c', '--timeout', '0']);
    assert.equal(third.code, 6, third.stderr);
    assert.match(third.stderr, /queue full/);
    assert.equal(third.stdout, '');
    const after = JSON.parse((await serve.run(['stats', 'tasks', '--json'])).stdout) as QueueStats;
    assert.equal(after.ready, 2);
  });

  it('--queue with an unknown option or a bad value is a usage error: exit 2', async () => {
    const unknown = await runCli(['serve', '--port', '0', '--queue', 'bad:foo=1']);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /unknown queue option/);
    assert.match(unknown.stderr, /foo/);
    const badValue = await runCli(['serve', '--port', '0', '--queue', 'tasks:maxsize=lots']);
    assert.equal(badValue.code, 2, badValue.stderr);
    assert.match(badValue.stderr, /maxsize/);
    const badName = await runCli(['serve', '--port', '0', '--queue', 'no spaces allowed']);
    assert.equal(badName.code, 2, badName.stderr);
    assert.match(badName.stderr, /invalid queue name/);
  });

  it('--no-auto-create: an undeclared queue is "queue not found" (exit 7); declared queues work', async () => {
    const serve = await startServe(['--no-auto-create', '--queue', 'tasks']);
    const get = await serve.run(['get', 'unknown', '--no-wait']);
    assert.equal(get.code, 7, get.stderr);
    assert.match(get.stderr, /queue "unknown" does not exist \(known queues: tasks\)/);
    const created = await serve.run(['get', 'unknown', '--no-wait', '--create']);
    assert.equal(created.code, 7, created.stderr);
    assert.match(created.stderr, /queue not found/);
    const put = await serve.run(['put', 'unknown', '1']);
    assert.equal(put.code, 7, put.stderr);
    assert.match(put.stderr, /queue not found/);
    const declared = await serve.run(['put', 'tasks', '1']);
    assert.equal(declared.code, 0, declared.stderr);
  });

  it('--max-handshakes-per-address 1: authenticated connections do not count; a newcomer makes the one still authenticating close with 1005', async () => {
    const serve = await startServe(['--max-handshakes-per-address', '1']);
    const client = await serve.client();
    const hello = { jsonrpc: '2.0', id: 1, method: 'session/hello', params: { protocolVersions: ['2026-11'], nonce: newNonce(), client: { name: 'probe' } } };
    const older = await openRaw(serve.port);
    older.socket.write(JSON.stringify(hello) + '\n');
    assert.equal((JSON.parse(await older.nextLine()) as { result: { protocolVersion: string } }).result.protocolVersion, '2026-11');
    const newer = await openRaw(serve.port);
    newer.socket.write(JSON.stringify(hello) + '\n');
    assert.equal((JSON.parse(await newer.nextLine()) as { result: { protocolVersion: string } }).result.protocolVersion, '2026-11');
    const notice = JSON.parse(await older.nextLine()) as { id: unknown; error: { code: number; data: { limit: string; max: number } } };
    assert.equal(notice.id, null);
    assert.equal(notice.error.code, 1005);
    assert.deepEqual([notice.error.data.limit, notice.error.data.max], ['maxHandshakesPerAddress', 1]);
    await older.closed;
    assert.ok(await client.ping());
    newer.socket.destroy();
  });

  it('bad numeric options are usage errors: exit 2', async () => {
    for (const args of [
      ['--port', '70000'],
      ['--port', 'abc'],
      ['--ttr', '0'],
      ['--max-attempts', '1.5'],
      ['--max-frame-bytes', '10'],
      ['--max-handshakes-per-address', '0'],
      ['--hello-timeout', '0'],
      ['--max-auth-failure-backoff', '0.5'],
    ]) {
      const result = await runCli(['serve', ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /invalid/);
    }
  });

  describe('stopping on a signal', () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`${signal}: exits 0 and logs "stopped"`, async () => {
        const serve = await startServe();
        const result = await serve.stop(signal);
        assert.equal(result.signal, null);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, new RegExp(`signal received: shutting down signal=${signal}`));
        assert.match(result.stderr, /stopped/);
      });

      it(`${signal} the moment the banner appears still shuts down cleanly (repeated)`, async () => {
        for (let i = 0; i < 5; i++) {
          const serve = await startServe(i % 2 === 0 ? [] : ['--json']);
          const result = await serve.stop(signal);
          assert.equal(result.signal, null, `round ${i}: killed by ${result.signal} before its handlers were installed`);
          assert.equal(result.code, 0, result.stderr);
          assert.match(result.stderr + result.stdout, /stopped/);
        }
      });

      it(`${signal}: a worker holding a lease sees its connection closed; the lease is released`, async () => {
        const serve = await startServe();
        const worker = await serve.client({ name: 'w1', role: 'worker' });
        const put = await serve.run(['put', 'tasks', 'image_url_0']);
        assert.equal(put.code, 0, put.stderr);
        const task = await worker.queue('tasks').get({ timeout: 5 });
        assert.equal(task.payload, 'image_url_0');
        const disconnected = new Promise<unknown>((resolve) => worker.once('disconnected', resolve));

        const result = await serve.stop(signal);
        assert.equal(result.code, 0, result.stderr);
        assert.ok((await disconnected) instanceof ConnectionClosedError);
        assert.equal(worker.connected, false);
        await assert.rejects(task.ack('done'), ConnectionClosedError);
        assert.match(result.stderr, /released leases .*tasks=1/);
      });

      it(`${signal}: a client's blocked get is answered with ShuttingDownError (or the connection closes)`, async () => {
        const serve = await startServe();
        const client = await serve.client({ name: 'waiter', role: 'worker' });
        const pending = client.queue('tasks').get();
        pending.catch(() => {}); // observed below
        await waitForGetters(serve, 'tasks', 1);
        const result = await serve.stop(signal);
        assert.equal(result.code, 0, result.stderr);
        await assert.rejects(pending, (error: unknown) => error instanceof ShuttingDownError || error instanceof ConnectionClosedError);
      });
    }

    it('a blocked `taskwire get` ends when the manager stops: exit 3 with a one-line error', async () => {
      const serve = await startServe();
      const get = serve.background(['get', 'tasks', '--create']);
      await waitForGetters(serve, 'tasks', 1);
      assert.equal((await serve.stop('SIGINT')).code, 0);
      const result = await get.exited;
      // -32005 (shutting down) or a closed connection: the manager is unreachable, exit 3.
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /^taskwire: error: .*(shutting down|closed)/);
      assert.equal(lines(result.stderr).length, 1, result.stderr);
      assert.equal(result.stdout, '');
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A plain TCP connection to the manager that reads NDJSON lines, without the client library. */
async function openRaw(port: number): Promise<{ socket: Socket; nextLine: () => Promise<string>; closed: Promise<void> }> {
  const socket = createConnection({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  socket.setEncoding('utf8');
  socket.on('error', () => {});
  let buffered = '';
  let wake: (() => void) | undefined;
  socket.on('data', (text: string) => {
    buffered += text;
    wake?.();
  });
  let isClosed = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      wake?.();
      resolve();
    }),
  );
  const nextLine = async (): Promise<string> => {
    while (!buffered.includes('\n')) {
      if (isClosed) throw new Error(`the connection closed before a full line; received ${JSON.stringify(buffered)}`);
      await new Promise<void>((resolve) => (wake = resolve));
    }
    const end = buffered.indexOf('\n');
    const line = buffered.slice(0, end);
    buffered = buffered.slice(end + 1);
    return line;
  };
  return { socket, nextLine, closed };
}
