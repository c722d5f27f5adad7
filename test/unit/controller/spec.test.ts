import { resolveSpec } from '../../../src/controller/spec.ts';

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
      backfill: true,
    });
    expect(resolveSpec({ selector: {}, backfill: false })).toMatchObject({ backfill: false });
    expect(resolveSpec({ selector: {}, interval: '1s', window: '1h30m', minDuration: '45s', pprof: { port: 6060 } })).toMatchObject({ intervalMs: 1000, windowMs: 5400_000, minDurationMs: 45_000, pprof: { port: 6060, path: '/debug/pprof/heap' } });
  });

  it('returns an error, not an exception, for what the schema should have refused', () => {
    expect(resolveSpec({ selector: {}, window: '1m', minDuration: '1h' })).toEqual({ error: 'spec.minDuration must not exceed spec.window' });
    expect(resolveSpec({ selector: {}, pprof: { port: 6060, path: 'http://x/debug/pprof/heap' } })).toEqual({ error: 'spec.pprof.path must be a path under /debug/pprof/' });
  });
});
