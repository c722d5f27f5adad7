// When a full audit of a container must run again, and when the last one still stands. The
// controller sees every container every round; a full audit (every component's trend, envelope,
// changepoints, verdict, recommendation) of 20,000 containers costs seconds of CPU a round, and
// most rounds add one sample that lies where the last ones did. The verdict rests on trends over
// the window, so a sample close to the one last audited, shortly after it, cannot change it. A
// full audit runs again when:
//   - there is no earlier result, or what else it was computed from changed (the audit's options,
//     a new heap profile, an OOM kill the kubelet reported): `inputs`;
//   - the earlier verdict is InsufficientData (it turns into a verdict with time alone);
//   - the newest sample is a new incarnation (restart), has another limit, or counts another OOM;
//   - any memory component moved by more than the band from the sample last audited: a fraction
//     of the usage then, at least a floor (a fast leak is audited every round, a steady service
//     seldom); measured from the audited sample, not the previous one, so slow drift adds up;
//   - `refreshMs` passed since the sample last audited (a fraction of the window: what changes
//     only in time, a plateau's flat tail, is seen within it).
// Pure; the controller keeps one AuditedAt per container, in memory only (a new leader audits in
// full once). test/unit/analysis/reaudit.test.ts replays every labelled trace through it: each
// ends on the verdict a full audit of the whole trace gives.
import type { MemorySample } from '../model/sample.ts';
import type { AuditResult } from '../model/verdict.ts';

export interface AuditedAt {
  result: AuditResult;
  /** The newest sample the result was computed from. */
  sample: MemorySample;
  /** What else it was computed from, as the caller writes it down (options, profiles, OOM kills). */
  inputs: string;
}

export interface ReauditPolicy {
  /** A full audit at least this often (sample time). */
  refreshMs: number;
  /** A component that moved by more than this share of the audited usage... */
  bandShare: number;
  /** ...or by more than these bytes, whichever is more. */
  minBandBytes: number;
}

export type ReauditReason = 'first' | 'inputs' | 'collecting' | 'restart' | 'moved' | 'refresh';

const MiB = 1024 * 1024;

/**
 * The policy for a window and interval: a full audit at least every 1/96 of the window (15 min
 * of 24 h), never less than a sampling interval; a band of 2 % of the usage, at least 1 MiB.
 */
export function reauditPolicy(windowMs: number, intervalMs: number): ReauditPolicy {
  return { refreshMs: Math.max(intervalMs, Math.min(15 * 60_000, windowMs / 96)), bandShare: 0.02, minBandBytes: MiB };
}

/** Why a full audit is due for `newest`, or null when `last` still stands. */
export function reauditDue(last: AuditedAt | undefined, newest: MemorySample, inputs: string, policy: ReauditPolicy): ReauditReason | null {
  if (!last) return 'first';
  if (last.inputs !== inputs) return 'inputs';
  if (last.result.verdict === 'InsufficientData') return 'collecting';
  const before = last.sample;
  if (newest.instance !== before.instance || newest.limitBytes !== before.limitBytes || newest.memoryEvents?.oom !== before.memoryEvents?.oom || newest.memoryEvents?.oomKill !== before.memoryEvents?.oomKill) return 'restart';
  const band = Math.max(policy.minBandBytes, policy.bandShare * before.usageBytes);
  for (const read of COMPONENTS) {
    const [a, b] = [read(before), read(newest)];
    if (a !== b && (a === undefined || b === undefined || Math.abs(b - a) > band)) return 'moved';
  }
  if (newest.timestampMs - before.timestampMs >= policy.refreshMs) return 'refresh';
  return null;
}

const COMPONENTS: ((s: MemorySample) => number | undefined)[] = [
  (s) => s.usageBytes,
  (s) => s.workingSetBytes,
  (s) => s.anonBytes,
  (s) => s.fileBytes,
  (s) => s.shmemBytes,
  (s) => s.kernelBytes,
  (s) => s.rssBytes,
  (s) => s.go?.heapInuseBytes,
];
