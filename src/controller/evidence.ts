// The evidence kept per audited container: its samples within the window and a few reduced heap
// profiles, bounded in count so memory stays flat however long an audit runs. Pure data plus the
// bounding rules; persistence lives in evidence-codec.ts and evidence-store.ts.
import type { HeapProfile, MemorySample } from '../model/sample.ts';

export interface EvidenceLimits {
  maxSamples: number;
  maxProfiles: number;
  /** Functions kept per reduced profile (by flat and by cumulative in-use bytes). */
  maxProfileFunctions: number;
}

export const DEFAULT_EVIDENCE_LIMITS: EvidenceLimits = { maxSamples: 1000, maxProfiles: 6, maxProfileFunctions: 100 };

export class TargetEvidence {
  readonly pod: string;
  readonly container: string;
  node: string | undefined;
  podUid: string | undefined;
  samples: MemorySample[] = [];
  profiles: HeapProfile[] = [];
  /** Set when the pod disappeared; the evidence stays until the window passes it. */
  goneSinceMs: number | undefined;
  /** The last sampling error, cleared by the next success. */
  lastError: string | undefined;
  /** The last heap profile error (cgroup sampling may still work). */
  pprofError: string | undefined;
  /** Prometheus was asked for this container's history (found or not): not asked again. Not persisted: restored evidence has samples. */
  historyChecked = false;
  /** Rounds in a row the kubelet served no metrics for the container while it should have (container-status.ts). */
  missingRounds = 0;
  /** Container IDs the kubelet reported OOM-killed (container-status.ts); in memory only. */
  readonly oomKilledContainers = new Set<string>();

  constructor(pod: string, container: string) {
    this.pod = pod;
    this.container = container;
  }

  get key(): string {
    return targetKey(this.pod, this.container);
  }

  /** Appends a sample unless it repeats the last timestamp (a kubelet serves cached stats). */
  addSample(sample: MemorySample, limits: EvidenceLimits): boolean {
    const last = this.samples[this.samples.length - 1];
    if (last && sample.timestampMs <= last.timestampMs) return false;
    this.samples.push(sample);
    if (this.samples.length > limits.maxSamples) this.samples = decimateOlderHalf(this.samples);
    return true;
  }

  addProfile(profile: HeapProfile, limits: EvidenceLimits): void {
    const reduced = reduceProfile(profile, limits.maxProfileFunctions);
    this.profiles.push(reduced);
    // Keep the oldest (the heap diff's baseline) and the newest ones.
    while (this.profiles.length > Math.max(2, limits.maxProfiles)) this.profiles.splice(1, 1);
  }

  /** Drops what is older than the window. */
  prune(nowMs: number, windowMs: number): void {
    const from = nowMs - windowMs;
    if (this.samples.length > 0 && this.samples[0]!.timestampMs < from) this.samples = this.samples.filter((s) => s.timestampMs >= from);
    if (this.profiles.length > 0 && this.profiles[0]!.timestampMs < from) this.profiles = this.profiles.filter((p) => p.timestampMs >= from);
  }

  /** A Gone target is forgotten once its newest sample leaves the window. */
  expired(nowMs: number, windowMs: number): boolean {
    if (this.goneSinceMs === undefined) return false;
    const newest = this.samples[this.samples.length - 1]?.timestampMs ?? this.goneSinceMs;
    return newest < nowMs - windowMs;
  }
}

export class AuditEvidence {
  /** The MemoryAudit's uid: evidence of a deleted-and-recreated audit is not reused. */
  readonly uid: string;
  readonly targets = new Map<string, TargetEvidence>();
  /** When the last sampling round ran (ms), so a restarted controller keeps the cadence. */
  lastRoundMs = 0;
  lastProfileMs = 0;
  lastPersistMs = 0;
  /** After a failed history read, the next is not tried before this (ms). */
  backfillNotBeforeMs = 0;
  /** Set by any change since the last persist. */
  dirty = false;
  restoredFrom: string | undefined;

  constructor(uid: string) {
    this.uid = uid;
  }

  target(pod: string, container: string): TargetEvidence {
    const key = targetKey(pod, container);
    let t = this.targets.get(key);
    if (!t) this.targets.set(key, (t = new TargetEvidence(pod, container)));
    return t;
  }

  sampleCount(): number {
    let n = 0;
    for (const t of this.targets.values()) n += t.samples.length;
    return n;
  }
}

const targetKey = (pod: string, container: string): string => `${pod}/${container}`;

/** Keeps the newer half as is and every other point of the older half. */
export function decimateOlderHalf<T>(items: T[]): T[] {
  const half = Math.floor(items.length / 2);
  const older = items.slice(0, half).filter((_, i) => i % 2 === 0);
  return [...older, ...items.slice(half)];
}

/** Keeps the functions that matter for a diff: the top N by flat and by cumulative in-use bytes. */
export function reduceProfile(p: HeapProfile, maxFunctions: number): HeapProfile {
  const top = (m: Map<string, number>) => new Map([...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, maxFunctions));
  const out: HeapProfile = { timestampMs: p.timestampMs, totalInuseBytes: p.totalInuseBytes, flatInuseBytes: top(p.flatInuseBytes), cumInuseBytes: top(p.cumInuseBytes) };
  if (p.totalAllocBytes !== undefined) out.totalAllocBytes = p.totalAllocBytes;
  if (p.instance !== undefined) out.instance = p.instance;
  return out;
}
