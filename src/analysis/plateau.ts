// One changepoint in a (short, envelope) series: the split into two straight segments that
// minimises the summed squared error. Used to tell growth that stopped (warm-up, a filled cache,
// usage pinned at a limit) from growth that goes on.
//
// Each segment keeps at least `minSegmentShare` of the points (and 4 points). The split is only
// worth believing when two lines explain the data much better than one: `improvement` is
// 1 - sse(two) / sse(one), in 0..1.
//
// Every candidate split is scored in O(1) from prefix sums of t, v, t², tv, v², so the search is
// O(n) rather than refitting both segments at each split.
//
// Edge cases: fewer than 8 points -> null (too short to split).
import type { Point } from './envelope.ts';

export interface Changepoint {
  index: number;
  t: number;
  improvement: number;
  earlySlope: number;
  lateSlope: number;
}

interface Sums {
  n: number;
  t: number;
  v: number;
  tt: number;
  tv: number;
  vv: number;
}

function prefixSums(points: readonly Point[]): Sums[] {
  // Centre time and value so the squares do not lose precision for epoch-scale inputs.
  const t0 = points[0]!.t;
  const v0 = points[0]!.v;
  const out: Sums[] = [{ n: 0, t: 0, v: 0, tt: 0, tv: 0, vv: 0 }];
  for (const p of points) {
    const prev = out[out.length - 1]!;
    const t = p.t - t0;
    const v = p.v - v0;
    out.push({ n: prev.n + 1, t: prev.t + t, v: prev.v + v, tt: prev.tt + t * t, tv: prev.tv + t * v, vv: prev.vv + v * v });
  }
  return out;
}

/** Least-squares fit of the points in [a, b) from prefix sums: slope and residual sum of squares. */
function segment(s: Sums[], a: number, b: number): { slope: number; sse: number } {
  const A = s[a]!;
  const B = s[b]!;
  const n = B.n - A.n;
  const st = B.t - A.t;
  const sv = B.v - A.v;
  const sxx = B.tt - A.tt - (st * st) / n;
  const sxy = B.tv - A.tv - (st * sv) / n;
  const syy = B.vv - A.vv - (sv * sv) / n;
  if (sxx <= 0) return { slope: 0, sse: Math.max(0, syy) };
  const slope = sxy / sxx;
  return { slope, sse: Math.max(0, syy - slope * sxy) };
}

export function findChangepoint(points: readonly Point[], minSegmentShare = 0.2): Changepoint | null {
  const n = points.length;
  if (n < 8) return null;
  const minSeg = Math.max(4, Math.ceil(n * minSegmentShare));
  if (n - minSeg < minSeg) return null;
  const sums = prefixSums(points);
  const total = segment(sums, 0, n).sse;
  let best = -1;
  let bestCost = Infinity;
  for (let k = minSeg; k <= n - minSeg; k++) {
    const cost = segment(sums, 0, k).sse + segment(sums, k, n).sse;
    if (cost < bestCost) {
      bestCost = cost;
      best = k;
    }
  }
  if (best < 0) return null;
  return {
    index: best,
    t: points[best]!.t,
    improvement: total === 0 ? 0 : Math.min(1, Math.max(0, 1 - bestCost / total)),
    earlySlope: segment(sums, 0, best).slope,
    lateSlope: segment(sums, best, n).slope,
  };
}

/**
 * The newest flat stretch of a (short, envelope) series, and the longest flat stretch before it.
 * Flat: nothing in the stretch rises more than `toleranceBytes` above where it began, and it ends
 * within `toleranceBytes` of its lowest point (a fall inside it is not growth; a climb back from a
 * fall is). A growth that stopped shows a flat tail longer than any pause it took while it was
 * still rising; a growth in steps (a leak that retains a buffer every few minutes) shows flat
 * tails no longer than its pauses.
 *
 * Cost: O(n^2) on the envelope (at most a few dozen points). Edge cases: fewer than 2 points -> a
 * tail of the whole series (0 s).
 */
export interface FlatTail {
  /** Index of the first point of the flat tail. */
  index: number;
  spanSeconds: number;
  /** Longest flat stretch among the points before the tail, seconds. */
  longestFlatBeforeSeconds: number;
}

export function flatTail(points: readonly Point[], toleranceBytes: number): FlatTail {
  const n = points.length;
  if (n < 2) return { index: 0, spanSeconds: 0, longestFlatBeforeSeconds: 0 };
  const flat = (i: number, j: number): boolean => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = i; k <= j; k++) {
      lo = Math.min(lo, points[k]!.v);
      hi = Math.max(hi, points[k]!.v);
    }
    return hi - points[i]!.v <= toleranceBytes && points[j]!.v - lo <= toleranceBytes;
  };
  let index = n - 1;
  while (index > 0 && flat(index - 1, n - 1)) index--;
  let longest = 0;
  for (let i = 0; i < index; i++) {
    for (let j = i + 1; j < index && flat(i, j); j++) longest = Math.max(longest, points[j]!.t - points[i]!.t);
  }
  return { index, spanSeconds: points[n - 1]!.t - points[index]!.t, longestFlatBeforeSeconds: longest };
}
