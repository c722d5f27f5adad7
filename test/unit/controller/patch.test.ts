import { bytesFromQuantity, decidePatch } from '../../../src/controller/patch.ts';
import { containerPatch } from '../../../src/controller/status.ts';
import type { MemoryAudit, TargetStatus } from '../../../src/controller/api/v1alpha1.ts';

const NOW = Date.UTC(2026, 0, 1, 12);
const audit = (status?: MemoryAudit['status']): MemoryAudit => ({ apiVersion: 'memaudit.io/v1alpha1', kind: 'MemoryAudit', metadata: { name: 'web', namespace: 'shop' }, spec: { selector: {}, action: 'Patch' }, ...(status ? { status } : {}) });
const target = (over: Partial<TargetStatus> = {}): TargetStatus => ({ pod: 'web-1', container: 'app', state: 'Sampling', verdict: 'CacheGrowth', leakSource: null, recommendedLimit: '48Mi', recommendedRequest: '40Mi', ...over });
const workload = { kind: 'Deployment' as const, name: 'web', namespace: 'shop' };
const base = { workload, container: 'app', currentLimit: '256Mi', currentRequest: '128Mi', goMemLimit: undefined, windowMs: 3600_000, nowMs: NOW };

describe('decidePatch', () => {
  it('writes the largest recommendation of the workload pods, for that container only', () => {
    const plan = decidePatch({ ...base, audit: audit(), targets: [target(), target({ pod: 'web-2', recommendedLimit: '64Mi', recommendedRequest: '52Mi' })] });
    expect(plan.write).toEqual({ workload, container: 'app', limit: '64Mi', request: '52Mi', goMemLimit: undefined });
  });

  it('refuses for a Leak, names the function and records it once', () => {
    const leak = target({ pod: 'web-2', verdict: 'Leak', leakSource: 'heap', timeToLimitSeconds: 1800, topGrowingFunctions: [{ function: 'main.retainRequest', growthBytes: 1 }] });
    const plan = decidePatch({ ...base, audit: audit(), targets: [target(), leak] });
    expect(plan.write).toBeUndefined();
    expect(plan.condition).toMatchObject({ status: 'False', reason: 'RefusedLeak' });
    expect(plan.lastPatch).toMatchObject({ result: 'Refused', kind: 'Deployment', name: 'web', container: 'app' });
    expect(plan.lastPatch!.message).toMatch(/web-2 leaks \(heap\).*30 min.*main\.retainRequest/);
    expect(plan.event).toMatchObject({ type: 'Warning', reason: 'PatchRefused' });
    const again = decidePatch({ ...base, audit: audit({ lastPatch: plan.lastPatch! }), targets: [target(), leak] });
    expect(again.event).toBeUndefined();
    expect(again.lastPatch).toBe(plan.lastPatch);
  });

  it('waits for a verdict on every pod', () => {
    const plan = decidePatch({ ...base, audit: audit(), targets: [target(), target({ pod: 'web-2', verdict: 'InsufficientData', recommendedLimit: undefined })] });
    expect(plan.write).toBeUndefined();
    expect(plan.condition.reason).toBe('WaitingForVerdict');
  });

  it('patches at most once per window', () => {
    const lastPatch = { time: new Date(NOW - 600_000).toISOString(), result: 'Applied' as const, kind: 'Deployment', name: 'web', container: 'app', limit: '40Mi', message: 'x' };
    expect(decidePatch({ ...base, audit: audit({ lastPatch }), targets: [target()] }).condition.reason).toBe('AlreadyPatched');
    expect(decidePatch({ ...base, nowMs: NOW + 3600_000, audit: audit({ lastPatch }), targets: [target()] }).write).toBeDefined();
  });

  it('does nothing when the workload already has the recommended values, or has no owner', () => {
    expect(decidePatch({ ...base, currentLimit: '48Mi', currentRequest: '40Mi', audit: audit(), targets: [target()] }).condition.reason).toBe('UpToDate');
    expect(decidePatch({ ...base, workload: null, audit: audit(), targets: [target()] }).condition.reason).toBe('NoOwner');
  });
});

describe('containerPatch', () => {
  it('names only the container, its memory limit/request and GOMEMLIMIT', () => {
    expect(containerPatch('app', '48Mi', '40Mi', '43MiB')).toEqual({ spec: { template: { spec: { containers: [{ name: 'app', resources: { limits: { memory: '48Mi' }, requests: { memory: '40Mi' } }, env: [{ name: 'GOMEMLIMIT', value: '43MiB' }] }] } } } });
    expect(containerPatch('app', '48Mi', undefined, undefined)).toEqual({ spec: { template: { spec: { containers: [{ name: 'app', resources: { limits: { memory: '48Mi' } } }] } } } });
  });

  it('reads memory quantities', () => {
    expect(bytesFromQuantity('64Mi')).toBe(64 * 1024 * 1024);
    expect(bytesFromQuantity('1G')).toBe(1e9);
    expect(bytesFromQuantity('1.5Gi')).toBe(1.5 * 1024 ** 3);
    expect(bytesFromQuantity('lots')).toBeNaN();
  });
});
