// Ordinary least squares y = intercept + slope * x.
//
// Edge cases: 0 points -> slope 0, r2 0; 1 point or all x equal -> slope 0 (no information about
// a trend), intercept = mean y; a perfectly flat y gives r2 = 1 only when the fit is exact, which we
// report as r2 = 0 (a flat line explains no variance because there is none: "no trend").
export interface LinearFit {
  slope: number;
  intercept: number;
  r2: number;
  /** Standard error of the slope; Infinity with fewer than 3 points. */
  slopeStdErr: number;
  n: number;
}

export function ols(xs: readonly number[], ys: readonly number[]): LinearFit {
  const n = Math.min(xs.length, ys.length);
  if (n === 0) return { slope: 0, intercept: 0, r2: 0, slopeStdErr: Infinity, n };
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return { slope: 0, intercept: my, r2: 0, slopeStdErr: Infinity, n };
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const ssRes = Math.max(0, syy - slope * sxy);
  const r2 = syy === 0 ? 0 : Math.min(1, Math.max(0, 1 - ssRes / syy));
  const slopeStdErr = n > 2 ? Math.sqrt(ssRes / (n - 2) / sxx) : Infinity;
  return { slope, intercept, r2, slopeStdErr, n };
}

/** r2 of a given line (not necessarily the OLS one) against the points. */
export function rSquaredOf(xs: readonly number[], ys: readonly number[], slope: number, intercept: number): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  let my = 0;
  for (let i = 0; i < n; i++) my += ys[i]!;
  my /= n;
  let ssTot = 0;
  let ssRes = 0;
  for (let i = 0; i < n; i++) {
    const r = ys[i]! - (intercept + slope * xs[i]!);
    ssRes += r * r;
    ssTot += (ys[i]! - my) ** 2;
  }
  if (ssTot === 0) return 0;
  return Math.min(1, Math.max(0, 1 - ssRes / ssTot));
}
