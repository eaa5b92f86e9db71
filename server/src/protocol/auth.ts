// The handshake's cryptography (session/hello, session/authenticate), shared by client and
// server: both sides prove knowledge of the authkey with HMAC-SHA256 over both nonces and
// the agreed protocol version, so neither proof can be replayed on another connection.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of randomness in a handshake nonce. */
export const NONCE_BYTES = 32;

/** A fresh handshake nonce: 32 bytes from the system's cryptographic RNG, base64. */
export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64');
}

/**
 * The client's proof for `session/authenticate`: lowercase hex
 * HMAC-SHA256(authkey, "taskwire-client\n" + serverNonce + "\n" + clientNonce + "\n" + protocolVersion),
 * the nonces being the base64 strings sent on the wire.
 */
export function clientProof(key: Buffer, serverNonce: string, clientNonce: string, version: string): string {
  return proof('taskwire-client', key, serverNonce, clientNonce, version);
}

/**
 * The server's proof in the `session/authenticate` result: as {@link clientProof} with the
 * label "taskwire-server", so a client proof can never be reflected back as a server proof.
 */
export function serverProof(key: Buffer, serverNonce: string, clientNonce: string, version: string): string {
  return proof('taskwire-server', key, serverNonce, clientNonce, version);
}

/**
 * Whether `givenHex` (as received, of any type) equals `expectedHex`, in time that does not
 * depend on where they differ nor on the given length: both sides are hashed to fixed-length
 * digests first, and the digests compared with crypto.timingSafeEqual. Exact comparison:
 * the protocol specifies lowercase hex, so uppercase does not match.
 */
export function proofMatches(expectedHex: string, givenHex: unknown): boolean {
  const given = typeof givenHex === 'string' ? givenHex : '';
  const matches = timingSafeEqual(digest(expectedHex), digest(given));
  return matches && typeof givenHex === 'string';
}

function proof(label: string, key: Buffer, serverNonce: string, clientNonce: string, version: string): string {
  return createHmac('sha256', key).update(`${label}\n${serverNonce}\n${clientNonce}\n${version}`, 'utf8').digest('hex');
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
