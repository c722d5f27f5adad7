/**
 * Seconds until `currentBytes` growing at `slopeBytesPerHour` reaches `limitBytes`.
 * null when there is no limit, no growth, or the rate is not positive. 0 when already there.
 */
export function timeToLimitSeconds(currentBytes: number, slopeBytesPerHour: number, limitBytes: number | null): number | null {
  if (limitBytes === null || !Number.isFinite(limitBytes)) return null;
  if (currentBytes >= limitBytes) return 0;
  if (!(slopeBytesPerHour > 0)) return null;
  return ((limitBytes - currentBytes) / slopeBytesPerHour) * 3600;
}
