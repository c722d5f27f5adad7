// Gaps in sampling: stretches with no samples far longer than the sampling interval (a paused
// container, a recorder that was down, a laptop asleep). A trend fitted across a gap on the wall
// clock sees two clusters of points joined by a long straight line: a leak can look flat and
// "R² 1.00". So the engine fits trends on the *sampled* clock: each gap is closed to one typical
// interval, and the evidence names the gap and how much memory changed across it.
//
// A gap is an interval longer than GAP_INTERVALS typical intervals and at least MIN_GAP_SECONDS.
// The typical interval is the median one. Edge cases: fewer than 3 samples -> no gaps.
import { median } from './stats/quantile.ts';

export interface Gap {
  /** Index of the first sample after the gap. */
  index: number;
  startMs: number;
  endMs: number;
  seconds: number;
}

export interface SampledClock {
  gaps: Gap[];
  /** The median interval between samples, seconds. */
  typicalIntervalSeconds: number;
  /** Seconds on the sampled clock (gaps closed) for each sample, from 0 at the first. */
  seconds: Float64Array;
}

const GAP_INTERVALS = 10;
const MIN_GAP_SECONDS = 30;

export function sampledClock(timestampsMs: readonly number[]): SampledClock {
  const n = timestampsMs.length;
  const seconds = new Float64Array(n);
  if (n < 3) {
    for (let i = 0; i < n; i++) seconds[i] = (timestampsMs[i]! - timestampsMs[0]!) / 1000;
    return { gaps: [], typicalIntervalSeconds: n === 2 ? seconds[1]! : 0, seconds };
  }
  const intervals: number[] = [];
  for (let i = 1; i < n; i++) intervals.push((timestampsMs[i]! - timestampsMs[i - 1]!) / 1000);
  const typical = median(intervals);
  const gapAbove = Math.max(GAP_INTERVALS * typical, MIN_GAP_SECONDS);
  const gaps: Gap[] = [];
  for (let i = 1; i < n; i++) {
    const dt = intervals[i - 1]!;
    const isGap = dt > gapAbove;
    if (isGap) gaps.push({ index: i, startMs: timestampsMs[i - 1]!, endMs: timestampsMs[i]!, seconds: dt });
    seconds[i] = seconds[i - 1]! + (isGap ? typical : dt);
  }
  return { gaps, typicalIntervalSeconds: typical, seconds };
}
