import { ControllerMetrics } from '../../../../src/controller/runtime/metrics.ts';
import { KubeApiError } from '../../../../src/controller/runtime/kube/api-error.ts';
import { auditPath, canonical, invalidSpecStatus, mergePatch, writeStatus } from '../../../../src/controller/reconcile/write-status.ts';
import { T0, auditOf, fakeClient, log } from './fakes.ts';
import type { Answer, Call } from './fakes.ts';

describe('writeStatus', () => {
  const audit = auditOf({ selector: {} }, { observedGeneration: 1, verdict: 'Stable', targetCount: 1 });
  const write = (answer?: Answer, isLeader = true) => {
    const calls: Call[] = [];
    const metrics = new ControllerMetrics(false);
    const done = writeStatus({ client: fakeClient(calls, () => '', answer), metrics, isLeader: () => isLeader }, { audit, log }, { observedGeneration: 2, verdict: 'Stable' });
    return { calls, metrics, done };
  };

  it('patches the status subresource with what changed only (null deletes)', async () => {
    const { calls, done } = write();
    expect(await done).toBe(true);
    expect(calls).toEqual([{ method: 'PATCH', path: '/apis/memaudit.io/v1alpha1/namespaces/ns/memoryaudits/x/status', body: { status: { observedGeneration: 2, targetCount: null } } }]);
  });

  it('writes nothing when nothing changed, nor when this replica no longer leads', async () => {
    const calls: Call[] = [];
    const deps = { client: fakeClient(calls, () => ''), metrics: new ControllerMetrics(false), isLeader: () => true };
    expect(await writeStatus(deps, { audit, log }, { targetCount: 1, verdict: 'Stable', observedGeneration: 1 })).toBe('unchanged');
    expect(await write(undefined, false).done).toBe(false);
    expect(calls).toEqual([]);
  });

  it('says false, counted as an error, when the write fails (the next round writes again)', async () => {
    const { metrics, done } = write(() => new KubeApiError(404, 'NotFound', 'gone'));
    expect(await done).toBe(false);
    expect((await metrics.statusWrites.get()).values).toEqual([expect.objectContaining({ labels: { result: 'error' }, value: 1 })]);
  });
});

describe('invalidSpecStatus', () => {
  it('sets Ready=False/InvalidSpec and keeps the rest of the status', () => {
    const s = invalidSpecStatus(auditOf({ selector: {} }, { verdict: 'Leak' }), 'spec.interval must be at least 1s', T0);
    expect(s).toEqual({ verdict: 'Leak', observedGeneration: 2, conditions: [{ type: 'Ready', status: 'False', reason: 'InvalidSpec', message: 'spec.interval must be at least 1s', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:00:00Z' }] });
    expect(auditPath(auditOf({ selector: {} }))).toBe('/apis/memaudit.io/v1alpha1/namespaces/ns/memoryaudits/x');
  });
});

describe('mergePatch', () => {
  it('is empty for equal documents whatever the key order', () => {
    expect(mergePatch({ a: 1, b: { c: [1, 2], d: 'x' } }, { b: { d: 'x', c: [1, 2] }, a: 1 })).toBeUndefined();
  });

  it('deletes removed keys with null, replaces arrays, recurses into objects', () => {
    expect(mergePatch({ a: 1, b: { c: 1, d: 2 }, l: [1] }, { a: 1, b: { c: 2 }, l: [1, 2], n: 'new' })).toEqual({ b: { c: 2, d: null }, l: [1, 2], n: 'new' });
  });

  it('canonical sorts keys at every level', () => {
    expect(canonical({ b: 1, a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":1}');
  });
});
