import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_KEY } from '../helpers/harness';
import { BIN, MpTestClient, proxyFor, serveCli, startChild, waitForOutput } from './mpHelpers';

describe('mp: taskwire serve --mp-listen', function () {
  this.timeout(60_000);
  let dir: string;
  let keyFile: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'taskwire-mp-serve-'));
    keyFile = join(dir, 'authkey');
    writeFileSync(keyFile, `${TEST_KEY.toString()}\n`, { mode: 0o600 });
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const serve = (args: string[]) => spawnSync(process.execPath, [BIN, 'serve', '--port', '0', '--authkey-file', keyFile, ...args], { encoding: 'utf8', timeout: 20_000 });

  it('refuses --mp-typeid and --mp-allow-shutdown without --mp-listen, and malformed values, with exit code 2', () => {
    const cases: [string[], string][] = [
      [['--mp-typeid', 'get_task_queue=tasks'], '--mp-typeid needs --mp-listen'],
      [['--mp-allow-shutdown'], '--mp-allow-shutdown needs --mp-listen'],
      [['--mp-listen', 'localhost'], 'invalid --mp-listen "localhost": expected HOST:PORT (e.g. 127.0.0.1:8001; port 0: any free port)'],
      [['--mp-listen', '127.0.0.1:0', '--mp-typeid', 'get_task_queue'], 'invalid --mp-typeid "get_task_queue": expected TYPEID=QUEUE, e.g. get_task_queue=tasks'],
    ];
    for (const [args, message] of cases) {
      const run = serve(args);
      assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.ok(run.stderr.includes(message), `${args.join(' ')}: ${run.stderr}`);
    }
  });

  it('prints where Python clients connect in the banner, and mpPort in the JSON ready line', async () => {
    const banner = startChild(process.execPath, [BIN, 'serve', '--port', '0', '--authkey-file', keyFile, '--mp-listen', '127.0.0.1:0', '--mp-typeid', 'get_task_queue=tasks']);
    try {
      await waitForOutput(banner, /Python multiprocessing clients: 127\.0\.0\.1:\d+ \(get_task_queue → tasks; authkey=b'<the key>'\)/);
    } finally {
      banner.kill();
    }
    const { child, mpPort } = await serveCli(['--authkey-file', keyFile, '--mp-listen', '127.0.0.1:0']);
    try {
      assert.ok(mpPort > 0);
      const client = await MpTestClient.connect(mpPort, TEST_KEY);
      assert.deepEqual(await client.call(null, 'dummy'), ['#RETURN', null]);
    } finally {
      child.kill();
    }
  });

  it('on SIGTERM, closes multiprocessing clients and gives back what they held', async () => {
    const { child, mpPort } = await serveCli(['--authkey-file', keyFile, '--mp-listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')]);
    const { client, ident } = await proxyFor(mpPort, TEST_KEY, 'get_task_queue');
    assert.deepEqual(await client.call(ident, 'put', ['kept']), ['#RETURN', null]);
    assert.deepEqual(await client.call(ident, 'get', []), ['#RETURN', 'kept']);
    child.proc.kill('SIGTERM');
    await client.closed(10_000);
    assert.equal(await child.exited, 0, child.output());
    // The leased task is in the data dir, ready again, after the restart.
    const again = await serveCli(['--authkey-file', keyFile, '--mp-listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')]);
    try {
      const next = await proxyFor(again.mpPort, TEST_KEY, 'get_task_queue');
      assert.deepEqual(await next.client.call(next.ident, 'get_nowait', []), ['#RETURN', 'kept']);
    } finally {
      again.child.kill();
    }
  });
});
