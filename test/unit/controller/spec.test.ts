import { canonical, mergePatch, resolveSpec } from '../../../src/controller/spec.ts';
import { controllerConfigFromArgs, parseListen } from '../../../src/controller/config.ts';
import { selectorMatches } from '../../../src/controller/kube/selector.ts';

describe('resolveSpec', () => {
  it('applies the CRD defaults and converts durations', () => {
    expect(resolveSpec({ selector: { matchLabels: { app: 'x' } } })).toEqual({
      selector: { matchLabels: { app: 'x' } },
      containers: null,
      intervalMs: 30_000,
      windowMs: 6 * 3600_000,
      minDurationMs: 30 * 60_000,
      pprof: null,
      headroomPercent: 20,
      goMemLimit: false,
      action: 'Observe',
    });
    expect(resolveSpec({ selector: {}, interval: '1s', window: '1h30m', minDuration: '45s', pprof: { port: 6060 } })).toMatchObject({ intervalMs: 1000, windowMs: 5400_000, minDurationMs: 45_000, pprof: { port: 6060, path: '/debug/pprof/heap' } });
  });

  it('returns an error, not an exception, for what the schema should have refused', () => {
    expect(resolveSpec({ selector: {}, window: '1m', minDuration: '1h' })).toEqual({ error: 'spec.minDuration must not exceed spec.window' });
    expect(resolveSpec({ selector: {}, pprof: { port: 6060, path: 'http://x/debug/pprof/heap' } })).toEqual({ error: 'spec.pprof.path must be a path under /debug/pprof/' });
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

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front' };
  it.each([
    [{}, true],
    [{ matchLabels: { app: 'web' } }, true],
    [{ matchLabels: { app: 'db' } }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['front', 'back'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['front'] }] }, false],
    [{ matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' as const }] }, true],
    [{ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'canary', operator: 'Exists' as const }] }, false],
  ])('%j matches: %s', (selector, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });
});

describe('controller flags', () => {
  it('parses flags once into a config', () => {
    const r = controllerConfigFromArgs(['--kubeconfig', '/k', '--listen', '127.0.0.1:9090', '--kubelet-access', 'direct', '--kubelet-timeout', '3s', '--leader-elect-lease-duration', '20s', '--state-sync-period', '0s'], { POD_NAME: 'memaudit-0', POD_NAMESPACE: 'ops' });
    if (r.help) throw new Error('unexpected help');
    expect(r.config).toMatchObject({ kubeconfig: '/k', listen: { host: '127.0.0.1', port: 9090 }, kubeletAccess: 'direct', kubeletTimeoutMs: 3000, stateSyncPeriodMs: 0 });
    expect(r.config.leaderElection).toMatchObject({ enabled: true, namespace: 'ops', leaseName: 'memaudit-controller', leaseDurationMs: 20_000 });
    expect(r.config.leaderElection.identity).toMatch(/^memaudit-0_[0-9a-f]{8}$/);
  });

  it('refuses bad values naming the flag', () => {
    expect(() => controllerConfigFromArgs(['--kubelet-access', 'ssh'], {})).toThrow(/--kubelet-access: expected proxy or direct/);
    expect(() => controllerConfigFromArgs(['--leader-elect-renew-deadline', '30s'], {})).toThrow(/renew-deadline must be shorter/);
    expect(() => controllerConfigFromArgs(['--bogus'], {})).toThrow(/controller: Unknown option '--bogus'/);
    expect(() => parseListen('8080')).toThrow(/--listen/);
    expect(parseListen(':8080')).toEqual({ host: '0.0.0.0', port: 8080 });
  });
});
