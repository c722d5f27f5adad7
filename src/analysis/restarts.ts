/**
 * Restarts inside a window: a container restarted (an OOM kill, a crash, a deploy) starts again
 * from a small footprint, so its non-reclaimable memory falls by most of its value between two
 * samples. Trends fitted across such a fall measure nothing real; the engine analyses the runs
 * between falls instead, and reports the falls as evidence (a leak that keeps hitting its limit
 * shows up as a saw of long rises and sudden falls).
 *
 * A fall counts when the value drops below `keepShare` of the previous sample and by at least
 * `minDropBytes`. Edge cases: fewer than 2 values -> no restarts.
 */
export interface Restart {
  index: number;
  beforeBytes: number;
  afterBytes: number;
}

export function findRestarts(values: readonly number[], minDropBytes: number, keepShare = 0.5): Restart[] {
  const out: Restart[] = [];
  for (let i = 1; i < values.length; i++) {
    const before = values[i - 1]!;
    const after = values[i]!;
    if (after < keepShare * before && before - after >= minDropBytes) out.push({ index: i, beforeBytes: before, afterBytes: after });
  }
  return out;
}

/** The run to analyse: the last one when it is long enough, else the longest. [start, end) indices. */
export function runToAnalyse(n: number, restarts: readonly Restart[], minRunSamples: number): [number, number] {
  if (restarts.length === 0) return [0, n];
  const bounds = [0, ...restarts.map((r) => r.index), n];
  const runs: [number, number][] = [];
  for (let i = 0; i + 1 < bounds.length; i++) runs.push([bounds[i]!, bounds[i + 1]!]);
  const last = runs[runs.length - 1]!;
  if (last[1] - last[0] >= minRunSamples) return last;
  return runs.reduce((a, b) => (b[1] - b[0] > a[1] - a[0] ? b : a));
}
