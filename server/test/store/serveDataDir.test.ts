import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { HEADER_BYTES } from '../../src/store/records';
import { cleanupCli, makeHome, runCli, startServe } from '../cli/cliHarness';

// `taskwire serve --data-dir`: the banner, the options, and what it does with a damaged or
// busy data dir.

/** Offsets of the records in a journal file. */
function recordOffsets(buffer: Buffer): number[] {
  const offsets: number[] = [];
  for (let offset = 0; offset < buffer.length; offset += HEADER_BYTES + buffer.readUInt32LE(offset + 6)) offsets.push(offset);
  return offsets;
}

function journalFile(dataDir: string): string {
  const names = readdirSync(dataDir).filter((name) => name.startsWith('journal.'));
  assert.equal(names.length, 1, `journals: ${names.join(', ')}`);
  return join(dataDir, names[0]!);
}

describe('cli e2e: taskwire serve --data-dir', function () {
  this.timeout(30_000);
  afterEach(cleanupCli);

  it('says where the store is, the fsync mode and what it recovered', async () => {
    const home = makeHome();
    const dataDir = join(makeHome(), 'data');
    const first = await startServe(['--data-dir', dataDir], { home });
    await first.waitFor('the whole banner', () => first.stderr.includes('Stop:'));
    assert.match(first.stderr, new RegExp(`Store: ${escape(dataDir)} \\(fsync always\\); recovered 0 tasks in 0 queues, 0 leases returned\\n`));
    assert.doesNotMatch(first.stderr, /in memory/);
    assert.equal((await first.run(['put', 'jobs', 'a', 'b'])).code, 0);
    assert.equal((await first.stop('SIGTERM')).code, 0);

    const second = await startServe(['--data-dir', dataDir, '--fsync', 'everysec'], { home });
    await second.waitFor('the whole banner', () => second.stderr.includes('Stop:'));
    assert.match(second.stderr, new RegExp(`Store: ${escape(dataDir)} \\(fsync everysec\\); recovered 2 tasks in 1 queue, 0 leases returned\\n`));
    const got = await second.run(['get', 'jobs', '--max', '5', '--no-wait', '--payload']);
    assert.deepEqual(got.stdout.trim().split('\n'), ['"a"', '"b"']);
  });

  it('documents the options in --help and refuses --fsync or --repair without --data-dir', async () => {
    const help = await runCli(['serve', '--help']);
    assert.equal(help.code, 0);
    for (const text of ['--data-dir <dir>', '--fsync <mode>', 'everysec', '--repair', '--max-crashes <n>', 'Durability:']) assert.ok(help.stdout.includes(text), `--help lacks ${text}`);
    const fsync = await runCli(['serve', '--port', '0', '--fsync', 'never']);
    assert.equal(fsync.code, 2);
    assert.match(fsync.stderr, /--fsync needs --data-dir/);
    const mode = await runCli(['serve', '--port', '0', '--data-dir', join(makeHome(), 'd'), '--fsync', 'sometimes']);
    assert.equal(mode.code, 2);
    assert.match(mode.stderr, /Allowed choices are always, everysec, never/);
  });

  it('refuses a data dir that another manager uses', async () => {
    const dataDir = join(makeHome(), 'data');
    const first = await startServe(['--data-dir', dataDir]);
    const second = await runCli(['serve', '--port', '0', '--data-dir', dataDir]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`^taskwire: error: the data dir ${escape(dataDir)} is in use by another manager \\(pid ${first.child.pid} on ${escape(hostname())}, since \\d{4}-\\d\\d-\\d\\dT[^)]+\\); stop that manager first, or give this one another --data-dir`));
  });

  it('stops at a damaged record in the middle with the file and the offset, and starts with --repair', async () => {
    const home = makeHome();
    const dataDir = join(makeHome(), 'data');
    const first = await startServe(['--data-dir', dataDir], { home });
    for (const payload of ['one', 'two', 'three']) assert.equal((await first.run(['put', 'jobs', payload])).code, 0);
    first.child.kill('SIGKILL');
    await first.exited;
    const file = journalFile(dataDir);
    const bytes = readFileSync(file);
    // Records: the journal header, the queue, then one put per payload. Damage "two".
    const offsets = recordOffsets(bytes);
    assert.equal(offsets.length, 5);
    const damagedAt = offsets[3]!;
    bytes[damagedAt + HEADER_BYTES + 5]! ^= 0x20;
    writeFileSync(file, bytes);

    const refused = await runCli(['serve', '--port', '0', '--data-dir', dataDir], { env: first.env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`^taskwire: error: ${escape(file)} is corrupt at offset ${damagedAt}: a checksum mismatch, and valid records follow at offset ${offsets[4]}; start with --repair`));
    assert.equal(refused.stderr.trim().split('\n').length, 1);

    const repaired = await startServe(['--data-dir', dataDir, '--repair', '--json'], { home });
    const entries = repaired.stdoutLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const warning = entries.find((entry) => entry.level === 'warn');
    assert.deepEqual([warning?.message, warning?.file, warning?.offset], ['--repair: skipped damaged records', file, damagedAt]);
    const ready = entries.find((entry) => entry.message === 'ready') as { recovered: Record<string, number> };
    assert.deepEqual(ready.recovered, { tasks: 2, queues: 1, leasesReturned: 0, tornRecords: 0, skippedRecords: 1 });
    const got = await repaired.run(['get', 'jobs', '--max', '5', '--no-wait', '--payload']);
    assert.deepEqual(got.stdout.trim().split('\n'), ['"one"', '"three"']);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
