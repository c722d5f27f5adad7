// The labelled real traces, loaded one way for the acceptance test (test/unit/analysis) and the
// benchmarks (bench/): test/fixtures/traces (cgroup snapshots, a trace.jsonl per directory, heap
// profiles beside it) and test/fixtures/docker-stats (Docker stats streams), each with its
// labels.json. The v2 test reads the raw lines again (`cgroupTraceFile`).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { HeapProfile, MemorySample } from '../../src/model/sample.ts';
import type { LeakSource, Verdict } from '../../src/model/verdict.ts';
import { parseCgroupRecording } from '../../src/sources/cgroup-recording.ts';
import { parseDockerStatsLines } from '../../src/sources/docker-stats.ts';
import { readHeapProfileFile } from '../../src/sources/pprof.ts';

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');

export interface LabelledCase {
  /** cgroup/<name> or docker/<file without .jsonl> */
  name: string;
  kind: 'cgroup' | 'docker';
  verdict: Verdict;
  leakSource: LeakSource | null;
  /** "Verdict" or "Verdict/leakSource", as the label says. */
  truth: string;
  isLeak: boolean;
  load(): Promise<{ samples: MemorySample[]; profiles: HeapProfile[] }>;
}

interface Label {
  verdict: Verdict;
  leakSource: LeakSource | null;
}

const truthOf = (l: Label) => (l.leakSource ? `${l.verdict}/${l.leakSource}` : l.verdict);

/** trace.jsonl of a cgroup trace, by its label name. */
export const cgroupTraceFile = (name: string): string => path.join(FIXTURES, 'traces', name, 'trace.jsonl');

/** The heap profiles saved beside a trace (heap-N.pb.gz), oldest first by their own timestamps. */
export async function profilesIn(dir: string): Promise<HeapProfile[]> {
  const files = readdirSync(dir).filter((f) => /^heap-\d+\.pb\.gz$/.test(f));
  return Promise.all(files.map((f) => readHeapProfileFile(path.join(dir, f))));
}

export function labelledCases(): LabelledCase[] {
  const traceDir = path.join(FIXTURES, 'traces');
  const cgroup = (JSON.parse(readFileSync(path.join(traceDir, 'labels.json'), 'utf8')) as (Label & { name: string })[]).map(
    (l): LabelledCase => ({
      name: `cgroup/${l.name}`,
      kind: 'cgroup',
      verdict: l.verdict,
      leakSource: l.leakSource,
      truth: truthOf(l),
      isLeak: l.verdict === 'Leak',
      load: async () => {
        const f = cgroupTraceFile(l.name);
        return { samples: parseCgroupRecording(readFileSync(f, 'utf8'), f).samples, profiles: await profilesIn(path.dirname(f)) };
      },
    }),
  );
  const dockerDir = path.join(FIXTURES, 'docker-stats');
  // `profiles`: a directory of heap profiles taken beside the stream (no MemStats in the stream).
  const docker = (JSON.parse(readFileSync(path.join(dockerDir, 'labels.json'), 'utf8')) as (Label & { file: string; profiles?: string })[]).map(
    (l): LabelledCase => ({
      name: `docker/${l.file.replace(/\.jsonl$/, '')}`,
      kind: 'docker',
      verdict: l.verdict,
      leakSource: l.leakSource,
      truth: truthOf(l),
      isLeak: l.verdict === 'Leak',
      load: async () => {
        const f = path.join(dockerDir, l.file);
        return { samples: parseDockerStatsLines(readFileSync(f, 'utf8'), f).samples, profiles: l.profiles ? await profilesIn(path.join(dockerDir, l.profiles)) : [] };
      },
    }),
  );
  return [...cgroup, ...docker];
}
