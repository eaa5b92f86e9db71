import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
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
    assert.match(
      second.stderr,
      new RegExp(
        `^taskwire: error: the data dir ${escape(dataDir)} is in use by another manager \\(pid ${first.child.pid} on ${escape(hostname())}, since \\d{4}-\\d\\d-\\d\\dT[^)]+\\); stop that manager first, or give this one another --data-dir`,
      ),
    );
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
    assert.match(
      refused.stderr,
      new RegExp(
        `^taskwire: error: ${escape(file)} is corrupt at offset ${damagedAt}: a checksum mismatch, and valid records follow at offset ${offsets[4]}; start with --repair .*; \`taskwire journal check ${escape(dataDir)}\` lists every damaged record$`,
        'm',
      ),
    );
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

  /** A data dir with tasks "one", "two", "three" put and the manager killed; returns the journal's record offsets. */
  async function threeTasksThenKill(): Promise<{ home: string; dataDir: string; file: string; offsets: number[] }> {
    const home = makeHome();
    const dataDir = join(makeHome(), 'data');
    const serve = await startServe(['--data-dir', dataDir], { home });
    for (const payload of ['one', 'two', 'three']) assert.equal((await serve.run(['put', 'jobs', payload])).code, 0);
    serve.child.kill('SIGKILL');
    await serve.exited;
    const file = journalFile(dataDir);
    return { home, dataDir, file, offsets: recordOffsets(readFileSync(file)) };
  }

  it('taskwire journal check: a clean dir and a torn tail are ok (exit 0); a flipped byte in the middle is damage (exit 1) with the file and offset', async () => {
    const { dataDir, file, offsets } = await threeTasksThenKill();
    const clean = await runCli(['journal', 'check', dataDir]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /^ {2}3 tasks in 1 queue$/m);
    assert.match(clean.stdout, /^ok: a manager starts on it$/m);

    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 3));
    const torn = await runCli(['journal', 'check', dataDir]);
    assert.equal(torn.code, 0, torn.stdout);
    assert.match(torn.stdout, new RegExp(`^  torn tail: ${escape(basename(file))} at offset ${offsets[4]} \\(\\d+ bytes\\): .* dropped at the next start$`, 'm'));
    assert.match(torn.stdout, /^ok: a manager starts on it \(dropping the torn tail, with a warning\)$/m);

    const damaged = Buffer.from(bytes);
    damaged[offsets[3]! + HEADER_BYTES + 5]! ^= 0x20;
    writeFileSync(file, damaged);
    const bad = await runCli(['journal', 'check', dataDir]);
    assert.equal(bad.code, 1, bad.stdout);
    assert.match(bad.stdout, new RegExp(`^  DAMAGED: ${escape(basename(file))} at offset ${offsets[3]} \\(${offsets[4]! - offsets[3]!} bytes\\): a checksum mismatch`, 'm'));
    assert.match(
      bad.stdout,
      new RegExp(`^damaged: a manager refuses to start on it. \`taskwire journal repair ${escape(dataDir)}\` \\(or \`taskwire serve --repair\`\\) skips the damaged records`, 'm'),
    );
    const json = await runCli(['journal', 'check', dataDir, '--json']);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as { ok: boolean; tasks: number; damaged: { file: string; offset: number }[] };
    assert.deepEqual([report.ok, report.tasks, report.damaged.map((d) => [d.file, d.offset])], [false, 2, [[file, offsets[3]]]]);
    // check only reads: the file is as it was.
    assert.deepEqual(readFileSync(file), damaged);
  });

  it('taskwire journal repair: rewrites the dir without the damaged record, after which check is clean and a manager starts', async () => {
    const { home, dataDir, file, offsets } = await threeTasksThenKill();
    const bytes = readFileSync(file);
    bytes[offsets[3]! + HEADER_BYTES + 5]! ^= 0x20;
    writeFileSync(file, bytes);
    const repaired = await runCli(['journal', 'repair', dataDir]);
    assert.equal(repaired.code, 0, repaired.stderr);
    assert.match(repaired.stdout, new RegExp(`^${escape(dataDir)}: rewritten with 2 tasks in 1 queue; skipped 1 damaged stretch \\(\\d+ bytes: what they held is lost\\)$`, 'm'));
    assert.equal((await runCli(['journal', 'check', dataDir])).code, 0);
    const serve = await startServe(['--data-dir', dataDir], { home });
    const got = await serve.run(['get', 'jobs', '--max', '5', '--no-wait', '--payload']);
    assert.deepEqual(got.stdout.trim().split('\n'), ['"one"', '"three"']);
  });

  it('taskwire journal: repair refuses while a manager runs (check says it runs); both refuse a dir that holds no data', async () => {
    const dataDir = join(makeHome(), 'data');
    const serve = await startServe(['--data-dir', dataDir]);
    assert.equal((await serve.run(['put', 'jobs', 'x'])).code, 0);
    const refused = await runCli(['journal', 'repair', dataDir]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      new RegExp(`^taskwire: error: the data dir ${escape(dataDir)} is in use by another manager \\(pid ${serve.child.pid} on .*\\(repair needs the manager stopped\\)$`, 'm'),
    );
    const check = await runCli(['journal', 'check', dataDir]);
    assert.equal(check.code, 0);
    assert.match(check.stdout, new RegExp(`^  a manager runs on it \\(pid ${serve.child.pid} on ${escape(hostname())}\\): its last write may be in progress`, 'm'));

    const empty = makeHome();
    for (const verb of ['check', 'repair']) {
      const none = await runCli(['journal', verb, empty]);
      assert.equal(none.code, 2);
      assert.equal(none.stderr, `taskwire: error: ${empty} holds no Taskwire data (no snapshot, no journal): is it the directory given to --data-dir?\n`);
      const missing = await runCli(['journal', verb, join(empty, 'nope')]);
      assert.equal(missing.code, 2);
      assert.equal(missing.stderr, `taskwire: error: ${join(empty, 'nope')} does not exist\n`);
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
