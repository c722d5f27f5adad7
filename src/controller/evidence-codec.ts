// Evidence <-> a compact gzipped JSON document, so a restarted controller resumes where the last
// one stopped. Samples are stored as columns of deltas (memory counters change slowly, so the
// deltas are small and compress well); a missing value stays null, never 0.
import { gunzipSync, gzipSync } from 'node:zlib';
import { InputError } from '../errors.ts';
import type { GoRuntimeSample, HeapProfile, MemorySample } from '../model/sample.ts';
import { AuditEvidence, TargetEvidence, decimateOlderHalf } from './evidence.ts';

const FORMAT_VERSION = 1;

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

interface PersistedEvidence {
  v: number;
  uid: string;
  lastRoundMs: number;
  lastProfileMs: number;
  savedAtMs: number;
  targets: PersistedTarget[];
}

function deltas(values: Column): Column {
  let prev = 0;
  return values.map((v) => {
    if (v === null) return null;
    const d = v - prev;
    prev = v;
    return d;
  });
}

function undeltas(values: Column): Column {
  let prev = 0;
  return values.map((d) => {
    if (d === null) return null;
    prev += d;
    return prev;
  });
}

function encodeTarget(t: TargetEvidence): PersistedTarget {
  const sampleKeys = new Set<string>();
  const goKeys = new Set<string>();
  for (const s of t.samples) {
    for (const [k, v] of Object.entries(s)) if (typeof v === 'number' && k !== 'timestampMs') sampleKeys.add(k);
    for (const k of Object.keys(s.go ?? {})) goKeys.add(k);
  }
  const cols: Record<string, Column> = {};
  for (const k of sampleKeys) cols[k] = deltas(t.samples.map((s) => ((s as unknown as Record<string, number | undefined>)[k] ?? null)));
  const go: Record<string, Column> = {};
  for (const k of goKeys) go[k] = deltas(t.samples.map((s) => ((s.go as unknown as Record<string, number | undefined> | undefined)?.[k] ?? null)));
  const out: PersistedTarget = {
    pod: t.pod,
    container: t.container,
    t: deltas(t.samples.map((s) => s.timestampMs)) as number[],
    cols,
    go,
    profiles: t.profiles.map((p) => {
      const pp: PersistedProfile = { t: p.timestampMs, total: p.totalInuseBytes, flat: [...p.flatInuseBytes], cum: [...p.cumInuseBytes] };
      if (p.totalAllocBytes !== undefined) pp.alloc = p.totalAllocBytes;
      if (p.instance !== undefined) pp.inst = p.instance;
      return pp;
    }),
  };
  if (t.samples.some((s) => s.instance !== undefined)) {
    const names: string[] = [];
    const idx = t.samples.map((s) => {
      if (s.instance === undefined) return null;
      let i = names.indexOf(s.instance);
      if (i < 0) i = names.push(s.instance) - 1;
      return i;
    });
    out.inst = { names, idx: deltas(idx) };
  }
  if (t.node !== undefined) out.node = t.node;
  if (t.podUid !== undefined) out.podUid = t.podUid;
  if (t.goneSinceMs !== undefined) out.goneSinceMs = t.goneSinceMs;
  return out;
}

function decodeTarget(p: PersistedTarget): TargetEvidence {
  const t = new TargetEvidence(p.pod, p.container);
  t.node = p.node;
  t.podUid = p.podUid;
  t.goneSinceMs = p.goneSinceMs;
  const times = undeltas(p.t) as number[];
  const cols = Object.entries(p.cols).map(([k, c]) => [k, undeltas(c)] as const);
  const goCols = Object.entries(p.go).map(([k, c]) => [k, undeltas(c)] as const);
  const inst = p.inst ? undeltas(p.inst.idx) : [];
  t.samples = times.map((timestampMs, i) => {
    const s: Record<string, unknown> = { timestampMs };
    for (const [k, c] of cols) if (c[i] !== null && c[i] !== undefined) s[k] = c[i];
    const g: Record<string, number> = {};
    for (const [k, c] of goCols) if (c[i] !== null && c[i] !== undefined) g[k] = c[i]!;
    if (g.heapInuseBytes !== undefined) s.go = g as unknown as GoRuntimeSample;
    const ii = inst[i];
    if (ii !== null && ii !== undefined && p.inst!.names[ii] !== undefined) s.instance = p.inst!.names[ii];
    return s as unknown as MemorySample;
  });
  t.profiles = p.profiles.map((pp) => {
    const prof: HeapProfile = { timestampMs: pp.t, totalInuseBytes: pp.total, flatInuseBytes: new Map(pp.flat), cumInuseBytes: new Map(pp.cum) };
    if (pp.alloc !== undefined) prof.totalAllocBytes = pp.alloc;
    if (pp.inst !== undefined) prof.instance = pp.inst;
    return prof;
  });
  return t;
}

/** Gzipped JSON, at most maxBytes: older samples are thinned until it fits. */
export function encodeEvidence(ev: AuditEvidence, nowMs: number, maxBytes: number): Buffer {
  let targets = [...ev.targets.values()];
  for (let attempt = 0; ; attempt++) {
    const doc: PersistedEvidence = { v: FORMAT_VERSION, uid: ev.uid, lastRoundMs: ev.lastRoundMs, lastProfileMs: ev.lastProfileMs, savedAtMs: nowMs, targets: targets.map(encodeTarget) };
    const gz = gzipSync(JSON.stringify(doc), { level: 9 });
    if (gz.length <= maxBytes || attempt > 20) return gz;
    targets = targets.map((t) => {
      const thinned = new TargetEvidence(t.pod, t.container);
      Object.assign(thinned, t);
      thinned.samples = decimateOlderHalf(t.samples);
      return thinned;
    });
  }
}

export function decodeEvidence(gz: Buffer, source: string): AuditEvidence {
  let doc: PersistedEvidence;
  try {
    doc = JSON.parse(gunzipSync(gz).toString('utf8')) as PersistedEvidence;
  } catch (cause) {
    throw new InputError(source, 'evidence is not gzipped JSON', { cause });
  }
  if (doc.v !== FORMAT_VERSION || typeof doc.uid !== 'string' || !Array.isArray(doc.targets)) throw new InputError(source, `unknown evidence format version ${String(doc.v)}`);
  const ev = new AuditEvidence(doc.uid);
  ev.lastRoundMs = doc.lastRoundMs;
  ev.lastProfileMs = doc.lastProfileMs;
  ev.lastPersistMs = doc.savedAtMs;
  for (const p of doc.targets) {
    const t = decodeTarget(p);
    ev.targets.set(t.key, t);
  }
  return ev;
}
