import { clientProof, newNonce, proofMatches, serverProof } from '../protocol/auth';
import { ProtocolError } from '../protocol/errors';
import { ErrorCodes, PROTOCOL_VERSIONS, type AuthenticateResult, type HelloParams, type HelloResult } from '../protocol/generated';
import { MANAGER_IDS_SINCE, speaks } from '../protocol/versions';
import type { Session } from './session';

export const SERVER_NAME = 'taskwire';

/** Picks the newest version both sides speak. */
export function negotiateVersion(offered: readonly string[]): string | undefined {
  for (let i = PROTOCOL_VERSIONS.length - 1; i >= 0; i--) {
    if (offered.includes(PROTOCOL_VERSIONS[i]!)) return PROTOCOL_VERSIONS[i];
  }
  return undefined;
}

/**
 * session/hello: learn who is calling and send a fresh nonce. No MAC is computed yet, so a
 * caller without the key gets nothing it could attack offline.
 * `{"jsonrpc":"2.0","id":1,"method":"session/hello","params":{"protocolVersions":["2026-11"],"nonce":"…","client":{"name":"worker"}}}`
 */
export function hello(session: Session, params: HelloParams, serverVersion: string, managerId: string): HelloResult {
  const version = negotiateVersion(params.protocolVersions);
  if (version === undefined) {
    throw new ProtocolError(ErrorCodes.UnsupportedProtocolVersion, `unsupported protocol version: the server speaks ${PROTOCOL_VERSIONS.join(', ')}`, {
      supported: [...PROTOCOL_VERSIONS],
    });
  }
  session.client = params.client;
  session.protocolVersion = version;
  session.clientNonce = params.nonce;
  session.serverNonce = newNonce();
  session.state = 'greeted';
  const result: HelloResult = { protocolVersion: version, nonce: session.serverNonce, server: { name: SERVER_NAME, version: serverVersion } };
  // Since 2026-12 (§5.1): which manager answers, so a client that fails over can tell them apart.
  if (speaks(version, MANAGER_IDS_SINCE)) result.managerId = managerId;
  return result;
}

/**
 * session/authenticate: check the client's proof in constant time and prove the server knows
 * the key too. Returns undefined on a bad proof; the caller answers -32001 after a delay.
 * `{"jsonrpc":"2.0","id":2,"method":"session/authenticate","params":{"proof":"9f2c…"}}`
 */
export function authenticate(session: Session, proof: unknown, authkey: Buffer, rest: Omit<AuthenticateResult, 'sessionId' | 'serverProof'>): AuthenticateResult | undefined {
  const version = session.protocolVersion!;
  const expected = clientProof(authkey, session.serverNonce!, session.clientNonce!, version);
  if (!proofMatches(expected, proof)) return undefined;
  session.authenticated();
  return {
    sessionId: session.id,
    serverProof: serverProof(authkey, session.serverNonce!, session.clientNonce!, version),
    ...rest,
  };
}
