import { corootMemoryGrowthPct, corootDetector, krrLimitBytes, rssR2Detector, vpaLimitBytes } from '../../../bench/detectors.ts';
import { needsBytes } from '../../../bench/needs.ts';
import type { MemorySample } from '../../../src/model/sample.ts';

// The baselines memaudit is compared with in `npm run bench`: hand-computed cases, so the
// comparison is with the rules as documented and not with a bug of ours.
const MiB = 2 ** 20;
const T0 = Date.UTC(2026, 0, 1);

/** One sample a minute for `minutes`, RSS (anon) from f(minute). */
const rssTrace = (minutes: number, f: (m: number) => number, extra: Partial<MemorySample> = {}): MemorySample[] =>
  Array.from({ length: minutes + 1 }, (_, m) => ({ timestampMs: T0 + m * 60_000, usageBytes: f(m), anonBytes: f(m), ...extra }));

describe("Coroot's MemoryGrowthPct (auditor/memory.go)", () => {
  it('a steady rise of 100 MiB/h from 100 MiB over an hour is 100 % an hour: the fitted value an hour before the end is 100 MiB, at the end 200 MiB', () => {
    const s = rssTrace(60, (m) => 100 * MiB + (100 * MiB * m) / 60);
    expect(corootMemoryGrowthPct(s)).toBeCloseTo(100, 6);
    expect(corootDetector(s)).toBe('Leak');
  });

  it('ignores growth under 50 MiB in the last hour without a limit (20 MiB/h), or under 5 % of the limit', () => {
    expect(corootMemoryGrowthPct(rssTrace(60, (m) => 10 * MiB + (20 * MiB * m) / 60))).toBe(0);
    // 40 MiB/h against a 512 MiB limit: 5 % is 25.6 MiB, so it counts (400 % of 10 MiB)
    expect(corootMemoryGrowthPct(rssTrace(60, (m) => 10 * MiB + (40 * MiB * m) / 60, { limitBytes: 512 * MiB }))).toBeCloseTo(400, 6);
  });

  it('ignores a growth that stopped: the last quarter (15 minutes at least) must still rise at 0.3x the slope', () => {
    expect(corootMemoryGrowthPct(rssTrace(60, (m) => 100 * MiB + Math.min(m, 40) * 5 * MiB))).toBe(0);
  });

  it('fits the longest run between restarts (a fall below half the previous value)', () => {
    // 20 min rising to 300 MiB, a restart to 50 MiB, then 40 min flat: the flat run is the longest.
    const s = rssTrace(60, (m) => (m < 20 ? 100 * MiB + m * 10 * MiB : 50 * MiB));
    expect(corootMemoryGrowthPct(s)).toBe(0);
  });

  it('needs 10 points', () => {
    expect(corootMemoryGrowthPct(rssTrace(8, (m) => 100 * MiB + m * 50 * MiB))).toBe(0);
  });
});

describe('RSS > 10 %/h with R² > 0.8', () => {
  it('flags a clean rise and not a noisy one with the same slope', () => {
    expect(rssR2Detector(rssTrace(30, (m) => 100 * MiB + m * MiB))).toBe('Leak');
    // ±40 MiB alternating around a 30 MiB rise: R² well under 0.8
    expect(rssR2Detector(rssTrace(30, (m) => 100 * MiB + m * MiB + (m % 2 ? 40 : -40) * MiB))).toBe('NoLeak');
  });
});

describe('KRR and VPA limits', () => {
  // working set = usage - inactive_file
  const s = Array.from({ length: 80 }, (_, i) => ({ timestampMs: T0 + i * 30_000, usageBytes: (100 + i) * MiB, inactiveFileBytes: 50 * MiB }));
  it('KRR: max working set x 1.15', () => {
    expect(krrLimitBytes(s)).toBeCloseTo((100 + 79 - 50) * MiB * 1.15, 0);
  });
  it('VPA: p90 of 8 interval peaks x 1.15: with 8 peaks the nearest rank of p90 is the 8th, the largest', () => {
    expect(vpaLimitBytes(s)).toBeCloseTo((100 + 79 - 50) * MiB * 1.15, 0);
    // with 20 intervals the p90 is the 18th peak: interval 17 covers samples 68-71 (4 each), peak 71
    expect(vpaLimitBytes(s, 20)).toBeCloseTo((100 + 71 - 50) * MiB * 1.15, 0);
  });
});

describe('needs (bench/needs.ts)', () => {
  it('counts anon, shmem, non-reclaimable kernel and mapped files; not dirty pages or page cache', () => {
    const s: MemorySample = { timestampMs: T0, usageBytes: 500 * MiB, anonBytes: 10 * MiB, shmemBytes: 4 * MiB, fileBytes: 480 * MiB, dirtyBytes: 60 * MiB, kernelBytes: 9 * MiB, slabReclaimableBytes: 6 * MiB, mappedFileBytes: 7 * MiB };
    // 10 + 4 + (9 - 6) + (7 - 4)
    expect(needsBytes([s])).toBe(20 * MiB);
  });
  it('infers shmem off the file LRUs where the source has none, and takes the floor of cgroup v1 kernel memory', () => {
    const a: MemorySample = { timestampMs: T0, usageBytes: 0, anonBytes: 10 * MiB, fileBytes: 30 * MiB, activeFileBytes: 5 * MiB, inactiveFileBytes: 20 * MiB, kernelBytes: 2 * MiB };
    const b: MemorySample = { ...a, timestampMs: T0 + 1000, kernelBytes: 40 * MiB };
    // 10 + (30 - 25) + floor 2
    expect(needsBytes([a, b])).toBe(17 * MiB);
  });
});
