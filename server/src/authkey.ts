import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** The folder for Taskwire's own files: $TASKWIRE_HOME, or ~/.taskwire. */
export function taskwireHome(): string {
  return process.env.TASKWIRE_HOME || join(homedir(), '.taskwire');
}

/** Where `taskwire serve` writes a generated key and where clients look for one by default. */
export function defaultAuthkeyFile(): string {
  return join(taskwireHome(), 'authkey');
}

/** A key file holds the key as text; trailing whitespace (the newline) is not part of it. */
export function readAuthkeyFile(path: string): Buffer {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `authkey file ${path} does not exist` : `cannot read authkey file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let end = text.length;
  while (end > 0 && (text[end - 1] === 0x0a || text[end - 1] === 0x0d || text[end - 1] === 0x20 || text[end - 1] === 0x09)) end--;
  if (end === 0) throw new Error(`authkey file ${path} is empty`);
  return text.subarray(0, end);
}

/** Writes 32 random bytes as 64 hex characters to a file only the user can read. */
export function generateAuthkeyFile(path: string): Buffer {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(32).toString('hex');
  writeFileSync(path, key + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
  return Buffer.from(key);
}

export interface AuthkeySource {
  authkey?: string | Buffer;
  authkeyFile?: string;
}

/** Where a key came from, for messages. */
export interface ResolvedAuthkey {
  key: Buffer;
  source: string;
}

/**
 * Finds the key the way every Taskwire tool does: an explicit key, an explicit file,
 * $TASKWIRE_AUTHKEY, $TASKWIRE_AUTHKEY_FILE, then the default key file.
 */
export function resolveAuthkey(source: AuthkeySource = {}): ResolvedAuthkey {
  if (source.authkey !== undefined && source.authkey.length > 0) {
    return { key: Buffer.isBuffer(source.authkey) ? source.authkey : Buffer.from(source.authkey, 'utf8'), source: 'the given authkey' };
  }
  if (source.authkeyFile) return { key: readAuthkeyFile(source.authkeyFile), source: source.authkeyFile };
  if (process.env.TASKWIRE_AUTHKEY) return { key: Buffer.from(process.env.TASKWIRE_AUTHKEY, 'utf8'), source: '$TASKWIRE_AUTHKEY' };
  if (process.env.TASKWIRE_AUTHKEY_FILE) {
    return { key: readAuthkeyFile(process.env.TASKWIRE_AUTHKEY_FILE), source: process.env.TASKWIRE_AUTHKEY_FILE };
  }
  const fallback = defaultAuthkeyFile();
  if (existsSync(fallback)) return { key: readAuthkeyFile(fallback), source: fallback };
  throw new Error(
    `no authkey: give one (authkeyFile / authkey in code, --authkey-file / --authkey on the command line), set TASKWIRE_AUTHKEY_FILE or TASKWIRE_AUTHKEY, or start \`taskwire serve\` on this machine so ${fallback} exists`,
  );
}
