// The lower envelope of a series: the minimum of each of K equal-time buckets.
//
// Why: a Go program's heap is a sawtooth (allocate until the GC goal, collect, repeat) and request
// bursts add spikes. What stays behind after every collection is the floor of the sawtooth; a leak
// lifts the floor, churn does not. Fitting a trend to bucket minima measures the floor.
//
// Buckets hold about `pointsPerBucket` samples (at least 1), and there are at most `maxBuckets`,
// which also bounds the cost of the O(n^2) Theil-Sen fit that follows. Empty buckets (gaps in
// sampling) are skipped. Each bucket's point keeps the time of its minimum sample.
//
// Edge cases: fewer points than buckets -> every point is its own bucket (the series itself).
export interface Point {
  /** Seconds (any origin). */
  t: number;
  v: number;
}

export interface EnvelopeOptions {
  pointsPerBucket?: number;
  maxBuckets?: number;
  minBuckets?: number;
}

export function lowerEnvelope(points: readonly Point[], options: EnvelopeOptions = {}): Point[] {
  const { pointsPerBucket = 5, maxBuckets = 60, minBuckets = 8 } = options;
  const n = points.length;
  if (n === 0) return [];
  const wanted = Math.max(minBuckets, Math.floor(n / pointsPerBucket));
  const buckets = Math.min(maxBuckets, wanted);
  if (n <= buckets) return points.map((p) => ({ t: p.t, v: p.v }));
  const t0 = points[0]!.t;
  const span = points[n - 1]!.t - t0;
  if (span <= 0) return [{ ...points.reduce((a, b) => (b.v < a.v ? b : a)) }];
  const width = span / buckets;
  const out: (Point | undefined)[] = new Array(buckets);
  for (const p of points) {
    const k = Math.min(buckets - 1, Math.floor((p.t - t0) / width));
    const cur = out[k];
    if (cur === undefined || p.v < cur.v) out[k] = { t: p.t, v: p.v };
  }
  return out.filter((p): p is Point => p !== undefined);
}
