// Go's runtime.MemStats, as `/debug/pprof/heap?debug=1` prints it at the end of the text profile:
//
//   # runtime.MemStats
//   # Alloc = 1264512
//   # TotalAlloc = 1264512
//   # Sys = 8106000
//   ...
//   # HeapInuse = 2154496
//   # BySize = [{Size:0 Mallocs:0 Frees:0} ...]
//
// and as the JSON `runtime.MemStats` object (expvar's "memstats", or a recording's "go" field):
// the same field names. Both reduce to GoRuntimeSample.
import { InputError } from '../errors.ts';
import type { GoRuntimeSample } from '../model/sample.ts';
import { byteCountProblem, counterProblem } from './checks.ts';

export type MemStatsRecord = Record<string, number>;

const MEMSTATS_MARKER = '# runtime.MemStats';

/**
 * Extracts the MemStats block from a debug=1 heap profile. Scans from the end, since the profile
 * before the block can be many megabytes of stacks.
 */
export function parseMemStatsText(text: string, source = 'heap?debug=1'): MemStatsRecord {
  const at = text.lastIndexOf(MEMSTATS_MARKER);
  if (at < 0) throw new InputError(source, `no "${MEMSTATS_MARKER}" block: expected the text of /debug/pprof/heap?debug=1 from a Go program`);
  const record: MemStatsRecord = {};
  for (const line of text.slice(at + MEMSTATS_MARKER.length).split('\n')) {
    const m = /^#\s*([A-Za-z]+)\s*=\s*(\d+)\s*$/.exec(line.trim());
    if (m) {
      record[m[1]!] = Number(m[2]);
      continue;
    }
    // runtime/pprof prints the off-heap runtime structures as "in use / obtained from the OS":
    //   # Stack = 23724032 / 23724032      (StackInuse / StackSys)
    //   # MSpan = 156960 / 163200          (MSpanInuse / MSpanSys)
    const pair = /^#\s*(Stack|MSpan|MCache)\s*=\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(line.trim());
    if (pair) {
      record[`${pair[1]}Inuse`] = Number(pair[2]);
      record[`${pair[1]}Sys`] = Number(pair[3]);
    }
  }
  if (record.HeapInuse === undefined) throw new InputError(source, 'the runtime.MemStats block has no HeapInuse line (truncated?)');
  return record;
}

/**
 * Maps MemStats field names to the sample's; requires HeapInuse. Sizes must be plausible byte
 * counts and NumGC a count (checks.ts); a number as a string of digits is accepted.
 */
export function goSampleFromMemStats(record: Record<string, unknown>, source = 'runtime.MemStats'): GoRuntimeSample {
  const num = (k: string): number | undefined => {
    const raw = record[k];
    if (raw === undefined || raw === null) return undefined;
    const v = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    const problem = k === 'NumGC' ? counterProblem(v) : byteCountProblem(v);
    if (problem) throw new InputError(source, `MemStats.${k} ${problem}`);
    return v as number;
  };
  const heapInuse = num('HeapInuse');
  if (heapInuse === undefined) throw new InputError(source, 'MemStats.HeapInuse is missing');
  const out: GoRuntimeSample = { heapInuseBytes: heapInuse };
  const map: [keyof GoRuntimeSample, string][] = [
    ['heapAllocBytes', 'HeapAlloc'],
    ['heapIdleBytes', 'HeapIdle'],
    ['heapReleasedBytes', 'HeapReleased'],
    ['heapSysBytes', 'HeapSys'],
    ['stackInuseBytes', 'StackInuse'],
    ['sysBytes', 'Sys'],
    ['nextGcBytes', 'NextGC'],
    ['numGc', 'NumGC'],
  ];
  for (const [to, from] of map) {
    const v = num(from);
    if (v !== undefined) out[to] = v;
  }
  return out;
}
