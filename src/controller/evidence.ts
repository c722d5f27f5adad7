// The evidence kept per audited container: its samples within the window, held compact
// (src/model/compact-samples.ts: time buckets of two whole samples each and the newest samples as
// they came, quantised, varint-coded: 24 h at 30 s in under 4 KiB), and a few reduced heap
// profiles, so memory stays flat however long an audit runs and however many containers it has.
// Pure data plus the bounding rules; persistence lives in evidence-codec.ts and evidence-store.ts.
import type { AuditedAt } from '../analysis/reaudit.ts';
import type { StatusResult } from './status.ts';
import { CompactSamples, DEFAULT_MAX_BUCKETS } from '../model/compact-samples.ts';
import { rememberOomKill } from './container-status.ts';
import type { HeapProfile, MemorySample } from '../model/sample.ts';

export interface EvidenceLimits {
  /** Time buckets per target (compact-samples.ts); the window's samples are at most about twice this. */
  maxBuckets: number;
  maxProfiles: number;
  /** Functions kept per reduced profile (by flat and by cumulative in-use bytes). */
  maxProfileFunctions: number;
}

export const DEFAULT_EVIDENCE_LIMITS: EvidenceLimits = { maxBuckets: DEFAULT_MAX_BUCKETS, maxProfiles: 6, maxProfileFunctions: 32 };

/**
 * The buckets for --max-samples-per-target N: a window holds two samples a bucket and up to 24
 * newest as taken, so N = 280 (the default) is 128 buckets.
 */
export const bucketsForSamples = (maxSamples: number): number => Math.max(4, Math.floor((maxSamples - 24) / 2));

export class TargetEvidence {
  readonly pod: string;
  readonly container: string;
  node: string | undefined;
  podUid: string | undefined;
  series: CompactSamples;
  profiles: HeapProfile[] = [];
  /** Set when the pod disappeared; the evidence stays until the window passes it. */
  goneSinceMs: number | undefined;
  /** The last sampling error, cleared by the next success. */
  lastError: string | undefined;
  /** The last heap profile error (cgroup sampling may still work). */
  pprofError: string | undefined;
  /** Prometheus was asked for this container's history (found or not): not asked again. Not persisted: restored evidence has samples. */
  historyChecked = false;
  /** Rounds in a row whose node metrics held no series for the container (reconcile/sample-round.ts). */
  missedRounds = 0;
  /** Container IDs the kubelet reported OOM-killed (container-status.ts); in memory only. */
  get oomKilledContainers(): ReadonlySet<string> {
    return this.#oomKilled ?? NO_OOM_KILLS;
  }

  rememberOomKill(containerId: string): void {
    rememberOomKill((this.#oomKilled ??= new Set()), containerId);
  }

  /** Made at the first OOM kill: most containers never have one, and an empty Set is some 150 bytes. */
  #oomKilled: Set<string> | undefined;
  /** The last full audit and the sample it ended on (evaluate.ts, analysis/reaudit.ts); in memory only. */
  audited: AuditedAt<StatusResult> | undefined;

  constructor(pod: string, container: string, maxBuckets = DEFAULT_MAX_BUCKETS) {
    this.pod = pod;
    this.container = container;
    this.series = new CompactSamples({ maxBuckets });
  }

  get key(): string {
    return targetKey(this.pod, this.container);
  }

  /** The samples held, oldest first: decoded, for the engine (not kept). */
  samples(): MemorySample[] {
    return this.series.samples();
  }

  /** Samples taken within the window (what the status calls `samples`), whatever is held of them. */
  get samplesTaken(): number {
    return this.series.taken;
  }

  get lastSampleMs(): number | undefined {
    return this.series.lastTimestampMs;
  }

  /** Appends a sample unless it repeats the last timestamp (a kubelet serves cached stats). */
  addSample(sample: MemorySample): boolean {
    return this.series.add(sample);
  }

  /**
   * The newest sample held, as the engine reads it (quantised, from the series' delta state: no
   * decoding). Not the sample as added: holding it (the sample object, a second copy of its
   * incarnation) was some 300 bytes a container.
   */
  newest(): MemorySample | undefined {
    return this.series.last();
  }

  addProfile(profile: HeapProfile, limits: EvidenceLimits): void {
    this.profiles.push(reduceProfile(profile, limits.maxProfileFunctions));
    // Keep the oldest (the heap diff's baseline) and the newest ones.
    while (this.profiles.length > Math.max(2, limits.maxProfiles)) this.profiles.splice(1, 1);
    this.profiles = withFunctionsWhereDiffed(this.profiles);
  }

  /** Drops what is older than the window. */
  prune(nowMs: number, windowMs: number): void {
    const from = nowMs - windowMs;
    this.series.prune(from);
    if (this.profiles.length > 0 && this.profiles[0]!.timestampMs < from) this.profiles = this.profiles.filter((p) => p.timestampMs >= from);
  }

  /** A Gone target is forgotten once its newest sample leaves the window. */
  expired(nowMs: number, windowMs: number): boolean {
    if (this.goneSinceMs === undefined) return false;
    const newest = this.series.lastTimestampMs ?? this.goneSinceMs;
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
  /**
   * Saved evidence that could not be read, kept to be saved again as it was (evidence-store.ts):
   * with the reason and the ConfigMap when it failed at this start, without when an earlier one kept it.
   */
  unreadable: { base64: string; reason?: string; from?: string } | undefined;

  constructor(uid: string) {
    this.uid = uid;
  }

  /** The target's evidence, new with `maxBuckets` (EvidenceLimits) when it has none yet. */
  target(pod: string, container: string, maxBuckets = DEFAULT_MAX_BUCKETS): TargetEvidence {
    const key = targetKey(pod, container);
    let t = this.targets.get(key);
    if (!t) this.targets.set(key, (t = new TargetEvidence(pod, container, maxBuckets)));
    return t;
  }

  /** Samples held across the targets. */
  sampleCount(): number {
    let n = 0;
    for (const t of this.targets.values()) n += t.series.length;
    return n;
  }

  /** Bytes held for the targets' samples (compact-samples.ts, heldBytes). */
  heldBytes(): number {
    let n = 0;
    for (const t of this.targets.values()) n += t.series.heldBytes;
    return n;
  }
}

const targetKey = (pod: string, container: string): string => `${pod}/${container}`;
const NO_OOM_KILLS: ReadonlySet<string> = new Set();

/** Keeps the functions that matter for a diff: the top N by flat and by cumulative in-use bytes, names shared. */
export function reduceProfile(p: HeapProfile, maxFunctions: number): HeapProfile {
  const top = (m: Map<string, number>) => new Map([...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, maxFunctions).map(([k, v]) => [intern(k), v]));
  const out: HeapProfile = { timestampMs: p.timestampMs, totalInuseBytes: p.totalInuseBytes, flatInuseBytes: top(p.flatInuseBytes), cumInuseBytes: top(p.cumInuseBytes) };
  if (p.totalAllocBytes !== undefined) out.totalAllocBytes = p.totalAllocBytes;
  if (p.instance !== undefined) out.instance = p.instance;
  return out;
}

/**
 * A heap diff compares the first and the last profile of one incarnation (heap-diff.ts,
 * profilesToDiff); the profiles between them count only by their totals (heap-profiles.ts). So
 * those keep their totals and drop their functions.
 */
export function withFunctionsWhereDiffed(profiles: readonly HeapProfile[]): HeapProfile[] {
  return profiles.map((p, i) => {
    const first = i === 0 || profiles[i - 1]!.instance !== p.instance;
    const last = i === profiles.length - 1 || profiles[i + 1]!.instance !== p.instance;
    if (first || last || (p.flatInuseBytes.size === 0 && p.cumInuseBytes.size === 0)) return p;
    return { ...p, flatInuseBytes: new Map(), cumInuseBytes: new Map() };
  });
}

/**
 * Function names are shared across targets (the replicas of a Deployment run one binary), so one
 * string each; the pool stops growing at MAX_INTERNED.
 */
const MAX_INTERNED = 100_000;
const interned = new Map<string, string>();

function intern(name: string): string {
  const known = interned.get(name);
  if (known !== undefined) return known;
  if (interned.size >= MAX_INTERNED) return name;
  const copy = Buffer.from(name, 'utf8').toString('utf8');
  interned.set(copy, copy);
  return copy;
}
