// What `run` and `watch` share once they know their target: the sampling options and one pass of
// the sampling loop over a cgroup or process reader, each raw snapshot written to --record.
import type { MemorySample } from '../model/sample.ts';
import { sample, type SamplingResult } from '../sampling/loop.ts';
import { goRuntimeReader } from '../sampling/pprof.ts';
import type { MemoryReader } from '../sampling/reader.ts';
import type { LineRecorder } from '../sampling/record.ts';
import type { CgroupSnapshot } from '../sources/cgroup.ts';

export interface LocalSamplingOptions {
  durationMs: number;
  intervalMs: number;
  pprofUrl: string | null;
  record: LineRecorder | null;
  /** After each sample (live view). */
  onSample?: (sample: MemorySample, all: readonly MemorySample[]) => void;
  /** One-line notices for the user (stderr). */
  notice: (line: string) => void;
}

export function sampleLocal(reader: MemoryReader<CgroupSnapshot>, options: LocalSamplingOptions, signal: AbortSignal): Promise<SamplingResult> {
  return sample({
    reader,
    goRuntime: options.pprofUrl ? goRuntimeReader(options.pprofUrl) : null,
    intervalMs: options.intervalMs,
    durationMs: options.durationMs,
    signal,
    onSample: (reading, all) => {
      if (reading.raw) options.record?.writeSnapshot(reading.raw, reading.sample);
      options.onSample?.(reading.sample, all);
    },
    notice: options.notice,
  });
}
