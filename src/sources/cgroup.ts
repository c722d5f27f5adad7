import { InputError } from '../errors.ts';
import type { GoRuntimeSample, MemoryEvents, MemorySample } from '../model/sample.ts';
import type { FieldNames } from './checks.ts';
import { byteCountProblem, counterProblem } from './checks.ts';
import { timestampProblem } from './clock.ts';
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
  /** v1 only: memory.failcnt, how many times usage hit the limit. */
  failCount?: number;
  /** v2 only: memory.events (reclaim at memory.high / memory.max, OOMs, OOM kills). */
  events?: MemoryEvents;
  /** v2 only: the `total=` (microseconds) of memory.pressure's `some` and `full` lines. */
  pressure?: PressureTotals;
}

/** PSI totals of memory.pressure, microseconds since the cgroup was created. */
export interface PressureTotals {
  someMicros: number;
  fullMicros?: number;
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

/** Parses memory.events ("low 0\nhigh 0\nmax 12\noom 0\noom_kill 0\n..."). Unknown keys are ignored. */
export function parseMemoryEvents(text: string, source = 'memory.events'): MemoryEvents {
  return memoryEventsFromRecord(parseMemoryStat(text, source));
}

/** memory.events as key -> count (the file's own names, `oom_kill`) -> MemoryEvents. */
function memoryEventsFromRecord(r: Readonly<Record<string, number>>): MemoryEvents {
  const events: MemoryEvents = {};
  if (r.low !== undefined) events.low = r.low;
  if (r.high !== undefined) events.high = r.high;
  if (r.max !== undefined) events.max = r.max;
  if (r.oom !== undefined) events.oom = r.oom;
  if (r.oom_kill !== undefined) events.oomKill = r.oom_kill;
  return events;
}

/**
 * Parses memory.pressure (PSI, Documentation/accounting/psi.rst):
 *   some avg10=0.00 avg60=0.00 avg300=0.00 total=1234
 *   full avg10=0.00 avg60=0.00 avg300=0.00 total=567
 * Only the cumulative `total` (microseconds) is kept: the averages are the kernel's own smoothing.
 */
export function parsePressure(text: string, source = 'memory.pressure'): PressureTotals {
  let some: number | undefined;
  let full: number | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const m = /^(some|full)\s.*\btotal=(\d+)$/.exec(line);
    if (!m) throw new InputError(source, `expected "some|full avg10=... total=N", got ${JSON.stringify(line.slice(0, 80))}`, { line: i + 1 });
    if (m[1] === 'some') some = Number(m[2]);
    else full = Number(m[2]);
  }
  if (some === undefined) throw new InputError(source, 'no "some ... total=N" line');
  return full !== undefined ? { someMicros: some, fullMicros: full } : { someMicros: some };
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
    // Kernels before 5.9 have one `workingset_refault`, which counts file pages.
    assign(sample, 'refaultFilePages', s.workingset_refault_file ?? s.workingset_refault);
    assign(sample, 'refaultAnonPages', s.workingset_refault_anon);
    assign(sample, 'majorFaultCount', s.pgmajfault);
    if (snap.events) sample.memoryEvents = snap.events;
    if (snap.pressure) {
      sample.pressureSomeMicros = snap.pressure.someMicros;
      if (snap.pressure.fullMicros !== undefined) sample.pressureFullMicros = snap.pressure.fullMicros;
    }
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
  assign(sample, 'refaultFilePages', t('workingset_refault_file') ?? t('workingset_refault'));
  assign(sample, 'refaultAnonPages', t('workingset_refault_anon'));
  assign(sample, 'majorFaultCount', t('pgmajfault'));
  if (snap.failCount !== undefined) sample.failCount = snap.failCount;
  if (snap.kmemUsageBytes !== undefined) sample.kernelBytes = snap.kmemUsageBytes;
  if (snap.go) sample.go = snap.go;
  return sample;
}

function assign(sample: MemorySample, key: keyof MemorySample, value: number | undefined): void {
  if (value !== undefined) (sample as unknown as Record<string, number>)[key] = value;
}

/**
 * memory.stat keys whose values are sizes in bytes (v1 with or without `total_`, and v2): these
 * must be plausible memory sizes (checks.ts). The other keys are counters (faults, refaults,
 * events), or the v1 hierarchical limits, whose "unlimited" is 2^63.
 */
const STAT_BYTE_KEYS = new Set(
  [
    ...['rss', 'rss_huge', 'cache', 'shmem', 'mapped_file', 'dirty', 'writeback', 'swap', 'swapcached', 'active_anon', 'inactive_anon', 'active_file', 'inactive_file', 'unevictable'].flatMap((k) => [k, `total_${k}`]),
    ...['anon', 'file', 'kernel', 'kernel_stack', 'pagetables', 'percpu', 'sock', 'vmalloc', 'file_mapped', 'file_dirty', 'file_writeback', 'anon_thp', 'file_thp', 'shmem_thp', 'slab', 'slab_reclaimable', 'slab_unreclaimable'],
  ],
);

/** Where a line's values come from, for the checks' messages. */
interface At {
  source: string;
  line: number;
}

/** The first memory.stat value that is not what its key holds (sizes are byte counts, limits numbers, the rest counters), or null. */
export function memoryStatProblem(stat: Readonly<Record<string, unknown>>): { key: string; problem: string } | null {
  for (const [key, v] of Object.entries(stat)) {
    const problem = /limit/.test(key) ? (typeof v === 'number' && v >= 0 ? null : `must be a non-negative number, got ${JSON.stringify(v)}`) : STAT_BYTE_KEYS.has(key) ? byteCountProblem(v) : counterProblem(v);
    if (problem) return { key, problem };
  }
  return null;
}

function checkStat(stat: Record<string, number>, at: At, prefix: string): void {
  const p = memoryStatProblem(stat);
  if (p) throw new InputError(at.source, `${prefix}${p.key} ${p.problem}`, { line: at.line });
}

/** The names a recording line uses for the sample's fields, so relation errors name them. */
export function cgroupFieldNames(stat: Readonly<Record<string, number>>, version: 1 | 2, prefix: string, usage: string, limit: string): FieldNames {
  const key = (k: string) => `${prefix}${version === 1 && `total_${k}` in stat ? `total_${k}` : k}`;
  const names: FieldNames = { usageBytes: usage, limitBytes: limit };
  if (version === 2) Object.assign(names, { anonBytes: key('anon'), fileBytes: key('file'), shmemBytes: key('shmem'), activeFileBytes: key('active_file'), inactiveFileBytes: key('inactive_file') });
  else Object.assign(names, { anonBytes: key('rss'), fileBytes: key('cache'), shmemBytes: key('shmem'), activeFileBytes: key('active_file'), inactiveFileBytes: key('inactive_file') });
  return names;
}

/** Parses one JSON line of a snapshot recording (docs/formats.md), checking every value it takes. */
export function snapshotFromJson(value: unknown, source: string, line: number, nowMs: number = Date.now()): CgroupSnapshot {
  const at = { line };
  const fail = (message: string): never => {
    throw new InputError(source, message, at);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('expected a JSON object with "ts", "version", "stat", "usage"');
  const o = value as Record<string, unknown>;
  // The names memaudit writes first; the cgroup files' own names (and common ones) are accepted
  // too, so a recording made with a shell loop or another tool reads without conversion.
  const pick = (...keys: string[]): [string, unknown] => {
    const k = keys.find((key) => o[key] !== undefined);
    return k === undefined ? [keys[0]!, undefined] : [k, o[k]];
  };
  const bytes = (v: unknown): unknown => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v);
  const [tsKey, ts] = pick('ts', 'timestampMs', 'timestamp', 'time');
  // A number is epoch milliseconds, or epoch seconds when it is too small to be milliseconds
  // (before 1973 in ms): `date +%s` output reads right.
  let timestampMs: number;
  if (typeof ts === 'number') {
    const unit = ts < 1e11 ? 's' : 'ms';
    timestampMs = unit === 's' ? ts * 1000 : ts;
    const problem = timestampProblem(timestampMs, nowMs, { value: ts, unit });
    if (problem) fail(`field "${tsKey}": ${problem}; "${tsKey}" takes epoch milliseconds, epoch seconds (below 10^11) or an ISO-8601 time`);
  } else if (typeof ts === 'string') {
    timestampMs = Date.parse(ts);
    if (!Number.isFinite(timestampMs)) fail(`field "${tsKey}" is not an ISO-8601 time: ${JSON.stringify(ts.slice(0, 40))}`);
    const problem = timestampProblem(timestampMs, nowMs);
    if (problem) fail(`field "${tsKey}" ${JSON.stringify(ts.slice(0, 40))}: ${problem}`);
  } else {
    return fail('field "ts" must be epoch milliseconds (or seconds) or an ISO-8601 time');
  }
  const [statKey, rawStat] = pick('stat', 'memory.stat');
  let stat: Record<string, number>;
  if (typeof rawStat === 'string') stat = parseMemoryStat(rawStat, `${source}:${line} ${statKey}`);
  else if (typeof rawStat === 'object' && rawStat !== null && !Array.isArray(rawStat)) stat = { ...(rawStat as Record<string, number>) };
  else if (rawStat === undefined) return fail('field "stat" (memory.stat, as an object or the raw text) is missing');
  else return fail(`field "${statKey}" must be memory.stat as an object of numbers or its raw text, got ${Array.isArray(rawStat) ? 'an array' : JSON.stringify(rawStat)}`);
  checkStat(stat, { source, line }, `${statKey}.`);
  // v2 names anon/file; v1 rss/cache (total_rss/total_cache).
  const version = o.version ?? ('anon' in stat || 'file' in stat ? 2 : 1);
  if (version !== 1 && version !== 2) fail('field "version" must be 1 or 2');
  const [usageKey, usageRaw] = pick('usage', 'usageBytes', 'memory.current', 'memory.usage_in_bytes');
  if (usageRaw === undefined) fail('field "usage" (memory.current / memory.usage_in_bytes, bytes) is missing');
  const usage = bytes(usageRaw);
  const usageProblem = byteCountProblem(usage);
  if (usageProblem) fail(`field "${usageKey}" ${usageProblem}`);
  const [limitKey, limitValue] = pick('limit', 'limitBytes', 'memory.max', 'memory.limit_in_bytes');
  const limitRaw = bytes(limitValue ?? null);
  let limitBytes: number | null;
  if (limitRaw === null || (typeof limitRaw === 'string' && limitRaw.trim() === 'max')) limitBytes = null;
  else if (typeof limitRaw === 'number' && limitRaw >= V1_UNLIMITED_THRESHOLD) limitBytes = null;
  else {
    const problem = typeof limitRaw === 'number' ? byteCountProblem(limitRaw) : 'must be bytes, "max" or null';
    if (problem) fail(`field "${limitKey}" ${problem}`);
    limitBytes = limitRaw as number;
  }
  const snap: CgroupSnapshot = { timestampMs, version: version as 1 | 2, stat, usageBytes: usage as number, limitBytes };
  const [kmemKey, kmemRaw] = pick('kmemUsage', 'kmemUsageBytes', 'memory.kmem.usage_in_bytes');
  if (kmemRaw !== undefined) {
    const kmem = bytes(kmemRaw);
    const problem = byteCountProblem(kmem);
    if (problem) fail(`field "${kmemKey}" ${problem}`);
    snap.kmemUsageBytes = kmem as number;
  }
  const [failKey, failRaw] = pick('failcnt', 'memory.failcnt');
  if (failRaw !== undefined) {
    const fc = bytes(failRaw);
    const problem = counterProblem(fc);
    if (problem) fail(`field "${failKey}" ${problem}`);
    snap.failCount = fc as number;
  }
  const [eventsKey, eventsRaw] = pick('events', 'memory.events');
  if (eventsRaw !== undefined) snap.events = eventsFromJson(eventsRaw, eventsKey, source, line);
  const [pressureKey, pressureRaw] = pick('pressure', 'memory.pressure');
  if (pressureRaw !== undefined) snap.pressure = pressureFromJson(pressureRaw, pressureKey, source, line);
  if (o.go !== undefined && o.go !== null) {
    if (typeof o.go !== 'object' || Array.isArray(o.go)) fail(`field "go" must be a runtime.MemStats object, got ${JSON.stringify(o.go).slice(0, 40)}`);
    snap.go = goSampleFromMemStats(o.go as Record<string, unknown>, `${source}:${line} go`);
  }
  return snap;
}

/** `events`: memory.events as an object of counts (the file's names) or the file's text. */
function eventsFromJson(raw: unknown, key: string, source: string, line: number): MemoryEvents {
  let record: Record<string, unknown>;
  if (typeof raw === 'string') record = parseMemoryStat(raw, `${source}:${line} ${key}`);
  else if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) record = raw as Record<string, unknown>;
  else throw new InputError(source, `field "${key}" must be memory.events as an object of counts or its raw text`, { line });
  for (const [k, v] of Object.entries(record)) {
    const problem = counterProblem(v);
    if (problem) throw new InputError(source, `${key}.${k} ${problem}`, { line });
  }
  return memoryEventsFromRecord(record as Record<string, number>);
}

/** `pressure`: {some_total, full_total} in microseconds, or memory.pressure's text. */
function pressureFromJson(raw: unknown, key: string, source: string, line: number): PressureTotals {
  if (typeof raw === 'string') return parsePressure(raw, `${source}:${line} ${key}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError(source, `field "${key}" must be {"some_total": microseconds, "full_total": microseconds} or memory.pressure's text`, { line });
  const r = raw as Record<string, unknown>;
  const check = (k: string) => {
    const problem = counterProblem(r[k]);
    if (problem) throw new InputError(source, `${key}.${k} ${problem}`, { line });
    return r[k] as number;
  };
  const some = check('some_total');
  return r.full_total !== undefined ? { someMicros: some, fullMicros: check('full_total') } : { someMicros: some };
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
  if (snap.failCount !== undefined) o.failcnt = snap.failCount;
  if (snap.events) o.events = eventsToJson(snap.events);
  if (snap.pressure) o.pressure = { some_total: snap.pressure.someMicros, ...(snap.pressure.fullMicros !== undefined ? { full_total: snap.pressure.fullMicros } : {}) };
  if (snap.go) o.go = memStatsFromGoSample(snap.go);
  return o;
}

/** memory.events with the file's own names, as recordings carry it. */
function eventsToJson(e: MemoryEvents): Record<string, number> {
  const o: Record<string, number> = {};
  if (e.low !== undefined) o.low = e.low;
  if (e.high !== undefined) o.high = e.high;
  if (e.max !== undefined) o.max = e.max;
  if (e.oom !== undefined) o.oom = e.oom;
  if (e.oomKill !== undefined) o.oom_kill = e.oomKill;
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
