import { UsageError } from '../errors.ts';
import { bytesFromSize, secondsFromDuration } from '../model/units.ts';
import { isVerdict, type Verdict } from '../model/verdict.ts';

/** Parsers for option values shared by commands; each names the option in its error. */
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

export function verdictListOption(name: string, value: string | undefined): Verdict[] {
  if (value === undefined) return [];
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const v of list) {
    if (!isVerdict(v)) throw new UsageError(`--${name}: ${JSON.stringify(v)} is not a verdict; expected any of Stable, Plateau, CacheGrowth, Leak, InsufficientData`);
  }
  return list as Verdict[];
}

export type OutputFormat = 'text' | 'json' | 'yaml';
export function outputOption(value: string | undefined): OutputFormat {
  const v = value ?? 'text';
  if (v !== 'text' && v !== 'json' && v !== 'yaml') throw new UsageError(`-o/--output: expected text, json or yaml, got ${JSON.stringify(v)}`);
  return v;
}

/** `analyze` also writes a one-file HTML report. */
export type AnalyzeOutputFormat = OutputFormat | 'html';
export function analyzeOutputOption(value: string | undefined): AnalyzeOutputFormat {
  if (value === 'html') return 'html';
  try {
    return outputOption(value);
  } catch {
    throw new UsageError(`-o/--output: expected text, json, yaml or html, got ${JSON.stringify(value)}`);
  }
}
