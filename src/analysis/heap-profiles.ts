// The Go heap's trend from heap profiles alone (no runtime.MemStats): each profile's in-use bytes
// (live heap at the last GC, by the profile's own time_nanos) placed on the samples' clock. Two
// profiles are enough (one at the start, one now: what users usually have), as are fifteen.
//
// A profile is placed when its time falls inside the samples' window, give or take PLACE_SLACK_MS
// (a profile written just before the first sample or after the last belongs to the same run).
// Profiles outside it come from another run or another clock: they still name the growing
// functions (heap-diff.ts) but are not compared with the cgroup's memory, and the evidence says so.
//
// Growth: Theil-Sen over the placed points (the two-point slope for two profiles). In-use bytes
// are live data after a GC, not a sawtooth, so the points are fitted as they are. Edge cases:
// fewer than 2 placed profiles, or placed profiles spanning less than MIN_SPAN_SHARE of the window,
// give no trend (null).
import type { HeapProfile } from '../model/sample.ts';
import type { Point } from './envelope.ts';
import type { ComponentGrowth } from './growth.ts';
import { flatTail } from './plateau.ts';
import { theilSen } from './stats/theil-sen.ts';
import { fitTrend } from './trend.ts';

export interface PlacedProfiles {
  /** In-use bytes at each placed profile, on the samples' clock (seconds). */
  points: Point[];
  placed: number;
  /** Profiles whose time is outside the window. */
  outside: number;
  firstInuseBytes: number;
  lastInuseBytes: number;
}

const PLACE_SLACK_MS = 5 * 60_000;
const MIN_SPAN_SHARE = 0.2;

/**
 * `toSeconds` maps an epoch time to the samples' (gap-closed) clock; profiles are sorted by time.
 */
export function placeProfiles(profiles: readonly HeapProfile[], windowStartMs: number, windowEndMs: number, toSeconds: (ms: number) => number): PlacedProfiles {
  const points: Point[] = [];
  let outside = 0;
  for (const p of profiles) {
    if (p.timestampMs < windowStartMs - PLACE_SLACK_MS || p.timestampMs > windowEndMs + PLACE_SLACK_MS) outside++;
    else points.push({ t: toSeconds(Math.min(Math.max(p.timestampMs, windowStartMs), windowEndMs)), v: p.totalInuseBytes });
  }
  return { points, placed: points.length, outside, firstInuseBytes: points[0]?.v ?? 0, lastInuseBytes: points[points.length - 1]?.v ?? 0 };
}

/** The heap's growth from placed profiles, in the shape the classifier reads; null without a usable span. */
export function profileHeapGrowth(placed: PlacedProfiles, windowSeconds: number, floorBytes: number): ComponentGrowth | null {
  const pts = placed.points;
  if (pts.length < 2) return null;
  const span = pts[pts.length - 1]!.t - pts[0]!.t;
  if (span <= 0 || span < MIN_SPAN_SHARE * windowSeconds) return null;
  const fit = fitTrend(pts, { pointsPerBucket: 1, minBuckets: pts.length, maxBuckets: pts.length });
  const ts = theilSen(
    pts.map((p) => p.t),
    pts.map((p) => p.v),
  );
  const growthOverWindow = ts.slope * windowSeconds;
  // Two points carry no interval: their slope is taken as it is. With more, the interval must
  // clear zero as for any component.
  const significant = pts.length === 2 || ts.ciLow > 0;
  const shrinking = pts.length === 2 ? growthOverWindow <= -floorBytes : ts.ciHigh < 0 && -growthOverWindow >= floorBytes;
  let state: ComponentGrowth['state'] = significant && growthOverWindow >= floorBytes ? 'growing' : shrinking ? 'shrinking' : 'flat';
  // A heap that filled (a bounded cache) and holds: as for any component (growth.ts), a flat tail
  // longer than a quarter of the window and than twice any pause while it rose.
  let earlyGrowthBytes: number | null = null;
  if (state === 'growing' && pts.length >= 3) {
    const tail = flatTail(pts, floorBytes / 2);
    const rose = pts[tail.index]!.v - pts[0]!.v;
    if (tail.index > 0 && tail.spanSeconds >= 0.25 * windowSeconds && tail.spanSeconds >= 2 * tail.longestFlatBeforeSeconds && rose >= floorBytes) {
      state = 'plateaued';
      earlyGrowthBytes = rose;
    }
  }
  return {
    state,
    fit,
    currentSlopeBytesPerHour: ts.slope * 3600,
    currentCiLowBytesPerHour: ts.ciLow * 3600,
    currentSinceT: fit.startT,
    earlyGrowthBytes,
  };
}
