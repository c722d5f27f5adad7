import type { MemoryAuditStatus, TargetStatus } from '../../../../src/controller/api/v1alpha1.ts';
import { decideAction } from '../../../../src/controller/reconcile/decide-action.ts';
import { ControllerMetrics } from '../../../../src/controller/runtime/metrics.ts';
import { T0, auditOf, fakeClient, pod, round } from './fakes.ts';
import type { Answer, Call } from './fakes.ts';

// action: Patch against a recorder that plays the API server: Pod -> ReplicaSet web-1 ->
// Deployment web, whose container app has a 256Mi limit.
const owned = (name: string) => pod(name, { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs', controller: true }] });
const audit = auditOf({ selector: {}, window: '1h', action: 'Patch' });
const target = (over: Partial<TargetStatus> = {}): TargetStatus => ({ pod: 'a', container: 'app', state: 'Sampling', verdict: 'CacheGrowth', leakSource: null, recommendedLimit: '48Mi', recommendedRequest: '40Mi', ...over });

const answer: Answer = (method, path) => {
  if (path.endsWith('/replicasets/web-1')) return { metadata: { name: 'web-1', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd', controller: true }] } };
  if (method === 'GET' && path.endsWith('/deployments/web')) return { metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ name: 'app', resources: { limits: { memory: '256Mi' } } }] } } } };
  if (path.endsWith('/memoryaudits/x')) return audit;
  return undefined;
};

async function decide(targets: TargetStatus[], isLeader = true) {
  const calls: Call[] = [];
  const metrics = new ControllerMetrics(false);
  const r = round(audit, T0);
  const status: MemoryAuditStatus = { observedGeneration: 2, targets };
  const next = await decideAction({ client: fakeClient(calls, () => '', answer), metrics, isLeader: () => isLeader }, r, status, [{ pod: owned('a'), container: 'app' }, { pod: owned('b'), container: 'app' }]);
  const patches = (await metrics.patches.get()).values.map((v) => [v.labels.result, v.value]);
  return { calls, next, events: r.events, patches };
}

describe('decideAction', () => {
  it('writes the largest recommendation of the workload pods into the Deployment, and says so', async () => {
    const { calls, next, events, patches } = await decide([target(), target({ pod: 'b', recommendedLimit: '64Mi', recommendedRequest: '52Mi' })]);
    expect(calls.filter((c) => c.method === 'PATCH')).toEqual([{ method: 'PATCH', path: '/apis/apps/v1/namespaces/ns/deployments/web', body: { spec: { template: { spec: { containers: [{ name: 'app', resources: { limits: { memory: '64Mi' }, requests: { memory: '52Mi' } } }] } } } } }]);
    // Decided again on the API server's copy of the audit before writing.
    expect(calls.some((c) => c.method === 'GET' && c.path === '/apis/memaudit.io/v1alpha1/namespaces/ns/memoryaudits/x')).toBe(true);
    expect(next.conditions).toEqual([expect.objectContaining({ type: 'Patched', status: 'True', reason: 'Patched', observedGeneration: 2 })]);
    expect(next.lastPatch).toMatchObject({ result: 'Applied', kind: 'Deployment', name: 'web', container: 'app', previousLimit: '256Mi', limit: '64Mi' });
    expect(events).toEqual([{ type: 'Normal', reason: 'Patched', message: 'Set memory limit 256Mi -> 64Mi, request none -> 52Mi on Deployment web container app.' }]);
    expect(patches).toEqual([['Applied', 1]]);
  });

  it('refuses for a Leak without writing anything, once', async () => {
    const { calls, next, events, patches } = await decide([target(), target({ pod: 'b', verdict: 'Leak', leakSource: 'heap', recommendedLimit: undefined })]);
    expect(calls.filter((c) => c.method !== 'GET')).toEqual([]);
    expect(next.conditions).toEqual([expect.objectContaining({ type: 'Patched', status: 'False', reason: 'RefusedLeak' })]);
    expect(events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'PatchRefused' })]);
    expect(patches).toEqual([['Refused', 1]]);
  });

  it('writes nothing when this replica stopped leading before the write', async () => {
    const { calls, next } = await decide([target(), target({ pod: 'b' })], false);
    expect(calls.filter((c) => c.method === 'PATCH')).toEqual([]);
    expect(next.lastPatch).toBeUndefined();
  });
});
