import { InputError } from '../errors.ts';
import type { HeapProfile, MemorySample } from '../model/sample.ts';
import { readCgroupRecording } from '../sources/cgroup-recording.ts';
import { containerKeyString } from '../sources/cadvisor.ts';
import { readDockerStatsFile, sampleFromDockerStats } from '../sources/docker-stats.ts';
import { forEachLineOfFile, readCappedFile } from '../sources/files.ts';
import { readHeapProfileFile } from '../sources/pprof.ts';
import { readPrometheusResponsesFile, seriesName } from '../sources/prometheus.ts';

/** The recorded-sample formats `memaudit analyze` reads (docs/formats.md). */
export type SampleFormat = 'docker-stats' | 'cgroup' | 'prometheus';

export interface LoadedSamples {
  samples: MemorySample[];
  warnings: string[];
  /** A better name for the target than the file name, when the data has one. */
  name?: string;
}

export interface LoadOptions {
  /** `--container`: which container of a stream or response holding several. */
  container?: string;
  /** "Now", for the plausibility of the recorded times. */
  nowMs: number;
}

/** A one-shot stats object is a few KiB; pretty-printed ones are read whole up to this. */
const MAX_ONE_SHOT_BYTES = 16 * 2 ** 20;

export async function loadSamples(format: SampleFormat, file: string, options: LoadOptions): Promise<LoadedSamples> {
  switch (format) {
    case 'cgroup':
      return readCgroupRecording(file, { nowMs: options.nowMs });
    case 'docker-stats':
      return loadDockerStats(file, options);
    case 'prometheus':
      return loadPrometheus(file, options);
  }
}

async function loadPrometheus(file: string, options: LoadOptions): Promise<LoadedSamples> {
  const { containers, warnings } = await readPrometheusResponsesFile(file, { nowMs: options.nowMs });
  const names = containers.map((c) => seriesName(c.key));
  const container = options.container;
  let chosen = containers[0];
  if (container !== undefined) {
    chosen = containers.find((c) => containerKeyString(c.key) === container || c.key.container === container || `${c.key.pod}/${c.key.container}` === container);
    if (!chosen) throw new InputError(file, `no container ${JSON.stringify(container)} in the responses; found: ${names.join(', ') || 'none'}`);
  } else if (containers.length > 1) {
    throw new InputError(file, `the responses hold ${containers.length} containers; pick one with --container (namespace/pod/container): ${names.slice(0, 10).join(', ')}`);
  }
  if (!chosen) throw new InputError(file, 'no container series with container_memory_usage_bytes in the responses');
  return { samples: chosen.samples, warnings, name: seriesName(chosen.key) };
}

async function loadDockerStats(file: string, options: LoadOptions): Promise<LoadedSamples> {
  // A one-shot object (`?stream=false`), often pretty-printed over many lines, is one document:
  // its first line alone ("{") is not JSON. A stream's first line is a whole object.
  if (await isPrettyPrintedObject(file)) {
    const text = (await readCappedFile(file, MAX_ONE_SHOT_BYTES, 'a one-shot Docker stats object')).toString('utf8');
    let whole: unknown;
    try {
      whole = JSON.parse(text);
    } catch (cause) {
      throw new InputError(file, `not a JSON stats object (${(cause as Error).message}): expected one Docker Engine API stats object per line, or one (pretty-printed) object`, { cause });
    }
    const s = sampleFromDockerStats(whole, { source: file, nowMs: options.nowMs });
    if ('kind' in s) throw new InputError(file, `no memory data in the stats object: ${s.reason}`);
    return { samples: [s], warnings: [] };
  }
  const rec = await readDockerStatsFile(file, { nowMs: options.nowMs, ...(options.container !== undefined ? { container: options.container } : {}) });
  return { samples: rec.samples, warnings: rec.warnings, ...(rec.containerName ? { name: rec.containerName } : {}) };
}

/** Whether the file's first non-blank line opens a JSON object without being one. */
async function isPrettyPrintedObject(file: string): Promise<boolean> {
  let first: string | undefined;
  const stop = new Error('first line read');
  try {
    await forEachLineOfFile(file, 'a Docker stats recording', (_line, text) => {
      if (text.trim() === '') return;
      first = text.trim();
      throw stop;
    });
  } catch (e) {
    if (e !== stop) throw e;
  }
  if (first === undefined || !first.startsWith('{')) return false;
  try {
    JSON.parse(first);
    return false;
  } catch {
    // A lone "{" or `{"read": ...,` ending in a comma: the start of a multi-line document. An
    // object cut short on a one-line file is left to the stream reader, which says so.
    return first === '{' || first.endsWith(',');
  }
}

export async function loadProfiles(file: string, nowMs: number): Promise<HeapProfile> {
  return readHeapProfileFile(file, { nowMs });
}
