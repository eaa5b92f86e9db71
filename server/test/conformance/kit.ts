// Shared by the kit's own tests: where the repository's pieces are, and server commands for
// the reference server and the deliberately broken fixture.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadServerCases } from '../../src/conformance/cases';
import { REFERENCE_OPTION_FLAGS, referenceServerCommand } from '../../src/conformance/commandTemplate';
import type { CaseResult } from '../../src/conformance/results';
import { runServerCases, type ServerRunOptions } from '../../src/conformance/serverRunner';

/** dist/test/conformance → the repository root. */
export const REPO = resolve(__dirname, '..', '..', '..', '..');
export const BIN = resolve(REPO, 'server', 'bin', 'taskwire.js');
export const BROKEN_SERVER = resolve(REPO, 'server', 'test', 'fixtures', 'brokenServer.js');
export const PYTHON_DRIVER = resolve(REPO, 'samples', 'python', 'conformance_driver.py');
/** The TypeScript client's driver as the package ships it (dist/src/conformance). */
export const TYPESCRIPT_DRIVER = resolve(REPO, 'server', 'dist', 'src', 'conformance', 'typescriptDriver.js');
export const MISBEHAVING_DRIVER = resolve(REPO, 'server', 'test', 'fixtures', 'misbehavingDriver.js');

export function misbehavingDriverCmd(mode: string): string {
  return `"${process.execPath}" "${MISBEHAVING_DRIVER}" ${mode}`;
}

export const REFERENCE_SERVER_CMD = referenceServerCommand();

export function brokenServerCmd(mode: string): string {
  return `"${process.execPath}" "${BROKEN_SERVER}" --mode ${mode} --port {port} --authkey-file {authkeyFile} ${REFERENCE_OPTION_FLAGS}`;
}

/** Runs server cases against servers the runner starts from `command`, with a fresh key (over TLS when `tls` is given). */
export async function runAgainst(command: string, ids?: (id: string) => boolean, tls?: ServerRunOptions['tls']): Promise<CaseResult[]> {
  const home = mkdtempSync(join(tmpdir(), 'taskwire-kit-'));
  const authkeyFile = join(home, 'authkey');
  const key = randomBytes(16).toString('hex');
  writeFileSync(authkeyFile, key + '\n', { mode: 0o600 });
  try {
    const cases = loadServerCases().filter((c) => ids === undefined || ids(c.id));
    return await runServerCases(cases, { host: '127.0.0.1', authkey: Buffer.from(key), serverCommand: command, authkeyFile, ...(tls ? { tls } : {}) });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
