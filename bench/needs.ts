import type { MemorySample } from '../src/model/sample.ts';

/**
 * What a workload needs, from the physics of the cgroup and not from any tool's policy: the memory
 * it cannot run without once the kernel has reclaimed all it can.
 *
 *   needs = max over the window of  anon (or RSS) + shmem + non-reclaimable kernel memory
 *                                   + mapped files beyond shmem
 *
 * - Page cache of files written or read is left out: the kernel reclaims it at the limit. So are
 *   dirty and writeback pages: short of memory, the kernel writes them back and the writer is
 *   throttled, not killed (cgroup/pagecache-limit ran under 64 MiB with 30 MiB dirty).
 * - Mapped files (program text, mmapped data) are kept in: forced out, they are read again at once.
 * - Re-read cache (a program reading the same file again and again) is not in: a limit below it
 *   costs re-reads, not an OOM kill. memaudit keeps it in its limit when it sees refaults; where it
 *   does, its limit is above this need on purpose.
 * - shmem: the source's field; without one (Docker's stats, cAdvisor), file - active_file -
 *   inactive_file, the part of the page cache on neither file LRU (docs/memory-model.md).
 * - Kernel memory: without reclaimable slab (cgroup v2 `slab_reclaimable`); cgroup v1 does not
 *   split it (its kmem holds the dentries and inodes of every file touched), so there the floor of
 *   the window stands for the part that is not reclaimable.
 *
 * Computed from the raw fields only: it uses nothing of memaudit's engine. For a leak no limit is
 * right: the need grows until it is fixed, so it is reported only as the peak seen.
 */
export function needsBytes(samples: readonly MemorySample[]): number {
  const kernelFloor = samples.reduce((m, s) => (s.kernelBytes !== undefined && s.slabReclaimableBytes === undefined ? Math.min(m, s.kernelBytes) : m), Infinity);
  let peak = 0;
  for (const s of samples) {
    const anon = s.anonBytes ?? s.rssBytes ?? 0;
    const lruFile = s.activeFileBytes !== undefined && s.inactiveFileBytes !== undefined ? s.activeFileBytes + s.inactiveFileBytes : undefined;
    const shmem = s.shmemBytes ?? (s.fileBytes !== undefined && lruFile !== undefined ? Math.max(0, s.fileBytes - lruFile) : 0);
    const kernel = s.kernelBytes === undefined ? 0 : s.slabReclaimableBytes !== undefined ? Math.max(0, s.kernelBytes - s.slabReclaimableBytes) : kernelFloor;
    const mapped = Math.max(0, (s.mappedFileBytes ?? 0) - shmem);
    const v = anon + shmem + kernel + mapped;
    if (v > peak) peak = v;
  }
  return peak;
}

/** Least-squares slope of usage in bytes per second over the last half of the window (how fast a leak climbs now). */
export function recentSlopeBytesPerSecond(samples: readonly MemorySample[], value: (s: MemorySample) => number): number {
  const half = samples.slice(Math.floor(samples.length / 2));
  const n = half.length;
  if (n < 2) return 0;
  const t0 = half[0]!.timestampMs;
  let mx = 0;
  let my = 0;
  for (const s of half) {
    mx += (s.timestampMs - t0) / 1000;
    my += value(s);
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  for (const s of half) {
    const dx = (s.timestampMs - t0) / 1000 - mx;
    sxx += dx * dx;
    sxy += dx * (value(s) - my);
  }
  return sxx > 0 ? sxy / sxx : 0;
}
