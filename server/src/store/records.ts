import { crc32 } from 'node:zlib';
import { recordText, restorePayloadTexts } from './recordText';

/**
 * The on-disk record codec shared by journals and snapshots. One record:
 *
 *     offset 0  2 bytes  magic "TW" (0x54 0x57)
 *     offset 2  4 bytes  CRC-32 of the next 4 + n bytes (the length and the body), unsigned little-endian
 *     offset 6  4 bytes  body length n, unsigned little-endian
 *     offset 10 n bytes  body: one JSON object with an "op" member, UTF-8
 *
 * Task payloads inside a body are the texts the clients sent (recordText.ts).
 *
 * The length finds the next record; the checksum covers the length too, so a damaged length
 * is caught as well as a damaged body. A record cut short by a crash (its length runs past the
 * end of the file, or its checksum fails and nothing valid follows) is a torn tail; a damaged
 * record with valid records after it is corruption, which only --repair skips.
 */

export const HEADER_BYTES = 10;
const MAGIC_0 = 0x54;
const MAGIC_1 = 0x57;
/** Bodies are at most a frame (16 MiB by default) and a little; this only bounds garbage. */
const MAX_BODY_BYTES = 0x7fff_ffff;

/** A decoded record: a JSON object with a string "op". */
export interface StoredRecord {
  op: string;
  [key: string]: unknown;
}

export function encodeRecord(record: object): Buffer {
  const body = recordText(record);
  const buffer = Buffer.allocUnsafe(HEADER_BYTES + Buffer.byteLength(body));
  encodeInto(buffer, 0, body);
  return buffer;
}

/**
 * Encodes a record's JSON text into `buffer` at `offset`; returns where it ends, or -1 when it
 * does not fit (nothing useful is written then). Lets a snapshot fill one large buffer instead
 * of allocating a buffer per task.
 */
export function encodeInto(buffer: Buffer, offset: number, body: string): number {
  const start = offset + HEADER_BYTES;
  // Up to 3 bytes per UTF-16 unit: if that fits, no need to measure first.
  if (start + body.length * 3 > buffer.length && start + Buffer.byteLength(body) > buffer.length) return -1;
  const length = buffer.write(body, start, 'utf8');
  buffer[offset] = MAGIC_0;
  buffer[offset + 1] = MAGIC_1;
  buffer.writeUInt32LE(length, offset + 6);
  buffer.writeUInt32LE(crc32(buffer.subarray(offset + 6, start + length)), offset + 2);
  return start + length;
}

type Attempt = { ok: true; record: StoredRecord; end: number } | { ok: false; reason: string };

/** Reads the record at `offset`, or says why there is none. */
function readAt(buffer: Buffer, offset: number): Attempt {
  if (buffer.length - offset < HEADER_BYTES) return { ok: false, reason: `an incomplete header (${buffer.length - offset} of ${HEADER_BYTES} bytes)` };
  if (buffer[offset] !== MAGIC_0 || buffer[offset + 1] !== MAGIC_1) return { ok: false, reason: 'no record marker' };
  const length = buffer.readUInt32LE(offset + 6);
  const end = offset + HEADER_BYTES + length;
  if (length > MAX_BODY_BYTES || end > buffer.length) return { ok: false, reason: `a length (${length} bytes) that runs past the end of the file` };
  if (crc32(buffer.subarray(offset + 6, end)) !== buffer.readUInt32LE(offset + 2)) return { ok: false, reason: 'a checksum mismatch' };
  let value: unknown;
  const body = buffer.toString('utf8', offset + HEADER_BYTES, end);
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'a body that is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as StoredRecord).op !== 'string') {
    return { ok: false, reason: 'a body without "op"' };
  }
  restorePayloadTexts(value as StoredRecord, body);
  return { ok: true, record: value as StoredRecord, end };
}

/** The offset of the next valid record at or after `from`, or -1. */
function nextValid(buffer: Buffer, from: number): number {
  for (let i = buffer.indexOf(MAGIC_0, from); i >= 0 && i + HEADER_BYTES <= buffer.length; i = buffer.indexOf(MAGIC_0, i + 1)) {
    if (buffer[i + 1] === MAGIC_1 && readAt(buffer, i).ok) return i;
  }
  return -1;
}

/** A damaged record with valid records after it: the file cannot be read as it is. */
export class CorruptRecordError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
    /** Where the next valid record starts. */
    readonly resumesAt: number,
  ) {
    super(`${file} is corrupt at offset ${offset}: ${reason}, and valid records follow at offset ${resumesAt}`);
    this.name = 'CorruptRecordError';
  }
}

export interface ScanResult {
  records: StoredRecord[];
  /** Bytes at the end that hold no complete record (a write cut short by a crash). */
  torn?: { offset: number; bytes: number; reason: string };
  /** Damaged stretches skipped with `repair`. */
  skipped: { offset: number; bytes: number; reason: string }[];
}

/**
 * Decodes every record of a file's contents. A torn tail is reported, not thrown; a damaged
 * record followed by valid ones throws CorruptRecordError, unless `repair`, which skips to the
 * next valid record and reports what it skipped.
 */
export function scanRecords(buffer: Buffer, file: string, options: { repair?: boolean } = {}): ScanResult {
  const result: ScanResult = { records: [], skipped: [] };
  let offset = 0;
  while (offset < buffer.length) {
    const attempt = readAt(buffer, offset);
    if (attempt.ok) {
      result.records.push(attempt.record);
      offset = attempt.end;
      continue;
    }
    const resumesAt = nextValid(buffer, offset + 1);
    if (resumesAt < 0) {
      result.torn = { offset, bytes: buffer.length - offset, reason: attempt.reason };
      break;
    }
    if (!options.repair) throw new CorruptRecordError(file, offset, attempt.reason, resumesAt);
    result.skipped.push({ offset, bytes: resumesAt - offset, reason: attempt.reason });
    offset = resumesAt;
  }
  return result;
}
