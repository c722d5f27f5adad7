import type { Point } from './envelope.ts';
import { ols } from './stats/ols.ts';

/**
 * One changepoint in a (short, envelope) series: the split into two straight segments that
 * minimises the summed squared error. Used to tell growth that stopped (warm-up, a filled cache,
 * usage pinned at a limit) from growth that goes on.
 *
 * Each segment keeps at least `minSegmentShare` of the points (and 4 points). The split is only
 * worth believing when two lines explain the data much better than one: `improvement` is
 * 1 - sse(two) / sse(one), in 0..1.
 *
 * Edge cases: fewer than 8 points -> null (too short to split).
 */
export interface Changepoint {
  index: number;
  t: number;
  improvement: number;
  earlySlope: number;
  lateSlope: number;
}

function sse(points: readonly Point[]): number {
  const xs = points.map((p) => p.t);
  const ys = points.map((p) => p.v);
  const f = ols(xs, ys);
  let s = 0;
  for (const p of points) s += (p.v - (f.intercept + f.slope * p.t)) ** 2;
  return s;
}

export function findChangepoint(points: readonly Point[], minSegmentShare = 0.2): Changepoint | null {
  const n = points.length;
  if (n < 8) return null;
  const minSeg = Math.max(4, Math.ceil(n * minSegmentShare));
  const total = sse(points);
  let best: { index: number; cost: number } | null = null;
  for (let k = minSeg; k <= n - minSeg; k++) {
    const cost = sse(points.slice(0, k)) + sse(points.slice(k));
    if (best === null || cost < best.cost) best = { index: k, cost };
  }
  if (best === null) return null;
  const early = points.slice(0, best.index);
  const late = points.slice(best.index);
  const slopeOf = (ps: readonly Point[]) =>
    ols(
      ps.map((p) => p.t),
      ps.map((p) => p.v),
    ).slope;
  return {
    index: best.index,
    t: points[best.index]!.t,
    improvement: total === 0 ? 0 : Math.max(0, 1 - best.cost / total),
    earlySlope: slopeOf(early),
    lateSlope: slopeOf(late),
  };
}
