// The verdict, from the growth state of each component. The order of the checks is the physics:
//
// 1. Memory the kernel cannot reclaim and that still grows is a leak, whatever the cache does:
//    shmem/tmpfs (counted as cache, never reclaimable), anonymous memory (split into Go heap vs
//    off-heap when the runtime's numbers are known), kernel memory. The fastest grower is the source.
// 2. Otherwise, growing page cache is CacheGrowth: the kernel drops it at the limit. So is a cache
//    that filled up to the limit and is held there by reclaim, and growing reclaimable slab.
// 3. Otherwise, growth that stopped is a Plateau; nothing growing is Stable.
import type { Component, LeakSource, Verdict } from '../model/verdict.ts';
import type { ComponentGrowth } from './growth.ts';

export type Growths = Partial<Record<Component, ComponentGrowth>>;

export interface ClassifyInput {
  growth: Growths;
  limitBytes: number | null;
  lastUsageBytes: number;
  /** Reclaimable share of the last usage, when known. */
  reclaimableShare: number | null;
}

export interface Classification {
  verdict: Verdict;
  leakSource: LeakSource | null;
  /** The component whose growth decided the verdict. */
  driver: Component | null;
  /** Go heap growth / anon growth, 0..1, when both are known and anon grows. */
  heapExplainsAnonShare: number | null;
  /** The cgroup sits at its limit while cache is reclaimed. */
  reclaimObserved: boolean;
}

/** A Go heap that explains at least this share of the anon growth makes the leak a heap leak. */
const HEAP_SHARE_FOR_HEAP_LEAK = 0.3;
/** Cache growing outside inactive_file at this share of the cache's pace is shmem, not active file pages. */
const ACTIVE_FILE_PACE_BOUND = 0.75;
/** Usage within this fraction of the limit counts as "at the limit". */
const AT_LIMIT = 0.9;

export function classify(input: ClassifyInput): Classification {
  const g = input.growth;
  const growing = (c: Component) => g[c]?.state === 'growing';
  const rate = (c: Component) => g[c]?.currentSlopeBytesPerHour ?? 0;
  const none: Omit<Classification, 'verdict'> = { leakSource: null, driver: null, heapExplainsAnonShare: null, reclaimObserved: false };

  // The heap's share of the anon growth, from the slopes' point estimates: under heavy GC churn
  // the heap's floor is too noisy to pass the growth test over a short window, yet its slope is
  // still the best estimate. Go lets the heap grow to twice the live data (GOGC=100), so a pure
  // heap leak shows anon growing up to 2x the live heap's floor: a share of 0.5 is a heap leak.
  // Goroutine stacks are not the heap (MemStats counts them apart, StackInuse): a goroutine leak
  // is off-heap here, and the explanation names the stacks (explain.ts).
  let heapShare: number | null = null;
  if (g.goHeap && g.anon && growing('anon')) {
    heapShare = Math.min(1, Math.max(0, rate('goHeap') / rate('anon')));
  }

  const candidates: { source: LeakSource; driver: Component; rate: number }[] = [];
  if (growing('shmem')) candidates.push({ source: 'shmem', driver: 'shmem', rate: rate('shmem') });
  else if (!g.shmem && growing('activeFileOrShmem') && growing('file') && rate('activeFileOrShmem') >= ACTIVE_FILE_PACE_BOUND * rate('file')) {
    // Without a shmem field: the cache grows, and nearly all of it outside inactive_file. The
    // kernel balances the file LRU so active pages stay at most about half of it (mm/vmscan.c,
    // inactive_is_low), so growth at this pace cannot be active page cache: it is shmem/tmpfs.
    candidates.push({ source: 'shmem', driver: 'activeFileOrShmem', rate: rate('activeFileOrShmem') });
  }
  if (growing('anon')) {
    const source: LeakSource = heapShare === null ? 'anon' : heapShare >= HEAP_SHARE_FOR_HEAP_LEAK ? 'heap' : 'offHeap';
    candidates.push({ source, driver: 'anon', rate: rate('anon') });
  } else if (growing('goHeap') && (!growing('usage') || rate('goHeap') >= 0.25 * rate('usage'))) {
    // The heap grows into memory the runtime already holds (idle spans): anon follows later. Not
    // when it is a sliver of a usage growth that something else explains.
    candidates.push({ source: 'heap', driver: 'goHeap', rate: rate('goHeap') });
  } else if (!g.anon && growing('rss')) {
    candidates.push({ source: 'anon', driver: 'rss', rate: rate('rss') });
  }
  if (growing('kernel') && (!g.reclaimableFile || !growing('reclaimableFile') || rate('kernel') > rate('reclaimableFile'))) {
    // Kernel memory that grows along with a growing page cache is mostly reclaimable dentries and
    // inodes of the files being written; only count it when it outpaces the cache.
    candidates.push({ source: 'kernel', driver: 'kernel', rate: rate('kernel') });
  }
  if (candidates.length > 0) {
    candidates.sort((a, b) => b.rate - a.rate);
    const top = candidates[0]!;
    return { verdict: 'Leak', leakSource: top.source, driver: top.driver, heapExplainsAnonShare: heapShare, reclaimObserved: false };
  }

  const cacheComponent: Component | null = g.reclaimableFile ? 'reclaimableFile' : g.file ? 'file' : null;
  const atLimit = input.limitBytes !== null && input.lastUsageBytes >= AT_LIMIT * input.limitBytes;
  const mostlyCache = (input.reclaimableShare ?? 0) >= 0.3;
  if (cacheComponent) {
    const state = g[cacheComponent]!.state;
    if (state === 'growing') {
      return { ...none, verdict: 'CacheGrowth', driver: cacheComponent, heapExplainsAnonShare: heapShare, reclaimObserved: atLimit && mostlyCache };
    }
    if (state === 'plateaued' && atLimit && mostlyCache) {
      return { ...none, verdict: 'CacheGrowth', driver: cacheComponent, heapExplainsAnonShare: heapShare, reclaimObserved: true };
    }
    // Pinned at the limit for the whole window, mostly by cache: the cache filled up to the limit
    // before the window began and the kernel keeps reclaiming it there.
    const pinned = input.limitBytes !== null && g.usage !== undefined && g.usage.fit.minBytes >= AT_LIMIT * input.limitBytes;
    if (pinned && (input.reclaimableShare ?? 0) >= 0.5 && state !== 'shrinking') {
      return { ...none, verdict: 'CacheGrowth', driver: cacheComponent, heapExplainsAnonShare: heapShare, reclaimObserved: true };
    }
  }
  // The kernel's own reclaimable caches (dentries and inodes of files looked up or created) grow:
  // cache too, shrunk under memory pressure.
  if (growing('reclaimableSlab') && !growing('nonReclaimable')) {
    return { ...none, verdict: 'CacheGrowth', driver: 'reclaimableSlab', heapExplainsAnonShare: heapShare, reclaimObserved: false };
  }
  // With no breakdown at all, growing usage cannot be attributed.
  if (!cacheComponent && !g.anon && !g.rss && growing('usage')) {
    return { ...none, verdict: 'InsufficientData', driver: 'usage' };
  }

  const plateauOrder: Component[] = ['nonReclaimable', 'anon', 'goHeap', 'shmem', 'rss', 'kernel', 'reclaimableFile', 'file', 'usage'];
  for (const c of plateauOrder) {
    if (g[c]?.state === 'plateaued') return { ...none, verdict: 'Plateau', driver: c, heapExplainsAnonShare: heapShare };
  }
  return { ...none, verdict: 'Stable', heapExplainsAnonShare: heapShare };
}
