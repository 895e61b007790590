// Lint: type-aware rules on all TypeScript, plus the dependency rules of DESIGN.md expressed as
// import restrictions per folder, so a layering mistake fails `npm test` rather than review.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ours = (folders) => folders.map((f) => ({ group: [`**/${f}/**`, `../${f}/*`, `../../${f}/*`], message: `DESIGN.md dependency rules forbid importing ${f}/ here` }));
const ioModules = ['node:net', 'node:http', 'node:http2', 'node:https', 'node:tls', 'node:dgram', 'node:fs', 'node:fs/promises', 'node:child_process', 'undici', 'ws', '@kubernetes/client-node', 'http-proxy'];
const noIo = ioModules.map((name) => ({ name, message: 'pure module: no I/O (DESIGN.md)' }));

export default tseslint.config(
  { ignores: ['node_modules/**', 'bench/**', 'agent/native/build/**', 'charts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['bin/*.js', 'eslint.config.js'] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'erasable syntax only: use a union of string literals' }],
    },
  },
  { files: ['api/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: ours(['controller', 'agent', 'ingress', 'injector', 'cli']) }] } },
  { files: ['controller/**/*.ts', 'injector/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: ours(['agent', 'ingress', 'cli']) }] } },
  { files: ['agent/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: ours(['ingress', 'cli']) }] } },
  {
    files: ['controller/translate/**/*.ts', 'agent/route/**/*.ts', 'injector/inject/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: noIo, patterns: ours(['agent/inbound', 'agent/outbound', 'agent/balance', 'agent/tls', 'controller/provider', 'controller/publish', 'controller/status', 'ingress', 'cli']) }] },
  },
  { files: ['**/*.test.ts', 'test/**/*.ts'], rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-non-null-assertion': 'off' } },
  { files: ['eslint.config.js', 'bin/*.js'], ...tseslint.configs.disableTypeChecked },
  { files: ['bin/*.js'], languageOptions: { globals: { process: 'readonly' } } },
);
