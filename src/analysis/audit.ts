import type { HeapProfile, MemorySample } from '../model/sample.ts';
import { formatBytes, formatDuration } from '../model/units.ts';
import type { AuditResult, Component } from '../model/verdict.ts';
import { recommend } from '../recommend/policy.ts';
import { classify, type Growths } from './classify.ts';
import { componentsOf } from './components.ts';
import type { Point } from './envelope.ts';
import { counted, explain } from './explain.ts';
import { analyzeGrowth } from './growth.ts';
import { heapDiff, profilesToDiff } from './heap-diff.ts';
import { quantile, median } from './stats/quantile.ts';
import { timeToLimitSeconds } from './time-to-limit.ts';
import { publicTrend } from './trend.ts';
import { findRestarts, MIN_TREND_POINTS, oomLoopRuns, runToAnalyse, type Fall } from './restarts.ts';
import { MiB } from '../model/units.ts';
import { sampledClock } from './gaps.ts';
import { placeProfiles, profileHeapGrowth } from './heap-profiles.ts';
import { reclaimEvidence } from './reclaim.ts';

export interface AuditOptions {
  /** Overrides the limit found in the samples; null = unlimited. */
  limitBytes?: number | null;
  /** Below this window length the verdict is InsufficientData. Default 30 s. */
  minDurationSeconds?: number;
  /** Below this many samples the verdict is InsufficientData. Default 10. */
  minSamples?: number;
  /** The target is a Go program (recommend GOMEMLIMIT) even without runtime data. */
  isGo?: boolean;
  recommend?: { headroomPercent?: number; goMemLimit?: boolean };
  /** Name used in the `docker update` command. */
  containerName?: string;
  /** How many growing functions to report. Default 5. */
  topFunctions?: number;
  /** GOGC of a Go target, when known (its environment); default 100, Go's own. */
  goGcPercent?: number;
  /**
   * Incarnations (`MemorySample.instance`) the orchestrator reports OOM-killed: their restart is
   * an OOM kill at the limit (Kubernetes: the pod status' lastState.terminated.reason).
   */
  oomKilledInstances?: ReadonlySet<string>;
}

/** Components the kernel cannot reclaim: their growth floor follows the non-reclaimable footprint. */
const NON_RECLAIMABLE: ReadonlySet<Component> = new Set(['anon', 'rss', 'goHeap', 'goStack', 'shmem', 'kernel', 'nonReclaimable']);

/** Growth smaller than this over the window is never called growth. */
const ABSOLUTE_FLOOR_BYTES = 1 * MiB;
/** Non-reclaimable growth below this is a runtime settling in (Go's first GC at a 4 MiB heap, a JS/JVM heap sizing itself). */
const SETTLING_FLOOR_BYTES = 4 * MiB;
/** ...nor growth smaller than this share of the typical usage. */
const RELATIVE_FLOOR = 0.03;

/** Refaulted file pages count as re-reading above this many bytes, and this share of the peak cache. */
const REREAD_FLOOR_BYTES = 1 * MiB;
const REREAD_SHARE = 0.01;

const ANALYSED: Component[] = ['usage', 'workingSet', 'anon', 'file', 'reclaimableFile', 'shmem', 'kernel', 'dirty', 'nonReclaimable', 'goHeap', 'goStack', 'rss', 'activeFileOrShmem', 'reclaimableSlab'];

/**
 * The engine: samples (and optional heap profiles) in, verdict with evidence and recommendation out.
 * Pure: no I/O, no clock; the same input gives the same result.
 */
export function audit(samples: readonly MemorySample[], profiles: readonly HeapProfile[] = [], options: AuditOptions = {}): AuditResult {
  let inOrder = true;
  for (let i = 1; i < samples.length && inOrder; i++) inOrder = samples[i - 1]!.timestampMs <= samples[i]!.timestampMs;
  const sorted = inOrder ? samples : [...samples].sort((a, b) => a.timestampMs - b.timestampMs);
  const n = sorted.length;
  const startMs = n ? sorted[0]!.timestampMs : 0;
  const endMs = n ? sorted[n - 1]!.timestampMs : 0;
  const durationSeconds = (endMs - startMs) / 1000;
  const window = { startMs, endMs, durationSeconds, samples: n };
  const last = sorted[n - 1];
  // --limit overrides what the samples say; the newest sample's limit is the one in force.
  const limitOf = (s: MemorySample | undefined): number | null => (options.limitBytes !== undefined ? options.limitBytes : (s?.limitBytes ?? null));
  const limitBytes = limitOf(last);
  const sortedProfiles = [...profiles].sort((a, b) => a.timestampMs - b.timestampMs);
  const diffPair = profilesToDiff(sortedProfiles);
  const topGrowingFunctions = diffPair ? heapDiff(diffPair[0], diffPair[1], options.topFunctions ?? 5) : [];
  const isGo = options.isGo === true || sorted.some((s) => s.go !== undefined) || profiles.length > 0;
  const headroomPercent = options.recommend?.headroomPercent ?? 20;
  const goMemLimit = options.recommend?.goMemLimit ?? true;

  const minSamples = options.minSamples ?? 10;
  const minDuration = options.minDurationSeconds ?? 30;
  if (n < minSamples || durationSeconds < minDuration) {
    const reason = n < minSamples ? `${counted(n, 'sample')} (at least ${minSamples} needed)` : `${formatDuration(durationSeconds)} of data (at least ${formatDuration(minDuration)} needed)`;
    return {
      verdict: 'InsufficientData',
      leakSource: null,
      explanation: `Not enough data for a verdict yet: ${reason}.`,
      evidence: [],
      window,
      growth: {},
      reclaimableShare: null,
      limitBytes,
      timeToLimitSeconds: null,
      reclaimObserved: false,
      restarts: [],
      topGrowingFunctions,
      heapExplainsAnonShare: null,
      recommendation: recommend({ verdict: 'InsufficientData', peakNonReclaimableBytes: 0, p90NonReclaimableBytes: 0, peakMappedFileBytes: 0, currentLimitBytes: limitBytes, isGo, headroomPercent, goMemLimit, timeToLimitText: null }),
    };
  }

  // Trends are fitted on the sampled clock: a gap in sampling is closed to one typical interval
  // (gaps.ts), so a paused container or a recorder that was down does not flatten a trend.
  const clock = sampledClock(sorted.map((s) => s.timestampMs));
  const secondsAt = (ms: number): number => {
    // The sampled-clock time of an epoch time inside the window (for heap profiles).
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (sorted[mid]!.timestampMs <= ms) lo = mid;
      else hi = mid - 1;
    }
    const next = lo + 1 < n ? clock.seconds[lo + 1]! - clock.seconds[lo]! : 0;
    return clock.seconds[lo]! + Math.min(Math.max(0, (ms - sorted[lo]!.timestampMs) / 1000), next);
  };
  const typicalUsage = median(sorted.map((s) => s.usageBytes));
  const floorBytes = Math.max(ABSOLUTE_FLOOR_BYTES, RELATIVE_FLOOR * typicalUsage);

  // Restarts split the window into runs; trends are fitted to one run (see restarts.ts).
  const allRows = sorted.map((s) => componentsOf(s));
  const { restarts, releases } = findRestarts(
    sorted.map((s, i) => {
      const r = allRows[i]!;
      return { value: r.nonReclaimable ?? r.anon ?? r.rss ?? r.usage ?? 0, usageBytes: s.usageBytes, limitBytes: limitOf(s), instance: s.instance };
    }),
    Math.max(floorBytes, 4 * MiB),
    undefined,
    undefined,
    options.oomKilledInstances,
  );
  const [runStart, runEnd] = runToAnalyse(n, restarts, Math.max(minSamples, Math.ceil(0.25 * n)));
  // An OOM loop whose runs are all too short for a trend: its runs pooled (restarts.ts, oomLoopRuns).
  const loop = runEnd - runStart < MIN_TREND_POINTS ? oomLoopRuns(n, restarts) : [];
  const pooled = loop.reduce((a, [s, e]) => a + e - s, 0) >= MIN_TREND_POINTS ? loop : null;
  const segments: [number, number][] = pooled ?? [[runStart, runEnd]];
  const run = segments.flatMap(([s, e]) => sorted.slice(s, e));
  const componentRows = segments.flatMap(([s, e]) => allRows.slice(s, e));
  // The newest sample of the analysed run: "now" for the verdict, the explanation and the time to limit.
  const runLast = run[run.length - 1]!;

  // One series of points per component, on a clock in seconds from the window start (pooled runs:
  // from each run's first sample).
  const series = new Map<Component, Point[]>();
  for (const [s, e] of segments) {
    // Pooled runs: each on the time since its own start.
    const clockStart = pooled ? clock.seconds[s]! : 0;
    for (let i = s; i < e; i++) {
      const t = clock.seconds[i]! - clockStart;
      const row = allRows[i]!;
      for (const c of ANALYSED) {
        const v = row[c];
        if (v === undefined) continue;
        let pts = series.get(c);
        if (!pts) series.set(c, (pts = []));
        pts.push({ t, v });
      }
    }
  }
  if (pooled) for (const pts of series.values()) pts.sort((a, b) => a.t - b.t);
  // Without runtime.MemStats, heap profiles placed on the samples' clock stand in for the Go heap
  // (not for pooled runs: their clocks restart with each run).
  const placed = placeProfiles(sortedProfiles, run[0]!.timestampMs, runLast.timestampMs, secondsAt);

  // What counts as growth scales with the memory it is measured against. Memory the kernel cannot
  // reclaim is judged against the typical non-reclaimable footprint, not against a usage inflated
  // by page cache: a service writing gigabytes of files must not hide a leak of tens of megabytes.
  // And never less than 4 MiB: a young process's anonymous memory rises by a few MiB while its
  // runtime settles in (a Go program before its first GC at a 4 MiB heap, our own pprof scrapes
  // being garbage too; Node's heap sizing itself: examples/file-writer.js grew ~3 MiB in its
  // first 40 s), and a young process is not a leak.
  const nrTypical = series.has('nonReclaimable') ? median(series.get('nonReclaimable')!.map((p) => p.v)) : typicalUsage;
  const nrFloorBytes = Math.max(SETTLING_FLOOR_BYTES, RELATIVE_FLOOR * nrTypical);
  const growths: Growths = {};
  for (const c of ANALYSED) {
    const pts = series.get(c);
    // A component seen in under half the samples (a source that dropped a field) is not trusted.
    if (!pts || pts.length < Math.max(3, (c === 'goHeap' || c === 'goStack' ? 0.2 : 0.5) * run.length)) continue;
    // Pooled runs are sampled at about the same offsets from their starts: bucket minima would fold
    // them into as few points as one run has. Each point is fitted instead.
    growths[c] = analyzeGrowth(pts, { floorBytes: NON_RECLAIMABLE.has(c) ? nrFloorBytes : floorBytes }, pooled ? { minBuckets: pts.length } : undefined);
  }
  const runSpanSeconds = clock.seconds[runEnd - 1]! - clock.seconds[runStart]!;
  const profileHeap = growths.goHeap || pooled ? null : profileHeapGrowth(placed, runSpanSeconds, nrFloorBytes);
  if (profileHeap) growths.goHeap = profileHeap;
  const reclaim = reclaimEvidence(run, limitOf);

  const lastRow = componentRows[componentRows.length - 1]!;
  const reclaimableShare = lastRow.reclaimableFile !== undefined && runLast.usageBytes > 0 ? Math.min(1, lastRow.reclaimableFile / runLast.usageBytes) : null;
  const cls = classify({ growth: growths, limitBytes, lastUsageBytes: runLast.usageBytes, reclaimableShare, reclaim, ...(lastRow.kernel !== undefined ? { lastKernelBytes: lastRow.kernel } : {}), ...(options.goGcPercent !== undefined ? { goGcPercent: options.goGcPercent } : {}) });

  const nr = series.get('nonReclaimable') ?? series.get('anon') ?? series.get('rss') ?? series.get('usage')!;
  // Kernel memory that grew with the files written (their dentries and inodes, reclaimed with the
  // cache at the limit) is left out of the limit like the page cache itself: its floor stays in.
  // On cgroup v1, where no reclaimable-slab figure separates them (v2's kernel already leaves it out).
  const filesSlab = (cls.kernelWithFiles || (cls.verdict === 'CacheGrowth' && cls.reclaimObserved)) && !series.has('reclaimableSlab');
  const kernel = filesSlab && series.get('nonReclaimable') ? series.get('kernel') : undefined;
  const kernelFloor = kernel ? kernel.reduce((a, p) => Math.min(a, p.v), Infinity) : 0;
  const nrValues = kernel && kernel.length === nr.length ? nr.map((p, i) => p.v - Math.max(0, kernel[i]!.v - kernelFloor)) : nr.map((p) => p.v);
  const peakNonReclaimableBytes = nrValues.reduce((a, b) => (b > a ? b : a), 0);
  const p90NonReclaimableBytes = quantile(nrValues, 0.9);
  // Mapped files in use (program text, mmapped data) are reclaimable on paper, but a limit that
  // forces them out makes the program re-read its own code: they belong in the limit.
  let peakMappedFileBytes = 0;
  for (let i = 0; i < run.length; i++) {
    const m = run[i]!.mappedFileBytes;
    if (m !== undefined && m > peakMappedFileBytes) peakMappedFileBytes = m;
  }

  // Refaults: the program reads again what the kernel reclaimed. Then the page cache it re-reads
  // (the active file list: pages used more than once) belongs in the limit.
  let peakActiveFileBytes = 0;
  let peakReclaimableFileBytes = 0;
  for (let i = 0; i < run.length; i++) {
    peakActiveFileBytes = Math.max(peakActiveFileBytes, run[i]!.activeFileBytes ?? 0);
    peakReclaimableFileBytes = Math.max(peakReclaimableFileBytes, componentRows[i]!.reclaimableFile ?? 0);
  }
  const rereads = reclaim.refaultFileBytes !== null && reclaim.refaultFileBytes >= Math.max(REREAD_FLOOR_BYTES, REREAD_SHARE * peakReclaimableFileBytes);
  const rereadCacheBytes = rereads ? peakActiveFileBytes || peakReclaimableFileBytes : 0;

  let ttl: number | null = null;
  if (cls.verdict === 'Leak') {
    const g = growths.nonReclaimable?.state === 'growing' ? growths.nonReclaimable : growths[cls.driver!];
    const current = lastRow.nonReclaimable ?? lastRow.anon ?? runLast.usageBytes;
    ttl = g ? timeToLimitSeconds(current, g.currentSlopeBytesPerHour, limitBytes) : null;
  }
  // The analysed run itself ended at the limit (or every pooled run of the loop does): the limit is reached, not ahead.
  if (ttl !== null && (pooled !== null || (runEnd < n && restarts.some((r) => r.index === runEnd && r.cause === 'atLimit')))) ttl = 0;
  const recommendation = recommend({
    verdict: cls.verdict,
    peakNonReclaimableBytes,
    p90NonReclaimableBytes,
    peakMappedFileBytes,
    rereadCacheBytes,
    ...(kernel ? { kernelOfFilesLeftOut: true } : {}),
    currentLimitBytes: limitBytes,
    isGo,
    headroomPercent,
    goMemLimit,
    timeToLimitText: ttl === null ? null : ttl === 0 ? 'this window' : formatDuration(ttl),
    ...(options.containerName !== undefined ? { containerName: options.containerName } : {}),
  });

  const growth: AuditResult['growth'] = {};
  for (const [c, g] of Object.entries(growths) as [Component, (typeof growths)[Component]][]) {
    if (g) growth[c] = publicTrend(g.fit);
  }
  const at = (i: number) => formatDuration((sorted[i]!.timestampMs - startMs) / 1000);
  const falls = (list: readonly Fall[]) =>
    `${list
      .slice(0, 5)
      .map((r) => `${at(r.index)} (${formatBytes(r.beforeBytes)} -> ${formatBytes(r.afterBytes)})`)
      .join(', ')}${list.length > 5 ? ', ...' : ''}`;
  const restartEvidence: string[] = [];
  if (restarts.length) {
    const causes = [...new Set(restarts.map((r) => (r.cause === 'atLimit' ? 'at the limit: OOM kill' : 'new container or process')))].join('; ');
    const from = pooled
      ? `the ${pooled.length} runs that started at an OOM kill, on the time since each start (no run alone is long enough for a trend)`
      : `the run ${runStart === 0 ? 'before the first' : `after ${at(runStart)}`}${runEnd < n ? ` until ${at(runEnd - 1)}` : ''}`;
    restartEvidence.push(`${counted(restarts.length, 'restart')} (${causes}) at ${falls(restarts)}; trends are from ${from}`);
  }
  if (releases.length) {
    restartEvidence.push(`${counted(releases.length, 'sudden fall')} of non-reclaimable memory below the limit with no sign of a restart, read as memory the program released, at ${falls(releases)}; trends follow the floor it comes back to`);
  }
  // Runs that ended in an OOM kill: how long a fresh start took to reach the limit.
  const oomRestarts = restarts.filter((r) => r.cause === 'atLimit');
  const runSeconds: number[] = [];
  for (let i = 0; i < restarts.length; i++) {
    if (restarts[i]!.cause !== 'atLimit' || i === 0) continue; // the first run started before the window
    runSeconds.push((sorted[restarts[i]!.index]!.timestampMs - sorted[restarts[i - 1]!.index]!.timestampMs) / 1000);
  }
  const gaps = clock.gaps.map((gap) => ({ ...gap, usageChangeBytes: sorted[gap.index]!.usageBytes - sorted[gap.index - 1]!.usageBytes }));
  const text = explain({
    gaps,
    profiles: { given: profiles.length, placed, heapFromProfiles: profileHeap !== null },
    reclaim,
    rereadCacheBytes,
    oomKills: { count: oomRestarts.length, typicalRunSeconds: runSeconds.length ? median(runSeconds) : null },
    classification: cls,
    growths,
    reclaimableShare,
    limitBytes,
    last: runLast,
    lastComponents: lastRow,
    timeToLimitSeconds: ttl,
    topGrowingFunctions,
    window,
  });
  return {
    verdict: cls.verdict,
    leakSource: cls.leakSource,
    explanation: text.explanation,
    evidence: [...restartEvidence, ...text.evidence],
    window: {
      ...window,
      gaps: clock.gaps.map((gap) => ({ startMs: gap.startMs, seconds: gap.seconds })),
      analysed: { startMs: run[0]!.timestampMs, endMs: runLast.timestampMs, samples: run.length },
    },
    restarts: restarts.map((r) => ({ atMs: sorted[r.index]!.timestampMs, cause: r.cause })),
    growth,
    reclaimableShare,
    limitBytes,
    timeToLimitSeconds: ttl,
    reclaimObserved: cls.reclaimObserved,
    topGrowingFunctions,
    heapExplainsAnonShare: cls.heapExplainsAnonShare,
    recommendation,
  };
}
