import { sampledClock } from '../../../src/analysis/gaps.ts';
import { placeProfiles, profileHeapGrowth } from '../../../src/analysis/heap-profiles.ts';
import { reclaimAtLimit, reclaimEvidence } from '../../../src/analysis/reclaim.ts';
import type { HeapProfile, MemorySample } from '../../../src/model/sample.ts';
import { MiB } from '../../../src/model/units.ts';

describe('sampledClock', () => {
  it('edge cases: 0, 1 and 2 samples have no gaps', () => {
    expect(sampledClock([]).gaps).toEqual([]);
    expect(Array.from(sampledClock([5_000]).seconds)).toEqual([0]);
    expect(sampledClock([0, 3_600_000])).toMatchObject({ gaps: [], typicalIntervalSeconds: 3600 });
  });

  it('closes a gap to one typical interval: samples every 2 s, one stretch of 10 min without any', () => {
    // 0, 2, 4, 6 s, then 606, 608 s: the 600 s interval is 300 typical ones.
    const c = sampledClock([0, 2_000, 4_000, 6_000, 606_000, 608_000]);
    expect(c.typicalIntervalSeconds).toBe(2);
    expect(c.gaps).toEqual([{ index: 4, startMs: 6_000, endMs: 606_000, seconds: 600 }]);
    expect(Array.from(c.seconds)).toEqual([0, 2, 4, 6, 8, 10]);
  });

  it('a jitter of a few intervals, or a pause under 30 s, is not a gap', () => {
    expect(sampledClock([0, 1_000, 2_000, 3_000, 9_000, 10_000]).gaps).toEqual([]);
    expect(sampledClock([0, 1_000, 2_000, 3_000, 29_000, 30_000]).gaps).toEqual([]);
  });
});

describe('heap profiles on the samples clock', () => {
  const p = (ms: number, inuse: number): HeapProfile => ({ timestampMs: ms, totalInuseBytes: inuse, flatInuseBytes: new Map(), cumInuseBytes: new Map() });
  const toSeconds = (ms: number) => ms / 1000;

  it('places profiles inside the window (give or take 5 min) and counts the rest as outside', () => {
    const placed = placeProfiles([p(-400_000, 1), p(-100_000, 2), p(500_000, 3), p(1_100_000, 4), p(2_000_000, 5)], 0, 1_000_000, toSeconds);
    // The one 100 s before the first sample is placed at the window's start; 1,100 s is within slack.
    expect(placed.points).toEqual([
      { t: 0, v: 2 },
      { t: 500, v: 3 },
      { t: 1000, v: 4 },
    ]);
    expect(placed.outside).toBe(2);
  });

  it('two profiles give a slope; profiles spanning under a fifth of the window give none', () => {
    // 10 MiB over 1,000 s = 36,000 MiB/h... in bytes per hour: 10 MiB * 3.6.
    const two = profileHeapGrowth(placeProfiles([p(0, 5 * MiB), p(1_000_000, 15 * MiB)], 0, 1_000_000, toSeconds), 1000, 4 * MiB)!;
    expect(two.state).toBe('growing');
    expect(two.currentSlopeBytesPerHour).toBeCloseTo(10 * MiB * 3.6);
    expect(profileHeapGrowth(placeProfiles([p(0, 5 * MiB), p(100_000, 15 * MiB)], 0, 1_000_000, toSeconds), 1000, 4 * MiB)).toBeNull();
    expect(profileHeapGrowth(placeProfiles([p(0, 5 * MiB)], 0, 1_000_000, toSeconds), 1000, 4 * MiB)).toBeNull();
    // Growth below the floor over the window is flat.
    expect(profileHeapGrowth(placeProfiles([p(0, 5 * MiB), p(1_000_000, 7 * MiB)], 0, 1_000_000, toSeconds), 1000, 4 * MiB)!.state).toBe('flat');
  });
});

describe('reclaimEvidence', () => {
  const s = (ms: number, usage: number, extra: Partial<MemorySample> = {}): MemorySample => ({ timestampMs: ms, usageBytes: usage, ...extra });

  it('sums the rises of cumulative counters across a reset (a restarted container starts them over)', () => {
    const run = [s(0, 1, { failCount: 10, refaultFilePages: 100 }), s(1_000, 1, { failCount: 15, refaultFilePages: 150 }), s(2_000, 1, { failCount: 2, refaultFilePages: 0 }), s(3_000, 1, { failCount: 7, refaultFilePages: 10 })];
    const r = reclaimEvidence(run, () => null);
    expect(r.failCount).toBe(5 + 5);
    expect(r.refaultFileBytes).toBe((50 + 10) * 4096);
    expect(r.oomKills).toBeNull();
    expect(r.atLimitShare).toBeNull();
  });

  it('memory.events max + high, and oom_kill; the share of time at the limit', () => {
    const limit = 100 * MiB;
    const run = [s(0, 50 * MiB, { memoryEvents: { max: 0, high: 0, oomKill: 0 } }), s(10_000, 96 * MiB, { memoryEvents: { max: 3, high: 1, oomKill: 0 } }), s(20_000, 99 * MiB, { memoryEvents: { max: 9, high: 1, oomKill: 1 } })];
    const r = reclaimEvidence(run, () => limit);
    expect(r).toMatchObject({ limitEvents: 10, oomKills: 1, atLimitShare: 1 });
    expect(reclaimAtLimit(r)).toBe(true);
    expect(reclaimAtLimit(reclaimEvidence([s(0, 10), s(1_000, 10)], () => limit))).toBe(false);
  });
});
