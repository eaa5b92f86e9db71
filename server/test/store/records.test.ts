import { strict as assert } from 'node:assert';
import { crc32 } from 'node:zlib';
import { CorruptRecordError, encodeRecord, scanRecords } from '../../src/store';
import { HEADER_BYTES } from '../../src/store/records';
import { jsonTextOf, type JsonText } from '../../src/protocol/jsonText';

const RECORDS = [
  { op: 'queue', queue: 'jobs', options: { maxsize: 0, ttr: 60, maxAttempts: 5, deadLetter: 'jobs.dead' } },
  { op: 'put', tasks: [{ id: 't-0', queue: 'jobs', payload: jsonTextOf({ url: 'https://example.org/ü/😀', n: [1, 2, 3] }), priority: 0, enqueuedAt: 1, attempt: 1 }] },
  { op: 'lease', ids: ['t-0'] },
  { op: 'ack', ids: ['t-0'] },
];

function file(records: object[] = RECORDS): { buffer: Buffer; offsets: number[] } {
  const parts = records.map((record) => encodeRecord(record));
  const offsets: number[] = [];
  let offset = 0;
  for (const part of parts) {
    offsets.push(offset);
    offset += part.length;
  }
  return { buffer: Buffer.concat(parts), offsets };
}

describe('store: the record codec', () => {
  it('round-trips records, unicode included, with a 10-byte header', () => {
    const { buffer } = file();
    const scan = scanRecords(buffer, 'f');
    assert.deepEqual(scan.records, RECORDS);
    assert.equal(scan.torn, undefined);
    assert.deepEqual(scan.skipped, []);
    const one = encodeRecord(RECORDS[2]!);
    assert.equal(one.length, HEADER_BYTES + Buffer.byteLength(JSON.stringify(RECORDS[2])));
    assert.equal(one.toString('latin1', 0, 2), 'TW');
  });

  it('reads an empty file as no records', () => {
    assert.deepEqual(scanRecords(Buffer.alloc(0), 'f'), { records: [], skipped: [] });
  });

  it('drops a torn tail cut at any byte of the last record, keeping every record before it', () => {
    const { buffer, offsets } = file();
    const last = offsets.at(-1)!;
    for (let cut = last + 1; cut < buffer.length; cut++) {
      const scan = scanRecords(buffer.subarray(0, cut), 'f');
      assert.deepEqual(scan.records, RECORDS.slice(0, -1), `cut at ${cut}`);
      assert.deepEqual(scan.torn && { offset: scan.torn.offset, bytes: scan.torn.bytes }, { offset: last, bytes: cut - last }, `cut at ${cut}`);
    }
  });

  it('treats a last record with a bad checksum, or zeros after the last record, as a torn tail', () => {
    const { buffer, offsets } = file();
    const flipped = Buffer.from(buffer);
    flipped[flipped.length - 2]! ^= 0x01;
    const scan = scanRecords(flipped, 'f');
    assert.deepEqual(scan.records, RECORDS.slice(0, -1));
    assert.equal(scan.torn?.offset, offsets.at(-1));
    assert.match(scan.torn!.reason, /checksum/);

    // A file system may extend a file before the data reaches it: a crash leaves zeros.
    const zeros = scanRecords(Buffer.concat([buffer, Buffer.alloc(4096)]), 'f');
    assert.deepEqual(zeros.records, RECORDS);
    assert.deepEqual(zeros.torn && { offset: zeros.torn.offset, bytes: zeros.torn.bytes }, { offset: buffer.length, bytes: 4096 });
  });

  it('refuses a damaged record in the middle, naming the file and the offset, and where valid records resume', () => {
    const { buffer, offsets } = file();
    for (const at of [offsets[1]! + HEADER_BYTES + 3, offsets[1]! + 3, offsets[1]! + 7]) {
      // A body byte, a checksum byte, a length byte.
      const damaged = Buffer.from(buffer);
      damaged[at]! ^= 0x40;
      assert.throws(
        () => scanRecords(damaged, '/data/journal.00000001'),
        (error: unknown) => {
          assert.ok(error instanceof CorruptRecordError);
          assert.equal(error.file, '/data/journal.00000001');
          assert.equal(error.offset, offsets[1]);
          assert.equal(error.resumesAt, offsets[2]);
          assert.match(error.message, new RegExp(`^/data/journal\\.00000001 is corrupt at offset ${offsets[1]}: `));
          return true;
        },
        `damage at byte ${at}`,
      );
    }
  });

  it('with repair, skips the damaged stretch and reads on', () => {
    const { buffer, offsets } = file();
    const damaged = Buffer.from(buffer);
    damaged[offsets[1]! + HEADER_BYTES + 1]! ^= 0x01;
    const scan = scanRecords(damaged, 'f', { repair: true });
    assert.deepEqual(scan.records, [RECORDS[0], RECORDS[2], RECORDS[3]]);
    assert.deepEqual(
      scan.skipped.map(({ offset, bytes }) => ({ offset, bytes })),
      [{ offset: offsets[1], bytes: offsets[2]! - offsets[1]! }],
    );
    assert.equal(scan.torn, undefined);
  });

  it('does not take a payload that spells the marker for a record', () => {
    const records = [
      { op: 'put', tasks: [{ id: 'x', payload: jsonTextOf('TWTWTW\u0000TW') }] },
      { op: 'ack', ids: ['x'] },
    ];
    const { buffer } = file(records);
    assert.deepEqual(scanRecords(buffer, 'f').records, records);
    // Cut inside the second record: the marker-like bytes of the first are not a resync point.
    assert.deepEqual(scanRecords(buffer.subarray(0, buffer.length - 1), 'f').records, records.slice(0, 1));
  });

  it('refuses a record whose checksum matches but whose body is not a JSON object with "op"', () => {
    const forged = (body: string) => {
      // Encoded by hand: encodeRecord only takes objects.
      const raw = Buffer.from(body);
      const out = Buffer.alloc(HEADER_BYTES + raw.length);
      out.write('TW', 0, 'latin1');
      out.writeUInt32LE(raw.length, 6);
      raw.copy(out, HEADER_BYTES);
      out.writeUInt32LE(crc32(out.subarray(6)), 2);
      return out;
    };
    for (const body of ['[1,2]', '{"no":"op"}', 'not json']) {
      const scan = scanRecords(forged(body), 'f');
      assert.equal(scan.records.length, 0, body);
      assert.ok(scan.torn, body);
    }
  });

  it("writes a task's payload text into its record as the JSON value it is, and reads back the very text", () => {
    // What a serializer would change: a number past 2^53, 1.0, an exponent, escapes, duplicate keys.
    const payload = '{"b":1,"a":[1.0,1e400,12345678901234567890123],"s":"\\u00e9\\/","k":1,"k":2}' as JsonText;
    const put = { op: 'put', tasks: [{ id: 'x', queue: 'jobs', payload, priority: 0, enqueuedAt: 1, attempt: 1 }] };
    const task = { op: 'task', task: { id: 'y', queue: 'jobs', payload, priority: 0, enqueuedAt: 1, attempt: 1 } };
    const { buffer } = file([put, task]);
    const body = buffer.toString('utf8', HEADER_BYTES, buffer.readUInt32LE(6) + HEADER_BYTES);
    assert.equal(body, `{"op":"put","tasks":[{"id":"x","queue":"jobs","priority":0,"enqueuedAt":1,"attempt":1,"payload":${payload}}]}`);
    assert.deepEqual(scanRecords(buffer, 'f').records, [put, task]);
  });

  it('reads the records of a data dir written before payloads were kept as text: the payload is its compact JSON', () => {
    // Encoded as Taskwire 8c255af did: JSON.stringify of the record with the payload as a value.
    const old = { op: 'put', tasks: [{ id: 'x', queue: 'jobs', payload: { url: 'ü', n: [1, 2.5] }, priority: 0, enqueuedAt: 1, attempt: 1 }] };
    const body = Buffer.from(JSON.stringify(old));
    const out = Buffer.alloc(HEADER_BYTES + body.length);
    out.write('TW', 0, 'latin1');
    out.writeUInt32LE(body.length, 6);
    body.copy(out, HEADER_BYTES);
    out.writeUInt32LE(crc32(out.subarray(6)), 2);
    const [record] = scanRecords(out, 'f').records;
    assert.deepEqual(record, { ...old, tasks: [{ ...old.tasks[0], payload: '{"url":"ü","n":[1,2.5]}' }] });
  });
});
