import { jest } from '@jest/globals';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { ControlPlane } from './harness/control-plane.ts';
import { REPO_ROOT } from './harness/tools.ts';
import { installCrds } from './harness/cluster.ts';

// The CRD against a real kube-apiserver: kubectl apply -f crds/, defaulting, validation messages
// that name the field, printer columns, kubectl explain, and the data surviving an API server restart.
jest.setTimeout(180_000);

const cp = new ControlPlane();
const NS = 'default';

beforeAll(async () => {
  await cp.start();
  await installCrds(cp);
});
afterAll(async () => {
  await cp.stop();
});

async function example(name: string): Promise<Record<string, unknown>> {
  return parse(await readFile(path.join(REPO_ROOT, 'examples/kubernetes', name), 'utf8')) as Record<string, unknown>;
}

function withSpec(base: Record<string, unknown>, name: string, patch: Record<string, unknown>): string {
  const o = structuredClone(base) as { metadata: { name: string }; spec: Record<string, unknown> };
  o.metadata.name = name;
  Object.assign(o.spec, patch);
  return stringify(o);
}

describe('MemoryAudit CRD on a real API server', () => {
  it('applies every example and fills in the defaults', async () => {
    const r = await cp.kubectl(['apply', '-n', NS, '-f', path.join(REPO_ROOT, 'examples/kubernetes')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/memoryaudit.memaudit.io\/heapleak created/);
    const got = JSON.parse(await cp.kubectlOk(['get', 'ma', 'heapleak', '-n', NS, '-o', 'json'])) as { spec: Record<string, unknown> };
    expect(got.spec.action).toBe('Recommend');
    expect(got.spec.pprof).toEqual({ port: 6060, path: '/debug/pprof/heap' });
    expect(got.spec.recommend).toEqual({ headroomPercent: 20, goMemLimit: false });
  });

  it('lists with the printer columns and the short name', async () => {
    const out = await cp.kubectlOk(['get', 'ma', '-n', NS]);
    expect(out.split('\n')[0]).toMatch(/^NAME\s+VERDICT\s+SOURCE\s+GROWTH\s+LIMIT\s+AGE$/);
    const wide = await cp.kubectlOk(['get', 'memaudit', '-n', NS, '-o', 'wide']);
    expect(wide.split('\n')[0]).toMatch(/TARGETS/);
  });

  it('explains every field', async () => {
    const out = await cp.kubectlOk(['explain', 'memoryaudit.spec.pprof.port']);
    expect(out).toMatch(/Container port serving net\/http\/pprof/);
    const status = await cp.kubectlOk(['explain', 'memoryaudit.status.targets.topGrowingFunctions']);
    expect(status).toMatch(/in-use heap grew most/);
  });

  it.each([
    ['pprof-port', { pprof: { port: 70000 } }, /spec\.pprof\.port: Invalid value: 70000: spec\.pprof\.port in body should be less than or equal to 65535/],
    ['pprof-url', { pprof: { port: 6060, path: 'http://169.254.169.254/debug/pprof/heap' } }, /spec\.pprof\.path: Invalid value: "http:\/\/169\.254\.169\.254\/debug\/pprof\/heap": spec\.pprof\.path in body should match/],
    ['pprof-traversal', { pprof: { port: 6060, path: '/debug/pprof/../../metrics' } }, /spec\.pprof\.path/],
    ['interval', { interval: '5x' }, /spec\.interval: Invalid value: "5x": spec\.interval in body should match/],
    ['action', { action: 'Delete' }, /spec\.action: Unsupported value: "Delete": supported values: "Observe", "Recommend", "Patch"/],
    ['headroom', { recommend: { headroomPercent: -5 } }, /spec\.recommend\.headroomPercent: Invalid value: -5: spec\.recommend\.headroomPercent in body should be greater than or equal to 0/],
    ['min-duration', { window: '10m', minDuration: '1h' }, /spec\.minDuration: Invalid value: spec\.minDuration must not exceed spec\.window/],
    ['short-interval', { interval: '100ms' }, /spec\.interval: Invalid value: spec\.interval must be at least 1s/],
  ])('refuses an invalid MemoryAudit (%s) with a message naming the field', async (name, spec, message) => {
    const yaml = withSpec(await example('memoryaudit-heapleak.yaml'), `bad-${name}`, spec);
    const r = await cp.kubectl(['apply', '-n', NS, '-f', '-'], yaml);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('refuses a MemoryAudit without a selector', async () => {
    const r = await cp.kubectl(['apply', '-n', NS, '-f', '-'], 'apiVersion: memaudit.io/v1alpha1\nkind: MemoryAudit\nmetadata: {name: noselector}\nspec: {interval: 30s}\n');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.selector: Required value/);
  });

  it('keeps status out of spec writes (status subresource)', async () => {
    await cp.kubectlOk(['patch', 'ma', 'heapleak', '-n', NS, '--type=merge', '-p', '{"status":{"verdict":"Leak"}}']);
    const got = JSON.parse(await cp.kubectlOk(['get', 'ma', 'heapleak', '-n', NS, '-o', 'json'])) as { status?: unknown };
    expect(got.status).toBeUndefined();
    await cp.kubectlOk(['patch', 'ma', 'heapleak', '-n', NS, '--subresource=status', '--type=merge', '-p', '{"status":{"verdict":"Leak","leakSource":"heap","growth":"+12Mi/h","recommendedLimit":"96Mi"}}']);
    const out = await cp.kubectlOk(['get', 'ma', 'heapleak', '-n', NS]);
    expect(out.split('\n')[1]).toMatch(/^heapleak\s+Leak\s+heap\s+\+12Mi\/h\s+96Mi\s+\d+s$/);
  });

  it('accepts the install manifests (kubectl apply -k config/, server-side dry run)', async () => {
    await cp.kubectlOk(['apply', '-f', path.join(REPO_ROOT, 'config/manager/namespace.yaml')]);
    const out = await cp.kubectlOk(['apply', '-k', path.join(REPO_ROOT, 'config'), '--dry-run=server']);
    expect(out).toMatch(/deployment.apps\/memaudit-controller created \(server dry run\)/);
    expect(out).toMatch(/clusterrole.rbac.authorization.k8s.io\/memaudit-controller created \(server dry run\)/);
  });

  it('survives an API server restart', async () => {
    await cp.restartApiServer();
    const out = await cp.kubectlOk(['get', 'ma', '-n', NS, '-o', 'name']);
    expect(out.trim().split('\n').sort()).toEqual(['memoryaudit.memaudit.io/filesaver', 'memoryaudit.memaudit.io/heapleak', 'memoryaudit.memaudit.io/web']);
  });
});
