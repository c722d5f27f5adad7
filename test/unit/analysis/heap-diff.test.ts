import { heapDiff, profilesToDiff } from '../../../src/analysis/heap-diff.ts';
import type { HeapProfile } from '../../../src/model/sample.ts';

const profile = (timestampMs: number, flat: Record<string, number>, cum: Record<string, number>): HeapProfile => ({
  timestampMs,
  totalInuseBytes: Object.values(flat).reduce((a, b) => a + b, 0),
  flatInuseBytes: new Map(Object.entries(flat)),
  cumInuseBytes: new Map(Object.entries(cum)),
});

describe('heapDiff', () => {
  // main.handle -> main.cache.put (allocates) ; main.handle -> bufio.NewReader (allocates)
  const first = profile(0, { 'main.(*cache).put': 1_000, 'bufio.NewReaderSize': 4_096, 'main.init': 512 }, { 'main.(*cache).put': 1_000, 'bufio.NewReaderSize': 4_096, 'main.handle': 5_096, 'main.init': 512, 'runtime.main': 5_608 });
  const last = profile(60_000, { 'main.(*cache).put': 9_000, 'bufio.NewReaderSize': 4_096, 'main.decode': 2_000 }, { 'main.(*cache).put': 9_000, 'bufio.NewReaderSize': 4_096, 'main.decode': 2_000, 'main.handle': 15_096, 'runtime.main': 15_096 });

  it('ranks functions by flat in-use growth, with cumulative growth beside it', () => {
    // cache.put: 9000 - 1000 = +8000 flat, +8000 cum; decode: new, 0 -> 2000.
    expect(heapDiff(first, last, 10)).toEqual([
      { function: 'main.(*cache).put', firstInuseBytes: 1_000, lastInuseBytes: 9_000, growthBytes: 8_000, cumulativeGrowthBytes: 8_000 },
      { function: 'main.decode', firstInuseBytes: 0, lastInuseBytes: 2_000, growthBytes: 2_000, cumulativeGrowthBytes: 2_000 },
    ]);
  });

  it('leaves out flat-stable, shrinking and vanished functions, and callers that only grew cumulatively', () => {
    const names = heapDiff(first, last, 10).map((r) => r.function);
    expect(names).not.toContain('bufio.NewReaderSize'); // unchanged
    expect(names).not.toContain('main.init'); // gone from the last profile
    expect(names).not.toContain('main.handle'); // cum +10000 but allocates nothing itself
  });

  it('cuts at topN, and gives [] for topN <= 0 or reversed profiles', () => {
    expect(heapDiff(first, last, 1).map((r) => r.function)).toEqual(['main.(*cache).put']);
    expect(heapDiff(first, last, 0)).toEqual([]);
    expect(heapDiff(last, first, 5)).toEqual([{ function: 'main.init', firstInuseBytes: 0, lastInuseBytes: 512, growthBytes: 512, cumulativeGrowthBytes: 512 }]);
  });

  it('orders ties by cumulative growth, then by name', () => {
    const a = profile(0, {}, {});
    const b = profile(1, { b: 10, a: 10, c: 10 }, { b: 10, a: 10, c: 30 });
    expect(heapDiff(a, b, 3).map((r) => r.function)).toEqual(['c', 'a', 'b']);
  });
});

describe('profilesToDiff', () => {
  const at = (timestampMs: number, instance?: string): HeapProfile => ({ ...profile(timestampMs, {}, {}), ...(instance !== undefined ? { instance } : {}) });

  it('diffs the oldest and the newest profile of one unnamed process', () => {
    const ps = [at(0), at(1), at(2)];
    expect(profilesToDiff(ps)).toEqual([ps[0], ps[2]]);
    expect(profilesToDiff([at(0)])).toBeNull();
    expect(profilesToDiff([])).toBeNull();
  });

  it('stays within the newest incarnation that has two profiles: a restarted process starts its heap over', () => {
    // An OOM loop: c1 (3 profiles), c2 (2), c3 (1, just started).
    const ps = [at(0, 'c1'), at(1, 'c1'), at(2, 'c1'), at(3, 'c2'), at(4, 'c2'), at(5, 'c3')];
    expect(profilesToDiff(ps)).toEqual([ps[3], ps[4]]);
    expect(profilesToDiff(ps.slice(0, 5))).toEqual([ps[3], ps[4]]);
    expect(profilesToDiff([at(0, 'c1'), at(1, 'c2'), at(2, 'c3')])).toBeNull();
  });
});
