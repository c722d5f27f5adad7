// Parsers for option values shared by commands; each names the option in its error. Empty and
// repeated values never get here (args.ts refuses them for every command).
import { UsageError } from '../errors.ts';
import { bytesFromDockerSize, bytesFromKubernetesQuantity, formatBytes, secondsFromDuration } from '../model/units.ts';
import { VERDICTS, type Verdict } from '../model/verdict.ts';

/**
 * A size as Docker reads it (`run --limit`, the Docker and Compose commands): binary whatever the
 * case, `512m` = `512M` = `512Mi` = 512 MiB (docs/cli.md, "Sizes").
 */
export function dockerSizeOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const b = bytesFromDockerSize(value);
  if (b === null || b <= 0) throw new UsageError(`--${name}: expected a size as Docker reads it, such as 64m, 512m or 1g (binary: 512M is 512 MiB too), got ${JSON.stringify(value)}`);
  return b;
}

/**
 * `analyze --limit`: the data may come from Docker or from Kubernetes, so the size is read both
 * ways. Where the two agree (`512Mi`, bytes) or only one reads it (`512m`, `1g`, `512MiB`: Docker;
 * `1e9`: Kubernetes) that is the size; where they disagree (`512M`, `1G`, `64k`: 2^20 to Docker,
 * 10^6 to Kubernetes) it is refused, naming both. A Kubernetes `m` (thousandths) is never taken for
 * a memory size: `512m` is 512 MiB.
 */
export function limitOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const docker = bytesFromDockerSize(text);
  const kube = text.endsWith('m') ? null : bytesFromKubernetesQuantity(text);
  if (docker !== null && kube !== null && docker !== kube) {
    const reading = (b: number) => `${formatBytes(b)} (${Math.round(b)} bytes)`;
    const binary = `${text.replace(/[a-z]+$/i, '')}${text.match(/[kmgtpe]/i)![0].toUpperCase()}i`;
    throw new UsageError(`--${name}: ${JSON.stringify(value)} is ambiguous: ${reading(docker)} as Docker reads it, ${reading(kube)} as a Kubernetes quantity; write ${binary} for the first or ${Math.round(kube)} for the second`);
  }
  const bytes = docker ?? kube;
  if (bytes === null || bytes < 1) throw new UsageError(`--${name}: expected a size such as 512Mi, 512m or 1Gi, or bytes, got ${JSON.stringify(value)}`);
  return Math.round(bytes);
}

export function durationOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const s = secondsFromDuration(value);
  if (s === null) throw new UsageError(`--${name}: expected a duration such as 30s, 5m or 1h30m, got ${JSON.stringify(value)}`);
  return s;
}

export function percentOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = value.trim() === '' ? NaN : Number(value);
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

/** Verdict names in any case (`leak`, `LEAK`, `cachegrowth`), as the vocabulary spells them. */
export function verdictListOption(name: string, value: string | undefined): Verdict[] {
  if (value === undefined) return [];
  const list = value.split(',').map((s) => s.trim());
  if (list.every((s) => s === '')) throw new UsageError(`--${name}: no verdict given; expected any of ${VERDICTS.join(', ')}`);
  const out: Verdict[] = [];
  for (const v of list.filter(Boolean)) {
    const verdict = VERDICTS.find((known) => known.toLowerCase() === v.toLowerCase());
    if (verdict === undefined) throw new UsageError(`--${name}: ${JSON.stringify(v)} is not a verdict; expected any of ${VERDICTS.join(', ')} (in any case)`);
    if (!out.includes(verdict)) out.push(verdict);
  }
  return out;
}

const FORMATS = ['text', 'json', 'yaml'] as const;
export const ANALYZE_FORMATS = [...FORMATS, 'html'] as const;
export type OutputFormat = (typeof FORMATS)[number];
/** `analyze` also writes a one-file HTML report. */
export type AnalyzeOutputFormat = (typeof ANALYZE_FORMATS)[number];
export const OUTPUT_FORMATS: readonly string[] = FORMATS;

function formatOption<T extends string>(value: string | undefined, allowed: readonly T[]): T {
  const v = value ?? 'text';
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`-o/--output: expected ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

export const outputOption = (value: string | undefined): OutputFormat => formatOption(value, FORMATS);
export const analyzeOutputOption = (value: string | undefined): AnalyzeOutputFormat => formatOption(value, ANALYZE_FORMATS);
