import { componentsOf } from '../src/analysis/components.ts';
import { ols } from '../src/analysis/stats/ols.ts';
import type { MemorySample } from '../src/model/sample.ts';

/**
 * The detectors people use today, reimplemented faithfully enough to compare verdicts:
 *
 * - "usage slope" (Coroot-style): least squares on raw usage; growth above 10 % of the mean per
 *   hour is a leak.
 * - "predict_linear(working_set)": the common alert
 *   `predict_linear(container_memory_working_set_bytes[6h], 4h) > limit`; without a limit, the same
 *   10 %/h growth rule on the working set.
 *
 * Each returns 'Leak' or 'NoLeak'.
 */
export type NaiveVerdict = 'Leak' | 'NoLeak';

function slopeAndMean(samples: readonly MemorySample[], value: (s: MemorySample) => number): { perHour: number; mean: number; last: number } {
  const t0 = samples[0]!.timestampMs;
  const xs = samples.map((s) => (s.timestampMs - t0) / 1000);
  const ys = samples.map(value);
  const f = ols(xs, ys);
  const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
  return { perHour: f.slope * 3600, mean, last: f.intercept + f.slope * xs[xs.length - 1]! };
}

export function usageSlopeDetector(samples: readonly MemorySample[]): NaiveVerdict {
  const { perHour, mean } = slopeAndMean(samples, (s) => s.usageBytes);
  return perHour > 0.1 * mean ? 'Leak' : 'NoLeak';
}

export function predictLinearWorkingSetDetector(samples: readonly MemorySample[]): NaiveVerdict {
  const ws = (s: MemorySample) => componentsOf(s).workingSet ?? s.usageBytes;
  const { perHour, mean, last } = slopeAndMean(samples, ws);
  const limit = samples[samples.length - 1]!.limitBytes;
  if (limit !== undefined) return last + perHour * 4 > limit ? 'Leak' : 'NoLeak';
  return perHour > 0.1 * mean ? 'Leak' : 'NoLeak';
}
