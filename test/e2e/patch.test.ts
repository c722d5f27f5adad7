import { jest } from '@jest/globals';
import { stringify } from 'yaml';
import { createDeployment, createPodOwner } from './harness/cluster.ts';
import { waitFor } from './harness/process.ts';
import { Scenario, auditManifest } from './harness/scenario.ts';

// action: Patch against real apps/v1 objects: the controller follows Pod -> ReplicaSet ->
// Deployment and writes the recommended memory limit/request of the audited container, and
// nothing else; for a Leak it refuses and says why.
jest.setTimeout(240_000);

const NS = 'shop';
let s: Scenario;

type Container = { name: string; resources: { limits: Record<string, string>; requests: Record<string, string> }; env?: { name: string; value: string }[] };
type Deployment = { metadata: Record<string, unknown> & { generation: number; resourceVersion: string }; spec: { template: { spec: { containers: Container[] } } } & Record<string, unknown>; status?: unknown };
const getDeployment = (name: string) => s.cp.json<Deployment>('GET', `/apis/apps/v1/namespaces/${NS}/deployments/${name}`);

async function workloadPod(name: string, app: string, args: string[]): Promise<number> {
  const containers = [
    { name: 'app', limit: '512Mi', request: '256Mi' },
    { name: 'sidecar', limit: '64Mi', request: '32Mi', env: [{ name: 'MODE', value: 'proxy' }] },
  ];
  await s.namespace(NS);
  const { replicaSet } = await createDeployment(s.cp, NS, name, { app: name }, containers);
  const fx = await s.addTarget({
    namespace: NS,
    pod: `${replicaSet.name}-x7k2p`,
    labels: { app: name },
    app,
    args,
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: replicaSet.name, uid: replicaSet.uid, controller: true }],
  });
  return fx.pprofPort;
}

/** A pod owned directly by a StatefulSet (`NAME-0`) or a DaemonSet (`NAME-<hash>`). */
async function ownedPod(kind: 'StatefulSet' | 'DaemonSet', name: string): Promise<number> {
  await s.namespace(NS);
  const { uid } = await createPodOwner(s.cp, kind, NS, name, { app: name }, [{ name: 'app', limit: '512Mi', request: '256Mi' }]);
  const fx = await s.addTarget({
    namespace: NS,
    pod: kind === 'StatefulSet' ? `${name}-0` : `${name}-q8x2m`,
    labels: { app: name },
    app: 'filesaver',
    args: ['-selfload', '150', '-size', '4096'],
    ownerReferences: [{ apiVersion: 'apps/v1', kind, name, uid, controller: true }],
  });
  return fx.pprofPort;
}

beforeAll(async () => {
  s = await Scenario.start();
  const webPort = await workloadPod('web', 'filesaver', ['-selfload', '150', '-size', '4096']);
  const leakyPort = await workloadPod('leaky', 'heapleak', ['-rate', '1048576']);
  const dbPort = await ownedPod('StatefulSet', 'db');
  const agentPort = await ownedPod('DaemonSet', 'agent');
  for (const [name, port] of [['web', webPort], ['leaky', leakyPort], ['db', dbPort], ['agent', agentPort]] as const) {
    await s.cp.kubectlOk(['apply', '-n', NS, '-f', '-'], stringify(auditManifest(name, { selector: { matchLabels: { app: name } }, containers: ['app'], pprof: { port }, recommend: { goMemLimit: true }, action: 'Patch' })));
  }
  await s.startController('controller-0');
});

afterAll(async () => {
  await s?.teardown();
});

describe('action: Patch', () => {
  it('writes the recommended memory limit and request of one container of the Deployment, and nothing else', async () => {
    const before = await getDeployment('web');
    const a = await s.waitForAudit(NS, 'web', 'patched', (x) => x.status?.lastPatch?.result === 'Applied', 120_000);
    expect(a.status!.verdict).toBe('CacheGrowth');
    // What was written is in lastPatch (the recommendation may move a little in later rounds).
    const rec = { memoryLimit: a.status!.lastPatch!.limit!, memoryRequest: a.status!.lastPatch!.request!, goMemLimit: a.status!.lastPatch!.goMemLimit! };
    expect(rec.goMemLimit).toMatch(/^\d+MiB$/);
    expect(rec.memoryLimit).toMatch(/^\d+Mi$/);
    expect(rec.memoryRequest).toMatch(/^\d+Mi$/);
    expect(a.status!.lastPatch).toMatchObject({ kind: 'Deployment', name: 'web', container: 'app', previousLimit: '512Mi', previousRequest: '256Mi' });
    // Patched in this round, or AlreadyPatched when the test looks a round later.
    expect(a.status!.conditions!.find((c) => c.type === 'Patched')).toMatchObject({ status: 'True', reason: expect.stringMatching(/^(Patched|AlreadyPatched)$/) });

    const after = await getDeployment('web');
    const app = after.spec.template.spec.containers.find((c) => c.name === 'app')!;
    expect(app.resources).toEqual({ limits: { cpu: '500m', memory: rec.memoryLimit }, requests: { cpu: '100m', memory: rec.memoryRequest } });
    expect(app.env).toEqual([{ name: 'GOMEMLIMIT', value: rec.goMemLimit }]);
    // Everything except those two values is as it was.
    const normalise = (d: Deployment) => {
      const c = structuredClone(d) as Deployment;
      for (const k of ['generation', 'resourceVersion', 'managedFields']) delete c.metadata[k];
      const ca = c.spec.template.spec.containers.find((x) => x.name === 'app')!;
      delete ca.resources.limits.memory;
      delete ca.resources.requests.memory;
      delete ca.env;
      delete c.status;
      return c;
    };
    expect(normalise(after)).toEqual(normalise(before));
    expect(before.spec.template.spec.containers.find((c) => c.name === 'app')!.env).toBeUndefined();
    expect(after.metadata.generation).toBe(before.metadata.generation + 1);

    const events = await s.events(NS);
    expect(events.find((e) => e.involvedObject.name === 'web' && e.reason === 'Patched')?.message).toMatch(new RegExp(`Set memory limit 512Mi -> ${rec.memoryLimit}, request 256Mi -> ${rec.memoryRequest}, GOMEMLIMIT=${rec.goMemLimit} on Deployment web container app`));
  });

  it('patches at most once per window', async () => {
    const rv = (await getDeployment('web')).metadata.resourceVersion;
    await s.waitForAudit(NS, 'web', 'AlreadyPatched', (x) => x.status?.conditions?.find((c) => c.type === 'Patched')?.reason === 'AlreadyPatched', 30_000);
    await new Promise((r) => setTimeout(r, 5000));
    expect((await getDeployment('web')).metadata.resourceVersion).toBe(rv);
  });

  it.each([
    ['StatefulSet', 'db', 'statefulsets'],
    ['DaemonSet', 'agent', 'daemonsets'],
  ] as const)('patches a %s that owns its pods directly', async (kind, name, resource) => {
    const a = await s.waitForAudit(NS, name, 'patched', (x) => x.status?.lastPatch?.result === 'Applied', 120_000);
    expect(a.status!.lastPatch).toMatchObject({ kind, name, container: 'app', previousLimit: '512Mi', previousRequest: '256Mi' });
    const w = await s.cp.json<Deployment>('GET', `/apis/apps/v1/namespaces/${NS}/${resource}/${name}`);
    expect(w.spec.template.spec.containers[0]!.resources).toEqual({ limits: { cpu: '500m', memory: a.status!.lastPatch!.limit }, requests: { cpu: '100m', memory: a.status!.lastPatch!.request } });
    expect(w.metadata.generation).toBe(2);
  });

  it('refuses to raise or set limits for a Leak, and says why', async () => {
    const before = await getDeployment('leaky');
    const a = await s.waitForAudit(NS, 'leaky', 'refused', (x) => x.status?.lastPatch?.result === 'Refused', 120_000);
    expect(a.status!.verdict).toBe('Leak');
    expect(a.status!.lastPatch!.message).toMatch(/Refused to patch Deployment leaky container app: .* leaks \(heap\); a higher limit only delays the OOM kill.*Fix the leak in main\.retainRequest/);
    expect(a.status!.conditions!.find((c) => c.type === 'Patched')).toMatchObject({ status: 'False', reason: 'RefusedLeak' });
    await waitFor('refusal event', async () => (await s.events(NS)).some((e) => e.involvedObject.name === 'leaky' && e.reason === 'PatchRefused'), 10_000);
    const after = await getDeployment('leaky');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    const m = await s.controllers[0]!.metrics();
    // web, db and agent: one patch each.
    expect(m).toMatch(/memaudit_patches_total\{result="Applied"\} 3\b/);
    // The refusal is counted once, not every round.
    expect(m).toMatch(/memaudit_patches_total\{result="Refused"\} 1\b/);
  });
});
