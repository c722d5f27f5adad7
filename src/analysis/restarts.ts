// Restarts inside a window. A restarted container (an OOM kill, a crash, a deploy) starts again
// from a small footprint; trends fitted across the restart measure nothing real, so the engine
// analyses the runs between restarts and reports them as evidence (a leak that keeps hitting its
// limit shows up as a saw of long rises and sudden falls).
//
// A sudden fall of memory alone is NOT a restart: programs free memory too (a batch worker
// dropping its working data, a runtime returning its heap to the kernel), and splitting a window at
// every such fall would analyse one ramp of the saw and call it growth. So a fall counts only with
// evidence of a restart:
// - the source says so: the sample's `instance` changed (then it counts even without a fall);
//   when the orchestrator also reports that incarnation OOM-killed (`oomKilled`: Kubernetes'
//   lastState.terminated.reason), it is an OOM kill whatever the last sample before it showed (a
//   kubelet samples every 10-15 s, so the last sample is often well below the limit);
// - or it is an OOM kill: usage before the fall was at the limit (>= `atLimitShare` of it).
// Other falls are "releases": reported, and left to the lower envelope, which follows the floor
// the program comes back to.
//
// A fall is a drop below `keepShare` of the previous value by at least `minDropBytes`.
// Edge cases: fewer than 2 values -> nothing.
export interface Fall {
  index: number;
  beforeBytes: number;
  afterBytes: number;
}

export interface Restart extends Fall {
  cause: 'newInstance' | 'atLimit';
}

export interface RestartInput {
  /** The value whose falls are looked at (non-reclaimable memory, or the closest known). */
  value: number;
  usageBytes: number;
  limitBytes: number | null;
  instance?: string | undefined;
}

export interface RestartScan {
  restarts: Restart[];
  /** Sudden falls with no sign of a restart: memory the program released. */
  releases: Fall[];
}

export function findRestarts(rows: readonly RestartInput[], minDropBytes: number, keepShare = 0.5, atLimitShare = 0.9, oomKilled: ReadonlySet<string> = new Set()): RestartScan {
  const restarts: Restart[] = [];
  const releases: Fall[] = [];
  for (let i = 1; i < rows.length; i++) {
    const prev = rows[i - 1]!;
    const cur = rows[i]!;
    const fall: Fall = { index: i, beforeBytes: prev.value, afterBytes: cur.value };
    const fell = cur.value < keepShare * prev.value && prev.value - cur.value >= minDropBytes;
    if (prev.instance !== undefined && cur.instance !== undefined && prev.instance !== cur.instance) {
      restarts.push({ ...fall, cause: oomKilled.has(prev.instance) ? 'atLimit' : 'newInstance' });
    } else if (fell && prev.limitBytes !== null && prev.usageBytes >= atLimitShare * prev.limitBytes) {
      restarts.push({ ...fall, cause: 'atLimit' });
    } else if (fell) {
      releases.push(fall);
    }
  }
  return { restarts, releases };
}

/** The run to analyse: the last one when it is long enough, else the longest. [start, end) indices. */
export function runToAnalyse(n: number, restarts: readonly Fall[], minRunSamples: number): [number, number] {
  if (restarts.length === 0) return [0, n];
  const bounds = [0, ...restarts.map((r) => r.index), n];
  const runs: [number, number][] = [];
  for (let i = 0; i + 1 < bounds.length; i++) runs.push([bounds[i]!, bounds[i + 1]!]);
  const last = runs[runs.length - 1]!;
  if (last[1] - last[0] >= minRunSamples) return last;
  return runs.reduce((a, b) => (b[1] - b[0] > a[1] - a[0] ? b : a));
}

/** Fewest points a run needs for a slope with a finite 95 % interval (Theil-Sen with Sen's interval: 6). */
export const MIN_TREND_POINTS = 6;

/**
 * The runs of an OOM loop: every run that began at an OOM kill, [start, end), when there are at
 * least two (else none). A loop faster than the sampling leaves each run too short for a trend of
 * its own (a kubelet's cAdvisor refreshes every 10-15 s; a leak can reach its limit within a
 * minute, four or five samples); each of these runs is the same climb from a fresh start, so
 * pooled on the time since their start they show it.
 */
export function oomLoopRuns(n: number, restarts: readonly Restart[]): [number, number][] {
  const runs: [number, number][] = [];
  restarts.forEach((r, i) => {
    if (r.cause === 'atLimit') runs.push([r.index, restarts[i + 1]?.index ?? n]);
  });
  return runs.length >= 2 ? runs : [];
}
