import { describe, expect, it } from '@jest/globals';
import { ControllerMetrics, type TargetReading } from '../../../../src/controller/runtime/metrics.ts';

const reading: TargetReading = { verdict: 'Leak', growth: { anon: { slopeBytesPerHour: 1e6 }, usage: { slopeBytesPerHour: 2e6 } }, timeToLimitSeconds: 600, limitBytes: 1 << 30, recommendedLimitBytes: 1 << 28, samples: 10 };

/** The per-target series in the exposition: "audit/pod/container" of each line, sorted, one per target and metric. */
async function targetSeries(m: ControllerMetrics): Promise<string[]> {
  const text = await m.exposition();
  return text
    .split('\n')
    .filter((l) => l.startsWith('memaudit_target_'))
    .map((l) => {
      const name = l.slice(0, l.indexOf('{'));
      const label = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(l)?.[1];
      return `${name} ${label('namespace')}/${label('audit')}/${label('pod')}/${label('container')}`;
    })
    .sort();
}

describe('ControllerMetrics.pruneTargets', () => {
  it("drops every series of an audit's stale targets, and nothing of its kept ones or of other audits", async () => {
    const m = new ControllerMetrics(false);
    m.setTarget({ namespace: 'shop', audit: 'a', pod: 'p1', container: 'app' }, reading);
    m.setTarget({ namespace: 'shop', audit: 'a', pod: 'p2', container: 'app' }, reading);
    m.setTarget({ namespace: 'shop', audit: 'b', pod: 'p2', container: 'app' }, reading);
    m.setTarget({ namespace: 'web', audit: 'a', pod: 'p2', container: 'app' }, reading);
    const before = await targetSeries(m);
    // 5 verdict series, 2 growth, time to limit, samples, limit, recommended limit: 11 per target.
    expect(before.length).toBe(4 * 11);

    m.pruneTargets('shop', 'a', new Set(['p1/app']));
    const after = await targetSeries(m);
    expect(after.filter((s) => s.endsWith(' shop/a/p2/app'))).toEqual([]);
    expect(after.filter((s) => s.endsWith(' shop/a/p1/app')).length).toBe(11);
    expect(after.filter((s) => s.endsWith(' shop/b/p2/app') || s.endsWith(' web/a/p2/app')).length).toBe(22);

    // An audit deleted: all of its series go; a target set again after a prune is pruned again.
    m.pruneTargets('shop', 'a', new Set());
    m.setTarget({ namespace: 'shop', audit: 'b', pod: 'p3', container: 'app' }, reading);
    m.pruneTargets('shop', 'b', new Set(['p2/app']));
    expect((await targetSeries(m)).map((s) => s.split(' ')[1]).filter((v, i, a) => a.indexOf(v) === i)).toEqual(['shop/b/p2/app', 'web/a/p2/app']);
  });
});

describe('ControllerMetrics.setTarget', () => {
  /** Every target line with its value, sorted. */
  const lines = async (m: ControllerMetrics) => (await m.exposition()).split('\n').filter((l) => l.startsWith('memaudit_target_')).sort();

  it('shows the last reading of a target as a fresh write of it would: a series absent where the reading has no value', async () => {
    const labels = { namespace: 'shop', audit: 'a', pod: 'p1', container: 'app' };
    const readings: TargetReading[] = [
      reading,
      { ...reading, samples: 11 },
      { ...reading, samples: 12, verdict: 'Plateau', growth: { usage: { slopeBytesPerHour: 5 } }, timeToLimitSeconds: null },
      { ...reading, samples: 13, verdict: 'Plateau', growth: { usage: { slopeBytesPerHour: 5 }, file: { slopeBytesPerHour: 7 } }, timeToLimitSeconds: null, recommendedLimitBytes: null },
    ];
    const m = new ControllerMetrics(false);
    for (const r of readings) {
      m.setTarget(labels, r);
      const fresh = new ControllerMetrics(false);
      fresh.setTarget(labels, r);
      expect(await lines(m)).toEqual(await lines(fresh));
    }
  });
});

describe('ControllerMetrics.exposition', () => {
  it("writes what prom-client's registry writes of the same metrics, line for line, escapes included", async () => {
    const m = new ControllerMetrics(false);
    m.setTarget({ namespace: 'shop', audit: 'a', pod: 'p1', container: 'app' }, reading);
    m.setTarget({ namespace: 'shop', audit: 'a', pod: 'p"2\\x\ny', container: 'app' }, { ...reading, verdict: 'Stable', growth: { usage: { slopeBytesPerHour: -0.5 }, file: { slopeBytesPerHour: Infinity } }, timeToLimitSeconds: null, recommendedLimitBytes: NaN });
    m.reconcileTotal.inc({ result: 'ok' });
    m.reconcileDuration.observe(0.2);
    const sorted = (t: string) => t.split('\n').filter((l) => l !== '').sort();
    const ours = await m.exposition();
    // prom-client writes NaN as "Nan" (Prometheus reads either); the format's own spelling is NaN.
    expect(sorted(ours)).toEqual(sorted((await m.registry.metrics()).replace(/ Nan$/gm, ' NaN')));
    expect(ours).toContain('memaudit_target_verdict{namespace="shop",audit="a",pod="p\\"2\\\\x\\ny",container="app",verdict="Stable"} 1\n');
    expect(ours.endsWith('\n')).toBe(true);
  });
});
