// ESLint for the project's own TypeScript and JavaScript: `npm run lint`, and the `lint` suite of
// `npm test` (scripts/runTests.mjs). Formatting is Prettier's (.prettierrc.json), so no rule here
// is about layout. TypeScript files get typescript-eslint's recommended rules without type
// information: the compiler (strict, noUnused*) already checks types, and linting stays a few
// seconds instead of building every program again.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const unusedOnPurpose = { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true };

export default defineConfig(
  // Generated, built, installed and recorded files keep the form their tools give them.
  globalIgnores([
    '**/node_modules/',
    '**/dist/',
    'test-output/',
    '.cache/',
    '**/.taskwire/',
    'bench/results/',
    'server/src/protocol/generated.ts',
    'server/src/protocol/specDocument.ts',
    'server/conformance/',
    'extension/.vscode-test/',
  ]),
  {
    files: ['**/*.{js,cjs,mjs,ts}'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2022, globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A leading underscore marks a value left unused on purpose (tsc's noUnused* agrees), and a
      // rest pattern names what it leaves out of a copy (`const { secret, ...shown } = x`).
      'no-unused-vars': ['error', unusedOnPurpose],
      // A `let` read by a callback made before its one assignment cannot be a const (TDZ).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Patterns match aligned columns (CLI tables, Markdown) as they print, spaces and all.
      'no-regex-spaces': 'off',
    },
  },
  { files: ['**/*.js', '**/*.cjs'], languageOptions: { sourceType: 'commonjs' } },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: { '@typescript-eslint/no-unused-vars': ['error', unusedOnPurpose] },
  },
  // The extension's UI tests are mocha files that also run functions inside the workbench page.
  { files: ['extension/test/ui/**/*.js'], languageOptions: { globals: { ...globals.mocha, ...globals.browser } } },
  // Webview scripts run in the webview's browser page, where VS Code provides acquireVsCodeApi.
  {
    files: ['extension/media/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser, acquireVsCodeApi: 'readonly' } },
  },
);
