// Splits a sample into the components the verdict reasons about. See docs/memory-model.md.
//
// - reclaimableFile: page cache on the file LRU (active_file + inactive_file). shmem/tmpfs pages
//   are counted in `file`/`cache` but sit on the anon LRU, so they are not part of
//   active_file/inactive_file and never counted as reclaimable. Dirty and writeback pages are
//   counted as reclaimable: the kernel writes them back and drops them under pressure, and throttles
//   writers to bound them. Recorded here: a file writer under a 64 MiB limit carried 42 MiB of
//   dirty cache without an OOM (test/fixtures/docker-stats/pagecache-limit64m.jsonl). Counting
//   them as non-reclaimable would turn every writeback cycle into a sawtooth of "leaked" memory
//   and inflate the recommended limit by the dirty peak.
// - shmem: the field when the source has it; otherwise file - active_file - inactive_file; else
//   (anon LRU known, file LRU not) active_anon + inactive_anon - anon.
// - kernel: kernel memory minus reclaimable slab, which is its own component (reclaimableSlab).
// - nonReclaimable: usage minus what the kernel could drop (clean file cache, reclaimable slab).
//   This works the same whatever breakdown a source has, and on cgroup v1 includes kernel memory
//   that usage_in_bytes counts.
//
// A component whose inputs are missing is undefined (never a guessed 0).
import type { MemorySample } from '../model/sample.ts';
import type { Component } from '../model/verdict.ts';

export type ComponentValues = Partial<Record<Component, number>>;

export function componentsOf(s: MemorySample): ComponentValues {
  const c: ComponentValues = { usage: s.usageBytes };
  const dirty = (s.dirtyBytes ?? 0) + (s.writebackBytes ?? 0);
  if (s.dirtyBytes !== undefined || s.writebackBytes !== undefined) c.dirty = dirty;
  if (s.anonBytes !== undefined) c.anon = s.anonBytes;
  if (s.fileBytes !== undefined) c.file = s.fileBytes;
  if (s.rssBytes !== undefined) c.rss = s.rssBytes;
  if (s.go) c.goHeap = s.go.heapInuseBytes;
  if (s.go?.stackInuseBytes !== undefined) c.goStack = s.go.stackInuseBytes;

  const lruFile = s.activeFileBytes !== undefined && s.inactiveFileBytes !== undefined ? s.activeFileBytes + s.inactiveFileBytes : undefined;
  if (s.shmemBytes !== undefined) c.shmem = s.shmemBytes;
  else if (s.fileBytes !== undefined && lruFile !== undefined) c.shmem = Math.max(0, s.fileBytes - lruFile);
  else if (s.anonBytes !== undefined && s.activeAnonBytes !== undefined && s.inactiveAnonBytes !== undefined) {
    // No file LRU split, but the anon LRU is known: shmem pages sit there next to anon memory.
    c.shmem = Math.max(0, s.activeAnonBytes + s.inactiveAnonBytes - s.anonBytes);
  }

  let reclaimable: number | undefined;
  if (lruFile !== undefined) reclaimable = lruFile;
  else if (s.fileBytes !== undefined && c.shmem !== undefined) reclaimable = Math.max(0, s.fileBytes - c.shmem);
  else if (s.fileBytes !== undefined) {
    // No shmem and no LRU split (cAdvisor without total_*_file, kubelet summary): all cache is
    // taken as reclaimable, and the explanation says tmpfs cannot be told apart here.
    reclaimable = s.fileBytes;
  }
  if (reclaimable !== undefined) c.reclaimableFile = reclaimable;

  // kernel: what the kernel holds and cannot just drop. Reclaimable slab (dentries, inodes) is a
  // cache like the file LRU: its own component, never a kernel leak.
  if (s.slabReclaimableBytes !== undefined) c.reclaimableSlab = s.slabReclaimableBytes;
  if (s.kernelBytes !== undefined) c.kernel = Math.max(0, s.kernelBytes - (s.slabReclaimableBytes ?? 0));
  else if (s.slabReclaimableBytes !== undefined || s.slabUnreclaimableBytes !== undefined) {
    c.kernel = (s.slabUnreclaimableBytes ?? 0) + (s.kernelStackBytes ?? 0) + (s.sockBytes ?? 0);
  } else if (s.anonBytes !== undefined && s.fileBytes !== undefined && s.rssBytes === undefined) {
    // Usage counts anon + page cache + kernel memory (v1 with kmem accounting, v2): what is left
    // over is the kernel's share. Not for per-process data, whose "usage" is only the RSS.
    c.kernel = Math.max(0, s.usageBytes - s.anonBytes - s.fileBytes);
  }

  if (c.shmem === undefined && lruFile === undefined && s.workingSetBytes !== undefined && s.fileBytes !== undefined && s.inactiveFileBytes === undefined) {
    // cAdvisor and kubelet define working set = usage - inactive_file, so inactive_file is known
    // exactly; what is left of the cache is active file pages plus shmem (classify.ts tells them
    // apart by pace: the kernel keeps active file pages to about half of the file LRU).
    c.activeFileOrShmem = Math.max(0, s.fileBytes - Math.max(0, s.usageBytes - s.workingSetBytes));
  }
  if (s.workingSetBytes !== undefined) c.workingSet = s.workingSetBytes;
  else if (s.inactiveFileBytes !== undefined) c.workingSet = Math.max(0, s.usageBytes - s.inactiveFileBytes);

  if (reclaimable !== undefined) {
    c.nonReclaimable = Math.max(0, s.usageBytes - reclaimable - (s.slabReclaimableBytes ?? 0));
  } else if (s.anonBytes !== undefined) {
    // No file LRU breakdown: what we know cannot be dropped.
    c.nonReclaimable = s.anonBytes + (c.shmem ?? 0);
  } else if (s.rssBytes !== undefined && s.fileBytes === undefined) {
    c.nonReclaimable = s.rssBytes;
  }
  return c;
}
