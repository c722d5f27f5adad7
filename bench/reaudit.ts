/**
 * The controller's full audits on demand (src/analysis/reaudit.ts), on every trace of every set:
 * each trace replayed a round at a time under the sparsest policy the controller uses (24 h at
 * 30 s: a refresh every 30 rounds), against a full audit of the whole trace. The labelled set is
 * the one the policy was written against; the held-out sets are reported apart (never tuned on).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { audit } from '../src/analysis/audit.ts';
import { parseDockerStatsLines } from '../src/sources/docker-stats.ts';
import { readHeapProfileFile } from '../src/sources/pprof.ts';
import { loadLabels, traceFiles } from '../test/fixtures/heldout/score.ts';
import { labelledCases } from '../test/helpers/labelled.ts';
import { replayRounds, sparsePolicy, verdictOf } from '../test/helpers/replay.ts';
import type { HeapProfile, MemorySample } from '../src/model/sample.ts';

export interface ReauditSet {
  set: string;
  traces: number;
  /** Traces whose rounds end on the whole trace's verdict. */
  sameVerdict: number;
  /** Rounds that ran a full audit, over all rounds. */
  fullShare: number;
  /** Rounds the final verdict came later than with a full audit every round: the worst trace (labelled set only: a full audit a round is quadratic). */
  maxDelayRounds?: number;
  differ: { trace: string; whole: string; rounds: string }[];
}

function score(set: string, traces: { name: string; samples: MemorySample[]; profiles: HeapProfile[] }[], delays = false): ReauditSet {
  let [same, full, rounds, maxDelay] = [0, 0, 0, 0];
  const differ: ReauditSet['differ'] = [];
  for (const t of traces) {
    const whole = verdictOf(audit(t.samples, t.profiles));
    const r = replayRounds(t.samples, t.profiles, sparsePolicy(t.samples));
    full += r.full;
    rounds += r.rounds;
    if (delays) maxDelay = Math.max(maxDelay, r.settledAt - replayRounds(t.samples, t.profiles, null).settledAt);
    if (r.verdict === whole) same++;
    else differ.push({ trace: t.name, whole, rounds: r.verdict });
  }
  return { set, traces: traces.length, sameVerdict: same, fullShare: Math.round((full / rounds) * 1000) / 1000, differ, ...(delays ? { maxDelayRounds: maxDelay } : {}) };
}

export async function reauditSets(root: string, heldoutDirs: string[]): Promise<ReauditSet[]> {
  const labelled = await Promise.all(labelledCases().map(async (c) => ({ name: c.name, ...(await c.load()) })));
  const out = [score('labelled', labelled, true)];
  for (const dir of heldoutDirs) {
    const traces = await Promise.all(
      loadLabels(dir).map(async (l) => {
        const f = traceFiles(l.name, dir);
        return { name: l.name, samples: parseDockerStatsLines(readFileSync(f.statsFile, 'utf8'), f.statsFile).samples, profiles: await Promise.all(f.heapProfiles.map((p) => readHeapProfileFile(p))) };
      }),
    );
    out.push(score(path.relative(root, dir), traces));
  }
  return out;
}

if (import.meta.main) {
  const root = path.resolve(import.meta.dirname, '..');
  for (const s of await reauditSets(root, ['heldout', 'heldout2'].map((d) => path.join(root, 'test/fixtures', d)))) console.log(JSON.stringify(s));
}
