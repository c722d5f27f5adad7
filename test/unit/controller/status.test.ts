import { audit } from '../../../src/analysis/audit.ts';
import { buildStatus, decidingComponent, growthText, setCondition, shortQuantity, statusResult, targetStatus } from '../../../src/controller/status.ts';
import { labelledCases } from '../../helpers/labelled.ts';
import type { TargetStatus } from '../../../src/controller/api/v1alpha1.ts';
import type { AuditResult } from '../../../src/model/verdict.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const MiB = 1024 * 1024;

function result(over: Partial<AuditResult> = {}): AuditResult {
  return {
    verdict: 'CacheGrowth',
    leakSource: null,
    explanation: 'Usage grows with the page cache; the kernel reclaims it.',
    evidence: [],
    window: { startMs: NOW - 60_000, endMs: NOW, durationSeconds: 60, samples: 31 },
    growth: {
      usage: { slopeBytesPerHour: 100 * MiB, slopeCiBytesPerHour: [90 * MiB, 110 * MiB], olsSlopeBytesPerHour: 100 * MiB, r2: 0.99, firstBytes: 0, lastBytes: 0, minBytes: 0, maxBytes: 0, points: 31 },
      file: { slopeBytesPerHour: 98 * MiB, slopeCiBytesPerHour: [90 * MiB, 110 * MiB], olsSlopeBytesPerHour: 98 * MiB, r2: 0.987654, firstBytes: 0, lastBytes: 0, minBytes: 0, maxBytes: 0, points: 31 },
      anon: { slopeBytesPerHour: 1234.4, slopeCiBytesPerHour: [0, 0], olsSlopeBytesPerHour: 0, r2: 0.1, firstBytes: 0, lastBytes: 0, minBytes: 0, maxBytes: 0, points: 31 },
    },
    reclaimableShare: 0.8,
    limitBytes: 64 * MiB,
    timeToLimitSeconds: null,
    reclaimObserved: false,
    topGrowingFunctions: [],
    heapExplainsAnonShare: null,
    recommendation: {
      memoryLimitBytes: 24 * MiB,
      memoryRequestBytes: 20 * MiB,
      goMemLimitBytes: 21 * MiB,
      kubernetes: { limits: { memory: '24Mi' }, requests: { memory: '20Mi' } },
      compose: { mem_limit: '24m', mem_reservation: '20m' },
      dockerUpdate: null,
      goMemLimit: '21MiB',
      rationale: [],
      warning: null,
    },
    ...over,
  };
}

const input = { pod: 'fs-0', container: 'app', node: 'n1', state: 'Sampling' as const, message: undefined, lastSampleMs: NOW };

describe('targetStatus', () => {
  it('maps the engine result to a status entry with integer rates and quantities', () => {
    const t = targetStatus({ ...input, result: result() });
    expect(t).toMatchObject({
      pod: 'fs-0',
      container: 'app',
      node: 'n1',
      verdict: 'CacheGrowth',
      samples: 31,
      windowSeconds: 60,
      growthBytesPerHour: { usage: 100 * MiB, file: 98 * MiB, anon: 1234 },
      r2: 0.988,
      limit: '64Mi',
      recommendedLimit: '24Mi',
      recommendedRequest: '20Mi',
      lastSampleTime: '2026-01-01T12:00:00Z',
    });
  });

  it('leaves out null fields (a merge patch would delete them) instead of writing null', () => {
    const t = targetStatus({ ...input, result: result() });
    expect('leakSource' in t).toBe(false);
    expect('timeToLimitSeconds' in t).toBe(false);
  });

  it('names at most five growing functions', () => {
    const fns = Array.from({ length: 8 }, (_, i) => ({ function: `main.f${i}`, firstInuseBytes: 0, lastInuseBytes: i, growthBytes: 1000 - i, cumulativeGrowthBytes: 0 }));
    const t = targetStatus({ ...input, result: result({ verdict: 'Leak', leakSource: 'heap', topGrowingFunctions: fns }) });
    expect(t.topGrowingFunctions).toHaveLength(5);
    expect(t.topGrowingFunctions![0]).toEqual({ function: 'main.f0', growthBytes: 1000 });
  });
});

describe('quantities', () => {
  it('prints short binary quantities and rates', () => {
    expect(shortQuantity(64 * MiB)).toBe('64Mi');
    expect(shortQuantity(1.5 * 1024 * MiB)).toBe('1.5Gi');
    expect(shortQuantity(300 * 1024)).toBe('300Ki');
    expect(growthText(12 * MiB)).toBe('+12Mi/h');
    expect(growthText(-2.5 * MiB)).toBe('-2.5Mi/h');
  });

  it('picks the component that explains the verdict', () => {
    expect(decidingComponent('CacheGrowth', null)).toBe('file');
    expect(decidingComponent('Leak', 'heap')).toBe('goHeap');
    expect(decidingComponent('Leak', 'offHeap')).toBe('anon');
    expect(decidingComponent('Stable', null)).toBe('usage');
  });
});

describe('setCondition', () => {
  it('keeps lastTransitionTime while the status stays, moves it when the status changes', () => {
    const c1 = setCondition([], { type: 'Ready', status: 'True', reason: 'Sampling', message: 'a', observedGeneration: 1 }, NOW);
    const c2 = setCondition(c1, { type: 'Ready', status: 'True', reason: 'PartiallySampling', message: 'b', observedGeneration: 2 }, NOW + 60_000);
    expect(c2[0]!.lastTransitionTime).toBe('2026-01-01T12:00:00Z');
    expect(c2[0]!.reason).toBe('PartiallySampling');
    const c3 = setCondition(c2, { type: 'Ready', status: 'False', reason: 'SamplingFailed', message: 'c', observedGeneration: 2 }, NOW + 120_000);
    expect(c3[0]!.lastTransitionTime).toBe('2026-01-01T12:02:00Z');
  });
});

describe('buildStatus', () => {
  const base = { generation: 3, action: 'Recommend' as const, previous: undefined, noTargetsMessage: 'none match', goMemLimit: true, lastRoundMs: NOW, maxTargets: 50, nowMs: NOW };

  it('summarises the most severe target and fills the printer-column fields', () => {
    const leak = targetStatus({ ...input, pod: 'hl-0', result: result({ verdict: 'Leak', leakSource: 'heap', growth: { goHeap: { ...result().growth.file!, slopeBytesPerHour: 30 * MiB } } }) });
    const cache = targetStatus({ ...input, result: result() });
    const s = buildStatus({ ...base, targets: [cache, leak], targetCount: 2, summaryResult: result({ verdict: 'Leak', leakSource: 'heap' }) });
    expect(s.verdict).toBe('Leak');
    expect(s.leakSource).toBe('heap');
    expect(s.growth).toBe('+30Mi/h');
    expect(s.targets!.map((t) => t.pod)).toEqual(['hl-0', 'fs-0']);
    expect(s.observedGeneration).toBe(3);
    const growth = s.conditions!.find((c) => c.type === 'MemoryGrowth')!;
    expect(growth).toMatchObject({ status: 'True', reason: 'GoHeap', observedGeneration: 3 });
    expect(s.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Sampling' });
    expect(s.recommendation).toMatchObject({ container: 'app', memoryLimit: '24Mi', goMemLimit: '21MiB' });
    expect(JSON.parse(s.recommendation!.patch!)).toEqual({ spec: { template: { spec: { containers: [{ name: 'app', resources: { limits: { memory: '24Mi' }, requests: { memory: '20Mi' } }, env: [{ name: 'GOMEMLIMIT', value: '21MiB' }] }] } } } });
    expect(s.recommendedLimit).toBe('24Mi');
  });

  it('says TargetsMissing when nothing matches, SamplingFailed when every target fails', () => {
    const none = buildStatus({ ...base, targets: [], targetCount: 0, summaryResult: undefined });
    expect(none.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'TargetsMissing', message: 'none match' });
    expect(none.conditions!.find((c) => c.type === 'MemoryGrowth')).toMatchObject({ status: 'Unknown', reason: 'InsufficientData' });
    const failing: TargetStatus = { ...targetStatus({ ...input, result: result() }), state: 'Failing', message: 'kubelet on node n1: HTTP 500' };
    const s = buildStatus({ ...base, targets: [failing], targetCount: 1, summaryResult: undefined });
    expect(s.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'SamplingFailed' });
    expect(s.conditions!.find((c) => c.type === 'Ready')!.message).toMatch(/HTTP 500/);
  });

  it('writes no recommendation with action Observe, and caps the target list', () => {
    const many = Array.from({ length: 60 }, (_, i) => targetStatus({ ...input, pod: `p${String(i).padStart(2, '0')}`, result: result() }));
    const s = buildStatus({ ...base, action: 'Observe', targets: many, targetCount: 60, summaryResult: result(), maxTargets: 50 });
    expect(s.recommendation).toBeUndefined();
    expect(s.recommendedLimit).toBeUndefined();
    expect(s.targets).toHaveLength(50);
    expect(s.targetCount).toBe(60);
  });
});

describe('statusResult (what the controller keeps of a result between full audits)', () => {
  it('shows as the full result does: every labelled trace, its target status and the summary, field for field', async () => {
    for (const c of labelledCases()) {
      const { samples, profiles } = await c.load();
      const full = audit(samples, profiles, { containerName: 'app', recommend: { goMemLimit: true } });
      const slim = statusResult(full);
      const base = { pod: 'p', container: 'app', node: 'n1', state: 'Sampling' as const, message: undefined, lastSampleMs: NOW, samplesTaken: 99 };
      const [a, b] = [targetStatus({ ...base, result: full }), targetStatus({ ...base, result: slim })];
      expect([c.name, b]).toEqual([c.name, a]);
      const summary = { generation: 1, action: 'Recommend' as const, previous: undefined, targets: [a], targetCount: 1, noTargetsMessage: undefined, goMemLimit: true, lastRoundMs: NOW, maxTargets: 50, nowMs: NOW };
      expect([c.name, buildStatus({ ...summary, summaryResult: slim })]).toEqual([c.name, buildStatus({ ...summary, summaryResult: full })]);
    }
  });

  it('keeps none of what no status field shows: evidence lines, rationale, intervals, the window details', () => {
    const slim = statusResult(result({ evidence: ['a line'], restarts: [{ atMs: NOW, cause: 'atLimit' }] }));
    expect(Object.keys(slim).sort()).toEqual(['explanation', 'growth', 'leakSource', 'limitBytes', 'recommendation', 'timeToLimitSeconds', 'topGrowingFunctions', 'verdict', 'window']);
    expect(slim.growth.usage).toEqual({ slopeBytesPerHour: 100 * MiB, r2: 0.99 });
    expect(slim.window).toEqual({ samples: 31, durationSeconds: 60 });
    expect(Object.keys(slim.recommendation).sort()).toEqual(['compose', 'goMemLimit', 'kubernetes', 'memoryLimitBytes', 'warning']);
  });
});
