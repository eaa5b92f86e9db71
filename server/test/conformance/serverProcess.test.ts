import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ServerProcess, ServerStartError } from '../../src/conformance/serverProcess';

// The kit starts a server on a port it found free; another process may take that port before
// the server binds it. A server that says so is started again on another port; any other
// failure to start is reported at once, with what the server printed.

const FIXTURE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'portTakenServer.js');

describe('conformance kit: starting the server under test', () => {
  let dir: string;
  let countFile: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tw-server-process-'));
    countFile = path.join(dir, 'starts');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const template = (mode: string) => `"${process.execPath}" "${FIXTURE}" ${mode} "${countFile}" {host} {port}`;
  const starts = () => readFileSync(countFile, 'utf8').trim().split('\n');

  it('starts a server whose first port was taken again on another port', async () => {
    const server = await ServerProcess.start(template('taken-once'), '127.0.0.1', path.join(dir, 'key'), {});
    try {
      const ports = starts();
      assert.equal(ports.length, 2);
      assert.notEqual(ports[0], ports[1]);
      assert.equal(String(server.port), ports[1]);
    } finally {
      await server.stop();
    }
  });

  it('gives up after three ports, with what the server said', async () => {
    await assert.rejects(ServerProcess.start(template('always-taken'), '127.0.0.1', path.join(dir, 'key'), {}), (error: Error) => {
      assert.ok(error instanceof ServerStartError);
      assert.match(error.message, /^the server command exited before it listened: .*portTakenServer\.js always-taken/);
      assert.match(error.message, /EADDRINUSE: address already in use 127\.0\.0\.1:\d+/);
      return true;
    });
    assert.equal(starts().length, 3);
  });

  it('reports any other failure at once, without trying again', async () => {
    await assert.rejects(ServerProcess.start(template('crash'), '127.0.0.1', path.join(dir, 'key'), {}), /exited before it listened: .*\nError: cannot read the configuration file$/);
    assert.equal(starts().length, 1);
  });
});
