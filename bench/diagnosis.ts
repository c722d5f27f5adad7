/**
 * Diagnosis side by side on the same data: memaudit's verdict and limit against the leak detectors
 * and limit recommenders of bench/detectors.ts, on the labelled traces (the engine was built
 * around them) and on the held-out sets (recorded after it; scored by their own score.ts, apart,
 * never tuned on). What a workload needs comes from bench/needs.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { audit } from '../src/analysis/audit.ts';
import type { MemorySample } from '../src/model/sample.ts';
import type { AuditResult } from '../src/model/verdict.ts';
import { parseDockerStatsLines } from '../src/sources/docker-stats.ts';
import { scoreHeldout, type AnalyzeResult, type HeldoutTrace } from '../test/fixtures/heldout/score.ts';
import { corootDetector, krrLimitBytes, predictLinearWorkingSetDetector, rssR2Detector, usageSlopeDetector, vpaLimitBytes, workingSetOf, type NaiveVerdict } from './detectors.ts';
import { loadLabelledTraces } from './labelled.ts';
import { mib, type Report } from './measure.ts';
import { needsBytes, recentSlopeBytesPerSecond } from './needs.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

/** The leak detectors compared, by the key the JSON uses. */
export const DETECTORS: { key: string; title: string; detect: (s: readonly MemorySample[]) => NaiveVerdict }[] = [
  { key: 'usageSlope', title: 'usage slope >10 %/h', detect: usageSlopeDetector },
  { key: 'predictLinearWorkingSet', title: 'predict_linear(working set)', detect: predictLinearWorkingSetDetector },
  { key: 'coroot', title: 'Coroot MemoryGrowthPct', detect: corootDetector },
  { key: 'rssR2', title: 'RSS >10 %/h, R² > 0.8', detect: rssR2Detector },
];

export interface TraceRow {
  set: string;
  name: string;
  truth: string;
  isLeak: boolean;
  isCache: boolean;
  memaudit: string;
  detectors: Record<string, NaiveVerdict>;
  needsBytes: number;
  limits: { memaudit: number | null; krr: number; vpa: number };
  /** For a leak: minutes until the leak, at its recent slope, reaches each tool's limit (null: no limit set, or not growing). */
  leakReachesLimitMinutes: { krr: number | null; vpa: number | null } | null;
  memauditWarning: string | null;
}

function row(set: string, name: string, truth: string, samples: readonly MemorySample[], result: Pick<AuditResult, 'verdict' | 'leakSource'> & { limitBytes: number | null; warning: string | null }): TraceRow {
  const isLeak = truth.startsWith('Leak');
  const detectors = Object.fromEntries(DETECTORS.map((d) => [d.key, d.detect(samples)]));
  const krr = krrLimitBytes(samples);
  const vpa = vpaLimitBytes(samples);
  let reach: TraceRow['leakReachesLimitMinutes'] = null;
  if (isLeak) {
    const slope = recentSlopeBytesPerSecond(samples, workingSetOf);
    const last = workingSetOf(samples[samples.length - 1]!);
    const minutes = (limit: number) => (slope > 0 ? Math.max(0, (limit - last) / slope / 60) : null);
    reach = { krr: minutes(krr), vpa: minutes(vpa) };
  }
  return {
    set,
    name,
    truth,
    isLeak,
    isCache: truth === 'CacheGrowth',
    memaudit: result.leakSource ? `${result.verdict}/${result.leakSource}` : result.verdict,
    detectors,
    needsBytes: needsBytes(samples),
    limits: { memaudit: result.limitBytes, krr, vpa },
    leakReachesLimitMinutes: reach,
    memauditWarning: result.warning,
  };
}

export async function labelledRows(): Promise<TraceRow[]> {
  const rows: TraceRow[] = [];
  for (const t of await loadLabelledTraces()) {
    const r = audit(t.samples, t.profiles);
    rows.push(row('labelled', t.name, t.truth, t.samples, { verdict: r.verdict, leakSource: r.leakSource, limitBytes: r.recommendation.memoryLimitBytes, warning: r.recommendation.warning }));
  }
  return rows;
}

/** memaudit on a held-out trace through its CLI, exactly as score.ts runs it, keeping the recommended limit too. */
function cliAnalyze(t: HeldoutTrace): AnalyzeResult & { limitBytes: number | null; warning: string | null } {
  const args = ['analyze', '--docker-stats', t.statsFile, ...(t.heapProfiles.length ? ['--pprof', ...t.heapProfiles] : []), '-o', 'json'];
  const r = spawnSync(path.join(ROOT, 'bin', 'memaudit'), args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  try {
    const j = JSON.parse(r.stdout) as AnalyzeResult & { recommendation?: { memoryLimitBytes: number | null; warning: string | null } };
    return { verdict: j.verdict, leakSource: j.leakSource ?? null, topGrowingFunctions: j.topGrowingFunctions ?? [], limitBytes: j.recommendation?.memoryLimitBytes ?? null, warning: j.recommendation?.warning ?? null };
  } catch {
    return { verdict: 'error', leakSource: null, error: `exit ${r.status}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`, limitBytes: null, warning: null };
  }
}

export interface HeldoutSet {
  dir: string;
  rows: TraceRow[];
  /** score.ts's own counts, per analyser (memaudit through the CLI, and each detector). */
  scores: Record<string, { exact: number; leakVsNot: number; total: number; growingFunctions?: { found: number; labelled: number } }>;
}

export async function heldoutSets(dirs: string[]): Promise<HeldoutSet[]> {
  const out: HeldoutSet[] = [];
  for (const dir of dirs) {
    if (!existsSync(path.join(dir, 'labels.json'))) continue;
    const results = new Map<string, ReturnType<typeof cliAnalyze>>();
    const samplesOf = new Map<string, MemorySample[]>();
    const samples = (t: HeldoutTrace) => {
      let s = samplesOf.get(t.name);
      if (!s) samplesOf.set(t.name, (s = parseDockerStatsLines(readFileSync(t.statsFile, 'utf8'), t.statsFile).samples));
      return s;
    };
    const scores: HeldoutSet['scores'] = {};
    const m = await scoreHeldout({
      dir,
      analyze: (t) => {
        const r = cliAnalyze(t);
        results.set(t.name, r);
        return r;
      },
    });
    scores.memaudit = { exact: m.exact, leakVsNot: m.leakVsNot, total: m.total, growingFunctions: m.growingFunctions };
    for (const d of DETECTORS) {
      const s = await scoreHeldout({ dir, analyze: (t) => ({ verdict: d.detect(samples(t)) === 'Leak' ? 'Leak' : 'NoLeak', leakSource: null }) });
      scores[d.key] = { exact: s.exact, leakVsNot: s.leakVsNot, total: s.total };
    }
    const rows = m.rows.map((r) => {
      const res = results.get(r.trace)!;
      const truth = r.label.leakSource ? `${r.label.verdict}/${r.label.leakSource}` : r.label.verdict;
      const t = { name: r.trace, statsFile: path.join(dir, r.trace, 'stats.jsonl'), heapProfiles: [] };
      return row(path.relative(ROOT, dir), r.trace, truth, samples(t), { verdict: res.verdict as AuditResult['verdict'], leakSource: res.leakSource as AuditResult['leakSource'], limitBytes: res.limitBytes, warning: res.warning });
    });
    out.push({ dir, rows, scores });
  }
  return out;
}

/** Counts over rows: verdicts right, leak-vs-not right, false leaks on cache, per analyser. */
export function tally(rows: readonly TraceRow[]) {
  const keys = ['memaudit', ...DETECTORS.map((d) => d.key)];
  const isLeakCall = (r: TraceRow, k: string) => (k === 'memaudit' ? r.memaudit.startsWith('Leak') : r.detectors[k] === 'Leak');
  const out: Record<string, { leakVsNot: number; falseLeakOnCache: number; missedLeaks: number }> = {};
  for (const k of keys) {
    out[k] = {
      leakVsNot: rows.filter((r) => isLeakCall(r, k) === r.isLeak).length,
      falseLeakOnCache: rows.filter((r) => r.isCache && isLeakCall(r, k)).length,
      missedLeaks: rows.filter((r) => r.isLeak && !isLeakCall(r, k)).length,
    };
  }
  return { traces: rows.length, cacheTraces: rows.filter((r) => r.isCache).length, leakTraces: rows.filter((r) => r.isLeak).length, exactMemaudit: rows.filter((r) => r.memaudit === r.truth).length, byAnalyser: out };
}

const ratio = (limit: number | null, needs: number) => (limit === null || !Number.isFinite(limit) || needs <= 0 ? '-' : `${(limit / needs).toFixed(2)}x`);
const mark = (ok: boolean) => (ok ? '' : ' ✗');

export function verdictTable(report: Report, rows: readonly TraceRow[]): void {
  report.table(
    ['trace', 'label', 'memaudit', ...DETECTORS.map((d) => d.title)],
    rows.map((r) => [r.name, r.truth, `${r.memaudit}${mark(r.memaudit === r.truth)}`, ...DETECTORS.map((d) => `${r.detectors[d.key]}${mark((r.detectors[d.key] === 'Leak') === r.isLeak)}`)]),
  );
}

export function limitTable(report: Report, rows: readonly TraceRow[]): void {
  report.table(
    ['trace', 'label', 'needs (peak non-reclaimable + mapped)', 'memaudit', 'KRR (max WS x1.15)', 'VPA (p90 of peaks x1.15)'],
    rows.map((r) => {
      if (r.isLeak) {
        const reach = (m: number | null | undefined) => (m === null || m === undefined ? '' : `, reached ${m.toFixed(1)} min later`);
        const ma = r.limits.memaudit === null || !Number.isFinite(r.limits.memaudit) ? 'none: fix the leak' : `${mib(r.limits.memaudit)} (kept, not raised)`;
        return [r.name, r.truth, `${mib(r.needsBytes)} and growing`, ma, `${mib(r.limits.krr)}${reach(r.leakReachesLimitMinutes?.krr)}`, `${mib(r.limits.vpa)}${reach(r.leakReachesLimitMinutes?.vpa)}`];
      }
      const cell = (l: number | null, tool = '') => (l === null || !Number.isFinite(l) ? (tool === 'memaudit' && r.memaudit.startsWith('Leak') ? 'none (called it a leak)' : '-') : `${mib(l)} (${ratio(l, r.needsBytes)})${l < r.needsBytes ? ' below need' : ''}`);
      return [r.name, r.truth, mib(r.needsBytes), cell(r.limits.memaudit, 'memaudit'), cell(r.limits.krr), cell(r.limits.vpa)];
    }),
  );
}

/** Limit / need over the traces that are not leaks: median and worst, per tool. */
export function limitSummary(rows: readonly TraceRow[]) {
  const notLeaks = rows.filter((r) => !r.isLeak && r.needsBytes > 0);
  const of = (pick: (r: TraceRow) => number | null) => {
    const ratios = notLeaks.map((r) => pick(r)).flatMap((l, i) => (l === null || !Number.isFinite(l) ? [] : [l / notLeaks[i]!.needsBytes])).sort((a, b) => a - b);
    if (!ratios.length) return null;
    const excess = notLeaks.flatMap((r) => {
      const l = pick(r);
      return l === null || !Number.isFinite(l) ? [] : [(l - r.needsBytes) / 2 ** 20];
    }).sort((a, b) => a - b);
    return { traces: ratios.length, medianRatio: Math.round(ratios[Math.floor(ratios.length / 2)]! * 100) / 100, maxRatio: Math.round(ratios[ratios.length - 1]! * 100) / 100, medianExcessMiB: Math.round(excess[Math.floor(excess.length / 2)]! * 10) / 10, belowNeed: ratios.filter((x) => x < 1).length };
  };
  const cache = (pick: (r: TraceRow) => number | null) => {
    const c = notLeaks.filter((r) => r.isCache);
    const ratios = c.map((r) => pick(r)).flatMap((l, i) => (l === null || !Number.isFinite(l) ? [] : [l / c[i]!.needsBytes])).sort((a, b) => a - b);
    return ratios.length ? Math.round(ratios[Math.floor(ratios.length / 2)]! * 100) / 100 : null;
  };
  const leaks = rows.filter((r) => r.isLeak);
  return {
    notLeak: { memaudit: of((r) => r.limits.memaudit), krr: of((r) => r.limits.krr), vpa: of((r) => r.limits.vpa) },
    cacheMedianRatio: { memaudit: cache((r) => r.limits.memaudit), krr: cache((r) => r.limits.krr), vpa: cache((r) => r.limits.vpa) },
    leaks: {
      traces: leaks.length,
      memauditRaised: leaks.filter((r) => r.limits.memaudit !== null && Number.isFinite(r.limits.memaudit)).length,
      krrSetsALimit: leaks.length,
      vpaSetsALimit: leaks.length,
      medianMinutesUntilLeakReachesKrr: median(leaks.map((r) => r.leakReachesLimitMinutes?.krr ?? null)),
      medianMinutesUntilLeakReachesVpa: median(leaks.map((r) => r.leakReachesLimitMinutes?.vpa ?? null)),
    },
  };
}

function median(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return v.length ? Math.round(v[Math.floor(v.length / 2)]! * 10) / 10 : null;
}
