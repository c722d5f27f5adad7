import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'charts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[object.name='process'][property.name='env']", message: 'Read configuration once in src/config.ts, not process.env in modules.' },
      ],
    },
  },
  {
    // Pure layers: no I/O imports.
    files: ['src/analysis/**/*.ts', 'src/model/**/*.ts', 'src/recommend/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:fs*', 'node:net', 'node:http*', 'node:child_process', 'fs', 'http', 'https', '**/sources/**', '**/controller/**', '**/docker/**', '**/local/**', '**/cli/**'] }],
    },
  },
  {
    files: ['src/config.ts', 'test/**/*.ts', 'bench/**/*.ts', 'hack/**/*.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  // The operator's runtime (src/controller/runtime/) knows nothing of MemoryAudits: the domain
  // around it (api/, reconcile/, status, evidence, patch) uses it, never the reverse; only
  // start-controller.ts wires the two. Specifiers are relative, so one block per depth. Keep these
  // blocks after any wider no-restricted-imports block: a later block replaces the rule's options.
  {
    files: ['src/controller/runtime/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./(?!\\.\\./)|/cli/', message: 'The controller runtime must not import the controller domain or the CLI.' }] }] },
  },
  {
    files: ['src/controller/runtime/kube/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./\\.\\./(?!\\.\\./)|/cli/', message: 'The controller runtime must not import the controller domain or the CLI.' }] }] },
  },
);
