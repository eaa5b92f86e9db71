import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaseFileError, loadClientCases, loadServerCases, methodsCovered } from '../../src/conformance/cases';
import { specMethods } from '../../src/conformance/messageValidator';
import { PATTERN_WORDS } from '../../src/conformance/pattern';
import { REPO } from './kit';

describe('conformance case files', () => {
  const serverCases = loadServerCases();
  const clientCases = loadClientCases();

  it('load and match case.schema.json', () => {
    assert.ok(serverCases.length > 50, `only ${serverCases.length} server cases`);
    assert.ok(clientCases.length >= 10, `only ${clientCases.length} client cases`);
  });

  it('cover every method of protocol.json with at least one server case', () => {
    const covered = new Set(serverCases.flatMap((c) => [...methodsCovered(c)]));
    const missing = specMethods().filter((method) => !covered.has(method));
    assert.deepEqual(missing, [], `methods without a case: ${missing.join(', ')}`);
  });

  it('cover every error code a method lists with a case that expects it', () => {
    const spec = JSON.parse(readFileSync(join(REPO, 'spec', 'protocol.json'), 'utf8')) as { methods: { method: string; errors?: number[] }[] };
    const missing: string[] = [];
    for (const { method, errors = [] } of spec.methods) {
      for (const code of errors) {
        const found = serverCases.some((c) => methodsCovered(c).has(method) && JSON.stringify(c.steps).includes(`"code":${code}`));
        if (!found) missing.push(`${method} ${code}`);
      }
    }
    assert.deepEqual(missing, [], `error paths without a case: ${missing.join(', ')}`);
  });

  it('cite sections that exist in spec/protocol.md', () => {
    const anchors = new Set([...readFileSync(join(REPO, 'spec', 'protocol.md'), 'utf8').matchAll(/<a id="(s[\d.]+)"><\/a>/g)].map((m) => m[1]));
    const wrong = [...serverCases, ...clientCases].filter((c) => !anchors.has(c.section)).map((c) => `${c.id} → ${c.section}`);
    assert.deepEqual(wrong, []);
  });

  it('use only pattern words the kit knows', () => {
    const words = new Set(PATTERN_WORDS);
    for (const c of [...serverCases, ...clientCases]) {
      const used = [...JSON.stringify(c).matchAll(/"(\$[a-zA-Z]+)"/g)].map((m) => m[1]!).filter((w) => w !== '$schema' && w !== '$/cancelRequest');
      for (const word of used) assert.ok(words.has(word), `${c.id} uses unknown word ${word}`);
    }
  });

  it('are refused with the file and the problem when a case file is invalid', () => {
    const root = mkdtempSync(join(tmpdir(), 'taskwire-cases-'));
    try {
      writeFileSync(join(root, 'case.schema.json'), readFileSync(join(REPO, 'spec', 'conformance', 'case.schema.json')));
      mkdirSync(join(root, 'cases'));
      writeFileSync(join(root, 'cases', 'bad.json'), JSON.stringify({ cases: [{ id: 'x.y', section: 's1', level: 'OFTEN', title: 't', steps: [{ wait: 1 }] }] }));
      assert.throws(
        () => loadServerCases(root),
        (error: unknown) => error instanceof CaseFileError && /cases\/bad\.json/.test(error.message),
      );
      writeFileSync(
        join(root, 'cases', 'bad.json'),
        JSON.stringify({
          cases: [
            { id: 'x.y', section: 's1', level: 'MUST', title: 't', steps: [{ wait: 1 }] },
            { id: 'x.y', section: 's1', level: 'MUST', title: 't', steps: [{ wait: 1 }] },
          ],
        }),
      );
      assert.throws(() => loadServerCases(root), /case id x\.y is also used/);
      // Capabilities are learnt at the handshake: a case that needs some must start with one.
      writeFileSync(
        join(root, 'cases', 'bad.json'),
        JSON.stringify({ cases: [{ id: 'x.y', section: 's5.9.1', level: 'MUST', title: 't', server: { capabilities: { ackNext: true } }, steps: [{ connect: 'a' }, { handshake: 'a' }] }] }),
      );
      assert.throws(
        () => loadServerCases(root),
        (error: unknown) => error instanceof CaseFileError && error.message === 'cases/bad.json: case x.y needs capabilities, so its first step must be a handshake (they are checked there)',
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
