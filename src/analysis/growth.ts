// Whether one component grows, and whether it still does at the end of the window.
//
// - growing: the floor rises now (over the whole window, or after a warm-up), significantly
//   (95 % CI of the slope above 0), by more than the noise, and by enough to matter
//   (`floorBytes` over the window).
// - plateaued: it rose earlier in the window and stopped: the warm-up / filled-cache / limit shape.
// - shrinking / flat: otherwise.
import type { EnvelopeOptions, Point } from './envelope.ts';
import { findChangepoint, flatTail } from './plateau.ts';
import { robustSd } from './stats/quantile.ts';
import { theilSen } from './stats/theil-sen.ts';
import { fitTrend, type TrendFit } from './trend.ts';

export type GrowthState = 'growing' | 'plateaued' | 'flat' | 'shrinking';

export interface ComponentGrowth {
  state: GrowthState;
  fit: TrendFit;
  /** Slope of the current regime (after a changepoint when there is one), bytes per hour. */
  currentSlopeBytesPerHour: number;
  currentCiLowBytesPerHour: number;
  /** Start of the current regime, seconds on the series' clock; = window start without a changepoint. */
  currentSinceT: number;
  /** Growth before the changepoint, when the state is plateaued or growth changed pace. */
  earlyGrowthBytes: number | null;
}

export interface GrowthThresholds {
  /** Growth over the window below this is not worth calling growth, bytes. */
  floorBytes: number;
  /** A rise that then stopped must be at least this share of the component's typical level to be a plateau. */
  plateauShare?: number;
  /** Growth must exceed this many times the envelope's noise. */
  noiseMultiple?: number;
}

/** A split must explain this share of the single line's squared error to be believed. */
const MIN_CHANGEPOINT_IMPROVEMENT = 0.5;
/** The late segment must keep growing at this fraction of the early pace to count as still growing. */
const STOPPED_PACE_RATIO = 0.25;

/** A flat tail must span at least this share of the window to say that growth stopped. */
const STOPPED_TAIL_SHARE = 0.25;
/** ...and be this many times longer than any pause the growth took before it. */
const STOPPED_TAIL_PAUSES = 2;

/**
 * The state of one component, then one more look at a "growing" one: growth that has stopped
 * (the newest stretch flat for a quarter of the window or more, and longer than twice any pause
 * the growth took while it rose) is a plateau whatever shape the rise had (a ramp, a jump then
 * steps, a slow approach to a cap): a single changepoint fits only the simplest of them.
 */
export function analyzeGrowth(points: readonly Point[], thresholds: GrowthThresholds, envelope?: EnvelopeOptions): ComponentGrowth {
  const g = growthState(points, thresholds, envelope);
  if (g.state !== 'growing' || g.fit.durationSeconds <= 0) return g;
  const env = g.fit.envelope;
  const tolerance = thresholds.floorBytes / 2 + g.fit.noiseBytes;
  const tail = flatTail(env, tolerance);
  if (tail.index === 0 || tail.spanSeconds < STOPPED_TAIL_SHARE * g.fit.durationSeconds || tail.spanSeconds < STOPPED_TAIL_PAUSES * tail.longestFlatBeforeSeconds) return g;
  const rose = env[tail.index]!.v - env[0]!.v;
  if (rose < thresholds.floorBytes) return g;
  const since = env[tail.index]!.t;
  const lateSlope = tail.spanSeconds > 0 ? (env[env.length - 1]!.v - env[tail.index]!.v) / tail.spanSeconds : 0;
  return { ...g, state: 'plateaued', currentSlopeBytesPerHour: lateSlope * 3600, currentCiLowBytesPerHour: Math.min(0, lateSlope * 3600), currentSinceT: since, earlyGrowthBytes: rose };
}

/** `envelope`: how the lower envelope buckets the points (envelope.ts); the default suits one run sampled evenly. */
function growthState(points: readonly Point[], thresholds: GrowthThresholds, envelope?: EnvelopeOptions): ComponentGrowth {
  const fit = fitTrend(points, envelope);
  const k = thresholds.noiseMultiple ?? 3;
  const total = fit.durationSeconds;
  const [ciLowHour, ciHighHour] = fit.slopeCiBytesPerHour;
  const wholeGrowing = ciLowHour > 0 && fit.growthBytes >= thresholds.floorBytes && fit.growthBytes >= k * fit.noiseBytes;
  const wholeShrinking = ciHighHour < 0 && -fit.growthBytes >= thresholds.floorBytes && -fit.growthBytes >= k * fit.noiseBytes;

  const base: ComponentGrowth = {
    state: wholeGrowing ? 'growing' : wholeShrinking ? 'shrinking' : 'flat',
    fit,
    currentSlopeBytesPerHour: fit.slopeBytesPerHour,
    currentCiLowBytesPerHour: ciLowHour,
    currentSinceT: fit.startT,
    earlyGrowthBytes: null,
  };

  const cp = findChangepoint(fit.envelope);
  if (cp === null || cp.improvement < MIN_CHANGEPOINT_IMPROVEMENT || total <= 0) return base;
  // A near-perfect line also "improves" a lot in relative terms when split; only a real change of
  // pace (one slope at least twice the other, or opposite signs) is a second regime.
  const fast = Math.max(Math.abs(cp.earlySlope), Math.abs(cp.lateSlope));
  if (Math.abs(cp.earlySlope - cp.lateSlope) < 0.5 * fast) return base;
  const early = fit.envelope.slice(0, cp.index);
  const late = fit.envelope.slice(cp.index);
  const lateSpan = late[late.length - 1]!.t - late[0]!.t;
  const earlySpan = early[early.length - 1]!.t - early[0]!.t;
  if (lateSpan < 0.15 * total || earlySpan <= 0) return base;
  const e = theilSen(
    early.map((p) => p.t),
    early.map((p) => p.v),
  );
  const l = theilSen(
    late.map((p) => p.t),
    late.map((p) => p.v),
  );
  const earlyGrowth = e.slope * earlySpan;
  // A rise before the split: a ramp (warm-up) or a step (a cache loaded at once).
  const mean = (ps: readonly Point[]) => ps.reduce((a, p) => a + p.v, 0) / ps.length;
  const stepUp = mean(late) - mean(early);
  const level = (fit.minBytes + fit.maxBytes) / 2;
  const substantial = Math.max(thresholds.floorBytes, (thresholds.plateauShare ?? 0.1) * level);
  // Noise around the two-segment fit: the one-line residuals of a ramp-then-flat shape are the
  // shape itself, not noise.
  const residuals = [...early.map((p) => p.v - (e.intercept + e.slope * p.t)), ...late.map((p) => p.v - (l.intercept + l.slope * p.t))];
  const segNoise = robustSd(residuals);
  const earlyRose = (e.ciLow > 0 && earlyGrowth >= substantial) || stepUp >= Math.max(substantial, k * segNoise);
  // Judge the late segment by where it would take the component over a whole window.
  const lateProjected = l.slope * total;
  const lateGrowing = l.ciLow > 0 && lateProjected >= thresholds.floorBytes && l.slope * lateSpan >= k * segNoise * (lateSpan / total);
  // From here on the current regime is the late segment.
  const current = { ...base, currentSlopeBytesPerHour: l.slope * 3600, currentCiLowBytesPerHour: l.ciLow * 3600, currentSinceT: cp.t };
  if (earlyRose && !lateGrowing && l.slope <= STOPPED_PACE_RATIO * Math.max(e.slope, stepUp / Math.max(earlySpan, 1))) {
    return { ...current, state: 'plateaued', earlyGrowthBytes: Math.max(earlyGrowth, stepUp) };
  }
  if (lateGrowing) return { ...current, state: 'growing', earlyGrowthBytes: earlyGrowth };
  // Two regimes and the current one does not grow: a small settling at the start is not growth.
  return { ...current, state: wholeShrinking ? 'shrinking' : 'flat' };
}
