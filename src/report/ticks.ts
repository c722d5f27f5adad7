// Axis ticks a person reads at a glance: sizes at 1-2-5 steps of one binary unit (0, 20, 40, 60 MiB;
// 0, 0.5, 1, 1.5 GiB) and times at round seconds, minutes, hours or days since the first sample
// (0, 1m, 2m; 0, 30m, 1h, 1h30m).
//
// Edge cases: a maximum of 0, negative or not finite gives the axis 0 to 1 KiB (nothing to scale);
// a duration of 0 or less gives the one tick 0.
import { GiB, KiB, MiB } from '../model/units.ts';

export interface Ticks {
  /** Tick positions, from 0 up, in bytes or seconds. */
  values: number[];
  labels: string[];
  /** Where the axis ends: the last tick for sizes (at or above the maximum), the duration for times. */
  end: number;
}

const TiB = 1024 * GiB;
const BYTE_UNITS: readonly [string, number][] = [
  ['B', 1],
  ['KiB', KiB],
  ['MiB', MiB],
  ['GiB', GiB],
  ['TiB', TiB],
];

/** Ticks from 0 to at least `maxBytes`, at most `maxIntervals` intervals of 1, 2 or 5 x 10^k of one unit. */
export function byteTicks(maxBytes: number, maxIntervals = 5): Ticks {
  const max = Number.isFinite(maxBytes) && maxBytes > 0 ? maxBytes : KiB;
  let unit = 0;
  while (unit + 1 < BYTE_UNITS.length && max >= BYTE_UNITS[unit + 1]![1]) unit++;
  let ticks = byteTicksIn(max, unit, maxIntervals);
  // 1000 MiB and more reads better as GiB: 0, 0.5, 1 GiB rather than 0, 500, 1000, 1500 MiB.
  if (ticks.end >= 1024 * BYTE_UNITS[unit]![1] && unit + 1 < BYTE_UNITS.length) ticks = byteTicksIn(max, unit + 1, maxIntervals);
  return ticks;
}

function byteTicksIn(max: number, unit: number, maxIntervals: number): Ticks {
  const [name, size] = BYTE_UNITS[unit]!;
  const inUnit = max / size;
  // Whole bytes only: no "0.5 B".
  const step = Math.max(niceStep(inUnit, Math.max(1, maxIntervals)), unit === 0 ? 1 : 0);
  const intervals = Math.max(1, Math.ceil(inUnit / step - 1e-9));
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const values: number[] = [];
  const labels: string[] = [];
  for (let i = 0; i <= intervals; i++) {
    const v = Number((i * step).toFixed(decimals));
    values.push(v * size);
    labels.push(i === 0 ? '0' : `${v.toFixed(decimals)} ${name}`);
  }
  return { values, labels, end: values[values.length - 1]! };
}

/** The smallest of 1, 2, 5 x 10^k that covers `range` in at most `maxIntervals` steps. */
function niceStep(range: number, maxIntervals: number): number {
  const raw = range / maxIntervals;
  let magnitude = 10 ** Math.floor(Math.log10(raw));
  for (;;) {
    for (const m of [1, 2, 5]) {
      const step = m * magnitude;
      if (Math.ceil(range / step - 1e-9) <= maxIntervals) return step;
    }
    magnitude *= 10;
  }
}

/** Round steps of time, seconds: a step is chosen from these, then whole weeks at 1-2-5 beyond. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

/** Ticks at round times from 0 to `durationSeconds`, at most `maxIntervals` + 1 of them. */
export function timeTicks(durationSeconds: number, maxIntervals = 6): Ticks {
  if (!(durationSeconds > 0) || !Number.isFinite(durationSeconds)) return { values: [0], labels: ['0'], end: 0 };
  const per = Math.max(1, maxIntervals);
  let step = TIME_STEPS.find((s) => Math.floor(durationSeconds / s) <= per);
  if (step === undefined) step = 604800 * niceStep(durationSeconds / 604800, per);
  const values: number[] = [];
  for (let t = 0; t <= durationSeconds + 1e-9; t += step) values.push(t);
  return { values, labels: values.map(timeLabel), end: durationSeconds };
}

/** "0", "45s", "1m30s", "2m", "1h", "1h30m", "2d", "2d12h": exact, so round ticks read round. */
export function timeLabel(seconds: number): string {
  let s = Math.round(seconds);
  if (s === 0) return '0';
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(s / size);
    if (n > 0) parts.push(`${n}${unit}`);
    s -= n * size;
  }
  // Two units are enough for a tick: 1d2h, not 1d2h3m4s.
  return parts.slice(0, 2).join('');
}
