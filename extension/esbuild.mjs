// Bundles the extension, the manager it starts and the test suite, so the packaged extension
// needs no node_modules:
//   src/extension.ts            -> dist/extension.js     (the extension; `vscode` is external)
//   src/manager/serverMain.ts   -> dist/server.js        (the `taskwire` CLI, run as a child process)
//   test/suite/*.ts             -> dist/test/suite/*.js  (the mocha suite run inside VS Code)
// `taskwire` is bundled from ../server/src, so building needs no prior server build.
// Usage: node esbuild.mjs [--watch]
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const serverRoot = join(here, '..', 'server');
/** The `exports` of server/package.json, as source files under server/src. */
const ENTRY_POINTS = {
  taskwire: ['index.ts'],
  'taskwire/client': ['client', 'index.ts'],
  'taskwire/server': ['server', 'index.ts'],
  'taskwire/cli': ['cli', 'main.ts'],
};
const serverVersion = JSON.parse(readFileSync(join(serverRoot, 'package.json'), 'utf8')).version;

/** The parts of the server a bundle cannot load from disk, resolved at build time instead. */
const taskwireFromSource = {
  name: 'taskwire-from-source',
  setup(build) {
    // The package's entry points, from source (types are checked by tsc through the same paths).
    build.onResolve({ filter: /^taskwire(\/(client|server|cli))?$/ }, (args) => ({ path: join(serverRoot, 'src', ...ENTRY_POINTS[args.path]) }));
    // version.ts reads ../../package.json beside the compiled file, which a bundle does not have.
    build.onLoad({ filter: /[\\/]server[\\/]src[\\/]version\.ts$/ }, () => ({
      contents: `export const packageVersion: string = ${JSON.stringify(serverVersion)};\n`,
      loader: 'ts',
    }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [taskwireFromSource],
};

const testDir = join(here, 'test', 'suite');
// index.ts (the entry both launchers load) and the test files; helpers are bundled into each.
const testEntries = readdirSync(testDir)
  .filter((name) => name === 'index.ts' || name.endsWith('.test.ts'))
  .map((name) => join(testDir, name));

const builds = [
  { ...common, entryPoints: [join(here, 'src', 'extension.ts')], outfile: join(here, 'dist', 'extension.js'), external: ['vscode'] },
  { ...common, entryPoints: [join(here, 'src', 'manager', 'serverMain.ts')], outfile: join(here, 'dist', 'server.js') },
  // mocha stays external: it loads reporters and UIs by name at run time.
  { ...common, entryPoints: testEntries, outdir: join(here, 'dist', 'test', 'suite'), external: ['vscode', 'mocha'] },
];

if (process.argv.includes('--watch')) {
  for (const options of builds) await (await esbuild.context(options)).watch();
  process.stdout.write('esbuild: watching src/ and test/suite/\n');
} else {
  rmSync(join(here, 'dist'), { recursive: true, force: true });
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
