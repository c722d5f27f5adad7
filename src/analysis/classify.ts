// The verdict, from the growth state of each component. The order of the checks is the physics:
//
// 1. Memory the kernel cannot reclaim and that still grows is a leak, whatever the cache does:
//    shmem/tmpfs (counted as cache, never reclaimable), anonymous memory (split into Go heap vs
//    off-heap when the runtime's numbers are known), kernel memory. The fastest grower is the source.
// 2. Otherwise, growing page cache is CacheGrowth: the kernel drops it at the limit. So is a cache
//    that filled up to the limit and is held there by reclaim (the counters say the kernel reclaimed
//    there and nothing was OOM-killed), and growing reclaimable slab.
// 3. Otherwise, growth that stopped is a Plateau; nothing growing is Stable.
import type { Component, LeakSource, Verdict } from '../model/verdict.ts';
import type { ComponentGrowth } from './growth.ts';
import { reclaimAtLimit } from './reclaim.ts';
import type { ReclaimEvidence } from './reclaim.ts';

export type Growths = Partial<Record<Component, ComponentGrowth>>;

export interface ClassifyInput {
  growth: Growths;
  limitBytes: number | null;
  lastUsageBytes: number;
  /** Reclaimable share of the last usage, when known. */
  reclaimableShare: number | null;
  reclaim: ReclaimEvidence;
  /** Kernel memory at the last sample, when known (the slab of the files written sits there on cgroup v1). */
  lastKernelBytes?: number;
  /** GOGC of a Go target (default 100): how far the heap may run ahead of its live data. */
  goGcPercent?: number;
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
  /** Kernel memory grows, but with the files written (dentries, inodes): not counted as a leak. */
  kernelWithFiles: boolean;
}

/**
 * A Go heap whose growth is at least this share of the anon growth, times 2 / (1 + GOGC/100),
 * makes the leak a heap leak: 0.3 at the default GOGC=100. The runtime lets the heap run up to
 * (1 + GOGC/100) x its live data before collecting, so under churn anonymous memory can grow that
 * many times faster than the live heap; a pure leak (everything allocated stays live) grows both
 * at one pace. GOMEMLIMIT only shortens the run-ahead, which raises the share: GOGC's bound holds.
 */
const HEAP_SHARE_AT_DEFAULT_GOGC = 0.3;
/** Cache growing outside inactive_file at this share of the cache's pace is shmem, not active file pages. */
const ACTIVE_FILE_PACE_BOUND = 0.75;
/** Page cache at least this share of usage: files are being written or read. */
const FILES_PRESENT_SHARE = 0.05;
/** Page cache and kernel memory together at least this share of usage: the footprint is the files'. */
const FILE_BACKED_SHARE = 0.5;
/** Usage within this fraction of the limit counts as "at the limit". */
const AT_LIMIT = 0.9;

export function classify(input: ClassifyInput): Classification {
  const g = input.growth;
  const growing = (c: Component) => g[c]?.state === 'growing';
  const rate = (c: Component) => g[c]?.currentSlopeBytesPerHour ?? 0;
  const none: Omit<Classification, 'verdict'> = { leakSource: null, driver: null, heapExplainsAnonShare: null, reclaimObserved: false, kernelWithFiles: false };
  const heapShareForHeapLeak = (HEAP_SHARE_AT_DEFAULT_GOGC * 2) / (1 + (input.goGcPercent ?? 100) / 100);

  // The heap's share of the anon growth, from the slopes' point estimates: under heavy GC churn
  // the heap's floor is too noisy to pass the growth test over a short window, yet its slope is
  // still the best estimate. The heap is runtime.MemStats' HeapInuse, or the in-use bytes of heap
  // profiles placed on the samples' clock (heap-profiles.ts). Goroutine stacks are not the heap
  // (MemStats counts them apart, StackInuse): a goroutine leak is off-heap here, and the
  // explanation names the stacks (explain.ts).
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
    const source: LeakSource = heapShare === null ? 'anon' : heapShare >= heapShareForHeapLeak ? 'heap' : 'offHeap';
    candidates.push({ source, driver: 'anon', rate: rate('anon') });
  } else if (growing('goHeap') && (!growing('usage') || rate('goHeap') >= 0.25 * rate('usage'))) {
    // The heap grows into memory the runtime already holds (idle spans): anon follows later. Not
    // when it is a sliver of a usage growth that something else explains.
    candidates.push({ source: 'heap', driver: 'goHeap', rate: rate('goHeap') });
  } else if (!g.anon && growing('rss')) {
    candidates.push({ source: 'anon', driver: 'rss', rate: rate('rss') });
  }
  const atLimit = input.limitBytes !== null && input.lastUsageBytes >= AT_LIMIT * input.limitBytes;
  const noOomKill = (input.reclaim.oomKills ?? 0) === 0;
  // Held at the limit by reclaim, and nothing was killed for it: whatever grows there is taken back.
  const heldByReclaim = atLimit && noOomKill && reclaimAtLimit(input.reclaim);
  let kernelWithFiles = false;
  if (growing('kernel')) {
    // Kernel memory that grows along with the page cache of files being written is mostly their
    // dentries and inodes (reclaimable slab, which cgroup v1 cannot tell from the rest). It is not
    // counted when it grows no faster than a growing cache; nor when the cache filled up to the
    // limit and usage is held there by reclaim with no OOM kill: slab is reclaimed alongside the
    // cache there. A kernel leak without files (socket or pipe buffers) has no cache beside it.
    const cache = g.reclaimableFile;
    const kernelGrowthBytes = rate('kernel') * (g.kernel!.fit.durationSeconds / 3600);
    const withGrowingCache = cache?.state === 'growing' && rate('kernel') <= rate('reclaimableFile');
    const withCacheAtLimit = cache !== undefined && heldByReclaim && cache.fit.maxBytes >= kernelGrowthBytes;
    kernelWithFiles = withGrowingCache || withCacheAtLimit;
    if (!kernelWithFiles) candidates.push({ source: 'kernel', driver: 'kernel', rate: rate('kernel') });
  }
  if (candidates.length > 0) {
    candidates.sort((a, b) => b.rate - a.rate);
    const top = candidates[0]!;
    return { verdict: 'Leak', leakSource: top.source, driver: top.driver, heapExplainsAnonShare: heapShare, reclaimObserved: false, kernelWithFiles };
  }

  const cacheComponent: Component | null = g.reclaimableFile ? 'reclaimableFile' : g.file ? 'file' : null;
  const mostlyCache = (input.reclaimableShare ?? 0) >= 0.3;
  if (cacheComponent) {
    const state = g[cacheComponent]!.state;
    if (state === 'growing') {
      return { ...none, verdict: 'CacheGrowth', driver: cacheComponent, heapExplainsAnonShare: heapShare, reclaimObserved: atLimit && (mostlyCache || heldByReclaim), kernelWithFiles };
    }
    if (state === 'plateaued' && atLimit && (mostlyCache || heldByReclaim)) {
      return { ...none, verdict: 'CacheGrowth', driver: cacheComponent, heapExplainsAnonShare: heapShare, reclaimObserved: true, kernelWithFiles };
    }
    // Files were written until the limit, and the kernel holds usage there by reclaim (failcnt or
    // memory.events rose, or usage sat at the limit) with no OOM kill: cache churning at the limit.
    // Small files fill it with their dentries and inodes as much as with their pages: on cgroup v1
    // that slab is kernel memory, reclaimed there with the page cache beside it.
    const cacheShare = input.reclaimableShare ?? 0;
    const kernelShare = input.lastKernelBytes !== undefined && input.lastUsageBytes > 0 ? input.lastKernelBytes / input.lastUsageBytes : 0;
    const filesAtLimit = cacheShare >= FILES_PRESENT_SHARE && cacheShare + kernelShare >= FILE_BACKED_SHARE;
    if (heldByReclaim && (mostlyCache || kernelWithFiles || filesAtLimit)) {
      return { ...none, verdict: 'CacheGrowth', driver: cacheComponent, heapExplainsAnonShare: heapShare, reclaimObserved: true, kernelWithFiles: kernelWithFiles || (filesAtLimit && !mostlyCache) };
    }
    // Pinned at the limit for the whole window, mostly by cache: the cache filled up to the limit
    // before the window began and the kernel keeps reclaiming it there.
    const pinned = input.limitBytes !== null && g.usage !== undefined && g.usage.fit.minBytes >= AT_LIMIT * input.limitBytes;
    if (pinned && (input.reclaimableShare ?? 0) >= 0.5 && state !== 'shrinking') {
      return { ...none, verdict: 'CacheGrowth', driver: cacheComponent, heapExplainsAnonShare: heapShare, reclaimObserved: true, kernelWithFiles };
    }
  }
  // The kernel's own reclaimable caches (dentries and inodes of files looked up or created) grow:
  // cache too, shrunk under memory pressure.
  if (growing('reclaimableSlab') && !growing('nonReclaimable')) {
    return { ...none, verdict: 'CacheGrowth', driver: 'reclaimableSlab', heapExplainsAnonShare: heapShare, reclaimObserved: false, kernelWithFiles };
  }
  // With no breakdown at all, growing usage cannot be attributed.
  if (!cacheComponent && !g.anon && !g.rss && growing('usage')) {
    return { ...none, verdict: 'InsufficientData', driver: 'usage' };
  }

  const plateauOrder: Component[] = ['nonReclaimable', 'anon', 'goHeap', 'shmem', 'rss', 'kernel', 'reclaimableFile', 'file', 'usage'];
  for (const c of plateauOrder) {
    if (g[c]?.state === 'plateaued') return { ...none, verdict: 'Plateau', driver: c, heapExplainsAnonShare: heapShare, kernelWithFiles };
  }
  return { ...none, verdict: 'Stable', heapExplainsAnonShare: heapShare, kernelWithFiles };
}
