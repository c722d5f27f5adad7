/**
 * Minutes to the right verdict: the engine run on growing prefixes of each labelled trace (every
 * 30 s of data, and the whole trace), as a live audit would see it; the first prefix from which the
 * verdict equals the label and stays equal to the end. Heap profiles count once they were taken.
 * Also the naive detectors' first prefix from which their leak / not-leak answer stays right.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { audit } from '../src/analysis/audit.ts';
import type { HeapProfile, MemorySample } from '../src/model/sample.ts';
import { parseDockerStatsLines } from '../src/sources/docker-stats.ts';
import { DETECTORS } from './diagnosis.ts';
import type { LabelledTrace } from './labelled.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface TimeToVerdict {
  trace: string;
  truth: string;
  durationMinutes: number;
  checkpoints: number;
  /** First prefix from which memaudit's verdict (with leakSource) equals the label to the end; null: not at the end either. */
  exactMinutes: number | null;
  /** The same for leak / not leak. */
  leakVsNotMinutes: number | null;
  /** Verdict at each checkpoint, for the record. */
  verdicts: string[];
  detectors: Record<string, number | null>;
}

/** Prefix ends every `stepSeconds` after the first sample, and the last sample. */
function cuts(samples: readonly MemorySample[], stepSeconds: number): number[] {
  const t0 = samples[0]!.timestampMs;
  const end = samples[samples.length - 1]!.timestampMs;
  const out: number[] = [];
  for (let t = t0 + stepSeconds * 1000; t < end; t += stepSeconds * 1000) out.push(t);
  out.push(end);
  return out;
}

/** The first index from which ok[] stays true to the end, or null. */
function staysFrom(ok: readonly boolean[]): number | null {
  let i = ok.length;
  while (i > 0 && ok[i - 1]) i--;
  return i === ok.length ? null : i;
}

export function timeToVerdict(name: string, truth: string, samples: readonly MemorySample[], profiles: readonly HeapProfile[], stepSeconds = 30): TimeToVerdict {
  const t0 = samples[0]!.timestampMs;
  const ends = cuts(samples, stepSeconds);
  const isLeak = truth.startsWith('Leak');
  const verdicts: string[] = [];
  const naive: Record<string, boolean[]> = Object.fromEntries(DETECTORS.map((d) => [d.key, []]));
  for (const end of ends) {
    const prefix = samples.filter((s) => s.timestampMs <= end);
    // A profile taken with the last sample of the prefix (they are taken at sample times) counts.
    const r = audit(prefix, profiles.filter((p) => p.timestampMs <= end + 1000));
    verdicts.push(r.leakSource ? `${r.verdict}/${r.leakSource}` : r.verdict);
    for (const d of DETECTORS) naive[d.key]!.push(prefix.length >= 3 && (d.detect(prefix) === 'Leak') === isLeak);
  }
  const minutesAt = (i: number | null) => (i === null ? null : Math.round(((ends[i]! - t0) / 60000) * 100) / 100);
  return {
    trace: name,
    truth,
    durationMinutes: Math.round(((ends[ends.length - 1]! - t0) / 60000) * 100) / 100,
    checkpoints: ends.length,
    exactMinutes: minutesAt(staysFrom(verdicts.map((v) => v === truth))),
    leakVsNotMinutes: minutesAt(staysFrom(verdicts.map((v) => v.startsWith('Leak') === isLeak))),
    verdicts,
    detectors: Object.fromEntries(DETECTORS.map((d) => [d.key, minutesAt(staysFrom(naive[d.key]!))])),
  };
}

export const timesToVerdict = (traces: readonly LabelledTrace[]): TimeToVerdict[] => traces.map((t) => timeToVerdict(t.name, t.truth, t.samples, t.profiles));

/**
 * The must-show: a 1 MiB/s heap leak sampled every 5 s reaches Leak within 5 minutes. Measured on
 * the real recording test/fixtures/docker-stats/heap-leak.jsonl (`heapleak -rate 1048576`, the
 * Docker stats stream at 1 s), decimated to one sample per 5 s, with a checkpoint at every sample.
 */
export function heapLeakAt5s(): TimeToVerdict & { samples: number; leakMinutes: number | null } {
  const file = path.join(ROOT, 'test/fixtures/docker-stats/heap-leak.jsonl');
  const all = parseDockerStatsLines(readFileSync(file, 'utf8'), file).samples;
  const every5s: MemorySample[] = [];
  for (const s of all) if (!every5s.length || s.timestampMs - every5s[every5s.length - 1]!.timestampMs >= 5000 - 500) every5s.push(s);
  const r = timeToVerdict('docker/heap-leak at 5 s', 'Leak/anon', every5s, [], 5);
  // "Reaches Leak": the verdict is Leak (any source) and stays so: for a leak, leak-vs-not.
  const leakMinutes = r.leakVsNotMinutes;
  return { ...r, samples: every5s.length, leakMinutes };
}
