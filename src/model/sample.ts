/**
 * One observation of a container's (or cgroup's, or process's) memory, in one shape whatever
 * the source. Every size is in bytes. A field a source cannot see is left undefined, never 0:
 * "unknown" and "zero" lead to different verdicts.
 *
 * Field meanings follow the kernel's memory.stat (see docs/memory-model.md):
 *   cgroup v2 `anon` / v1 `total_rss` (+ `total_rss_huge`)   -> anonBytes
 *   cgroup v2 `file` / v1 `total_cache` (includes shmem!)     -> fileBytes
 *   cgroup v2/v1 `shmem`                                      -> shmemBytes
 */
export interface MemorySample {
  /** Milliseconds since the Unix epoch. */
  timestampMs: number;
  /** memory.current (v2) / memory.usage_in_bytes (v1) / Docker `memory_stats.usage`. */
  usageBytes: number;
  /** memory.max / memory.limit_in_bytes; undefined when unlimited or unknown. */
  limitBytes?: number;

  anonBytes?: number;
  fileBytes?: number;
  shmemBytes?: number;
  activeFileBytes?: number;
  inactiveFileBytes?: number;
  activeAnonBytes?: number;
  inactiveAnonBytes?: number;
  mappedFileBytes?: number;
  dirtyBytes?: number;
  writebackBytes?: number;

  /** All kernel memory charged to the cgroup (v2 `kernel`, v1 `memory.kmem.usage_in_bytes`). */
  kernelBytes?: number;
  slabReclaimableBytes?: number;
  slabUnreclaimableBytes?: number;
  kernelStackBytes?: number;
  sockBytes?: number;

  /** Working set as the source reports it (cAdvisor, kubelet); derived when absent. */
  workingSetBytes?: number;
  /** Resident set of a single process (per-process fallback, no cgroup). */
  rssBytes?: number;

  /** Go runtime, when the target exposes it (runtime.MemStats). */
  go?: GoRuntimeSample;

  // Reclaim and pressure counters: cumulative since the cgroup was created, so what counts is how
  // much they rose within the window. They show what the byte sizes cannot: the kernel reclaiming
  // at the limit, and a program re-reading what was reclaimed.
  /** Times usage hit the limit: v1 `memory.failcnt`, Docker `memory_stats.failcnt` (v1 hosts). */
  failCount?: number;
  /** v2 `memory.events`: reclaim at memory.high / memory.max, OOMs, OOM kills. */
  memoryEvents?: MemoryEvents;
  /** Pages read again soon after being reclaimed: `workingset_refault_file` (v1 before 5.9: `workingset_refault`). */
  refaultFilePages?: number;
  /** Anonymous pages faulted back in from swap soon after being reclaimed: `workingset_refault_anon`. */
  refaultAnonPages?: number;
  /** `pgmajfault`: page faults that needed a read from disk. */
  majorFaultCount?: number;
  /** v2 `memory.pressure` (PSI): total time some / all tasks stalled on memory, microseconds. */
  pressureSomeMicros?: number;
  pressureFullMicros?: number;

  /**
   * Which incarnation of the container or process the sample comes from, when the source can
   * tell (cAdvisor: the cgroup's `id`; Docker: a count of the stopped spells the stats stream
   * went through). A change between two samples is a restart, whatever the memory did.
   */
  instance?: string;
}

/** cgroup v2 `memory.events` counters. */
export interface MemoryEvents {
  low?: number;
  high?: number;
  max?: number;
  oom?: number;
  oomKill?: number;
}

/** The parts of runtime.MemStats the analysis uses. */
export interface GoRuntimeSample {
  heapInuseBytes: number;
  heapAllocBytes?: number;
  heapIdleBytes?: number;
  heapReleasedBytes?: number;
  heapSysBytes?: number;
  stackInuseBytes?: number;
  sysBytes?: number;
  nextGcBytes?: number;
  numGc?: number;
}

/**
 * A decoded Go heap profile, reduced to what a heap diff needs: in-use bytes per function
 * (flat: the allocating frame; cumulative: anywhere on the stack).
 */
export interface HeapProfile {
  /** From the profile's own time_nanos. */
  timestampMs: number;
  totalInuseBytes: number;
  totalAllocBytes?: number;
  /** Function name -> in-use bytes allocated directly by it (flat). */
  flatInuseBytes: Map<string, number>;
  /** Function name -> in-use bytes with it anywhere on the allocation stack (cumulative). */
  cumInuseBytes: Map<string, number>;
  /**
   * Which incarnation of the program the profile comes from (as `MemorySample.instance`), when
   * the source can tell: a restarted process starts its heap over, so a diff across it means nothing.
   */
  instance?: string;
}

/** Identity of what is being audited, for reports. */
export interface TargetRef {
  kind: 'container' | 'cgroup' | 'process' | 'pod' | 'file';
  name: string;
  namespace?: string;
  pod?: string;
  container?: string;
}
