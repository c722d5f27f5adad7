// When a full audit of a container must run again, and when the last one still stands. The
// controller sees every container every round; a full audit (every component's trend, envelope,
// changepoints, verdict, recommendation) of 20,000 containers costs tens of seconds of CPU a
// round, and most rounds add one sample that lies where the recent ones did: a steady service's
// GC sawtooth, a cache held at its limit. The verdict rests on trends over the window, so such a
// sample, shortly after the last audit, cannot change it. A full audit runs again when:
//   - there is no earlier result, or what else it was computed from changed (the audit's options,
//     a new heap profile, an OOM kill the kubelet reported): `inputs`;
//   - the earlier verdict is InsufficientData and the window now spans minDuration (before that
//     the engine can only say InsufficientData again: audit.ts decides it on the span first);
//   - the newest sample is a new incarnation (restart), has another limit, or counts another OOM;
//   - any memory component left the range the recent samples had at the last audit (those of the
//     refresh period before it) by more than the band: a share of the usage then, at least a floor.
//     A verdict is a prediction, and the range is where it expects the next samples: where they
//     were for Stable, Plateau and CacheGrowth (a sawtooth or a plateau stays in it, a new leak or
//     a filling cache leaves it within rounds); for a Leak, moving on at each component's fitted
//     slope, the recent samples' spread around it (a leak that goes on as found stays in it; one
//     that stops or speeds up leaves it);
//   - `refreshMs` passed since the sample last audited (a fraction of the window: what changes
//     only with time, a plateau's flat tail, is seen within it).
// Pure; the controller keeps one AuditedAt per container, in memory only (a new leader audits in
// full once). test/unit/analysis/reaudit.test.ts replays every labelled trace through it: each
// ends on the verdict a full audit of the whole trace gives; bench/reaudit.ts does the same for
// the held-out sets, reported apart.
import type { MemorySample } from '../model/sample.ts';
import type { AuditResult, Component } from '../model/verdict.ts';

/** What is read of a result here: its verdict, and the slopes of a Leak. The caller keeps as much more of it as it needs. */
export type AuditedResult = Pick<AuditResult, 'verdict'> & { growth: Partial<Record<Component, { slopeBytesPerHour: number }>> };

/** What is read of the newest sample audited. */
export type AuditedSample = Pick<MemorySample, 'timestampMs' | 'usageBytes' | 'instance' | 'limitBytes'> & { oom: number | undefined; oomKill: number | undefined };

/**
 * Kept per container between full audits (20,000 of them): the result as the caller slims it,
 * the few fields of the newest sample compared, and the ranges in one plain array (a typed array
 * costs some 200 bytes more each, in a backing store of its own).
 */
export interface AuditedAt<R extends AuditedResult = AuditResult> {
  result: R;
  /** The newest sample the result was computed from. */
  sample: AuditedSample;
  /** The oldest sample of the window it was computed from (ms). */
  firstMs: number;
  /**
   * Per component c (COMPONENTS), at 3c and 3c + 1 the lowest and highest value of the recent
   * samples, taken along the slope to the newest one's time (NaN: absent); at 3c + 2 the bytes
   * per ms the range moves on by: the fitted slope for a Leak, else 0.
   */
  range: number[];
  /** What else it was computed from, as the caller writes it down (options, profiles, OOM kills). */
  inputs: string;
}

export interface ReauditPolicy {
  /** A full audit at least this often (sample time); also how far back "recent" reaches. */
  refreshMs: number;
  /** A component further than this share of the audited usage from its recent range... */
  bandShare: number;
  /** ...or than these bytes, whichever is more. */
  minBandBytes: number;
  /** The audit's minDuration: an InsufficientData verdict stands while the window spans less. */
  minDurationMs: number;
}

export type ReauditReason = 'first' | 'inputs' | 'collecting' | 'restart' | 'moved' | 'refresh';

const MiB = 1024 * 1024;

/**
 * The policy for a window, interval and minDuration: a full audit at least every 1/96 of the
 * window (15 min of 24 h), never less than a sampling interval; a band of 2 % of the usage, at
 * least 1 MiB.
 */
export function reauditPolicy(windowMs: number, intervalMs: number, minDurationMs: number): ReauditPolicy {
  return { refreshMs: Math.max(intervalMs, Math.min(15 * 60_000, windowMs / 96)), bandShare: 0.02, minBandBytes: MiB, minDurationMs };
}

/** The components compared, and the trend (AuditResult.growth) each one's slope is read from. */
const COMPONENTS: [(s: MemorySample) => number | undefined, Component][] = [
  [(s) => s.usageBytes, 'usage'],
  [(s) => s.workingSetBytes, 'workingSet'],
  [(s) => s.anonBytes, 'anon'],
  [(s) => s.fileBytes, 'file'],
  [(s) => s.shmemBytes, 'shmem'],
  [(s) => s.kernelBytes, 'kernel'],
  [(s) => s.rssBytes, 'rss'],
  [(s) => s.go?.heapInuseBytes, 'goHeap'],
];

/** What to keep of a full audit of `samples` (oldest first, the newest last). */
export function auditedAt<R extends AuditedResult>(result: R, samples: readonly MemorySample[], inputs: string, policy: ReauditPolicy): AuditedAt<R> {
  const newest = samples.at(-1)!;
  // Sized once: an array grown by push keeps room to grow.
  const range = new Array<number>(3 * COMPONENTS.length).fill(NaN);
  COMPONENTS.forEach(([, name], c) => (range[3 * c + 2] = result.verdict === 'Leak' ? (result.growth[name]?.slopeBytesPerHour ?? 0) / 3_600_000 : 0));
  for (let i = samples.length - 1; i >= 0; i--) {
    const s = samples[i]!;
    if (i < samples.length - 1 && s.timestampMs < newest.timestampMs - policy.refreshMs) break;
    for (let c = 0; c < COMPONENTS.length; c++) {
      const raw = COMPONENTS[c]![0](s);
      if (raw === undefined) continue;
      // Around the trend: each sample brought to the newest one's time along the slope.
      const v = raw + range[3 * c + 2]! * (newest.timestampMs - s.timestampMs);
      if (!(v >= range[3 * c]!)) range[3 * c] = v;
      if (!(v <= range[3 * c + 1]!)) range[3 * c + 1] = v;
    }
  }
  const sample: AuditedSample = { timestampMs: newest.timestampMs, usageBytes: newest.usageBytes, instance: newest.instance, limitBytes: newest.limitBytes, oom: newest.memoryEvents?.oom, oomKill: newest.memoryEvents?.oomKill };
  return { result, sample, firstMs: samples[0]!.timestampMs, range, inputs };
}

/** Why a full audit is due for `newest`, or null when `last` still stands. */
export function reauditDue(last: AuditedAt<AuditedResult> | undefined, newest: MemorySample, inputs: string, policy: ReauditPolicy): ReauditReason | null {
  if (!last) return 'first';
  if (last.inputs !== inputs) return 'inputs';
  const before = last.sample;
  if (newest.instance !== before.instance || newest.limitBytes !== before.limitBytes || newest.memoryEvents?.oom !== before.oom || newest.memoryEvents?.oomKill !== before.oomKill) return 'restart';
  if (last.result.verdict === 'InsufficientData') return newest.timestampMs - last.firstMs >= policy.minDurationMs ? 'collecting' : null;
  const band = Math.max(policy.minBandBytes, policy.bandShare * before.usageBytes);
  const dt = newest.timestampMs - before.timestampMs;
  for (let c = 0; c < COMPONENTS.length; c++) {
    const v = COMPONENTS[c]![0](newest);
    const shift = last.range[3 * c + 2]! * dt;
    const lo = last.range[3 * c]! + shift;
    const hi = last.range[3 * c + 1]! + shift;
    if (Number.isNaN(lo) !== (v === undefined)) return 'moved';
    if (v !== undefined && (v < lo - band || v > hi + band)) return 'moved';
  }
  if (newest.timestampMs - before.timestampMs >= policy.refreshMs) return 'refresh';
  return null;
}
