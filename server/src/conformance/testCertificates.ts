// Throw-away TLS material for test runs (`taskwire conformance --tls`, the package's own
// tests): a CA and a server certificate it signs, for 127.0.0.1 and localhost. Node can parse
// certificates but not make them, so this runs `openssl`, the tool users have; a missing
// openssl is an error that says so, never a silent fallback to plain TCP.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** openssl is missing or failed: the message says which and what to do. */
export class CertificateError extends Error {}

/** PEM files written by {@link makeTestCertificates}, and their content. */
export interface TestCertificates {
  /** The CA certificate clients trust (`--tls-ca`, `tls: { ca }`). */
  caFile: string;
  /** The server certificate, signed by the CA, for IP:127.0.0.1 and DNS:localhost. */
  certFile: string;
  /** The server certificate's private key (`--tls-key`). */
  keyFile: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Days the certificates are valid: a test run needs minutes; a day absorbs clock skew. */
const VALID_DAYS = 2;

/**
 * Extensions as strict verifiers want them (Python 3.13's VERIFY_X509_STRICT among them): a
 * critical CA constraint and key usage on the CA, key identifiers on both, and on the server
 * certificate the names a client checks.
 */
const CA_CONFIG = `[req]
distinguished_name = dn
x509_extensions = ca
prompt = no
[dn]
CN = Taskwire test CA
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
`;

const SERVER_REQUEST_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = localhost
`;

const SERVER_EXTENSIONS = `basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = NAMES
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/** Whether `openssl` can be run; the reason when it cannot. */
export function opensslMissing(): string | undefined {
  const probe = spawnSync('openssl', ['version'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.error) return `cannot run openssl: ${probe.error.message}`;
  if (probe.status !== 0) return `openssl version exited with ${probe.status}: ${probe.stderr.trim()}`;
  return undefined;
}

function openssl(args: string[], dir: string): void {
  const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  if (run.error) {
    throw new CertificateError(`cannot make a test certificate: openssl cannot be run (${run.error.message}); install it (Debian: apt-get install openssl) or give a certificate and key`);
  }
  if (run.status !== 0) throw new CertificateError(`cannot make a test certificate: openssl ${args[0]} failed: ${run.stderr.trim()}`);
}

/** The names the server certificate is for, unless told otherwise. */
export const TEST_CERTIFICATE_NAMES = ['IP:127.0.0.1', 'DNS:localhost'];

/**
 * Makes a fresh CA and a server certificate signed by it in `dir` (created if needed):
 * ca.pem, server.pem, server.key. Elliptic-curve keys: instant to generate.
 */
export function makeTestCertificates(dir: string, names: readonly string[] = TEST_CERTIFICATE_NAMES): TestCertificates {
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => path.join(dir, name);
  writeFileSync(file('ca.cnf'), CA_CONFIG);
  writeFileSync(file('server.cnf'), SERVER_REQUEST_CONFIG);
  writeFileSync(file('server.ext'), SERVER_EXTENSIONS.replace('NAMES', names.join(', ')));
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', '-config', 'ca.cnf', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', String(VALID_DAYS)], dir);
  openssl(['req', '-new', '-config', 'server.cnf', ...ecKey, '-keyout', 'server.key', '-out', 'server.csr'], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      String(VALID_DAYS),
      '-extfile',
      'server.ext',
      '-out',
      'server.pem',
    ],
    dir,
  );
  return {
    caFile: file('ca.pem'),
    certFile: file('server.pem'),
    keyFile: file('server.key'),
    ca: readFileSync(file('ca.pem')),
    cert: readFileSync(file('server.pem')),
    key: readFileSync(file('server.key')),
  };
}
