import { InputError } from '../errors.ts';
import type { GoRuntimeSample, MemorySample } from '../model/sample.ts';
import { goSampleFromMemStats } from './memstats.ts';

// cgroup memory accounting, v1 and v2.
//
// The snapshot (`CgroupSnapshot`) is the raw material: exactly the numbers the kernel printed,
// so a recording can be re-analysed when the interpretation improves. `sampleFromSnapshot` turns
// it into the common MemorySample. The JSON-lines form of snapshots is what
// `memaudit analyze --cgroup FILE` reads and `memaudit run --record FILE` writes
// (docs/formats.md). Reading a live cgroup directory is src/sampling/cgroup.ts.

export interface CgroupSnapshot {
  /** Milliseconds since the epoch, or an ISO-8601 string in files. */
  timestampMs: number;
  version: 1 | 2;
  /** memory.stat as key -> value (bytes for sizes, counts for events). */
  stat: Record<string, number>;
  /** memory.current (v2) or memory.usage_in_bytes (v1). */
  usageBytes: number;
  /** memory.max / memory.limit_in_bytes; null when unlimited ("max" or the v1 page-rounded maximum). */
  limitBytes: number | null;
  /** v1 only: memory.kmem.usage_in_bytes (v2 has `kernel` in memory.stat). */
  kmemUsageBytes?: number;
  /** runtime.MemStats of the Go program in the cgroup, sampled at the same time, when known. */
  go?: GoRuntimeSample;
}

/** v1 reports "no limit" as the largest page-aligned signed 64-bit value (9223372036854771712). */
const V1_UNLIMITED_THRESHOLD = 2 ** 62;

/** Parses memory.stat ("key value" lines). */
export function parseMemoryStat(text: string, source = 'memory.stat'): Record<string, number> {
  const stat: Record<string, number> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const m = /^([A-Za-z0-9_]+)\s+(\d+)$/.exec(line);
    if (!m) throw new InputError(source, `expected "key value" with an unsigned integer, got ${JSON.stringify(line.slice(0, 80))}`, { line: i + 1 });
    stat[m[1]!] = Number(m[2]);
  }
  return stat;
}

/** Parses memory.max / memory.limit_in_bytes. null = unlimited. */
export function parseLimit(text: string, source = 'memory.max'): number | null {
  const t = text.trim();
  if (t === 'max') return null;
  if (!/^\d+$/.test(t)) throw new InputError(source, `expected a byte count or "max", got ${JSON.stringify(t.slice(0, 40))}`);
  const n = Number(t);
  return n >= V1_UNLIMITED_THRESHOLD ? null : n;
}

export function parseBytes(text: string, source: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new InputError(source, `expected a byte count, got ${JSON.stringify(t.slice(0, 40))}`);
  return Number(t);
}

/** Turns the kernel's numbers into the common sample. See docs/memory-model.md for the mapping. */
export function sampleFromSnapshot(snap: CgroupSnapshot): MemorySample {
  const s = snap.stat;
  const sample: MemorySample = { timestampMs: snap.timestampMs, usageBytes: snap.usageBytes };
  if (snap.limitBytes !== null) {
    const hier = s.hierarchical_memory_limit;
    sample.limitBytes = hier !== undefined && hier < V1_UNLIMITED_THRESHOLD ? Math.min(hier, snap.limitBytes) : snap.limitBytes;
  } else if (s.hierarchical_memory_limit !== undefined && s.hierarchical_memory_limit < V1_UNLIMITED_THRESHOLD) {
    sample.limitBytes = s.hierarchical_memory_limit;
  }
  if (snap.version === 2) {
    assign(sample, 'anonBytes', s.anon);
    assign(sample, 'fileBytes', s.file);
    assign(sample, 'shmemBytes', s.shmem);
    assign(sample, 'activeFileBytes', s.active_file);
    assign(sample, 'inactiveFileBytes', s.inactive_file);
    assign(sample, 'activeAnonBytes', s.active_anon);
    assign(sample, 'inactiveAnonBytes', s.inactive_anon);
    assign(sample, 'mappedFileBytes', s.file_mapped);
    assign(sample, 'dirtyBytes', s.file_dirty);
    assign(sample, 'writebackBytes', s.file_writeback);
    assign(sample, 'slabReclaimableBytes', s.slab_reclaimable);
    assign(sample, 'slabUnreclaimableBytes', s.slab_unreclaimable);
    assign(sample, 'kernelStackBytes', s.kernel_stack);
    assign(sample, 'sockBytes', s.sock);
    if (snap.go) sample.go = snap.go;
    if (s.kernel !== undefined) sample.kernelBytes = s.kernel;
    else if (s.slab !== undefined || s.kernel_stack !== undefined) {
      // Kernels before 5.18 have no `kernel` line: sum what they do report.
      sample.kernelBytes = (s.slab ?? 0) + (s.kernel_stack ?? 0) + (s.pagetables ?? 0) + (s.percpu ?? 0) + (s.sock ?? 0);
    }
    return sample;
  }
  // v1: the hierarchical `total_*` fields include descendants, which is what usage_in_bytes counts.
  const t = (k: string): number | undefined => s[`total_${k}`] ?? s[k];
  // Documentation/admin-guide/cgroup-v1/memory.rst: "rss: anonymous and swap cache memory
  // (includes transparent hugepages)", so rss_huge is already inside rss and is not added again.
  const rss = t('rss');
  assign(sample, 'anonBytes', rss);
  assign(sample, 'fileBytes', t('cache'));
  assign(sample, 'shmemBytes', t('shmem'));
  assign(sample, 'activeFileBytes', t('active_file'));
  assign(sample, 'inactiveFileBytes', t('inactive_file'));
  assign(sample, 'activeAnonBytes', t('active_anon'));
  assign(sample, 'inactiveAnonBytes', t('inactive_anon'));
  assign(sample, 'mappedFileBytes', t('mapped_file'));
  assign(sample, 'dirtyBytes', t('dirty'));
  assign(sample, 'writebackBytes', t('writeback'));
  if (snap.kmemUsageBytes !== undefined) sample.kernelBytes = snap.kmemUsageBytes;
  if (snap.go) sample.go = snap.go;
  return sample;
}

function assign(sample: MemorySample, key: keyof MemorySample, value: number | undefined): void {
  if (value !== undefined) (sample as unknown as Record<string, number>)[key] = value;
}

/** Parses one JSON line of a snapshot recording (docs/formats.md). */
export function snapshotFromJson(value: unknown, source: string, line: number): CgroupSnapshot {
  if (typeof value !== 'object' || value === null) throw new InputError(source, 'expected a JSON object with "ts", "version", "stat", "usage"', { line });
  const o = value as Record<string, unknown>;
  // The names memaudit writes first; the cgroup files' own names (and common ones) are accepted
  // too, so a recording made with a shell loop or another tool reads without conversion.
  const pick = (...keys: string[]): unknown => keys.map((k) => o[k]).find((v) => v !== undefined);
  const bytes = (v: unknown): unknown => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v);
  const ts = pick('ts', 'timestampMs', 'timestamp', 'time');
  // A number is epoch milliseconds, or epoch seconds when it is too small to be milliseconds
  // (before 1973 in ms): `date +%s` output reads right.
  const timestampMs = typeof ts === 'number' ? (ts < 1e11 ? ts * 1000 : ts) : typeof ts === 'string' ? Date.parse(ts) : NaN;
  if (!Number.isFinite(timestampMs)) throw new InputError(source, 'field "ts" must be epoch milliseconds (or seconds) or an ISO-8601 time', { line });
  const rawStat = pick('stat', 'memory.stat');
  let stat: Record<string, number>;
  if (typeof rawStat === 'string') stat = parseMemoryStat(rawStat, `${source}:${line} stat`);
  else if (typeof rawStat === 'object' && rawStat !== null) {
    stat = {};
    for (const [k, v] of Object.entries(rawStat)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(source, `stat.${k} must be a number`, { line });
      stat[k] = v;
    }
  } else throw new InputError(source, 'field "stat" (memory.stat, as an object or the raw text) is missing', { line });
  // v2 names anon/file; v1 rss/cache (total_rss/total_cache).
  const version = o.version ?? ('anon' in stat || 'file' in stat ? 2 : 1);
  if (version !== 1 && version !== 2) throw new InputError(source, 'field "version" must be 1 or 2', { line });
  const usage = bytes(pick('usage', 'usageBytes', 'memory.current', 'memory.usage_in_bytes'));
  if (typeof usage !== 'number') throw new InputError(source, 'field "usage" (memory.current / memory.usage_in_bytes, bytes) is missing', { line });
  const limitRaw = bytes(pick('limit', 'limitBytes', 'memory.max', 'memory.limit_in_bytes') ?? null);
  let limitBytes: number | null;
  if (limitRaw === null || (typeof limitRaw === 'string' && limitRaw.trim() === 'max')) limitBytes = null;
  else if (typeof limitRaw === 'number') limitBytes = limitRaw >= V1_UNLIMITED_THRESHOLD ? null : limitRaw;
  else throw new InputError(source, 'field "limit" must be bytes, "max" or null', { line });
  const snap: CgroupSnapshot = { timestampMs, version, stat, usageBytes: usage, limitBytes };
  const kmem = bytes(pick('kmemUsage', 'kmemUsageBytes', 'memory.kmem.usage_in_bytes'));
  if (typeof kmem === 'number') snap.kmemUsageBytes = kmem;
  if (typeof o.go === 'object' && o.go !== null) snap.go = goSampleFromMemStats(o.go as Record<string, unknown>, `${source}:${line} go`);
  return snap;
}

/** The JSON-lines form of a snapshot, as `memaudit run --record` writes it. */
export function snapshotToJson(snap: CgroupSnapshot): Record<string, unknown> {
  const o: Record<string, unknown> = {
    ts: new Date(snap.timestampMs).toISOString(),
    version: snap.version,
    usage: snap.usageBytes,
    limit: snap.limitBytes,
    stat: snap.stat,
  };
  if (snap.kmemUsageBytes !== undefined) o.kmemUsage = snap.kmemUsageBytes;
  if (snap.go) o.go = memStatsFromGoSample(snap.go);
  return o;
}

/** The inverse of goSampleFromMemStats, so recordings use runtime.MemStats names. */
function memStatsFromGoSample(g: GoRuntimeSample): Record<string, number> {
  const o: Record<string, number> = { HeapInuse: g.heapInuseBytes };
  if (g.heapAllocBytes !== undefined) o.HeapAlloc = g.heapAllocBytes;
  if (g.heapIdleBytes !== undefined) o.HeapIdle = g.heapIdleBytes;
  if (g.heapReleasedBytes !== undefined) o.HeapReleased = g.heapReleasedBytes;
  if (g.heapSysBytes !== undefined) o.HeapSys = g.heapSysBytes;
  if (g.stackInuseBytes !== undefined) o.StackInuse = g.stackInuseBytes;
  if (g.sysBytes !== undefined) o.Sys = g.sysBytes;
  if (g.nextGcBytes !== undefined) o.NextGC = g.nextGcBytes;
  if (g.numGc !== undefined) o.NumGC = g.numGc;
  return o;
}
