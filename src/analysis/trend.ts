import type { Trend } from '../model/verdict.ts';
import { lowerEnvelope, type EnvelopeOptions, type Point } from './envelope.ts';
import { ols, rSquaredOf } from './stats/ols.ts';
import { robustSd } from './stats/quantile.ts';
import { theilSen } from './stats/theil-sen.ts';

const SECONDS_PER_HOUR = 3600;

/**
 * The trend of one component: Theil-Sen on the lower envelope (robust to GC sawtooth and bursts),
 * with least squares on the raw points alongside for comparison.
 *
 * `noiseBytes` is the robust spread of the envelope around the fitted line: growth smaller than a
 * few times this is indistinguishable from wobble.
 */
export interface TrendFit extends Trend {
  /** slope x window duration, bytes: how much the floor rose over the window. */
  growthBytes: number;
  noiseBytes: number;
  durationSeconds: number;
  envelope: Point[];
  interceptBytes: number;
  startT: number;
}

export function fitTrend(points: readonly Point[], envelopeOptions?: EnvelopeOptions): TrendFit {
  const env = lowerEnvelope(points, envelopeOptions);
  const ex = env.map((p) => p.t);
  const ey = env.map((p) => p.v);
  const ts = theilSen(ex, ey);
  const raw = ols(
    points.map((p) => p.t),
    points.map((p) => p.v),
  );
  const residuals = env.map((p) => p.v - (ts.intercept + ts.slope * p.t));
  const vs = points.map((p) => p.v);
  const startT = points.length > 0 ? points[0]!.t : 0;
  const durationSeconds = points.length > 1 ? points[points.length - 1]!.t - startT : 0;
  return {
    slopeBytesPerHour: ts.slope * SECONDS_PER_HOUR,
    slopeCiBytesPerHour: [ts.ciLow * SECONDS_PER_HOUR, ts.ciHigh * SECONDS_PER_HOUR],
    olsSlopeBytesPerHour: raw.slope * SECONDS_PER_HOUR,
    r2: rSquaredOf(ex, ey, ts.slope, ts.intercept),
    firstBytes: vs[0] ?? 0,
    lastBytes: vs[vs.length - 1] ?? 0,
    minBytes: vs.length ? vs.reduce((a, b) => (b < a ? b : a)) : 0,
    maxBytes: vs.length ? vs.reduce((a, b) => (b > a ? b : a)) : 0,
    points: points.length,
    growthBytes: ts.slope * durationSeconds,
    noiseBytes: robustSd(residuals),
    durationSeconds,
    envelope: env,
    interceptBytes: ts.intercept,
    startT,
  };
}

/** A trend without the working data, for results. */
export function publicTrend(t: TrendFit): Trend {
  return {
    slopeBytesPerHour: t.slopeBytesPerHour,
    slopeCiBytesPerHour: t.slopeCiBytesPerHour,
    olsSlopeBytesPerHour: t.olsSlopeBytesPerHour,
    r2: t.r2,
    firstBytes: t.firstBytes,
    lastBytes: t.lastBytes,
    minBytes: t.minBytes,
    maxBytes: t.maxBytes,
    points: t.points,
  };
}
