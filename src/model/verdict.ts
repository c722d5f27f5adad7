// The vocabulary is a contract shared by the CLI's JSON, the MemoryAudit status and the docs
// (docs/verdicts.md). Do not rename these strings.
export const VERDICTS = ['Stable', 'Plateau', 'CacheGrowth', 'Leak', 'InsufficientData'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const LEAK_SOURCES = ['heap', 'offHeap', 'anon', 'shmem', 'kernel'] as const;
export type LeakSource = (typeof LEAK_SOURCES)[number];

/** The memory components a trend is fitted to. */
export const COMPONENTS = [
  'usage',
  'workingSet',
  'anon',
  'file',
  'reclaimableFile',
  'shmem',
  'kernel',
  'dirty',
  'nonReclaimable',
  'goHeap',
  /** Go runtime.MemStats StackInuse: goroutine stacks. */
  'goStack',
  'rss',
  /** file - inactive_file, for sources with a working set but no active/shmem split (cAdvisor). */
  'activeFileOrShmem',
  /** slab_reclaimable (cgroup v2): dentry and inode caches the kernel shrinks under pressure. */
  'reclaimableSlab',
] as const;
export type Component = (typeof COMPONENTS)[number];

/** A fitted trend of one component over the analysed window. */
export interface Trend {
  /** Robust slope (Theil-Sen on the lower envelope), bytes per hour. */
  slopeBytesPerHour: number;
  /** 95 % confidence interval of the slope, bytes per hour. */
  slopeCiBytesPerHour: [number, number];
  /** Ordinary least-squares slope on the raw points, bytes per hour (for comparison). */
  olsSlopeBytesPerHour: number;
  /** Coefficient of determination of the linear fit on the envelope, 0..1. */
  r2: number;
  firstBytes: number;
  lastBytes: number;
  minBytes: number;
  maxBytes: number;
  /** Points the trend was fitted to. */
  points: number;
}

export interface GrowingFunction {
  function: string;
  /** In-use bytes in the first profile and the last (flat, allocated directly by this function). */
  firstInuseBytes: number;
  lastInuseBytes: number;
  growthBytes: number;
  /** In-use growth with the function anywhere on the stack. */
  cumulativeGrowthBytes: number;
}

export interface Recommendation {
  /** null when no limit should be recommended (InsufficientData). */
  memoryLimitBytes: number | null;
  memoryRequestBytes: number | null;
  goMemLimitBytes: number | null;
  /** Kubernetes quantity strings, e.g. "48Mi". */
  kubernetes: { limits: { memory: string } | null; requests: { memory: string } | null } | null;
  /** Compose keys, e.g. { mem_limit: "48m", mem_reservation: "40m" }. */
  compose: { mem_limit: string; mem_reservation: string } | null;
  /** `docker update --memory 48m --memory-reservation 40m CONTAINER` */
  dockerUpdate: string | null;
  /** GOMEMLIMIT value, e.g. "38MiB". */
  goMemLimit: string | null;
  /** Why this number: the steps applied, in order. */
  rationale: string[];
  /** For a Leak: the limit is not raised; what to do instead. */
  warning: string | null;
}

/** A restart in the window: `atLimit` = usage was at the limit before the fall (an OOM kill); `newInstance` = the source names a new container or process. */
export interface RestartMark {
  atMs: number;
  cause: 'atLimit' | 'newInstance';
}

export interface AuditResult {
  verdict: Verdict;
  leakSource: LeakSource | null;
  /** One sentence a person can act on. */
  explanation: string;
  /** Supporting facts, one per line, most important first. */
  evidence: string[];
  /**
   * `gaps`: stretches with no samples far longer than the sampling interval (trends close them).
   * `analysed`: the run between restarts that the trends, the verdict and the time to limit come
   * from (the whole window when nothing restarted); its first and last sample.
   */
  window: {
    startMs: number;
    endMs: number;
    durationSeconds: number;
    samples: number;
    gaps?: { startMs: number; seconds: number }[];
    analysed?: { startMs: number; endMs: number; samples: number };
  };
  /** Restarts seen in the window, at the first sample after each (see analysis/restarts.ts). */
  restarts?: RestartMark[];
  growth: Partial<Record<Component, Trend>>;
  /** Share of the last usage that the kernel can reclaim (0..1), when known. */
  reclaimableShare: number | null;
  limitBytes: number | null;
  /** Seconds until the non-reclaimable memory reaches the limit at the current rate; null = never/unknown. */
  timeToLimitSeconds: number | null;
  /** Whether the kernel reclaimed cache in the window (usage pinned near the limit, cache shrinking). */
  reclaimObserved: boolean;
  topGrowingFunctions: GrowingFunction[];
  /** How much of the anon growth the Go heap explains (0..1), when both are known. */
  heapExplainsAnonShare: number | null;
  recommendation: Recommendation;
}
