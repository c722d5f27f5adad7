import { ols } from '../../../src/analysis/stats/ols.ts';
import { median, quantile, robustSd } from '../../../src/analysis/stats/quantile.ts';
import { theilSen } from '../../../src/analysis/stats/theil-sen.ts';
import { lowerEnvelope } from '../../../src/analysis/envelope.ts';
import { findChangepoint } from '../../../src/analysis/plateau.ts';

describe('ols', () => {
  it('fits y = 1 + 2x exactly', () => {
    // x 0..3, y 1,3,5,7: slope = sxy/sxx = 10/5 = 2, intercept = 4 - 2*1.5 = 1
    const f = ols([0, 1, 2, 3], [1, 3, 5, 7]);
    expect(f.slope).toBeCloseTo(2, 12);
    expect(f.intercept).toBeCloseTo(1, 12);
    expect(f.r2).toBeCloseTo(1, 12);
  });
  it('has no trend with 0 or 1 points or constant x', () => {
    expect(ols([], []).slope).toBe(0);
    expect(ols([5], [9]).slope).toBe(0);
    expect(ols([2, 2, 2], [1, 5, 9]).slope).toBe(0);
  });
});

describe('theilSen', () => {
  it('ignores an outlier that drags least squares', () => {
    // y = x except one spike of +100 at x = 9; pair slopes median stays 1.
    const xs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const ys = xs.map((x) => (x === 9 ? 109 : x));
    expect(theilSen(xs, ys).slope).toBe(1);
    expect(ols(xs, ys).slope).toBeGreaterThan(5);
  });
  it('brackets the slope with its confidence interval', () => {
    const xs = Array.from({ length: 30 }, (_, i) => i);
    const ys = xs.map((x) => 3 * x + ((x * 7919) % 5) - 2);
    const f = theilSen(xs, ys);
    expect(f.ciLow).toBeLessThanOrEqual(f.slope);
    expect(f.ciHigh).toBeGreaterThanOrEqual(f.slope);
    expect(f.ciLow).toBeGreaterThan(2);
    expect(f.ciHigh).toBeLessThan(4);
  });
  it('gives an infinite interval with fewer than 2 distinct x', () => {
    const f = theilSen([1], [1]);
    expect(f.slope).toBe(0);
    expect(f.ciLow).toBe(-Infinity);
  });
});

describe('quantiles', () => {
  it('interpolates like numpy (type 7)', () => {
    // sorted 1,2,3,4: q=0.9 -> pos 2.7 -> 3 + 0.7*(4-3) = 3.7
    expect(quantile([4, 1, 3, 2], 0.9)).toBeCloseTo(3.7, 12);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([])).toBeNaN();
  });
  it('robustSd of a constant series is 0', () => {
    expect(robustSd([4, 4, 4, 4])).toBe(0);
  });
});

describe('lowerEnvelope', () => {
  it('follows the floor of a sawtooth, not its peaks', () => {
    // floor rises 1 per 10 s; each 5 s the sawtooth climbs 50 above it
    const pts = Array.from({ length: 200 }, (_, i) => ({ t: i, v: i / 10 + (i % 5) * 10 }));
    const env = lowerEnvelope(pts);
    for (const p of env) expect(p.v - p.t / 10).toBeLessThan(1e-9);
  });
});

describe('findChangepoint', () => {
  it('finds where a ramp turns flat', () => {
    const pts = Array.from({ length: 40 }, (_, i) => ({ t: i, v: i < 15 ? i * 10 : 150 }));
    const cp = findChangepoint(pts)!;
    expect(Math.abs(cp.t - 15)).toBeLessThanOrEqual(1);
    expect(cp.improvement).toBeGreaterThan(0.9);
    expect(cp.lateSlope).toBeCloseTo(0, 6);
  });
  it('returns null below 8 points', () => {
    expect(findChangepoint([{ t: 0, v: 0 }])).toBeNull();
  });
});
