// Timestamps of recorded samples: plausible instants, and an order a clock can produce.
//
// A time before 2000-01-01 or more than a day after "now" is not the time of a sample: a counter,
// a zeroed field, a year-9999 placeholder, or a number in another unit than the format's (epoch
// nanoseconds read as milliseconds lands in the year 50 million). The message names the unit the
// number would be plausible in. Within one series a clock may step back a little (NTP, a VM
// resumed), never by minutes; a time far from both neighbours is one bad line. Gaps (the recorder
// stopped for an hour) are NOT errors here: they are real, and the engine names them.

/** 2000-01-01T00:00:00Z: no container recording is older. */
export const EARLIEST_MS = Date.UTC(2000, 0, 1);
/** How far past "now" a sample may be: clocks of the recording machine and this one differ. */
export const FUTURE_SLACK_MS = 24 * 3600 * 1000;
/** How far a clock may step backwards between two samples (NTP slews and steps, VM resumes). */
export const BACKWARD_TOLERANCE_MS = 5_000;

export type EpochUnit = 's' | 'ms' | 'µs' | 'ns';
const UNIT_MS: Record<EpochUnit, number> = { s: 1000, ms: 1, µs: 1e-3, ns: 1e-6 };
const UNIT_NAME: Record<EpochUnit, string> = { s: 'seconds', ms: 'milliseconds', µs: 'microseconds', ns: 'nanoseconds' };

const plausible = (ms: number, nowMs: number) => Number.isFinite(ms) && ms >= EARLIEST_MS && ms <= nowMs + FUTURE_SLACK_MS;

/**
 * The problem with an instant, or null. `raw` is the number as written and the unit the format
 * read it in, so a number in another unit is named ("looks like nanoseconds since the epoch").
 */
export function timestampProblem(ms: number, nowMs: number, raw?: { value: number; unit: EpochUnit }): string | null {
  if (plausible(ms, nowMs)) return null;
  const when = Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms since the epoch`;
  const range = `a sample time must be after 2000-01-01 and at most a day after now (${new Date(nowMs).toISOString()})`;
  if (raw) {
    const other = (Object.keys(UNIT_MS) as EpochUnit[]).find((u) => u !== raw.unit && plausible(raw.value * UNIT_MS[u], nowMs));
    if (other) return `${raw.value} read as ${UNIT_NAME[raw.unit]} since the epoch is ${when}; it looks like ${UNIT_NAME[other]} since the epoch`;
    return `${raw.value} read as ${UNIT_NAME[raw.unit]} since the epoch is ${when}: ${range}`;
  }
  return `${when}: ${range}`;
}

/**
 * Checks the order of one series' timestamps as they arrive (one per line): a step back of more
 * than BACKWARD_TOLERANCE_MS is an error, blamed on the line that is out of place. With times
 * 100, 101, 5000, 103 that is the line of 5000 (far from both neighbours: 103 follows 101); with
 * 100, 101, 5, 103 the line of 5 (it goes back). Keeps two timestamps: streams of any length.
 */
export class TimestampOrder {
  #prev: { ms: number; line: number } | undefined;
  #beforePrev: { ms: number; line: number } | undefined;

  /** The problem with this timestamp's place, naming the line to blame, or null. */
  push(ms: number, line: number): { line: number; reason: string } | null {
    const prev = this.#prev;
    if (prev !== undefined && ms < prev.ms - BACKWARD_TOLERANCE_MS) {
      const before = this.#beforePrev;
      if (before !== undefined && ms >= before.ms - BACKWARD_TOLERANCE_MS) {
        return { line: prev.line, reason: `time ${iso(prev.ms)} is far from both neighbours (line ${before.line}: ${iso(before.ms)}, line ${line}: ${iso(ms)})` };
      }
      return { line, reason: `time ${iso(ms)} goes back ${seconds(prev.ms - ms)} from line ${prev.line} (${iso(prev.ms)}); a clock may step back at most ${BACKWARD_TOLERANCE_MS / 1000} s` };
    }
    this.#beforePrev = prev;
    this.#prev = { ms, line };
    return null;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
function seconds(ms: number): string {
  const s = ms / 1000;
  return s < 120 ? `${s.toFixed(1)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
}
