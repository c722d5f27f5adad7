import { InputError } from '../errors.ts';
import type { MemorySample } from '../model/sample.ts';
import { sampleFromSnapshot, snapshotFromJson } from './cgroup.ts';
import { parseJsonLines } from './json-lines.ts';

/**
 * A recording of cgroup snapshots, one JSON object per line (docs/formats.md), as written by
 * `memaudit run --record` and read by `memaudit analyze --cgroup`.
 */
export function parseCgroupRecording(text: string, source: string): { samples: MemorySample[]; warnings: string[] } {
  const { lines, warnings } = parseJsonLines(text, source, 'cgroup snapshot');
  if (lines.length === 0) throw new InputError(source, 'no cgroup snapshots in the file (empty?); expected one JSON object per line (docs/formats.md)');
  return { samples: lines.map((l) => sampleFromSnapshot(snapshotFromJson(l.value, source, l.line))), warnings };
}
