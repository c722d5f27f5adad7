// Order statistics. Edge cases: an empty input has no median (NaN); one value is its own median.
// Quantiles use linear interpolation between closest ranks (type 7, as R and numpy default).
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  return quantileSorted(Float64Array.from(values).sort(), q);
}

export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = Math.min(Math.max(q, 0), 1) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

/** Median absolute deviation scaled to estimate a normal standard deviation (x 1.4826). */
export function robustSd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = median(values);
  return 1.4826 * median(values.map((v) => Math.abs(v - m)));
}
