// Parsers for option values shared by commands; each names the option in its error.
import { UsageError } from '../errors.ts';
import { bytesFromSize, secondsFromDuration } from '../model/units.ts';
import { isVerdict, type Verdict } from '../model/verdict.ts';

export function sizeOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const b = bytesFromSize(value);
  if (b === null || b <= 0) throw new UsageError(`--${name}: expected a size such as 64m, 512Mi or 1g, got ${JSON.stringify(value)}`);
  return b;
}

export function durationOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const s = secondsFromDuration(value);
  if (s === null) throw new UsageError(`--${name}: expected a duration such as 30s, 5m or 1h30m, got ${JSON.stringify(value)}`);
  return s;
}

export function percentOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1000) throw new UsageError(`--${name}: expected a percentage between 0 and 1000, got ${JSON.stringify(value)}`);
  return n;
}

/** GOGC as Go reads it: a percentage (1-10000). "off" disables the collector: nothing to compare. */
export function gogcOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 10_000) throw new UsageError(`--gogc: expected GOGC as a percentage such as 100 or 200, got ${JSON.stringify(value)}`);
  return n;
}

export function verdictListOption(name: string, value: string | undefined): Verdict[] {
  if (value === undefined) return [];
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const v of list) {
    if (!isVerdict(v)) throw new UsageError(`--${name}: ${JSON.stringify(v)} is not a verdict; expected any of Stable, Plateau, CacheGrowth, Leak, InsufficientData`);
  }
  return list as Verdict[];
}

const FORMATS = ['text', 'json', 'yaml'] as const;
const ANALYZE_FORMATS = [...FORMATS, 'html'] as const;
export type OutputFormat = (typeof FORMATS)[number];
/** `analyze` also writes a one-file HTML report. */
export type AnalyzeOutputFormat = (typeof ANALYZE_FORMATS)[number];

function formatOption<T extends string>(value: string | undefined, allowed: readonly T[]): T {
  const v = value ?? 'text';
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`-o/--output: expected ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

export const outputOption = (value: string | undefined): OutputFormat => formatOption(value, FORMATS);
export const analyzeOutputOption = (value: string | undefined): AnalyzeOutputFormat => formatOption(value, ANALYZE_FORMATS);
