import { analyzeGrowth } from '../../../src/analysis/growth.ts';
import { flatTail } from '../../../src/analysis/plateau.ts';
import type { Point } from '../../../src/analysis/envelope.ts';
import { MiB } from '../../../src/model/units.ts';

// One point every 10 s for 10 min (61 points) unless a test says otherwise.
const series = (v: (t: number) => number, seconds = 600, step = 10): Point[] => Array.from({ length: Math.floor(seconds / step) + 1 }, (_, i) => ({ t: i * step, v: v(i * step) }));

describe('flatTail', () => {
  it('edge cases: 0 and 1 points', () => {
    expect(flatTail([], MiB)).toEqual({ index: 0, spanSeconds: 0, longestFlatBeforeSeconds: 0 });
    expect(flatTail([{ t: 5, v: 1 }], MiB)).toEqual({ index: 0, spanSeconds: 0, longestFlatBeforeSeconds: 0 });
  });

  it('a ramp then a flat stretch: the tail starts where the ramp ends; no pause before it', () => {
    // +1 MiB a point for 30 points (300 s), then flat.
    const pts = series((t) => Math.min(t, 300) / 10 * MiB);
    const tail = flatTail(pts, MiB / 2);
    expect(pts[tail.index]!.t).toBe(300);
    expect(tail.spanSeconds).toBe(300);
    expect(tail.longestFlatBeforeSeconds).toBe(0);
  });

  it('a fall inside the tail is not growth; a climb back from it is', () => {
    const fallThenFlat = [0, 10, 20, 20, 15, 15, 15].map((v, i) => ({ t: i * 10, v: v * MiB }));
    expect(flatTail(fallThenFlat, 2 * MiB).index).toBe(2);
    const fallThenClimb = [0, 10, 20, 5, 10, 15, 20].map((v, i) => ({ t: i * 10, v: v * MiB }));
    expect(flatTail(fallThenClimb, 2 * MiB).index).toBe(6);
  });
});

describe('a growth that stopped, whatever the shape of its rise', () => {
  const floor = { floorBytes: 4 * MiB };

  it('a jump, small steps, then flat for 40 % of the window: plateaued (a runtime growing into its GC headroom)', () => {
    // 50 MiB, a jump to 110 MiB at 20 s, +3 MiB steps every 60 s until 360 s, then flat.
    const g = analyzeGrowth(series((t) => (t < 20 ? 50 : 110 + Math.min(6, Math.floor(t / 60)) * 3) * MiB), floor);
    expect(g.state).toBe('plateaued');
    expect(g.earlyGrowthBytes!).toBeGreaterThan(4 * MiB);
  });

  it('a leak in steps (8 MiB every 90 s) whose last pause is no longer than the others: still growing', () => {
    const g = analyzeGrowth(series((t) => (20 + 8 * Math.floor(t / 90)) * MiB), floor);
    expect(g.state).toBe('growing');
  });

  it('a steady leak is never a plateau, however small against its level', () => {
    // 1 GiB of anon growing 1 MiB/min: 10 MiB over the window.
    const g = analyzeGrowth(series((t) => 1024 * MiB + (t / 60) * MiB), floor);
    expect(g.state).toBe('growing');
  });
});
