// The one sentence a person acts on, and the evidence lines behind it. Wording rules: name the
// memory by what it is (page cache, Go heap, tmpfs), give rates per the unit that reads best, say
// what to do.
import type { MemorySample } from '../model/sample.ts';
import { formatBytes, formatDuration, formatRate } from '../model/units.ts';
import type { AuditResult, GrowingFunction } from '../model/verdict.ts';
import type { Classification, Growths } from './classify.ts';
import type { ComponentValues } from './components.ts';

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
}

const pct = (x: number) => `${Math.round(x * 100)} %`;

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
    const since = t.currentSinceT > t.fit.startT ? ` (since ${formatDuration(t.currentSinceT - t.fit.startT)} into the window)` : '';
    evidence.push(`${LABEL[c]}: ${t.state}, ${formatRate(t.currentSlopeBytesPerHour)}${since}, R² ${t.fit.r2.toFixed(2)}`);
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

  let explanation: string;
  switch (cls.verdict) {
    case 'CacheGrowth': {
      const share = input.reclaimableShare !== null ? `${pct(input.reclaimableShare)} of usage is page cache the kernel can reclaim` : 'the growth is page cache the kernel can reclaim';
      const parts: string[] = [];
      if (g.anon) parts.push(`anonymous ${formatRate(rate('anon'))}`);
      if (g.shmem && (lc.shmem ?? 0) >= 1024 * 1024) parts.push(`shmem ${formatRate(rate('shmem'))}`);
      if (g.kernel && rate('kernel') > 0) parts.push(`kernel ${formatRate(rate('kernel'))}${g.kernel.state === 'growing' ? ', bookkeeping that grows with the cache' : ''}`);
      const flat = nrRate ? `; what it cannot reclaim grows ${nrRate}${parts.length ? ` (${parts.join(', ')})` : ''}` : '';
      if (cls.driver === 'reclaimableSlab') {
        explanation = `Not a leak: usage grows ${usageRate ?? formatRate(rate('reclaimableSlab'))} from the kernel's reclaimable caches (dentries and inodes of files looked up or created), which the kernel shrinks under memory pressure${flat}.`;
        break;
      }
      explanation = cls.reclaimObserved
        ? `Not a leak: usage sits at ${limitText} because it is filled with page cache from file I/O, which the kernel reclaims there (${share}${flat}).`
        : `Not a leak: usage grows ${usageRate ?? formatRate(rate(cls.driver!))} from page cache of written or read files; ${share}${flat}, and the kernel reclaims the cache when the container reaches its limit.`;
      break;
    }
    case 'Leak': {
      const oom = input.oomKills;
      const when =
        oom.count > 0
          ? ` It already hit ${limitText}: ${oom.count} restart(s) at the limit (OOM kills) in this window${oom.typicalRunSeconds !== null ? `, each run reaching it in about ${formatDuration(oom.typicalRunSeconds)}` : ''}.`
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
          const heapNote = g.goHeap?.state === 'growing' ? `grows only ${formatRate(rate('goHeap'))}` : 'is flat';
          if (g.goStack?.state === 'growing' && rate('goStack') >= 0.3 * rate('anon')) {
            // StackInuse counts whole stack spans; only the touched pages are resident, so it can
            // exceed the anon growth it explains.
            explanation = `Leak outside the Go heap, in goroutine stacks: anonymous memory grows ${r} while the Go heap ${heapNote} and goroutine stacks (StackInuse) grow ${formatRate(rate('goStack'))}: goroutines are started and never end (a goroutine leak). /debug/pprof/goroutine?debug=1 shows where they wait.${when}`;
            break;
          }
          explanation = `Leak outside the Go heap: anonymous memory grows ${r} while the Go heap ${heapNote} (cgo, mmap, or fragmentation).${when}`;
          break;
        }
        case 'anon':
          explanation = `Leak of anonymous memory (heap, stacks or mmap): it grows ${r} and the kernel cannot reclaim it. Add a heap profile (--pprof) to tell the Go heap from off-heap memory.${when}`;
          break;
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
  return { explanation, evidence };
}

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
