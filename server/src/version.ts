import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package's version, read once from package.json (two levels above the compiled file). */
export const packageVersion: string = (() => {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();
