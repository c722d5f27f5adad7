// Theil-Sen slope: the median of the slopes of all point pairs, with Sen's (1968)
// distribution-free confidence interval from Kendall's S variance. Robust to up to ~29 % outliers
// (GC spikes, a burst of requests) where least squares is pulled by every one of them.
//
// Cost is O(n^2) pairs: callers pass a reduced series (the lower envelope, at most a few hundred
// points), never raw samples.
//
// Edge cases: fewer than 2 points, or all x equal -> slope 0 with an infinite interval.
// Ties in x are skipped (no slope defined). The intercept is the median of y - slope * x.
export interface TheilSenFit {
  slope: number;
  intercept: number;
  /** Confidence interval of the slope at the requested level. */
  ciLow: number;
  ciHigh: number;
  pairs: number;
}

/** Two-sided standard normal quantiles for the confidence levels we use. */
const Z: Record<string, number> = { '0.9': 1.6449, '0.95': 1.96, '0.99': 2.5758 };

export function theilSen(xs: readonly number[], ys: readonly number[], confidence = 0.95): TheilSenFit {
  const n = Math.min(xs.length, ys.length);
  // A typed array sorts numerically in native code: the O(n^2) pairs dominate the engine's cost.
  const all = new Float64Array((n * (n - 1)) / 2);
  let count = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = xs[j]! - xs[i]!;
      if (dx !== 0) all[count++] = (ys[j]! - ys[i]!) / dx;
    }
  }
  const slopes = all.subarray(0, count);
  if (slopes.length === 0) {
    const my = n > 0 ? ys.slice(0, n).reduce((a, b) => a + b, 0) / n : 0;
    return { slope: 0, intercept: my, ciLow: -Infinity, ciHigh: Infinity, pairs: 0 };
  }
  slopes.sort();
  const N = slopes.length;
  const slope = N % 2 === 1 ? slopes[(N - 1) / 2]! : (slopes[N / 2 - 1]! + slopes[N / 2]!) / 2;
  const residuals = new Float64Array(n);
  for (let i = 0; i < n; i++) residuals[i] = ys[i]! - slope * xs[i]!;
  residuals.sort();
  const m = residuals.length;
  const intercept = m % 2 === 1 ? residuals[(m - 1) / 2]! : (residuals[m / 2 - 1]! + residuals[m / 2]!) / 2;

  const z = Z[String(confidence)] ?? 1.96;
  const varS = (n * (n - 1) * (2 * n + 5)) / 18;
  const c = z * Math.sqrt(varS);
  const lowerRank = Math.floor((N - c) / 2); // 1-based rank M1 -> 0-based index M1 - 1, rounded down
  const upperRank = Math.ceil((N + c) / 2); // 1-based rank M2 + 1 -> 0-based index M2
  const ciLow = lowerRank >= 1 ? slopes[lowerRank - 1]! : -Infinity;
  const ciHigh = upperRank < N ? slopes[upperRank]! : Infinity;
  return { slope, intercept, ciLow, ciHigh, pairs: N };
}
