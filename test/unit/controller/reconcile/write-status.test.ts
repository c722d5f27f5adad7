import { ControllerMetrics } from '../../../../src/controller/runtime/metrics.ts';
import { KubeApiError } from '../../../../src/controller/runtime/kube/api-error.ts';
import { auditPath, invalidSpecStatus, mergePatch, writeStatus } from '../../../../src/controller/reconcile/write-status.ts';
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

  it('defers a change of progress only within --status-sync-period, and writes a material change or a due one', async () => {
    const target = { pod: 'p', container: 'app', state: 'Sampling' as const, verdict: 'InsufficientData' as const, samples: 10, lastSampleTime: '2026-01-01T00:00:00Z' };
    const prev = auditOf({ selector: {} }, { observedGeneration: 1, verdict: 'InsufficientData', targetCount: 1, targets: [target], lastSampleTime: '2026-01-01T00:00:00Z' });
    const calls: Call[] = [];
    const deps = { client: fakeClient(calls, () => ''), metrics: new ControllerMetrics(false), isLeader: () => true };
    const progress = { ...prev.status, targets: [{ ...target, samples: 11, lastSampleTime: '2026-01-01T00:00:30Z' }], lastSampleTime: '2026-01-01T00:00:30Z' };
    const sync = { lastWriteMs: T0, periodMs: 300_000, nowMs: T0 + 30_000 };
    expect(await writeStatus(deps, { audit: prev, log }, progress, sync)).toBe('deferred');
    // Due: the period has passed since the last write; or never written by this replica.
    expect(await writeStatus(deps, { audit: prev, log }, progress, { ...sync, nowMs: T0 + 300_000 })).toBe(true);
    expect(await writeStatus(deps, { audit: prev, log }, progress, { ...sync, lastWriteMs: undefined })).toBe(true);
    // Material: a verdict, a target's state, a new target, the generation observed.
    for (const next of [
      { ...progress, verdict: 'CacheGrowth' as const },
      { ...progress, targets: [{ ...target, state: 'Failing' as const }] },
      { ...progress, targets: [{ ...target, verdict: 'Leak' as const, leakSource: 'heap' as const }] },
      { ...progress, targetCount: 2, targets: [target, { ...target, pod: 'q' }] },
      { ...progress, observedGeneration: 2 },
    ]) expect(await writeStatus(deps, { audit: prev, log }, next, sync)).toBe(true);
    expect(calls).toHaveLength(7);
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

  it('compares as JSON: undefined fields are absent, key order inside arrays does not matter', () => {
    expect(mergePatch({ l: [{ a: 1, b: 2 }] }, { l: [{ b: 2, a: 1, c: undefined }], u: undefined })).toBeUndefined();
    expect(mergePatch({ l: [{ a: 1 }] }, { l: [{ a: 2 }] })).toEqual({ l: [{ a: 2 }] });
  });
});
