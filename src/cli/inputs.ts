import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.ts';
import type { HeapProfile, MemorySample } from '../model/sample.ts';
import { parseCgroupRecording } from '../sources/cgroup-recording.ts';
import { parseDockerStatsLines, sampleFromDockerStats } from '../sources/docker-stats.ts';

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
      throw new InputError(file, `--prometheus is not supported yet${container ? '' : ''}`);
  }
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
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    throw new InputError(file, `cannot read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  void bytes;
  throw new InputError(file, '--pprof is not supported yet');
}
