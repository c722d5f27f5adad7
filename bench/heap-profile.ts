/**
 * Heap profile decode + growing-functions diff against `go tool pprof`, on two large real Go heap
 * profiles of one growing program (test/fixtures/pprof/gen/make-large.sh writes both from one run:
 * the earlier after 80 % of the allocations). Runs are interleaved (memaudit, go, memaudit, ...) so
 * a change in the machine's load hits both sides alike.
 *
 *   memaudit, as a user runs it: `memaudit analyze --cgroup <a small trace> --pprof BASE FINAL -o json`,
 *     a process (start, decode both, diff, analyse the trace, print);
 *   memaudit in-process: readHeapProfileFile(BASE), readHeapProfileFile(FINAL), heapDiff;
 *   `go tool pprof -raw BASE` + `go tool pprof -raw FINAL`: a process each (decode and print);
 *   `go tool pprof -top -diff_base=BASE FINAL`: one process, Go's own growing-functions answer.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { heapDiff } from '../src/analysis/heap-diff.ts';
import { readHeapProfileFile } from '../src/sources/pprof.ts';
import { formatTiming, mib, timing, type Report, type Timing } from './measure.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, '.bench-out/pprof');

export interface ProfilePair {
  base: string;
  final: string;
  functions: number;
  allocations: number;
}

/** The pair for these sizes, generated when missing (git-ignored under .bench-out/). */
export function profilePair(functions: number, allocations: number): ProfilePair {
  mkdirSync(OUT, { recursive: true });
  const final = path.join(OUT, `heap-${functions}f-${allocations}a.pb.gz`);
  const base = path.join(OUT, `heap-${functions}f-${allocations}a-base.pb.gz`);
  if (!existsSync(final) || !existsSync(base)) {
    console.log(`generating ${path.relative(ROOT, final)} and its base (test/fixtures/pprof/gen/make-large.sh ${functions} functions, ${allocations} allocations)...`);
    const r = spawnSync(path.join(ROOT, 'test/fixtures/pprof/gen/make-large.sh'), [final, String(functions), String(allocations), base], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('make-large.sh failed');
  }
  return { base, final, functions, allocations };
}

/** GNU time, when installed, gives each process's peak RSS. */
const GNU_TIME = existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0 ? '/usr/bin/time' : null;

/** Wall milliseconds of one process, and its peak RSS in KiB when GNU time is there. */
function run(cmd: string, args: string[]): { ms: number; maxRssKiB: number | null } {
  const rssFile = path.join(OUT, `maxrss-${process.pid}`);
  const [bin, argv] = GNU_TIME ? [GNU_TIME, ['-f', '%M', '-o', rssFile, cmd, ...args]] : [cmd, args];
  const t = performance.now();
  const r = spawnSync(bin, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr?.toString().slice(0, 300)}`);
  const maxRssKiB = GNU_TIME ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : null;
  return { ms, maxRssKiB };
}

export interface HeapProfileFigures {
  profiles: { file: string; gzipBytes: number; rawBytes: number; functionsOnInuseStacks: number }[];
  memauditProcessMs: Timing;
  memauditInProcessMs: Timing;
  goToolPprofRawMs: Timing;
  goToolPprofDiffBaseMs: Timing | null;
  /** Peak RSS (MiB, median over the runs) of each process, when GNU time is installed. */
  peakRssMiB: { memauditProcess: number | null; goToolPprofRaw: number | null; goToolPprofDiffBase: number | null };
  speedupVsGoToolPprofRaw: number;
  speedupVsGoToolPprofRawInProcess: number;
  speedupVsGoToolPprofDiffBase: number | null;
  topGrowing: string[];
}

export async function heapProfileBench(report: Report, pair: ProfilePair, runs: number, diffBaseRuns: number): Promise<HeapProfileFigures | null> {
  if (spawnSync('go', ['version']).status !== 0) {
    report.text('`go` is not installed: the comparison with go tool pprof was skipped.');
    return null;
  }
  const trace = path.join(ROOT, 'test/fixtures/traces/heap-leak/trace.jsonl');
  const cli = path.join(ROOT, 'bin/memaudit');
  const profiles = await Promise.all(
    [pair.base, pair.final].map(async (f) => {
      const p = await readHeapProfileFile(f);
      return { file: path.relative(ROOT, f), gzipBytes: statSync(f).size, rawBytes: gunzipSync(readFileSync(f)).length, functionsOnInuseStacks: p.cumInuseBytes.size };
    }),
  );
  // One untimed run of each: Go builds or finds its pprof tool, the page cache holds the files.
  run('go', ['tool', 'pprof', '-raw', pair.final]);
  run(cli, ['analyze', '--cgroup', trace, '--pprof', pair.base, pair.final, '-o', 'json']);
  const ours: number[] = [];
  const inProcess: number[] = [];
  const raw: number[] = [];
  const diffBase: number[] = [];
  const rss = { ours: [] as number[], raw: [] as number[], diffBase: [] as number[] };
  const note = (list: number[], r: { maxRssKiB: number | null }) => {
    if (r.maxRssKiB !== null) list.push(r.maxRssKiB / 1024);
  };
  let top: string[] = [];
  for (let i = 0; i < runs; i++) {
    const o = run(cli, ['analyze', '--cgroup', trace, '--pprof', pair.base, pair.final, '-o', 'json']);
    ours.push(o.ms);
    note(rss.ours, o);
    const [ra, rb] = [run('go', ['tool', 'pprof', '-raw', pair.base]), run('go', ['tool', 'pprof', '-raw', pair.final])];
    raw.push(ra.ms + rb.ms);
    note(rss.raw, rb);
    const t = performance.now();
    const [a, b] = [await readHeapProfileFile(pair.base), await readHeapProfileFile(pair.final)];
    top = heapDiff(a, b, 5).map((g) => g.function);
    inProcess.push(performance.now() - t);
    if (i < diffBaseRuns) {
      const d = run('go', ['tool', 'pprof', '-top', `-diff_base=${pair.base}`, pair.final]);
      diffBase.push(d.ms);
      note(rss.diffBase, d);
    }
  }
  const medianMiB = (xs: number[]) => (xs.length ? Math.round(timing(xs).median) : null);
  const fig: HeapProfileFigures = {
    profiles,
    memauditProcessMs: timing(ours),
    memauditInProcessMs: timing(inProcess),
    goToolPprofRawMs: timing(raw),
    goToolPprofDiffBaseMs: diffBase.length ? timing(diffBase) : null,
    peakRssMiB: { memauditProcess: medianMiB(rss.ours), goToolPprofRaw: medianMiB(rss.raw), goToolPprofDiffBase: medianMiB(rss.diffBase) },
    speedupVsGoToolPprofRaw: 0,
    speedupVsGoToolPprofRawInProcess: 0,
    speedupVsGoToolPprofDiffBase: null,
    topGrowing: top,
  };
  fig.speedupVsGoToolPprofRaw = round2(fig.goToolPprofRawMs.median / fig.memauditProcessMs.median);
  fig.speedupVsGoToolPprofRawInProcess = round2(fig.goToolPprofRawMs.median / fig.memauditInProcessMs.median);
  fig.speedupVsGoToolPprofDiffBase = fig.goToolPprofDiffBaseMs ? round2(fig.goToolPprofDiffBaseMs.median / fig.memauditProcessMs.median) : null;

  report.table(
    ['profile', 'gzipped', 'uncompressed', 'functions on in-use stacks'],
    profiles.map((p) => [p.file, mib(p.gzipBytes), mib(p.rawBytes), p.functionsOnInuseStacks]),
  );
  report.text('');
  const peak = (x: number | null) => (x === null ? '-' : `${x} MiB`);
  report.table(
    ['what ran (both profiles)', 'wall time', 'peak RSS', 'memaudit is faster by'],
    [
      ['memaudit analyze --pprof BASE FINAL (a process, as a user runs it)', formatTiming(fig.memauditProcessMs), peak(fig.peakRssMiB.memauditProcess), '-'],
      ['memaudit decode + heapDiff in-process', formatTiming(fig.memauditInProcessMs), '-', '-'],
      ['go tool pprof -raw BASE; go tool pprof -raw FINAL (a process each)', formatTiming(fig.goToolPprofRawMs), `${peak(fig.peakRssMiB.goToolPprofRaw)} (FINAL)`, `${fig.speedupVsGoToolPprofRaw}x (in-process: ${fig.speedupVsGoToolPprofRawInProcess}x)`],
      ['go tool pprof -top -diff_base=BASE FINAL', fig.goToolPprofDiffBaseMs ? formatTiming(fig.goToolPprofDiffBaseMs) : 'not run', peak(fig.peakRssMiB.goToolPprofDiffBase), fig.speedupVsGoToolPprofDiffBase ? `${fig.speedupVsGoToolPprofDiffBase}x` : '-'],
    ],
  );
  report.text('', `memaudit's top growing functions (flat): ${top.join(', ')}.`);
  return fig;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
