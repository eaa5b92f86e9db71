import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TaskwireClient } from '../../src';
import { TEST_KEY } from '../helpers/harness';
import { BIN, python3, REPO, runPython, SEED_DIR, serveCli, startChild, waitForOutput, type Child } from './mpHelpers';

/**
 * The seed's task_worker.py as the seed document has it, with only its address and authkey
 * changed (the two lines `server_addr = ('127.0.0.1', 8001)` and `authkey=b'biu'`).
 */
function seedWorker(dir: string, port: number, key: Buffer): string {
  const original = readFileSync(join(SEED_DIR, 'task_worker.py'), 'utf8');
  const changed = original.replace("server_addr = ('127.0.0.1', 8001)", `server_addr = ('127.0.0.1', ${port})`).replace("authkey=b'biu'", `authkey=${pyBytes(key)}`);
  assert.equal(changed.split('\n').filter((line, i) => line !== original.split('\n')[i]).length, 2, 'only the address and the key differ from the seed');
  const file = join(dir, `task_worker_${port}.py`);
  writeFileSync(file, changed);
  return file;
}

/** A Python bytes literal of the key. */
function pyBytes(key: Buffer): string {
  return `b'${[...key].map((byte) => (byte >= 0x20 && byte < 0x7f && byte !== 0x27 && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`)).join('')}'`;
}

/** The seed's manager (its server process, as manager.start() forks it), on a free port; prints the port. */
const SEED_MANAGER = `
import sys, queue
from multiprocessing.managers import BaseManager
task_queue = queue.Queue()
result_queue = queue.Queue()
BaseManager.register(typeid="get_task_queue", callable=lambda: task_queue)
BaseManager.register(typeid='get_result_queue', callable=lambda: result_queue)
manager = BaseManager(address=('127.0.0.1', 0), authkey=sys.argv[1].encode())
server = manager.get_server()
print('port', server.address[1], flush=True)
server.serve_forever()
`;

/** Connects to a manager (the seed's or Taskwire's mp listener) like the seed's programs; runs `body`. */
const seedClient = (body: string) => `
import sys, queue
from multiprocessing.managers import BaseManager
BaseManager.register(typeid='get_task_queue')
BaseManager.register(typeid='get_result_queue')
manager = BaseManager(address=('127.0.0.1', int(sys.argv[1])), authkey=sys.argv[2].encode())
manager.connect()
task = manager.get_task_queue()
result = manager.get_result_queue()
${body}
`;

describe("mp: the seed's own Python worker on a Taskwire manager", function () {
  this.timeout(120_000);
  let dir: string;
  let keyFile: string;
  let goWorker: string;
  const children: Child[] = [];
  const clients: TaskwireClient[] = [];

  before(function () {
    this.timeout(300_000);
    python3();
    dir = mkdtempSync(join(tmpdir(), 'taskwire-mp-seed-'));
    keyFile = join(dir, 'authkey');
    writeFileSync(keyFile, `${TEST_KEY.toString()}\n`, { mode: 0o600 });
    goWorker = join(dir, 'go-worker');
    const go = spawnSync('go', ['version'], { encoding: 'utf8' });
    if (go.status !== 0) throw new Error('go is required by this test (it runs the Go sample worker beside the Python one): install Go 1.22+');
    execFileSync('go', ['build', '-o', goWorker, './cmd/worker'], { cwd: join(REPO, 'samples', 'go'), env: { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=mod' }, stdio: 'pipe' });
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    for (const child of children.splice(0)) child.kill();
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const track = (child: Child) => (children.push(child), child);

  async function taskwire(): Promise<{ port: number; mpPort: number; client: TaskwireClient }> {
    const served = await serveCli(['--authkey-file', keyFile, '--mp-listen', '127.0.0.1:0', '--mp-typeid', 'get_task_queue=tasks', '--mp-typeid', 'get_result_queue=results']);
    track(served.child);
    const client = await connect({ host: '127.0.0.1', port: served.port, authkey: TEST_KEY, reconnect: false, name: 'test producer', role: 'producer' });
    clients.push(client);
    return { port: served.port, mpPort: served.mpPort, client };
  }

  it('shares one queue between the seed worker (CPython), a TypeScript and a Go worker: all 10 results arrive; the Python client shows in manager/clients and `taskwire workers`', async () => {
    const { port, mpPort, client } = await taskwire();
    const urls = Array.from({ length: 10 }, (_, i) => `image_url_${i}`);
    await client.queue('tasks').putMany(urls.map((payload) => ({ payload, replyTo: 'results' })));

    const python = track(startChild(python3(), [seedWorker(dir, mpPort, TEST_KEY)]));
    const go = track(startChild(goWorker, ['-addr', `127.0.0.1:${port}`, '-authkey-file', keyFile, '-sleep', '1s', '-timeout', '3s']));
    // The TypeScript worker: the seed's loop (take, "download" for 1 s, answer), acking with the result.
    const ts = await connect({ host: '127.0.0.1', port, authkey: TEST_KEY, reconnect: false, name: 'ts worker' });
    clients.push(ts);
    let tsDone = 0;
    const tsWorker = (async () => {
      for (;;) {
        const [task] = await ts.queue<string>('tasks').getMany(1, { timeout: 3 });
        if (!task) return;
        await new Promise((done) => setTimeout(done, 1000));
        await task.ack(`${task.payload} ---> success`);
        tsDone++;
      }
    })();

    // While they work: the Python worker's proxy connection is a client like the others.
    await waitForOutput(python, /run task download/);
    const listed = (await client.clients()).filter((info) => info.name === 'python multiprocessing');
    assert.ok(listed.length >= 1, 'manager/clients lists the multiprocessing client');
    assert.equal(listed[0]!.language, 'python');
    assert.match(listed[0]!.address, /^127\.0\.0\.1:\d+$/);
    const workers = spawnSync(process.execPath, [BIN, 'workers', '--port', String(port), '--authkey-file', keyFile], { encoding: 'utf8' });
    assert.equal(workers.status, 0, workers.stderr);
    assert.match(workers.stdout, /python multiprocessing/);
    assert.ok(workers.stdout.includes(listed[0]!.address), `taskwire workers shows the address:\n${workers.stdout}`);

    // Results: Python puts "<url> ---> success" itself; TypeScript and Go ack with it, routed to replyTo.
    const results: string[] = [];
    const deadline = Date.now() + 60_000;
    while (results.length < 10 && Date.now() < deadline) {
      for (const task of await client.queue('results').getMany(10, { timeout: 2, autoAck: true })) {
        const payload = task.payload as string | { result: string };
        results.push(typeof payload === 'string' ? payload : payload.result);
      }
    }
    await tsWorker;
    const [pythonCode, goCode] = await Promise.all([python.exited, go.exited]);
    const byPython = (python.output().match(/run task download/g) ?? []).length;
    const byGo = (go.output().match(/run task /g) ?? []).length;
    console.log(`      results: ${results.length}; by the seed's Python worker ${byPython}, the Go worker ${byGo}, the TypeScript worker ${tsDone}`);
    assert.deepEqual(results.sort(), urls.map((url) => `${url} ---> success`).sort());
    assert.equal(byPython + byGo + tsDone, 10, 'each task ran once');
    assert.ok(byPython > 0 && byGo > 0 && tsDone > 0, 'each worker took a share');
    assert.equal(goCode, 0, go.output());
    // The seed's loop ends on task.empty(); when another worker takes the last task between its
    // empty() and get(True, timeout=5), the real queue.Empty is raised in it, as in the seed.
    assert.ok(pythonCode === 0 || /_queue\.Empty/.test(python.output()), python.output());
    if (pythonCode === 0) assert.match(python.output(), /worker exit\n$/);
  });

  it('gives the task of a seed worker killed after get() back with attempt 2; the seed manager loses it (both shown)', async () => {
    // Through Taskwire.
    const { mpPort, client } = await taskwire();
    await client.queue('tasks').put('image_url_kill');
    const victim = track(startChild(python3(), [seedWorker(dir, mpPort, TEST_KEY)]));
    await waitForOutput(victim, /run task download image_url_kill\.\.\./);
    victim.kill();
    await victim.exited;
    const again = await client.queue('tasks').get({ timeout: 10 });
    console.log(`      Taskwire: the worker was killed after get(); the task came back: ${JSON.stringify(again.payload)}, attempt ${again.attempt}`);
    assert.equal(again.payload, 'image_url_kill');
    assert.equal(again.attempt, 2);
    await again.ack();

    // Through the seed's own manager.
    const manager = track(startChild(python3(), ['-c', SEED_MANAGER, TEST_KEY.toString()]));
    const seedPort = Number((await waitForOutput(manager, /^port (\d+)$/m))[1]);
    const put = await runPython(python3(), seedClient("task.put('image_url_kill')\nprint('put')"), [String(seedPort), TEST_KEY.toString()]);
    assert.equal(put.output, 'put\n');
    const seedVictim = track(startChild(python3(), [seedWorker(dir, seedPort, TEST_KEY)]));
    await waitForOutput(seedVictim, /run task download image_url_kill\.\.\./);
    seedVictim.kill();
    await seedVictim.exited;
    const after = await runPython(
      python3(),
      seedClient(`
print('tasks queued:', task.qsize())
try:
    print('result:', result.get(timeout=2))
except queue.Empty:
    print('result: none (the task is lost)')
`),
      [String(seedPort), TEST_KEY.toString()],
    );
    console.log(`      the seed's manager: the worker was killed after get(); ${after.output.trim().replace(/\n/g, '; ')}`);
    assert.equal(after.output, 'tasks queued: 0\nresult: none (the task is lost)\n');
  });

  it("finishes a task at the proxy's next call: the seed worker that exits normally leaves nothing leased or requeued", async () => {
    const { mpPort, client } = await taskwire();
    await client.queue('tasks').putMany([{ payload: 'image_url_a' }, { payload: 'image_url_b' }]);
    const worker = track(startChild(python3(), [seedWorker(dir, mpPort, TEST_KEY)]));
    assert.equal(await worker.exited, 0, worker.output());
    const stats = await client.queue('tasks').stats();
    assert.deepEqual({ ready: stats.ready, leased: stats.leased }, { ready: 0, leased: 0 });
    const results = await client.queue('results').getMany(10, { timeout: 1, autoAck: true });
    assert.deepEqual(results.map((task) => task.payload).sort(), ['image_url_a ---> success', 'image_url_b ---> success']);
  });
});
