// Four projects: unit (pure, fast), integration (real cgroups, real processes, real Docker),
// e2e (a real kube-apiserver + etcd), cluster (a real single-node cluster: kubelet, containerd,
// the chart installed with helm). `npm test` (hack/test.sh) runs all four; `npm run test:quick`
// unit + integration; `npm run test:e2e` and `npm run test:cluster` one each.
const tsJest = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: [151002] } }],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: tsJest,
  testEnvironment: 'node',
  // ts-jest rewrites relative `.ts` specifiers to `.js` (rewriteRelativeImportExtensions); map back.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};
export default {
  // Generous: these machines are shared and loaded; no test asserts on time. (A global option:
  // jest ignores it inside a project.)
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'], globalSetup: '<rootDir>/test/e2e/global-setup.ts' },
    { ...common, displayName: 'cluster', testMatch: ['<rootDir>/test/cluster/**/*.test.ts'], globalSetup: '<rootDir>/test/cluster/global-setup.ts' },
  ],
};
