import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers (docs/architecture.md): imports run downward only.
//   cli -> local | docker | controller | report | analysis | sampling | sources | recommend | model
//   local, docker, controller (the modes) -> sampling -> sources -> model, errors
//   report -> analysis -> recommend -> model
// No mode reaches into another mode, nothing imports the CLI, and the pure layers do no I/O.
// Cycles and unused exports are checked by test/unit/layout.test.ts and knip.
const layer = (...forbidden) => ['error', { patterns: forbidden.map((dir) => ({ group: [`**/${dir}/**`, `**/${dir}.ts`], message: `this layer must not import from src/${dir} (docs/architecture.md)` })) }];
const IO_MODULES = ['node:fs*', 'node:net', 'node:http*', 'node:child_process', 'fs', 'http', 'https', 'dockerode', '@kubernetes/*'];

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
    // Pure layers: no I/O, nothing from the outer layers.
    files: ['src/analysis/**/*.ts', 'src/model/**/*.ts', 'src/recommend/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...IO_MODULES, ...['sources', 'sampling', 'report', 'controller', 'docker', 'local', 'cli', 'config'].flatMap((d) => [`**/${d}/**`, `**/${d}.ts`])] }],
    },
  },
  { files: ['src/sources/**/*.ts'], rules: { 'no-restricted-imports': layer('analysis', 'recommend', 'report', 'sampling', 'controller', 'docker', 'local', 'cli', 'config') } },
  { files: ['src/sampling/**/*.ts'], rules: { 'no-restricted-imports': layer('analysis', 'recommend', 'report', 'controller', 'docker', 'local', 'cli', 'config') } },
  { files: ['src/report/**/*.ts'], rules: { 'no-restricted-imports': layer('sources', 'sampling', 'controller', 'docker', 'local', 'cli', 'config') } },
  { files: ['src/local/**/*.ts'], rules: { 'no-restricted-imports': layer('controller', 'docker', 'cli', 'report') } },
  { files: ['src/docker/**/*.ts'], rules: { 'no-restricted-imports': layer('controller', 'local', 'cli', 'report') } },
  { files: ['src/controller/**/*.ts'], rules: { 'no-restricted-imports': layer('docker', 'local', 'cli', 'report') } },
  {
    files: ['src/config.ts', 'test/**/*.ts', 'bench/**/*.ts', 'hack/**/*.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  // The operator's runtime (src/controller/runtime/) knows nothing of MemoryAudits: the domain
  // around it (api/, reconcile/, status, evidence, patch) uses it, never the reverse; only
  // start-controller.ts wires the two. Specifiers are relative, so one block per depth. These
  // blocks come after the controller's layer block, whose groups they repeat: a later block
  // replaces the rule's options for the files it matches.
  ...[
    ['src/controller/runtime/*.ts', '^\\.\\./(?!\\.\\./)'],
    ['src/controller/runtime/kube/*.ts', '^\\.\\./\\.\\./(?!\\.\\./)'],
  ].map(([files, domain]) => ({
    files: [files],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: domain, message: 'The controller runtime must not import the controller domain.' }, ...layer('docker', 'local', 'cli', 'report')[1].patterns] }],
    },
  })),
);
