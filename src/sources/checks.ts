// What a memory figure read from input may be, and how the figures of one sample must relate.
// Every parser of recorded data checks its numbers here, so each format refuses the same
// impossible values (docs/formats.md, "Validation") and the engine never gets a confident verdict
// from them. Each check returns the reason (without the input's name) or null; the parser names
// the file, line and field.
import type { MemorySample } from '../model/sample.ts';

/**
 * The largest memory size accepted, 4 PiB (2^52 bytes). The largest machines have tens of TiB;
 * anything this big is a unit mistake or garbage (1e300, an overflowed counter), and every value
 * below it is still an exact integer in a JS number (which stops at 2^53).
 */
export const MAX_BYTES = 2 ** 52;

/** Counters (faults, events, microseconds of stall) only need to stay exact integers. */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/** The problem with a memory size, or null: a whole, non-negative, finite number up to MAX_BYTES. */
export function byteCountProblem(v: unknown): string | null {
  if (typeof v !== 'number') return `must be a byte count (a number), got ${describe(v)}`;
  if (!Number.isFinite(v)) return `must be a finite byte count, got ${v}`;
  if (v < 0) return `must not be negative, got ${v}`;
  if (!Number.isInteger(v)) return `must be a whole number of bytes, got ${v}`;
  if (v > MAX_BYTES) return `${v} bytes is not a plausible memory size (above 4 PiB): a wrong unit or a corrupt value`;
  return null;
}

/** The problem with a cumulative counter, or null: a whole, non-negative number that is still exact. */
export function counterProblem(v: unknown): string | null {
  if (typeof v !== 'number') return `must be a count (a number), got ${describe(v)}`;
  if (!Number.isFinite(v)) return `must be a finite count, got ${v}`;
  if (v < 0) return `must not be negative, got ${v}`;
  if (!Number.isInteger(v)) return `must be a whole number, got ${v}`;
  if (v > MAX_COUNT) return `${v} is beyond 2^53 - 1 and cannot be represented exactly`;
  return null;
}

/**
 * How far a part of usage may exceed usage, and usage the limit, before the sample is impossible
 * rather than a rounding of the kernel's bookkeeping: 4 MiB or 3 %, whichever is larger.
 *   - memory.stat and usage are separate files read one after the other, and cgroup v1 charges
 *     usage_in_bytes in per-CPU batches (32-64 pages a CPU), so a part can exceed usage by a few
 *     pages times the CPUs (a real capture here: 17 pages);
 *   - usage may pass the limit by what the kernel charges without asking (socket buffers,
 *     __GFP_NOFAIL allocations, a charge batch): one page in the captures here, a few MiB on big
 *     machines, and for a while after a limit was lowered below usage.
 * A value twice usage, or usage 1 GiB over a 64 MiB limit, is garbage under any of these.
 */
export function slackBytes(reference: number): number {
  return Math.max(4 * 2 ** 20, reference * 0.03);
}

/** Which sample field each check names, in the input's own words ("stat.total_rss"). */
export type FieldNames = Partial<Record<keyof MemorySample, string>>;

export interface SampleProblem {
  /** The input's name for the offending field. */
  field: string;
  reason: string;
}

/**
 * Checks how the sizes of one sample relate: no part of usage above usage, shmem not above the
 * page cache that contains it, the file LRU not above the page cache, usage not above the limit,
 * each beyond slackBytes. The sizes themselves are assumed valid (byteCountProblem).
 */
export function sampleProblem(s: MemorySample, names: FieldNames = {}): SampleProblem | null {
  const name = (k: keyof MemorySample) => names[k] ?? k;
  const above = (part: number | undefined, whole: number | undefined, partKey: keyof MemorySample, wholeKey: keyof MemorySample, what: string): SampleProblem | null => {
    if (part === undefined || whole === undefined) return null;
    if (part <= whole + slackBytes(whole)) return null;
    return { field: name(partKey), reason: `${part} bytes is above ${name(wholeKey)} (${whole} bytes) by more than the kernel's rounding (4 MiB or 3 %): ${what}` };
  };
  for (const k of ['anonBytes', 'fileBytes', 'rssBytes', 'workingSetBytes'] as const) {
    const p = above(s[k], s.usageBytes, k, 'usageBytes', 'a part of usage cannot be larger than usage');
    if (p) return p;
  }
  const lru = s.activeFileBytes !== undefined && s.inactiveFileBytes !== undefined ? s.activeFileBytes + s.inactiveFileBytes : undefined;
  return (
    above(s.shmemBytes, s.fileBytes, 'shmemBytes', 'fileBytes', 'shared memory is part of the page cache') ??
    (lru !== undefined && s.fileBytes !== undefined && lru > s.fileBytes + slackBytes(s.fileBytes)
      ? { field: `${name('activeFileBytes')} + ${name('inactiveFileBytes')}`, reason: `${lru} bytes is above ${name('fileBytes')} (${s.fileBytes} bytes): the file LRU is part of the page cache` }
      : null) ??
    (s.limitBytes !== undefined && s.usageBytes > s.limitBytes + slackBytes(s.limitBytes)
      ? { field: name('usageBytes'), reason: `${s.usageBytes} bytes is above ${name('limitBytes')} (${s.limitBytes} bytes) by more than the kernel can overshoot a limit (4 MiB or 3 %)` }
      : null)
  );
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
