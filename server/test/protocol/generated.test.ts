import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as generated from '../../src/protocol/generated';
import { connect, TaskwireServer } from '../../src';

const serverRoot = join(__dirname, '..', '..', '..');

describe('generated protocol types', () => {
  it('are up to date with spec/protocol.json (a stale file fails here)', function () {
    this.timeout(60_000);
    // The generator's own --check regenerates in memory and compares with the committed file.
    const output = execFileSync(process.execPath, [join(serverRoot, 'scripts', 'generateProtocol.mjs'), '--check'], { encoding: 'utf8' });
    assert.match(output, /up to date/);
  });

  it('name every method of the spec in the method table', () => {
    const spec = JSON.parse(readFileSync(join(serverRoot, '..', 'spec', 'protocol.json'), 'utf8')) as { methods: { method: string }[] };
    const generated = readFileSync(join(serverRoot, 'src', 'protocol', 'generated.ts'), 'utf8');
    for (const { method } of spec.methods) assert.ok(generated.includes(`'${method}': {"method":"${method}"`), `${method} missing from METHODS`);
  });

  it('give every method of the spec its handle, whose name says the method', () => {
    const values: unknown[] = Object.values(generated);
    const handles = values.filter((value): value is { kind: string; method: string } => typeof value === 'object' && value !== null && 'kind' in value && 'method' in value);
    assert.deepEqual(handles.map((h) => h.method).sort(), Object.keys(generated.METHODS).sort());
    for (const [name, value] of Object.entries(generated)) {
      if (!(handles as unknown[]).includes(value)) continue;
      const handle = value as { kind: string; method: string };
      const expected =
        handle.method
          .split(/[/$]/)
          .filter(Boolean)
          .map((part) => part[0]!.toUpperCase() + part.slice(1))
          .join('') + (handle.kind === 'request' ? 'Request' : 'Notification');
      assert.equal(name, expected);
    }
  });

  it('client.request takes a handle (or, for convenience, the method string) and is typed by it', async () => {
    const server = new TaskwireServer({ authkey: Buffer.from('handles'), port: 0 });
    const { port } = await server.listen();
    const client = await connect({ host: '127.0.0.1', port, authkey: 'handles', reconnect: false });
    try {
      await client.request(generated.QueuePutRequest, { queue: 'h', tasks: [{ payload: 1 }] });
      const stats = await client.request(generated.QueueStatsRequest, { queue: 'h' });
      assert.equal(stats.ready, 1);
      assert.equal((await client.request('queue/stats', { queue: 'h' })).ready, 1);
    } finally {
      client.close();
      await server.shutdown();
    }
  });
});
