// Reclaim evidence: what the kernel's counters say happened in the window, beyond the sizes.
//
// - failcnt (v1) and memory.events `max`/`high` (v2) rise each time the cgroup hit its limit (or
//   high boundary) and the kernel reclaimed instead of failing: usage held at the limit by reclaim.
// - memory.events `oom_kill` counts OOM kills: reclaim was not enough.
// - workingset_refault_file counts pages read again soon after they were reclaimed: the program
//   re-reads its cache, so a limit that squeezes the cache turns cache hits into disk reads.
// - pgmajfault counts faults that waited for a disk read (mmapped files and program text).
//
// Counters are cumulative since the cgroup was created and start over with a new container, so a
// rise is the sum of the positive steps between consecutive samples (a fall is a reset, not a
// negative rise). A counter no sample carries is null: unknown, not zero.
import type { MemorySample } from '../model/sample.ts';

export interface ReclaimEvidence {
  /** Rise of failcnt over the run. */
  failCount: number | null;
  /** Rise of memory.events max + high. */
  limitEvents: number | null;
  /** Rise of memory.events oom_kill. */
  oomKills: number | null;
  /** Bytes refaulted (workingset_refault_file pages x PAGE_BYTES). */
  refaultFileBytes: number | null;
  majorFaults: number | null;
  /** Share of the run's time with usage at or above AT_LIMIT of the limit; null without a limit. */
  atLimitShare: number | null;
}

/** The kernel's page size on the x86-64 and arm64 machines memaudit runs on. */
export const PAGE_BYTES = 4096;
/** Usage within this fraction of the limit is held there by reclaim. */
export const AT_LIMIT = 0.95;

export function reclaimEvidence(run: readonly MemorySample[], limitOf: (s: MemorySample) => number | null): ReclaimEvidence {
  const rise = (get: (s: MemorySample) => number | undefined): number | null => {
    let seen = false;
    let total = 0;
    let prev: number | undefined;
    for (const s of run) {
      const v = get(s);
      if (v === undefined) continue;
      seen = true;
      if (prev !== undefined && v > prev) total += v - prev;
      prev = v;
    }
    return seen ? total : null;
  };
  const events = (s: MemorySample) => (s.memoryEvents && (s.memoryEvents.max !== undefined || s.memoryEvents.high !== undefined) ? (s.memoryEvents.max ?? 0) + (s.memoryEvents.high ?? 0) : undefined);
  const refault = rise((s) => s.refaultFilePages);

  let atLimitMs = 0;
  let limitedMs = 0;
  for (let i = 1; i < run.length; i++) {
    const limit = limitOf(run[i]!);
    if (limit === null) continue;
    const dt = run[i]!.timestampMs - run[i - 1]!.timestampMs;
    limitedMs += dt;
    if (run[i]!.usageBytes >= AT_LIMIT * limit) atLimitMs += dt;
  }
  return {
    failCount: rise((s) => s.failCount),
    limitEvents: rise(events),
    oomKills: rise((s) => s.memoryEvents?.oomKill),
    refaultFileBytes: refault === null ? null : refault * PAGE_BYTES,
    majorFaults: rise((s) => s.majorFaultCount),
    atLimitShare: limitedMs > 0 ? atLimitMs / limitedMs : null,
  };
}

/** The kernel hit the limit and reclaimed there (counters say so), or usage sat at the limit. */
export function reclaimAtLimit(r: ReclaimEvidence): boolean {
  return (r.failCount ?? 0) > 0 || (r.limitEvents ?? 0) > 0 || (r.atLimitShare ?? 0) >= 0.25;
}
