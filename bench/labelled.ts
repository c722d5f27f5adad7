// The labelled real traces (test/fixtures/traces and test/fixtures/docker-stats, each with its
// labels.json), loaded once for the benchmarks that judge verdicts on them.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { HeapProfile, MemorySample } from '../src/model/sample.ts';
import { parseCgroupRecording } from '../src/sources/cgroup-recording.ts';
import { parseDockerStatsLines } from '../src/sources/docker-stats.ts';
import { readHeapProfileFile } from '../src/sources/pprof.ts';

export const FIXTURES = path.resolve(import.meta.dirname, '../test/fixtures');

export interface LabelledTrace {
  /** cgroup/<name> or docker/<file without .jsonl> */
  name: string;
  /** "Verdict" or "Verdict/leakSource", as the label says. */
  truth: string;
  isLeak: boolean;
  samples: MemorySample[];
  profiles: HeapProfile[];
}

interface Label {
  verdict: string;
  leakSource: string | null;
}

const truthOf = (l: Label) => (l.leakSource ? `${l.verdict}/${l.leakSource}` : l.verdict);

export async function loadLabelledTraces(): Promise<LabelledTrace[]> {
  const out: LabelledTrace[] = [];
  const traceDir = path.join(FIXTURES, 'traces');
  for (const l of JSON.parse(readFileSync(path.join(traceDir, 'labels.json'), 'utf8')) as (Label & { name: string })[]) {
    const d = path.join(traceDir, l.name);
    const f = path.join(d, 'trace.jsonl');
    const profiles = await Promise.all(readdirSync(d).filter((x) => x.endsWith('.pb.gz')).map((x) => readHeapProfileFile(path.join(d, x))));
    out.push({ name: `cgroup/${l.name}`, truth: truthOf(l), isLeak: l.verdict === 'Leak', samples: parseCgroupRecording(readFileSync(f, 'utf8'), f).samples, profiles });
  }
  const dockerDir = path.join(FIXTURES, 'docker-stats');
  for (const l of JSON.parse(readFileSync(path.join(dockerDir, 'labels.json'), 'utf8')) as (Label & { file: string })[]) {
    const f = path.join(dockerDir, l.file);
    out.push({ name: `docker/${l.file.replace(/\.jsonl$/, '')}`, truth: truthOf(l), isLeak: l.verdict === 'Leak', samples: parseDockerStatsLines(readFileSync(f, 'utf8'), f).samples, profiles: [] });
  }
  return out;
}
