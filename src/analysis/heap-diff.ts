import type { HeapProfile } from '../model/sample.ts';
import type { GrowingFunction } from '../model/verdict.ts';

/**
 * The functions whose in-use heap grew most between two heap profiles of the same program: the
 * call sites a person reads first when the Go heap leaks.
 *
 * Ranked by flat growth (bytes allocated directly by the function and still in use), ties broken by
 * cumulative growth, then by name so the order is stable; the Go runtime's own functions
 * (`runtime.*`, `internal/*`) rank after the program's. Only functions whose flat in-use bytes
 * grew appear: a function that only grew cumulatively (a caller) is carried by the allocating
 * function's row, and shrinking functions are not "growing call sites".
 *
 * Edge cases: topN <= 0 gives []; a function missing from one profile counts as 0 bytes there;
 * `first` must be the earlier profile (the caller sorts by timestampMs): swapped, the result ranks
 * what the earlier profile held more of.
 */
export function heapDiff(first: HeapProfile, last: HeapProfile, topN: number): GrowingFunction[] {
  if (topN <= 0) return [];
  const rows: GrowingFunction[] = [];
  for (const [fn, lastBytes] of last.flatInuseBytes) {
    const firstBytes = first.flatInuseBytes.get(fn) ?? 0;
    const growth = lastBytes - firstBytes;
    if (growth <= 0) continue;
    rows.push({
      function: fn,
      firstInuseBytes: firstBytes,
      lastInuseBytes: lastBytes,
      growthBytes: growth,
      cumulativeGrowthBytes: (last.cumInuseBytes.get(fn) ?? 0) - (first.cumInuseBytes.get(fn) ?? 0),
    });
  }
  // The runtime's own frames (runtime.mallocgc holding goroutine structs, say) come after the
  // program's: a person fixes a leak in their own code.
  const runtime = (f: string) => (f.startsWith('runtime.') || f.startsWith('internal/') ? 1 : 0);
  rows.sort((a, b) => runtime(a.function) - runtime(b.function) || b.growthBytes - a.growthBytes || b.cumulativeGrowthBytes - a.cumulativeGrowthBytes || (a.function < b.function ? -1 : a.function > b.function ? 1 : 0));
  return rows.slice(0, topN);
}

/**
 * The two profiles a heap diff compares, from profiles sorted by time: the oldest and the newest
 * of one process. Profiles that name their incarnation (`instance`) are diffed within the newest
 * incarnation that has two of them (after a restart the new process's heap starts over: the old
 * process's first profile against the new one's last ranks whatever the new one happens to hold);
 * profiles without names, as one process. Edge cases: fewer than 2 profiles, or no incarnation
 * with 2 -> null.
 */
export function profilesToDiff(sorted: readonly HeapProfile[]): [HeapProfile, HeapProfile] | null {
  let end = sorted.length;
  while (end >= 2) {
    const last = sorted[end - 1]!;
    let start = end - 1;
    while (start > 0 && sorted[start - 1]!.instance === last.instance) start--;
    if (end - start >= 2) return [sorted[start]!, last];
    end = start;
  }
  return null;
}
