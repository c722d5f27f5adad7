import { InputError } from '../errors.ts';
import type { HeapProfile, MemorySample } from '../model/sample.ts';
import { parseCgroupRecording } from '../sources/cgroup-recording.ts';
import { containerKeyString } from '../sources/cadvisor.ts';
import { parseDockerStatsLines, sampleFromDockerStats } from '../sources/docker-stats.ts';
import { readHeapProfileFile } from '../sources/pprof.ts';
import { parsePrometheusResponsesText, seriesName } from '../sources/prometheus.ts';

/** The recorded-sample formats `memaudit analyze` reads (docs/formats.md). */
export type SampleFormat = 'docker-stats' | 'cgroup' | 'prometheus';

export interface LoadedSamples {
  samples: MemorySample[];
  warnings: string[];
  /** A better name for the target than the file name, when the data has one. */
  name?: string;
}

export function loadSamples(format: SampleFormat, text: string, file: string, container?: string): LoadedSamples {
  switch (format) {
    case 'cgroup':
      return parseCgroupRecording(text, file);
    case 'docker-stats':
      return loadDockerStats(text, file);
    case 'prometheus':
      return loadPrometheus(text, file, container);
  }
}

function loadPrometheus(text: string, file: string, container?: string): LoadedSamples {
  const { containers, warnings } = parsePrometheusResponsesText(text, file);
  const names = containers.map((c) => seriesName(c.key));
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

function loadDockerStats(text: string, file: string): LoadedSamples {
  // A one-shot object (`?stream=false`, often pretty-printed over many lines) is one whole document.
  const trimmed = text.trim();
  if (trimmed.startsWith('{') && trimmed.includes('\n')) {
    let whole: unknown;
    try {
      whole = JSON.parse(trimmed);
    } catch {
      whole = undefined; // not one document: JSON lines
    }
    if (whole !== undefined) {
      const s = sampleFromDockerStats(whole, { source: file, line: 1 });
      if ('kind' in s) throw new InputError(file, `no memory data in the stats object: ${s.reason}`);
      return { samples: [s], warnings: [] };
    }
  }
  const rec = parseDockerStatsLines(text, file);
  return { samples: rec.samples, warnings: rec.warnings, ...(rec.containerName ? { name: rec.containerName.replace(/^\//, '') } : {}) };
}

export async function loadProfiles(file: string): Promise<HeapProfile> {
  try {
    return await readHeapProfileFile(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new InputError(file, `cannot read: ${code}`, { cause });
    throw cause;
  }
}
