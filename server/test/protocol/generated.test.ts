import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

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
});
