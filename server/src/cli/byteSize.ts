const UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
};

/**
 * A size in bytes as an operator writes it: `1048576`, `512MiB`, `2GiB`, `1.5 GiB`, `64M` (K, M,
 * G, T and KiB... are powers of 1024; KB, MB, GB, TB powers of 1000; case does not matter).
 * `none` reads as 0, which every byte bound of Taskwire takes for "unlimited". Returns undefined
 * for anything else, so each caller words its own error.
 */
export function parseByteSize(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^none$/i.test(trimmed)) return 0;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(trimmed);
  if (!match) return undefined;
  const unit = UNITS[match[2]!.toLowerCase() || 'b'];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

export const BYTE_SIZE_HELP = 'bytes, or with a unit: 512MiB, 2GiB, 64M (powers of 1024), 500MB (powers of 1000)';
