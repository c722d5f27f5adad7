// Engine throughput: the controller's evidence store across many series, one new sample each, and
// a full audit of each; against the least any detector must do (push the sample, refit least
// squares on usage). A ratio of the two, and the time of one round over every series.
import { performance } from 'node:perf_hooks';
import { audit } from '../src/analysis/audit.ts';
import { ols } from '../src/analysis/stats/ols.ts';
import { DEFAULT_EVIDENCE_LIMITS, TargetEvidence } from '../src/controller/evidence.ts';
import type { MemorySample } from '../src/model/sample.ts';
import { MiB } from '../src/model/units.ts';
import type { Report } from './measure.ts';

/** Synthetic but physical: each series is a container with a GC sawtooth and its own growth. */
function makeSample(series: number, i: number): MemorySample {
  const kind = series % 4;
  const t = i * 30;
  const anon = 50 * MiB + (kind === 1 ? t * 3000 : 0) + ((i * 7919 + series) % 97) * 40_000;
  const inactive = 5 * MiB + (kind === 2 ? t * 2000 : 0);
  const shmem = kind === 3 ? t * 2000 : 0;
  return {
    timestampMs: 1_800_000_000_000 + t * 1000,
    usageBytes: anon + inactive + 2 * MiB + shmem + MiB,
    limitBytes: 1024 * MiB,
    anonBytes: anon,
    fileBytes: inactive + 2 * MiB + shmem,
    activeFileBytes: 2 * MiB,
    inactiveFileBytes: inactive,
    shmemBytes: shmem,
  };
}

export function throughput(report: Report, seriesCount: number, rounds: number): void {
  const history = 120; // one hour at 30 s
  const limits = DEFAULT_EVIDENCE_LIMITS;
  const all: TargetEvidence[] = [];
  for (let s = 0; s < seriesCount; s++) {
    const ser = new TargetEvidence(`pod-${s}`, 'app', limits.maxBuckets);
    for (let i = 0; i < history; i++) ser.addSample(makeSample(s, i));
    all.push(ser);
  }
  let t = performance.now();
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    for (let s = 0; s < seriesCount; s++) {
      const ser = all[s]!;
      ser.addSample(makeSample(s, history + r));
      const xs = ser.samples();
      sink += ols(
        xs.map((x) => x.timestampMs),
        xs.map((x) => x.usageBytes),
      ).slope;
    }
  }
  const baseMs = performance.now() - t;
  t = performance.now();
  const verdicts: Record<string, number> = {};
  for (let r = 0; r < rounds; r++) {
    for (let s = 0; s < seriesCount; s++) {
      const ser = all[s]!;
      ser.addSample(makeSample(s, history + rounds + r));
      const res = audit(ser.samples());
      verdicts[res.verdict] = (verdicts[res.verdict] ?? 0) + 1;
    }
  }
  const engineMs = performance.now() - t;
  const updates = rounds * seriesCount;
  report.text(
    `${seriesCount} series of ${history}+ samples (one hour at 30 s) in the controller's evidence store; ${rounds} rounds.`,
    '',
    `- baseline (push + least squares on usage): ${(updates / (baseMs / 1000)).toFixed(0)} updates/s`,
    `- memaudit (push + full audit: every component, envelope, Theil-Sen, changepoint, verdict, recommendation): ${(updates / (engineMs / 1000)).toFixed(0)} updates/s`,
    `- memaudit takes ${(engineMs / baseMs).toFixed(1)}x the baseline's time; one round over ${seriesCount} series: ${(engineMs / rounds / 1000).toFixed(2)} s`,
    `- verdicts: ${Object.entries(verdicts).map(([v, n]) => `${v} ${n}`).join(', ')}${sink === 0 ? '' : ''}`,
  );
  report.set('engine', { series: seriesCount, rounds, updatesPerSecond: Math.round(updates / (engineMs / 1000)), baselineUpdatesPerSecond: Math.round(updates / (baseMs / 1000)), ratioToBaseline: Math.round((engineMs / baseMs) * 10) / 10, secondsPerRound: Math.round((engineMs / rounds / 1000) * 100) / 100 });
}
