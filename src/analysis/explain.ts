// The one sentence a person acts on, and the evidence lines behind it. Wording rules: name the
// memory by what it is (page cache, Go heap, tmpfs), give rates per the unit that reads best, say
// what to do.
import type { MemorySample } from '../model/sample.ts';
import { formatBytes, formatDuration, formatRate } from '../model/units.ts';
import type { AuditResult, GrowingFunction } from '../model/verdict.ts';
import type { Classification, Growths } from './classify.ts';
import type { ComponentValues } from './components.ts';
import type { Gap } from './gaps.ts';
import type { ComponentGrowth } from './growth.ts';
import type { PlacedProfiles } from './heap-profiles.ts';
import type { ReclaimEvidence } from './reclaim.ts';

export interface ExplainInput {
  classification: Classification;
  growths: Growths;
  reclaimableShare: number | null;
  limitBytes: number | null;
  last: MemorySample;
  lastComponents: ComponentValues;
  timeToLimitSeconds: number | null;
  topGrowingFunctions: GrowingFunction[];
  window: AuditResult['window'];
  /** Restarts at the limit (OOM kills) seen in the window, and the median run from a start to one. */
  oomKills: { count: number; typicalRunSeconds: number | null };
  /** Gaps in sampling, with how much usage changed across each. */
  gaps: (Gap & { usageChangeBytes: number })[];
  /** Heap profiles given, and how many could be placed on the samples' clock. */
  profiles: { given: number; placed: PlacedProfiles; heapFromProfiles: boolean };
  reclaim: ReclaimEvidence;
  /** Page cache the program re-reads (refaults seen), which the recommended limit keeps; 0 = none. */
  rereadCacheBytes: number;
}

const pct = (x: number) => `${Math.round(x * 100)} %`;

/** "1 sample", "2 samples", "1 sudden fall": a count with its noun in the right number. */
export function counted(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

/**
 * One component's state in words that agree with its numbers: the rate is the current regime's
 * (after a change of pace when there is one), and a rate the engine does not count as growth is
 * called flat *with* that rate and what it adds up to, so "+15 MiB/h" never sits next to a bare "flat".
 */
export function stateText(t: ComponentGrowth): string {
  const rate = formatRate(t.currentSlopeBytesPerHour);
  const endT = t.fit.startT + t.fit.durationSeconds;
  const changed = t.currentSinceT > t.fit.startT;
  const since = changed ? ` since ${formatDuration(t.currentSinceT - t.fit.startT)} into the window` : '';
  switch (t.state) {
    case 'growing':
      return `growing ${rate}${since}`;
    case 'shrinking':
      return `shrinking ${rate}${since}`;
    case 'plateaued': {
      // The early pace rather than an amount: the amount is the fit's, and would read as a second
      // "first -> last" that differs from the table's.
      const earlySeconds = t.currentSinceT - t.fit.startT;
      return `rose for the first ${formatDuration(earlySeconds)} (${formatRate(((t.earlyGrowthBytes ?? 0) / Math.max(earlySeconds, 1)) * 3600)}), then levelled off: ${rate} since`;
    }
    case 'flat': {
      if (t.currentSlopeBytesPerHour === 0) return `flat (${rate})`;
      const addsUp = (t.currentSlopeBytesPerHour * (endT - t.currentSinceT)) / 3600;
      return `flat within noise: ${rate}${since}, which adds ${addsUp >= 0 ? '+' : ''}${formatBytes(addsUp)}${changed ? '' : ' over the window'}, too little to count as growth`;
    }
  }
}

export function explain(input: ExplainInput): { explanation: string; evidence: string[] } {
  const { classification: cls, growths: g, lastComponents: lc } = input;
  const rate = (c: keyof Growths) => g[c]?.currentSlopeBytesPerHour ?? 0;
  const usageRate = g.usage ? formatRate(g.usage.fit.slopeBytesPerHour) : null;
  const nrRate = g.nonReclaimable ? formatRate(rate('nonReclaimable')) : null;
  const limitText = input.limitBytes !== null ? `the ${formatBytes(input.limitBytes)} limit` : 'no limit';
  const ttl = input.timeToLimitSeconds;
  const top = input.topGrowingFunctions[0];
  const evidence: string[] = [];

  if (lc.reclaimableFile !== undefined) {
    evidence.push(
      `last sample: usage ${formatBytes(input.last.usageBytes)}, of which page cache the kernel can reclaim ${formatBytes(lc.reclaimableFile)} (${pct(input.reclaimableShare ?? 0)}), non-reclaimable ${formatBytes(lc.nonReclaimable ?? 0)}`,
    );
  }
  for (const c of ['usage', 'nonReclaimable', 'anon', 'reclaimableFile', 'reclaimableSlab', 'shmem', 'kernel', 'goHeap', 'goStack', 'rss'] as const) {
    const t = g[c];
    if (!t) continue;
    evidence.push(`${LABEL[c]}: ${stateText(t)}`);
  }
  if (cls.driver === 'activeFileOrShmem') {
    evidence.push('shmem inferred: this source has no shmem field, but the cache grows almost entirely outside inactive_file, faster than active file pages can (the kernel keeps them to about half of the file LRU)');
  }
  if (cls.heapExplainsAnonShare !== null) evidence.push(`the Go heap explains ${pct(cls.heapExplainsAnonShare)} of the anonymous memory growth`);
  for (const f of input.topGrowingFunctions.slice(0, 3)) evidence.push(`growing in the heap: ${f.function} +${formatBytes(f.growthBytes)} in use`);
  if (cls.verdict === 'CacheGrowth' && !g.shmem && !g.activeFileOrShmem) {
    evidence.push('this source has no shmem or active/inactive file split: growth of tmpfs, /dev/shm or a memory-backed emptyDir would look like page cache here');
  }
  if (cls.reclaimObserved) evidence.push(`usage is at ${pct(input.last.usageBytes / input.limitBytes!)} of ${limitText} and the cache is being reclaimed there: no OOM from it`);
  const rc = input.reclaim;
  // Counters that rose, and the time at the limit when there was any: silence is the common case.
  const counters: string[] = [];
  if (rc.failCount) counters.push(`failcnt +${rc.failCount}`);
  if (rc.limitEvents) counters.push(`memory.events max/high +${rc.limitEvents}`);
  if (rc.oomKills) counters.push(`oom_kill +${rc.oomKills}`);
  if (rc.refaultFileBytes) counters.push(`refaulted file pages ${formatBytes(rc.refaultFileBytes)}`);
  if (rc.majorFaults) counters.push(`major faults +${rc.majorFaults}`);
  const atLimit = rc.atLimitShare !== null && rc.atLimitShare >= 0.05 ? `usage at 95 % of the limit or more ${pct(rc.atLimitShare)} of the time` : '';
  if (counters.length || atLimit) evidence.push(`reclaim over the window: ${[counters.join(', '), atLimit].filter(Boolean).join('; ')}`);
  if (cls.kernelWithFiles) {
    evidence.push(`kernel memory grows ${formatRate(rate('kernel'))} with the files written (their dentries and inodes): reclaimable with the page cache, not counted as a leak`);
  }
  for (const gap of input.gaps.slice(0, 3)) {
    evidence.push(`no samples for ${formatDuration(gap.seconds)} from ${new Date(gap.startMs).toISOString()} (usage ${gap.usageChangeBytes >= 0 ? '+' : ''}${formatBytes(gap.usageChangeBytes)} across it): trends are fitted on the sampled time, the gap closed`);
  }
  if (input.gaps.length > 3) evidence.push(`${input.gaps.length - 3} more gaps in sampling`);
  const pf = input.profiles;
  if (pf.placed.outside > 0) {
    evidence.push(`${pf.placed.outside} of ${pf.given} heap profiles were taken outside the samples' window (by their own time) and are not compared with the cgroup's memory${pf.placed.placed === 0 ? '; their growing functions are still listed' : ''}`);
  }
  if (pf.heapFromProfiles && g.goHeap) {
    evidence.push(`Go heap in use from ${pf.placed.placed} heap profiles: ${formatBytes(pf.placed.firstInuseBytes)} -> ${formatBytes(pf.placed.lastInuseBytes)}, ${formatRate(rate('goHeap'))}`);
  }
  if (input.rereadCacheBytes > 0 && rc.refaultFileBytes !== null) {
    evidence.push(`it re-reads its page cache: ${formatBytes(rc.refaultFileBytes)} of file pages were read again soon after being reclaimed (workingset_refault_file); the recommended limit keeps the ${formatBytes(input.rereadCacheBytes)} it re-reads`);
  }

  let explanation: string;
  switch (cls.verdict) {
    case 'CacheGrowth': {
      const share = input.reclaimableShare !== null ? `${pct(input.reclaimableShare)} of usage is page cache the kernel can reclaim` : 'the growth is page cache the kernel can reclaim';
      // Each rate with its state where it differs from the total's, so a rate the engine does not
      // count as growth is not read as growth (nor the other way round).
      const nr = g.nonReclaimable;
      const nrGrowing = nr?.state === 'growing';
      const part = (name: string, c: keyof Growths, growingNote = '') => {
        const state = g[c]!.state;
        const note = state === 'growing' ? growingNote || (nrGrowing ? '' : ' growing') : nrGrowing ? ` ${QUIET_STATE[state]}` : '';
        return `${name} ${formatRate(rate(c))}${note}`;
      };
      const parts: string[] = [];
      if (g.anon) parts.push(part('anonymous', 'anon'));
      if (g.shmem && (lc.shmem ?? 0) >= 1024 * 1024) parts.push(part('shmem', 'shmem'));
      if (g.kernel && rate('kernel') > 0) parts.push(part('kernel', 'kernel', ': bookkeeping that grows with the cache'));
      const partsText = parts.length ? ` (${parts.join(', ')})` : '';
      const nrText = !nr ? '' : nrGrowing ? `grows ${nrRate}` : nr.state === 'plateaued' ? `has levelled off at ${nrRate}` : nr.state === 'shrinking' ? `shrinks ${nrRate}` : `is flat within noise at ${nrRate}`;
      const flat = nr ? `; what it cannot reclaim ${nrText}${partsText}` : '';
      if (cls.driver === 'reclaimableSlab') {
        explanation = `Not a leak: usage grows ${usageRate ?? formatRate(rate('reclaimableSlab'))} from the kernel's reclaimable caches (dentries and inodes of files looked up or created), which the kernel shrinks under memory pressure${flat}.`;
        break;
      }
      const held = rc.failCount ? `; the kernel hit the limit ${rc.failCount} times in the window and reclaimed cache instead of killing anything` : rc.limitEvents ? `; memory.events counted ${rc.limitEvents} reclaims at the limit and no OOM kill` : '';
      const files = cls.kernelWithFiles ? `; kernel memory grows with the files written (dentries and inodes), reclaimed with the cache` : '';
      explanation = cls.reclaimObserved
        ? `Not a leak: usage sits at ${limitText} because it is filled with page cache from file I/O, which the kernel reclaims there (${share}${flat}${held}${files}).`
        : `Not a leak: usage grows ${usageRate ?? formatRate(rate(cls.driver!))} from page cache of written or read files; ${share}${flat}${files}, and the kernel reclaims the cache when the container reaches its limit.`;
      break;
    }
    case 'Leak': {
      const oom = input.oomKills;
      const when =
        oom.count > 0
          ? ` It already hit ${limitText}: ${counted(oom.count, 'restart')} at the limit (${oom.count === 1 ? 'an OOM kill' : 'OOM kills'}) in this window${oom.typicalRunSeconds !== null ? `, each run reaching it in about ${formatDuration(oom.typicalRunSeconds)}` : ''}.`
          : ttl !== null
            ? ` At this rate ${limitText} is reached in ${formatDuration(ttl)}.`
            : input.limitBytes === null
              ? ' There is no limit: it grows until the node runs short.'
              : '';
      const r = formatRate(rate(cls.driver!));
      switch (cls.leakSource) {
        case 'heap':
          explanation = `Leak in the Go heap: heap in use grows ${formatRate(rate('goHeap'))}${cls.heapExplainsAnonShare !== null ? ` and explains ${pct(cls.heapExplainsAnonShare)} of the anonymous memory growth (${formatRate(rate('anon'))})` : ''}${top ? `; the fastest growing allocation site is ${top.function}` : ''}.${when}`;
          break;
        case 'offHeap': {
          const fromProfiles = pf.heapFromProfiles ? ` (${formatBytes(pf.placed.firstInuseBytes)} -> ${formatBytes(pf.placed.lastInuseBytes)} in use across ${pf.placed.placed} heap profiles)` : '';
          const heapNote = g.goHeap?.state === 'growing' ? `grows only ${formatRate(rate('goHeap'))}${fromProfiles}` : `in use is flat${fromProfiles}`;
          if (g.goStack?.state === 'growing' && rate('goStack') >= 0.3 * rate('anon')) {
            // StackInuse counts whole stack spans; only the touched pages are resident, so it can
            // exceed the anon growth it explains.
            explanation = `Leak outside the Go heap, in goroutine stacks: anonymous memory grows ${r} while the Go heap ${heapNote} and goroutine stacks (StackInuse) grow ${formatRate(rate('goStack'))}: goroutines are started and never end (a goroutine leak). /debug/pprof/goroutine?debug=1 shows where they wait.${when}`;
            break;
          }
          explanation = `Leak outside the Go heap: anonymous memory grows ${r} while the Go heap ${heapNote} (cgo, mmap, or fragmentation).${when}`;
          break;
        }
        case 'anon': {
          const why =
            pf.given === 0
              ? ' Add heap profiles (--pprof) to tell the Go heap from off-heap memory.'
              : pf.placed.placed < 2
                ? ` The ${pf.given} heap profile${pf.given === 1 ? '' : 's'} given cannot be compared with it: ${pf.placed.outside > 0 ? `${pf.placed.outside} ${pf.placed.outside === 1 ? 'was' : 'were'} taken outside the samples' window` : 'it takes two profiles inside the window, one early and one late'}.`
                : ` The ${pf.placed.placed} heap profiles inside the window span too little of it to tell the Go heap from off-heap memory: take one early and one late.`;
          explanation = `Leak of anonymous memory (heap, stacks or mmap): it grows ${r} and the kernel cannot reclaim it.${why}${when}`;
          break;
        }
        case 'shmem':
          explanation = `Leak in shared memory: files in tmpfs, /dev/shm or a memory-backed emptyDir grow ${r}; they count as cache but the kernel can never reclaim them. Delete them or bound them.${when}`;
          break;
        case 'kernel':
          explanation = `Leak in kernel memory (slab, socket buffers, stacks): it grows ${r} while anonymous memory and page cache do not.${when}`;
          break;
        default:
          explanation = `Leak: non-reclaimable memory grows ${r}.${when}`;
      }
      break;
    }
    case 'Plateau': {
      const t = g[cls.driver!]!;
      const after = formatDuration(t.currentSinceT - t.fit.startT);
      explanation = `Growth stopped: ${LABEL[cls.driver!]} rose ${formatBytes(t.earlyGrowthBytes ?? 0)} in the first ${after} (warm-up or a filled cache) and has been flat since; not a leak.`;
      break;
    }
    case 'Stable':
      explanation = `Stable: no memory component grows beyond noise over ${formatDuration(input.window.durationSeconds)}${g.usage ? ` (usage ${formatBytes(g.usage.fit.lastBytes)}, now ${formatRate(rate('usage'))})` : ''}.`;
      break;
    default:
      explanation = `Usage grows ${usageRate ?? ''} but this source gives no breakdown (anon, cache), so cache cannot be told from a leak.`;
  }
  if (input.rereadCacheBytes > 0 && cls.verdict !== 'Leak') {
    explanation += ` It re-reads its page cache (${formatBytes(rc.refaultFileBytes ?? 0)} refaulted): the recommended limit keeps the ${formatBytes(input.rereadCacheBytes)} it re-reads, since a lower one turns those cache hits into disk reads.`;
  }
  return { explanation, evidence };
}

/** A state that is not growth, as a few words after its rate. */
const QUIET_STATE: Record<ComponentGrowth['state'], string> = { growing: 'growing', flat: 'flat within noise', plateaued: 'levelled off', shrinking: 'shrinking' };

const LABEL: Record<string, string> = {
  usage: 'usage',
  workingSet: 'working set',
  anon: 'anonymous memory',
  file: 'page cache',
  reclaimableFile: 'reclaimable page cache',
  shmem: 'shared memory (tmpfs/shm)',
  kernel: 'kernel memory',
  dirty: 'dirty pages',
  nonReclaimable: 'non-reclaimable memory',
  goHeap: 'Go heap in use',
  rss: 'resident set',
  activeFileOrShmem: 'page cache outside inactive_file (active file or shmem)',
  reclaimableSlab: 'reclaimable slab (dentries, inodes)',
  goStack: 'goroutine stacks',
};
