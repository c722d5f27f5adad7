// The recorded inputs the report tests render, loaded the way `memaudit analyze` loads them
// (src/cli/analyze.ts): the same samples, profiles, target and audit options.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { audit, type AuditOptions } from '../../../src/analysis/audit.ts';
import type { HeapProfile, MemorySample, TargetRef } from '../../../src/model/sample.ts';
import { MiB } from '../../../src/model/units.ts';
import type { AuditResult } from '../../../src/model/verdict.ts';
import { parseCgroupRecording } from '../../../src/sources/cgroup-recording.ts';
import { parseDockerStatsLines } from '../../../src/sources/docker-stats.ts';
import { readHeapProfileFile } from '../../../src/sources/pprof.ts';

export const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures');

export interface Case {
  samples: MemorySample[];
  target: TargetRef;
  result: AuditResult;
  /** The command line that renders it (for the HTML footer). */
  argv: string[];
}

const rel = (file: string) => path.relative(path.resolve(FIXTURES, '../..'), file);

export function dockerStatsCase(name: string): Case {
  const file = path.join(FIXTURES, 'docker-stats', `${name}.jsonl`);
  const rec = parseDockerStatsLines(readFileSync(file, 'utf8'), file);
  const target: TargetRef = rec.containerName ? { kind: 'container', name: rec.containerName.replace(/^\//, '') } : { kind: 'file', name: rel(file) };
  return { samples: rec.samples, target, result: audit(rec.samples), argv: ['analyze', '--docker-stats', rel(file), '-o', 'html'] };
}

export async function traceCase(name: string, options: { profiles?: number; limitMiB?: number; first?: number } = {}): Promise<Case> {
  const file = path.join(FIXTURES, 'traces', name, 'trace.jsonl');
  let samples = parseCgroupRecording(readFileSync(file, 'utf8'), file).samples;
  if (options.first !== undefined) samples = samples.slice(0, options.first);
  const profileFiles = Array.from({ length: options.profiles ?? 0 }, (_, i) => path.join(FIXTURES, 'traces', name, `heap-${i + 1}.pb.gz`));
  const profiles: HeapProfile[] = [];
  for (const f of profileFiles) profiles.push(await readHeapProfileFile(f));
  const auditOptions: AuditOptions = options.limitMiB !== undefined ? { limitBytes: options.limitMiB * MiB } : {};
  const argv = ['analyze', '--cgroup', rel(file), ...(profileFiles.length ? ['--pprof', ...profileFiles.map(rel)] : []), ...(options.limitMiB !== undefined ? ['--limit', `${options.limitMiB}m`] : []), '-o', 'html'];
  return { samples, target: { kind: 'file', name: rel(file) }, result: audit(samples, profiles, auditOptions), argv };
}
