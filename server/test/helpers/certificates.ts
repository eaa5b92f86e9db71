// TLS material for tests, made with openssl at test time: a CA and a server certificate it
// signs for IP:127.0.0.1 and DNS:localhost. Without openssl the tests fail and say so: a TLS
// test that skips would pass on exactly the machines where nobody checked TLS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCertificates, opensslMissing, type TestCertificates } from '../../src/conformance/testCertificates';

const folders: string[] = [];

/** Throws, saying how to install it, when openssl cannot be run. */
export function requireOpenssl(): void {
  const missing = opensslMissing();
  if (missing !== undefined) {
    throw new Error(`the TLS tests need openssl to make their certificates, and ${missing}; install it (Debian: apt-get install openssl; npm test does so as root through scripts/setupTestTools.sh)`);
  }
}

/** A fresh CA and server certificate in a temporary folder (see removeCertificates). */
export function makeCertificates(names?: readonly string[]): TestCertificates {
  requireOpenssl();
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-test-tls-'));
  folders.push(dir);
  return makeTestCertificates(dir, names);
}

/** Removes every folder makeCertificates made. */
export function removeCertificates(): void {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
}
