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
);
