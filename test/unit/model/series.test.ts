import { EnvelopeSeries } from '../../../src/model/series.ts';

interface P {
  t: number;
  v: number;
}
const series = (maxBuckets: number) => new EnvelopeSeries<P>({ time: (p) => p.t, value: (p) => p.v, maxBuckets });

describe('EnvelopeSeries', () => {
  it('0, 1 and 2 items: kept as they are', () => {
    const s = series(4);
    expect(s.items()).toEqual([]);
    s.add({ t: 10, v: 1 });
    expect(s.items()).toEqual([{ t: 10, v: 1 }]);
    s.add({ t: 5, v: 2 }); // out of order: returned in time order
    expect(s.items()).toEqual([
      { t: 5, v: 2 },
      { t: 10, v: 1 },
    ]);
    expect(s.bucketWidthMs).toBe(0);
  });

  it('keeps every item up to 2 x maxBuckets', () => {
    const s = series(5);
    for (let i = 0; i < 10; i++) s.add({ t: i * 1000, v: i });
    expect(s.items()).toHaveLength(10);
    expect(s.bucketWidthMs).toBe(0);
  });

  it('past that, merges neighbours: each bucket keeps its minimum and maximum, and the first and last item', () => {
    // 4 buckets at most; 12 items 1 s apart. Widths double from 1 ms until at most 4 buckets
    // cover 0..11 s: 4096 ms -> keys 0 (0-4.095 s), 1 (4.096-8.191 s), 2 (8.192-11 s): 3 buckets.
    const s = series(4);
    const vs = [5, 1, 9, 3, 7, 2, 8, 4, 6, 0, 11, 10];
    vs.forEach((v, i) => s.add({ t: i * 1000, v }));
    expect(s.bucketWidthMs).toBe(4096);
    expect(s.added).toBe(12);
    // bucket 0 (t 0-4 s: 5,1,9,3,7): min 1 @1 s, max 9 @2 s; bucket 1 (t 5-8 s: 2,8,4,6): min 2 @5 s,
    // max 8 @6 s; bucket 2 (t 9-11 s: 0,11,10): min 0 @9 s, max 11 @10 s; plus first (0 s) and last (11 s).
    expect(s.items().map((p) => p.t / 1000)).toEqual([0, 1, 2, 5, 6, 9, 10, 11]);
  });

  it('keeps the floor of a sawtooth, whatever the length', () => {
    // A GC sawtooth rising 1 per period from a floor that grows 0.01 per period: 100,000 items
    // into 100 buckets. Each bucket's minimum is a floor point (v = floor exactly).
    const s = series(100);
    const period = 10;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const cycle = Math.floor(i / period);
      s.add({ t: i * 1000, v: cycle * 0.01 + (i % period) });
    }
    const kept = s.items();
    expect(kept.length).toBeLessThanOrEqual(2 * 100 + 2);
    expect(kept[0]!.t).toBe(0);
    expect(kept.at(-1)!.t).toBe((n - 1) * 1000);
    // The lower envelope of what is kept lies on the true floor: min of each tenth of the window.
    for (let k = 0; k < 10; k++) {
      const part = kept.filter((p) => p.t >= (k * n * 1000) / 10 && p.t < ((k + 1) * n * 1000) / 10);
      const floor = Math.min(...part.map((p) => p.v));
      const cycleOfFloor = Math.floor(part.find((p) => p.v === floor)!.t / 1000 / period);
      expect(floor).toBeCloseTo(cycleOfFloor * 0.01, 9);
    }
  });

  it('keeps a restart (a fall to a low value) and the peak before it', () => {
    const s = series(8);
    for (let i = 0; i < 1000; i++) s.add({ t: i * 1000, v: i < 600 ? 100 + i : 10 + (i - 600) });
    const kept = s.items();
    expect(kept.some((p) => p.v === 699)).toBe(true); // the peak before the fall (t 599 s)
    expect(kept.some((p) => p.v === 10)).toBe(true); // the floor right after it (t 600 s)
  });

  it('puts a late item in the bucket of its time', () => {
    const s = series(2);
    for (let i = 0; i < 5; i++) s.add({ t: i * 1000, v: 10 });
    s.add({ t: 1500, v: 1 }); // a clock stepping back
    expect(s.items().some((p) => p.t === 1500 && p.v === 1)).toBe(true);
    expect(s.items().map((p) => p.t)).toEqual([...s.items().map((p) => p.t)].sort((a, b) => a - b));
  });

  it('items at one instant: one bucket', () => {
    const s = series(2);
    for (let i = 0; i < 10; i++) s.add({ t: 7, v: i });
    expect(s.items().map((p) => p.v)).toEqual([0, 9]);
  });
});
