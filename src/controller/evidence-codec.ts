// Evidence <-> a gzipped JSON document, so a restarted controller (or the replica that takes over
// a shard) resumes where the last one stopped. Version 2 holds each target's samples in the form
// they are held in memory (src/model/compact-samples.ts: the same bytes, base64); version 1, the
// columns of deltas of earlier controllers, is still read (its samples are taken in again).
import { gunzipSync, gzipSync } from 'node:zlib';
import { InputError } from '../errors.ts';
import { CompactSamples } from '../model/compact-samples.ts';
import type { GoRuntimeSample, HeapProfile, MemorySample } from '../model/sample.ts';
import { AuditEvidence, TargetEvidence, reduceProfile } from './evidence.ts';

const FORMAT_VERSION = 2;

type Column = (number | null)[];

interface PersistedProfile {
  t: number;
  total: number;
  alloc?: number;
  /** The incarnation (cAdvisor cgroup id) the profile was taken from. */
  inst?: string;
  flat: [string, number][];
  cum: [string, number][];
}

interface PersistedTarget {
  pod: string;
  container: string;
  node?: string;
  podUid?: string;
  goneSinceMs?: number;
  t: number[];
  cols: Record<string, Column>;
  go: Record<string, Column>;
  /** Sample instances (container incarnations): the distinct names, and each sample's index into them. */
  inst?: { names: string[]; idx: Column };
  profiles: PersistedProfile[];
}

/** Version 2: the compact samples as held. */
interface PersistedTargetV2 {
  pod: string;
  container: string;
  node?: string;
  podUid?: string;
  goneSinceMs?: number;
  /** CompactSamples.encode(), base64. */
  s: string;
  profiles: PersistedProfile[];
}

interface PersistedEvidence {
  v: number;
  uid: string;
  lastRoundMs: number;
  lastProfileMs: number;
  savedAtMs: number;
  targets: (PersistedTarget | PersistedTargetV2)[];
}

function undeltas(values: Column): Column {
  let prev = 0;
  return values.map((d) => {
    if (d === null) return null;
    prev += d;
    return prev;
  });
}

function encodeProfile(p: HeapProfile): PersistedProfile {
  const pp: PersistedProfile = { t: p.timestampMs, total: p.totalInuseBytes, flat: [...p.flatInuseBytes], cum: [...p.cumInuseBytes] };
  if (p.totalAllocBytes !== undefined) pp.alloc = p.totalAllocBytes;
  if (p.instance !== undefined) pp.inst = p.instance;
  return pp;
}

function decodeProfile(pp: PersistedProfile): HeapProfile {
  const prof: HeapProfile = { timestampMs: pp.t, totalInuseBytes: pp.total, flatInuseBytes: new Map(pp.flat), cumInuseBytes: new Map(pp.cum) };
  if (pp.alloc !== undefined) prof.totalAllocBytes = pp.alloc;
  if (pp.inst !== undefined) prof.instance = pp.inst;
  // Names shared with the other targets' (reduceProfile interns them).
  return reduceProfile(prof, Infinity);
}

function encodeTarget(t: TargetEvidence, series: CompactSamples): PersistedTargetV2 {
  const out: PersistedTargetV2 = { pod: t.pod, container: t.container, s: Buffer.from(series.encode()).toString('base64'), profiles: t.profiles.map(encodeProfile) };
  if (t.node !== undefined) out.node = t.node;
  if (t.podUid !== undefined) out.podUid = t.podUid;
  if (t.goneSinceMs !== undefined) out.goneSinceMs = t.goneSinceMs;
  return out;
}

function decodeTargetV2(p: PersistedTargetV2): TargetEvidence {
  const t = new TargetEvidence(p.pod, p.container);
  t.node = p.node;
  t.podUid = p.podUid;
  t.goneSinceMs = p.goneSinceMs;
  t.series = CompactSamples.decode(Buffer.from(p.s, 'base64'));
  t.profiles = p.profiles.map(decodeProfile);
  return t;
}

/** Version 1 (columns of deltas): the samples are taken into compact samples again. */
function decodeTargetV1(p: PersistedTarget): TargetEvidence {
  const t = new TargetEvidence(p.pod, p.container);
  t.node = p.node;
  t.podUid = p.podUid;
  t.goneSinceMs = p.goneSinceMs;
  const times = undeltas(p.t) as number[];
  const cols = Object.entries(p.cols).map(([k, c]) => [k, undeltas(c)] as const);
  const goCols = Object.entries(p.go).map(([k, c]) => [k, undeltas(c)] as const);
  const inst = p.inst ? undeltas(p.inst.idx) : [];
  times.forEach((timestampMs, i) => {
    const s: Record<string, unknown> = { timestampMs };
    for (const [k, c] of cols) if (c[i] !== null && c[i] !== undefined) s[k] = c[i];
    const g: Record<string, number> = {};
    for (const [k, c] of goCols) if (c[i] !== null && c[i] !== undefined) g[k] = c[i]!;
    if (g.heapInuseBytes !== undefined) s.go = g as unknown as GoRuntimeSample;
    const ii = inst[i];
    if (ii !== null && ii !== undefined && p.inst!.names[ii] !== undefined) s.instance = p.inst!.names[ii];
    t.addSample(s as unknown as MemorySample);
  });
  t.profiles = p.profiles.map(decodeProfile);
  return t;
}

/** Gzipped JSON, at most maxBytes: the samples are held in fewer buckets until it fits. */
export function encodeEvidence(ev: AuditEvidence, nowMs: number, maxBytes: number): Buffer {
  const targets = [...ev.targets.values()];
  let series = targets.map((t) => t.series);
  for (let attempt = 0; ; attempt++) {
    const doc: PersistedEvidence = { v: FORMAT_VERSION, uid: ev.uid, lastRoundMs: ev.lastRoundMs, lastProfileMs: ev.lastProfileMs, savedAtMs: nowMs, targets: targets.map((t, i) => encodeTarget(t, series[i]!)) };
    // zlib's default level: on 24 h of 50 containers, 4 % more bytes than level 9 in a seventh of the time.
    const gz = gzipSync(JSON.stringify(doc), { level: 6 });
    if (gz.length <= maxBytes || attempt > 6) return gz;
    series = series.map((s) => s.coarsened(Math.max(4, Math.floor(s.maxBuckets / 2))));
  }
}

export function decodeEvidence(gz: Buffer, source: string): AuditEvidence {
  let doc: PersistedEvidence;
  try {
    doc = JSON.parse(gunzipSync(gz).toString('utf8')) as PersistedEvidence;
  } catch (cause) {
    throw new InputError(source, 'evidence is not gzipped JSON', { cause });
  }
  if ((doc.v !== 1 && doc.v !== FORMAT_VERSION) || typeof doc.uid !== 'string' || !Array.isArray(doc.targets)) throw new InputError(source, `unknown evidence format version ${String(doc.v)}`);
  const ev = new AuditEvidence(doc.uid);
  ev.lastRoundMs = doc.lastRoundMs;
  ev.lastProfileMs = doc.lastProfileMs;
  ev.lastPersistMs = doc.savedAtMs;
  for (const p of doc.targets) {
    let t: TargetEvidence;
    try {
      t = doc.v === 1 ? decodeTargetV1(p as PersistedTarget) : decodeTargetV2(p as PersistedTargetV2);
    } catch (cause) {
      throw new InputError(source, `evidence of ${p.pod}/${p.container} cannot be read`, { cause });
    }
    ev.targets.set(t.key, t);
  }
  return ev;
}
