// What every benchmark section shares: the machine it ran on, repeated timings reported as a
// median with their spread (these machines are shared and noisy: one run proves nothing), and
// the report each section adds its markdown and its figures to.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

export interface Machine {
  cpuModel: string;
  cores: number;
  ramGiB: number;
  kernel: string;
  node: string;
  go: string | null;
  date: string;
  /** 1-minute load average when the run started: how shared the machine was. */
  loadAverage1m: number;
}

export function machine(): Machine {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  return {
    cpuModel: os.cpus()[0]?.model.trim() || cpuModelFromProc() || 'unknown',
    cores: os.cpus().length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    go: go.status === 0 ? go.stdout.trim().replace(/^go version /, '') : null,
    date: new Date().toISOString(),
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

/** Repeated measurements of one thing: the median and the spread, in the unit measured. */
export interface Timing {
  runs: number;
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function timing(values: number[]): Timing {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return { runs: n, median: round3(median), min: round3(sorted[0]!), max: round3(sorted[n - 1]!), values: values.map(round3) };
}

/** Milliseconds of wall time of `fn`, `runs` times. */
export async function timeRuns(runs: number, fn: () => unknown): Promise<Timing> {
  const values: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    values.push(performance.now() - t);
  }
  return timing(values);
}

/** "812 ms (median of 5; 790-870)": a timing as one reads it. */
export const formatTiming = (t: Timing, unit = 'ms', digits = 0): string => `${t.median.toFixed(digits)} ${unit} (median of ${t.runs}; ${t.min.toFixed(digits)}-${t.max.toFixed(digits)})`;

export const round3 = (x: number): number => Math.round(x * 1000) / 1000;

const MiB = 2 ** 20;
export const mib = (bytes: number | null | undefined, digits = 1): string => (bytes === null || bytes === undefined || !Number.isFinite(bytes) ? '-' : `${(bytes / MiB).toFixed(digits)} MiB`);

/** Markdown and figures, collected section by section. */
export class Report {
  readonly lines: string[] = [];
  readonly figures: Record<string, unknown> = {};

  section(title: string): void {
    this.text('', `## ${title}`, '');
  }

  text(...lines: string[]): void {
    this.lines.push(...lines);
    for (const l of lines) console.log(l);
  }

  table(head: string[], rows: (string | number)[][]): void {
    const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
    this.text(...out);
  }

  /** Sets a figure at a dotted path (`heapProfile.speedupVsGoToolPprofRaw`). */
  set(path: string, value: unknown): void {
    const keys = path.split('.');
    let o = this.figures;
    for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
    o[keys[keys.length - 1]!] = value;
  }
}

/** CPU model as /proc/cpuinfo names it when os.cpus() has none (some VMs). */
function cpuModelFromProc(): string | null {
  try {
    return /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}
