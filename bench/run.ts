/**
 * `npm run bench`: memaudit against baselines, side by side on the same data, as ratios.
 *   1. verdicts on the labelled real traces: memaudit vs the naive detectors used today;
 *   2. engine throughput: incremental updates across 10,000 series, vs a least-squares baseline;
 *   3. heap profile decode + diff vs `go tool pprof -raw` on the same large profile.
 * Prints a report; never fails on timings (these machines are shared and noisy).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { audit } from '../src/analysis/audit.ts';
import { heapDiff } from '../src/analysis/heap-diff.ts';
import { ols } from '../src/analysis/stats/ols.ts';
import type { MemorySample } from '../src/model/sample.ts';
import { DEFAULT_EVIDENCE_LIMITS, TargetEvidence } from '../src/controller/evidence.ts';
import { MiB } from '../src/model/units.ts';
import { decodeHeapProfile } from '../src/sources/pprof.ts';
import { predictLinearWorkingSetDetector, usageSlopeDetector } from './detectors.ts';
import { loadLabelledTraces } from './labelled.ts';
import { scoreHeldout } from '../test/fixtures/heldout/score.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const FIX = path.join(ROOT, 'test/fixtures');
const HELDOUT_DIRS = [path.join(FIX, 'heldout'), path.join(FIX, 'heldout2')];
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');

function header(title: string): void {
  console.log(`\n## ${title}\n`);
}

async function verdicts(): Promise<void> {
  header('1. Verdicts on the labelled real traces (truth vs memaudit vs naive detectors)');
  const rows = await loadLabelledTraces();
  let exact = 0;
  let leakRight = 0;
  let usageRight = 0;
  let wsRight = 0;
  console.log(`| trace | truth | memaudit | usage slope | predict_linear(working set) |`);
  console.log(`|---|---|---|---|---|`);
  for (const r of rows) {
    const res = audit(r.samples, r.profiles);
    const got = res.leakSource ? `${res.verdict}/${res.leakSource}` : res.verdict;
    const u = usageSlopeDetector(r.samples);
    const w = predictLinearWorkingSetDetector(r.samples);
    if (got === r.truth) exact++;
    if ((res.verdict === 'Leak') === r.isLeak) leakRight++;
    if ((u === 'Leak') === r.isLeak) usageRight++;
    if ((w === 'Leak') === r.isLeak) wsRight++;
    const mark = (ok: boolean) => (ok ? '' : ' ✗');
    console.log(`| ${r.name} | ${r.truth} | ${got}${mark(got === r.truth)} | ${u}${mark((u === 'Leak') === r.isLeak)} | ${w}${mark((w === 'Leak') === r.isLeak)} |`);
  }
  const n = rows.length;
  console.log(`\nexact verdict (with leakSource): memaudit ${exact}/${n}`);
  console.log(`leak / not-leak right: memaudit ${leakRight}/${n}, usage slope ${usageRight}/${n}, predict_linear(working set) ${wsRight}/${n}`);

  // Scored apart: traces recorded after the thresholds were set (test/fixtures/heldout*/README.md
  // says which set still judges the engine fairly and which became development data).
  for (const dir of HELDOUT_DIRS) {
    if (!existsSync(path.join(dir, 'labels.json'))) continue;
    const s = await scoreHeldout({ dir });
    console.log(`\nheld-out set ${path.relative(ROOT, dir)}: exact ${s.exact}/${s.total}, leak / not-leak ${s.leakVsNot}/${s.total}, growing function in the top 3 ${s.growingFunctions.found}/${s.growingFunctions.labelled}`);
  }
}

/** Synthetic but physical: each series is a container with a GC sawtooth and its own growth. */
function makeSample(series: number, i: number): MemorySample {
  const kind = series % 4;
  const t = i * 30;
  const anon = 50 * MiB + (kind === 1 ? t * 3000 : 0) + ((i * 7919 + series) % 97) * 40_000;
  const inactive = 5 * MiB + (kind === 2 ? t * 2000 : 0);
  const shmem = kind === 3 ? t * 2000 : 0;
  return {
    timestampMs: 1_800_000_000_000 + t * 1000,
    usageBytes: anon + inactive + 2 * MiB + shmem + MiB,
    limitBytes: 1024 * MiB,
    anonBytes: anon,
    fileBytes: inactive + 2 * MiB + shmem,
    activeFileBytes: 2 * MiB,
    inactiveFileBytes: inactive,
    shmemBytes: shmem,
  };
}

function throughput(): void {
  header('2. Engine throughput: incremental updates across 10,000 series');
  const seriesCount = quick ? 1000 : 10_000;
  const history = 120; // one hour at 30 s
  const rounds = quick ? 2 : 3;
  // The controller's own per-container evidence store, bounded the way it bounds it.
  const limits = { ...DEFAULT_EVIDENCE_LIMITS, maxSamples: 240 };
  const all: TargetEvidence[] = [];
  const rss0 = process.memoryUsage().rss;
  for (let s = 0; s < seriesCount; s++) {
    const ser = new TargetEvidence(`pod-${s}`, 'app');
    for (let i = 0; i < history; i++) ser.addSample(makeSample(s, i), limits);
    all.push(ser);
  }
  const rssSeries = process.memoryUsage().rss - rss0;

  // Baseline: what any detector must do at least: push the sample and refit least squares on usage.
  let t = performance.now();
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    for (let s = 0; s < seriesCount; s++) {
      const ser = all[s]!;
      ser.addSample(makeSample(s, history + r), limits);
      const xs = ser.samples;
      sink += ols(
        xs.map((x) => x.timestampMs),
        xs.map((x) => x.usageBytes),
      ).slope;
    }
  }
  const baseMs = performance.now() - t;

  t = performance.now();
  const verdictCount: Record<string, number> = {};
  for (let r = 0; r < rounds; r++) {
    for (let s = 0; s < seriesCount; s++) {
      const ser = all[s]!;
      ser.addSample(makeSample(s, history + rounds + r), limits);
      const res = audit(ser.samples);
      verdictCount[res.verdict] = (verdictCount[res.verdict] ?? 0) + 1;
    }
  }
  const engineMs = performance.now() - t;
  const updates = rounds * seriesCount;
  console.log(`series: ${seriesCount}, ${history}+ samples each in the controller's evidence store (maxSamples 240), memory for the series: ${(rssSeries / MiB).toFixed(0)} MiB RSS`);
  console.log(`baseline (push + least squares on usage): ${(updates / (baseMs / 1000)).toFixed(0)} updates/s`);
  console.log(`memaudit (push + full audit: 11 components, envelope, Theil-Sen, changepoint, verdict, recommendation): ${(updates / (engineMs / 1000)).toFixed(0)} updates/s`);
  console.log(`ratio memaudit/baseline time: ${(engineMs / baseMs).toFixed(1)}x; one full round over ${seriesCount} series: ${(engineMs / rounds / 1000).toFixed(2)} s (the controller's budget is one interval, 30 s by default)`);
  console.log(`verdicts: ${JSON.stringify(verdictCount)} (sink ${sink > 0 ? '+' : '-'})`);
}

function pprofBench(): void {
  header('3. Heap profile decode + diff vs `go tool pprof -raw` (same large profile)');
  const large = path.join(FIX, 'pprof/large-heap.pb.gz');
  if (!existsSync(large)) {
    console.log('generating the large profile (test/fixtures/pprof/gen/make-large.sh)...');
    execFileSync(path.join(FIX, 'pprof/gen/make-large.sh'), [large], { stdio: 'inherit' });
  }
  const bytes = readFileSync(large);
  const reps = quick ? 3 : 5;
  const ours: number[] = [];
  let p = decodeHeapProfile(bytes, { source: large });
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    p = decodeHeapProfile(bytes, { source: large });
    heapDiff(p, p, 10);
    ours.push(performance.now() - t);
  }
  const theirs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const r = spawnSync('go', ['tool', 'pprof', '-raw', large], { stdio: ['ignore', 'ignore', 'ignore'] });
    if (r.status !== 0) {
      console.log('go tool pprof is not available: skipped the comparison');
      return;
    }
    theirs.push(performance.now() - t);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`profile: ${(bytes.length / MiB).toFixed(1)} MiB gzipped, ${p.cumInuseBytes.size} functions on in-use stacks (${p.flatInuseBytes.size} allocating)`);
  console.log(`memaudit decode + diff: median ${med(ours).toFixed(0)} ms over ${reps} runs (in-process)`);
  console.log(`go tool pprof -raw: median ${med(theirs).toFixed(0)} ms over ${reps} runs (a process each, as a user runs it)`);
  console.log(`ratio memaudit/pprof: ${(med(ours) / med(theirs)).toFixed(2)}x`);
}

console.log(`# memaudit benchmarks (${new Date().toISOString()}, node ${process.version}${quick ? ', --quick' : ''})`);
await verdicts();
throughput();
pprofBench();
