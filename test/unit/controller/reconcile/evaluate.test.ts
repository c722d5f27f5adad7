import { audit as engine } from '../../../../src/analysis/audit.ts';
import { AuditEvidence } from '../../../../src/controller/evidence.ts';
import { CompactSamples } from '../../../../src/model/compact-samples.ts';
import { evaluate } from '../../../../src/controller/reconcile/evaluate.ts';
import type { Engine } from '../../../../src/controller/reconcile/evaluate.ts';
import { ControllerMetrics } from '../../../../src/controller/runtime/metrics.ts';
import { MiB, T0, auditOf, round } from './fakes.ts';

// The real engine on hand-made evidence: 61 samples a second apart of a container whose page
// cache grows by 1 MiB a second (usage with it, anon flat): CacheGrowth once minDuration (30 s) is covered.
const NOW = T0 + 60_000;

function evidence(): AuditEvidence {
  const ev = new AuditEvidence('u1');
  for (const pod of ['a', 'b', 'c']) {
    const t = ev.target(pod, 'app');
    t.node = 'n1';
    for (let i = 0; i <= 60; i++) t.addSample({ timestampMs: T0 + i * 1000, usageBytes: 40 * MiB + i * MiB, anonBytes: 20 * MiB, fileBytes: 20 * MiB + i * MiB, limitBytes: 512 * MiB });
  }
  ev.lastRoundMs = NOW;
  return ev;
}

const audit = auditOf({ selector: {}, interval: '1s', window: '10m', minDuration: '30s', action: 'Recommend' });
const verdicts = async (metrics: ControllerMetrics) => (await metrics.targetVerdict.get()).values.filter((v) => v.value === 1).map((v) => `${v.labels.pod}:${v.labels.verdict}`).sort();

describe('evaluate', () => {
  it('gives every target its verdict and state, exports it, and sums the audit up', async () => {
    const ev = evidence();
    ev.targets.get('b/app')!.lastError = 'kubelet on node n1: HTTP 500';
    ev.targets.get('c/app')!.goneSinceMs = NOW - 5000;
    const metrics = new ControllerMetrics(false);
    const status = evaluate(engine, metrics, round(audit, NOW, ev), 'unused');
    expect(status.targets!.map((t) => [t.pod, t.state, t.verdict, t.message])).toEqual([
      ['a', 'Sampling', 'CacheGrowth', undefined],
      ['b', 'Failing', 'CacheGrowth', 'kubelet on node n1: HTTP 500'],
      ['c', 'Gone', 'CacheGrowth', 'Pod c is gone since 2026-01-01T00:00:55Z; its evidence is kept until the window passes.'],
    ]);
    expect(status).toMatchObject({ observedGeneration: 2, verdict: 'CacheGrowth', targetCount: 3, lastSampleTime: '2026-01-01T00:01:00Z', recommendation: { container: 'app' } });
    expect(status.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'PartiallySampling' });
    expect(await verdicts(metrics)).toEqual(['a:CacheGrowth', 'b:CacheGrowth', 'c:CacheGrowth']);
    // The limit now and the recommended one, which the chart's PrometheusRule compares.
    const gauge = async (g: typeof metrics.targetLimit) => (await g.get()).values.find((v) => v.labels.pod === 'a')?.value;
    expect(await gauge(metrics.targetLimit)).toBe(512 * MiB);
    expect(status.targets!.find((t) => t.pod === 'a')!.recommendedLimit).toBe('24Mi');
    expect(await gauge(metrics.targetRecommendedLimit)).toBe(24 * MiB);
  });

  it('forgets a Gone target once its newest sample left the window, and its metrics with it', async () => {
    const ev = evidence();
    const metrics = new ControllerMetrics(false);
    evaluate(engine, metrics, round(audit, NOW, ev), 'unused');
    ev.targets.get('c/app')!.goneSinceMs = NOW;
    const later = NOW + 10 * 60_000 + 1;
    ev.targets.get('a/app')!.addSample({ timestampMs: later, usageBytes: 100 * MiB });
    ev.targets.get('b/app')!.addSample({ timestampMs: later, usageBytes: 100 * MiB });
    const status = evaluate(engine, metrics, round(audit, later, ev), 'unused');
    expect([...ev.targets.keys()]).toEqual(['a/app', 'b/app']);
    expect(status.targets!.map((t) => [t.pod, t.samples])).toEqual([['a', 1], ['b', 1]]);
    expect((await verdicts(metrics)).map((v) => v.split(':')[0])).toEqual(['a', 'b']);
  });

  it('leaves the other targets standing when the engine fails on one', () => {
    const failing: Engine = (samples, profiles, options) => {
      if (samples.length === 2) throw new Error('boom');
      return engine(samples, profiles, options);
    };
    const ev = evidence();
    const b = ev.targets.get('b/app')!;
    const firstTwo = b.samples().slice(0, 2);
    b.series = new CompactSamples();
    for (const s of firstTwo) b.addSample(s);
    const status = evaluate(failing, new ControllerMetrics(false), round(audit, NOW, ev), 'unused');
    expect(status.targets!.map((t) => t.pod)).toEqual(['a', 'c']);
  });

  it('says why nothing is sampled when there is no evidence', () => {
    const status = evaluate(engine, new ControllerMetrics(false), round(audit, NOW), 'No running pod in namespace ns matches (everything).');
    expect(status.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'TargetsMissing', message: 'No running pod in namespace ns matches (everything).' });
    expect(status.targets).toEqual([]);
  });

  it('reports the samples taken in the window, not the fewer the compact evidence holds', () => {
    // 24 h at 30 s: 2,880 samples taken; the evidence keeps two a time bucket (fewer than 300).
    const ev = new AuditEvidence('u1');
    const t = ev.target('a', 'app');
    const day = 24 * 3600_000;
    for (let i = 0; i < 2880; i++) t.addSample({ timestampMs: T0 + i * 30_000, usageBytes: 40 * MiB, anonBytes: 20 * MiB, fileBytes: 20 * MiB, limitBytes: 512 * MiB });
    const now = T0 + 2879 * 30_000;
    ev.lastRoundMs = now;
    let engineSaw = 0;
    const counting: Engine = (samples, profiles, options) => {
      engineSaw = samples.length;
      return engine(samples, profiles, options);
    };
    const status = evaluate(counting, new ControllerMetrics(false), round(auditOf({ selector: {}, interval: '30s', window: '24h', minDuration: '30m' }), now, ev), 'unused');
    expect(engineSaw).toBeLessThan(300);
    expect(t.samplesTaken).toBe(2880);
    expect(status.targets!.map((x) => [x.pod, x.samples])).toEqual([['a', 2880]]);
    expect(status.targets![0]!.windowSeconds).toBeGreaterThan(day / 1000 - 3600);
  });

  it('runs the engine on a target again only when due (analysis/reaudit.ts); otherwise the last verdict stands with the new sample count', async () => {
    const ev = new AuditEvidence('u1');
    const t = ev.target('a', 'app');
    const flat = (i: number, usageMiB = 40) => ({ timestampMs: T0 + i * 30_000, usageBytes: usageMiB * MiB, anonBytes: 20 * MiB, fileBytes: (usageMiB - 20) * MiB, limitBytes: 512 * MiB });
    for (let i = 0; i < 100; i++) t.addSample(flat(i));
    const daily = auditOf({ selector: {}, interval: '30s', window: '24h', minDuration: '30m' });
    let runs = 0;
    const counting: Engine = (samples, profiles, options) => {
      runs++;
      return engine(samples, profiles, options);
    };
    const metrics = new ControllerMetrics(false);
    const at = (i: number) => {
      ev.lastRoundMs = T0 + i * 30_000;
      return evaluate(counting, metrics, round(daily, ev.lastRoundMs, ev), 'unused');
    };
    const first = at(99);
    expect(runs).toBe(1);
    expect(first.targets![0]!.verdict).toBe('Stable');
    // A sample where the last one was: the verdict stands, the count moves on.
    t.addSample(flat(100));
    const next = at(100);
    expect(runs).toBe(1);
    expect(next.targets![0]).toMatchObject({ verdict: 'Stable', samples: 101 });
    // Moved by more than 2 % of the usage: audited again.
    t.addSample(flat(101, 60));
    at(101);
    expect(runs).toBe(2);
    // Where it was, but 15 min (1/96 of 24 h) after the sample last audited: audited again.
    for (let i = 102; i < 131; i++) t.addSample(flat(i, 60));
    for (let i = 102; i < 131; i++) at(i);
    expect(runs).toBe(2);
    t.addSample(flat(131, 60));
    at(131);
    expect(runs).toBe(3);
    const kinds = Object.fromEntries((await metrics.analyses.get()).values.map((v) => [v.labels.kind, v.value]));
    expect(kinds).toEqual({ full: 3, reused: 30 });
  });
});
