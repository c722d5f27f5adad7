// Condition types and reasons of a MemoryAudit's status: fixed strings, part of the API
// (alerts and dashboards match on them). docs/operator.md lists what each means.
export const ConditionType = {
  /** True while the audit samples at least one target; False says why it cannot. */
  Ready: 'Ready',
  /** True when memory grows (CacheGrowth or Leak), False when Stable/Plateau, Unknown before minDuration. */
  MemoryGrowth: 'MemoryGrowth',
  /** Present with action: Patch; True once limits were written to the owning workload. */
  Patched: 'Patched',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const ReadyReason = {
  Sampling: 'Sampling',
  /** Some targets sample, some fail (the message names them). */
  PartiallySampling: 'PartiallySampling',
  TargetsMissing: 'TargetsMissing',
  SamplingFailed: 'SamplingFailed',
  InvalidSpec: 'InvalidSpec',
} as const;

/** One reason per verdict / leak source, in words an operator searches for. */
export const GrowthReason = {
  Stable: 'Stable',
  Plateau: 'Plateau',
  PageCache: 'PageCache',
  GoHeap: 'GoHeap',
  OffHeap: 'OffHeap',
  Anonymous: 'Anonymous',
  SharedMemory: 'SharedMemory',
  KernelMemory: 'KernelMemory',
  InsufficientData: 'InsufficientData',
} as const;
export type GrowthReason = (typeof GrowthReason)[keyof typeof GrowthReason];

export const PatchReason = {
  Patched: 'Patched',
  RefusedLeak: 'RefusedLeak',
  WaitingForVerdict: 'WaitingForVerdict',
  AlreadyPatched: 'AlreadyPatched',
  NoOwner: 'NoOwner',
  PatchFailed: 'PatchFailed',
  UpToDate: 'UpToDate',
} as const;

export const EventReason = {
  VerdictChanged: 'VerdictChanged',
  /** Evidence loaded from the Prometheus history (--prometheus-url). */
  Backfilled: 'Backfilled',
  SamplingFailed: 'SamplingFailed',
  TargetGone: 'TargetGone',
  Patched: 'Patched',
  PatchRefused: 'PatchRefused',
  PatchFailed: 'PatchFailed',
} as const;
