// multiprocessing.connection's mutual challenge, both ways, as CPython 3.8-3.13 speak it:
//   S→C  #CHALLENGE#{sha256}<40 random bytes>      (the 3.12+ form; every client answers it)
//   C→S  HMAC-MD5(key, message), 16 bytes bare    (≤ 3.11: always MD5, over the whole message)
//        or {sha256}HMAC-SHA256(key, message)     (3.12+: the digest the challenge named)
//   S→C  #WELCOME# | #FAILURE#
//   then the client challenges the server: 20 bytes (≤ 3.11, answered with bare HMAC-MD5) or
//   {digest}<bytes> (3.12+, answered {digest}HMAC); the client says #WELCOME# or #FAILURE#.
// The message HMACed is everything after #CHALLENGE#, the {digest} prefix included.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const CHALLENGE = Buffer.from('#CHALLENGE#');
export const WELCOME = Buffer.from('#WELCOME#');
export const FAILURE = Buffer.from('#FAILURE#');
/** CPython reads every handshake message with this cap. */
export const MAX_HANDSHAKE_MESSAGE = 256;

/** Answers of these lengths are bare MD5 (≤ 3.11 clients), as CPython tells them apart: by length, not by a leading "{". */
const LEGACY_LENGTHS = new Set([16, 20]);

/** CPython's _ALLOWED_DIGESTS, by their names on the wire and in node:crypto. */
const DIGESTS: Record<string, string> = { md5: 'md5', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512', sha3_256: 'sha3-256', sha3_384: 'sha3-384', sha3_512: 'sha3-512' };

/** The challenge the server sends: #CHALLENGE# and the message an answer's HMAC covers. */
export function newChallenge(): { frame: Buffer; message: Buffer } {
  const message = Buffer.concat([Buffer.from('{sha256}'), randomBytes(40)]);
  return { frame: Buffer.concat([CHALLENGE, message]), message };
}

/** Which digest an answer or a challenge names, and its payload; undefined when it names none that is allowed. */
function digestOf(message: Buffer): { digest: string; payload: Buffer } | undefined {
  if (LEGACY_LENGTHS.has(message.length)) return { digest: 'md5', payload: message };
  if (message[0] !== 0x7b) return undefined;
  const close = message.indexOf(0x7d, 1);
  if (close < 0 || close > 21) return undefined;
  const name = message.toString('latin1', 1, close);
  const digest = Object.hasOwn(DIGESTS, name) ? DIGESTS[name] : undefined;
  return digest ? { digest, payload: message.subarray(close + 1) } : undefined;
}

/** Whether the client's answer proves it holds the key (compared in constant time). */
export function answerMatches(authkey: Buffer, message: Buffer, answer: Buffer): boolean {
  const named = digestOf(answer);
  if (!named) return false;
  const expected = createHmac(named.digest, authkey).update(message).digest();
  return expected.length === named.payload.length && timingSafeEqual(expected, named.payload);
}

/**
 * The server's answer to the client's challenge frame; undefined when it is not one (no
 * #CHALLENGE#, too short, or a digest CPython would not allow).
 */
export function answerChallenge(authkey: Buffer, frame: Buffer): Buffer | undefined {
  if (frame.length < CHALLENGE.length || !frame.subarray(0, CHALLENGE.length).equals(CHALLENGE)) return undefined;
  const message = frame.subarray(CHALLENGE.length);
  // CPython refuses challenges shorter than 20 bytes: no cheap replay of a short one.
  if (message.length < 20) return undefined;
  if (LEGACY_LENGTHS.has(message.length) || message[0] !== 0x7b) return createHmac('md5', authkey).update(message).digest();
  const named = digestOf(message);
  if (!named) return undefined;
  const name = Object.keys(DIGESTS).find((key) => DIGESTS[key] === named.digest)!;
  return Buffer.concat([Buffer.from(`{${name}}`), createHmac(named.digest, authkey).update(message).digest()]);
}
