import { ols } from '../src/analysis/stats/ols.ts';
import type { MemorySample } from '../src/model/sample.ts';

/**
 * What people use today, reimplemented from their documentation and source so that memaudit is
 * compared with them on the same samples. Each leak detector answers 'Leak' or 'NoLeak'; the limit
 * recommenders answer a number of bytes.
 *
 * Leak detectors:
 * - usage slope: least squares on raw usage (what `docker stats` and `container_memory_usage_bytes`
 *   graphs invite); growth above 10 % of the mean per hour is a leak.
 * - predict_linear(working set): the common alert
 *   `predict_linear(container_memory_working_set_bytes[6h], 4h) > limit`; without a limit, the same
 *   10 %/h rule on the working set.
 * - Coroot: `MemoryGrowthPct` of coroot/coroot `auditor/memory.go` (the MemoryLeakPercent check,
 *   default threshold 10 %/h) on RSS: the longest run between restarts (a fall below half the
 *   previous value), at least 10 points and a third of the series; least squares over it with a
 *   positive slope; the last quarter (at least 15 minutes) still rising at >= 0.3x that slope; the
 *   fitted growth over the last hour at least 50 MiB (5 % of the limit when there is one); that
 *   growth as a percentage of the fitted value an hour before the end.
 * - RSS 10 %/h with R² > 0.8: the rule as it is usually summarised ("Coroot flags RSS growing more
 *   than 10 % an hour on a good linear fit"), without the guards above.
 *
 * Limit recommenders (what they would set, from the same window):
 * - KRR (robusta-dev/krr, simple strategy): max working set x 1.15.
 * - VPA recommender: p90 of per-interval working-set peaks x 1.15. Its interval is a day over an
 *   8-day window; here the window is cut into 8 intervals so the shape (8 peaks, p90, +15 %) is
 *   kept. Left out: the half-life decay of old peaks, the 250 MiB per-pod minimum and the bump after
 *   an OOM kill (both only raise its number).
 */
export type NaiveVerdict = 'Leak' | 'NoLeak';

/** Working set as the kubelet and cAdvisor compute it: usage - inactive_file (what KRR, VPA and alerts read). */
export const workingSetOf = (s: MemorySample): number => s.workingSetBytes ?? Math.max(0, s.usageBytes - (s.inactiveFileBytes ?? 0));

/** RSS as Coroot's agent reads it: the cgroup's rss / anon (a process's RSS without a cgroup). */
const rssOf = (s: MemorySample): number | undefined => s.anonBytes ?? s.rssBytes;

const secondsFromStart = (samples: readonly MemorySample[]) => samples.map((s) => (s.timestampMs - samples[0]!.timestampMs) / 1000);

function slopePerHour(samples: readonly MemorySample[], value: (s: MemorySample) => number): { perHour: number; mean: number; last: number; r2: number } {
  const xs = secondsFromStart(samples);
  const ys = samples.map(value);
  const f = ols(xs, ys);
  const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
  return { perHour: f.slope * 3600, mean, last: f.intercept + f.slope * xs[xs.length - 1]!, r2: f.r2 };
}

export function usageSlopeDetector(samples: readonly MemorySample[]): NaiveVerdict {
  const { perHour, mean } = slopePerHour(samples, (s) => s.usageBytes);
  return perHour > 0.1 * mean ? 'Leak' : 'NoLeak';
}

export function predictLinearWorkingSetDetector(samples: readonly MemorySample[]): NaiveVerdict {
  const { perHour, mean, last } = slopePerHour(samples, workingSetOf);
  const limit = samples[samples.length - 1]!.limitBytes;
  if (limit !== undefined) return last + perHour * 4 > limit ? 'Leak' : 'NoLeak';
  return perHour > 0.1 * mean ? 'Leak' : 'NoLeak';
}

/** Coroot's MemoryGrowthPct on RSS: the growth over the last hour in percent, 0 when its guards say no. */
export function corootMemoryGrowthPct(samples: readonly MemorySample[]): number {
  const points = samples.flatMap((s) => {
    const v = rssOf(s);
    return v === undefined ? [] : [{ t: s.timestampMs / 1000, v }];
  });
  if (points.length < samples.length * 0.8) return 0;
  // The longest run between restarts.
  let best: typeof points = [];
  let run: typeof points = [];
  for (let i = 0; i < points.length; i++) {
    if (i > 0 && points[i - 1]!.v > 0 && points[i]!.v < points[i - 1]!.v * 0.5) {
      if (run.length > best.length) best = run;
      run = [];
    }
    run.push(points[i]!);
  }
  if (run.length > best.length) best = run;
  if (best.length < 10 || best.length < samples.length / 3) return 0;
  const x = best.map((p) => p.t);
  const y = best.map((p) => p.v);
  const fit = ols(x, y);
  if (fit.slope <= 0) return 0;
  let tailStart = x.length - Math.floor(x.length / 4);
  while (tailStart > 0 && x[x.length - 1]! - x[tailStart]! < 15 * 60) tailStart--;
  if (x.length - tailStart < 5) return 0;
  const tail = ols(x.slice(tailStart), y.slice(tailStart));
  if (tail.slope <= 0 || tail.slope < fit.slope * 0.3) return 0;
  const to = samples[samples.length - 1]!.timestampMs / 1000;
  const start = fit.intercept + fit.slope * (to - 3600);
  const end = fit.intercept + fit.slope * to;
  if (!(end > 0 && end > start)) return 0;
  const limit = samples[samples.length - 1]!.limitBytes;
  const minGrowth = limit !== undefined && limit > 0 ? limit * 0.05 : 50 * 2 ** 20;
  if (end - start < minGrowth) return 0;
  return start > 0 ? ((end - start) / start) * 100 : ((end - start) / end) * 100;
}

export const corootDetector = (samples: readonly MemorySample[]): NaiveVerdict => (corootMemoryGrowthPct(samples) > 10 ? 'Leak' : 'NoLeak');

/** RSS growth > 10 % of its mean per hour on a linear fit with R² > 0.8. */
export function rssR2Detector(samples: readonly MemorySample[]): NaiveVerdict {
  const withRss = samples.filter((s) => rssOf(s) !== undefined);
  if (withRss.length < 3) return 'NoLeak';
  const { perHour, mean, r2 } = slopePerHour(withRss, (s) => rssOf(s)!);
  return perHour > 0.1 * mean && r2 > 0.8 ? 'Leak' : 'NoLeak';
}

/** KRR's simple strategy: max working set x 1.15. */
export function krrLimitBytes(samples: readonly MemorySample[]): number {
  return Math.max(...samples.map(workingSetOf)) * 1.15;
}

/** The VPA recommender's shape: p90 of the working-set peaks of 8 equal intervals, x 1.15. */
export function vpaLimitBytes(samples: readonly MemorySample[], intervals = 8): number {
  const t0 = samples[0]!.timestampMs;
  const span = Math.max(1, samples[samples.length - 1]!.timestampMs - t0);
  const peaks = new Array<number>(intervals).fill(-1);
  for (const s of samples) {
    const i = Math.min(intervals - 1, Math.floor(((s.timestampMs - t0) / span) * intervals));
    peaks[i] = Math.max(peaks[i]!, workingSetOf(s));
  }
  const seen = peaks.filter((p) => p >= 0).sort((a, b) => a - b);
  // p90 by the nearest rank, as a histogram's upper bucket would give it.
  const p90 = seen[Math.min(seen.length - 1, Math.ceil(0.9 * seen.length) - 1)]!;
  return p90 * 1.15;
}
