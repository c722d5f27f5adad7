/**
 * `npm run bench`: memaudit against what people use today, side by side on the same data, and the
 * figures of issue 11. Writes docs/benchmarks.md (its hand-written preface kept) and prints the
 * same; never fails on a number (these machines are shared and noisy: ratios against a baseline
 * run alongside, medians and spreads of repeated runs).
 *
 *   npm run bench                      every section, full size; writes docs/benchmarks.md
 *   npm run bench -- --quick           small sizes, fewer runs; prints only (unless --out)
 *   npm run bench -- --json FILE       the figures as JSON as well
 *   npm run bench -- --out FILE        the markdown to FILE instead of docs/benchmarks.md
 *   npm run bench -- --sections diagnosis,time,heap,cadvisor,controller,engine
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cadvisorParseBench } from './cadvisor-parse.ts';
import { controllerRealReport, RECORDED_FIGURES } from './controller-real-report.ts';
import type { ControllerRealFigures } from './controller-real-report.ts';
import { figuresFor20k, measureEvidenceBytesApart, measureRounds, requestLines } from './controller.ts';
import { reauditSets } from './reaudit.ts';
import { DETECTORS, heldoutSets, labelledRows, limitSummary, limitTable, tally, verdictTable, type TraceRow } from './diagnosis.ts';
import { heapProfileBench, profilePair } from './heap-profile.ts';
import { loadLabelledTraces } from './labelled.ts';
import { formatBytes } from '../src/model/units.ts';
import { formatTiming, machine, mib, Report } from './measure.ts';
import { throughput } from './throughput.ts';
import { heapLeakAt5s, timesToVerdict } from './verdict-time.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DOC = path.join(ROOT, 'docs/benchmarks.md');
const MARKER = '<!-- Everything below this line is written by `npm run bench`; edit the preface above it. -->';
const HELDOUT_DIRS = ['heldout', 'heldout2'].map((d) => path.join(ROOT, 'test/fixtures', d));

/** Written once when docs/benchmarks.md has no preface yet; from then on the file's own preface is kept. */
const DEFAULT_PREFACE = `# Benchmarks

How to read this page: see the preface in docs/benchmarks.md.

`;

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes('--quick');
const jsonFile = opt('--json');
const outFile = opt('--out') ?? (quick ? undefined : DOC);
const sections = new Set((opt('--sections') ?? 'diagnosis,time,heap,cadvisor,controller,engine').split(','));

const report = new Report();
const m = machine();
report.set('machine', m);
report.set('quick', quick);
report.text(`Run ${m.date} on ${m.cpuModel}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.kernel}; Node ${m.node}${m.go ? `, ${m.go}` : ''}; load average ${m.loadAverage1m} at the start (the machine is shared)${quick ? '; `--quick`: small sizes, fewer runs' : ''}.`);

const pct = (n: number, of: number) => `${n}/${of}`;

if (sections.has('diagnosis')) {
  report.section('1. Diagnosis side by side on the same data');
  const labelled = await labelledRows();
  report.text('### Labelled traces (the engine was built around these)', '');
  verdictTable(report, labelled);
  const lt = tally(labelled);
  report.text('', `Leak / not leak right: ${['memaudit', ...DETECTORS.map((d) => d.key)].map((k) => `${k === 'memaudit' ? 'memaudit' : DETECTORS.find((d) => d.key === k)!.title} ${pct(lt.byAnalyser[k]!.leakVsNot, lt.traces)}`).join('; ')}. memaudit's exact verdict (with leakSource): ${pct(lt.exactMemaudit, lt.traces)}.`);
  report.text('', 'False leaks on page cache (CacheGrowth traces called a leak): ' + ['memaudit', ...DETECTORS.map((d) => d.key)].map((k) => `${k === 'memaudit' ? 'memaudit' : DETECTORS.find((d) => d.key === k)!.title} ${pct(lt.byAnalyser[k]!.falseLeakOnCache, lt.cacheTraces)}`).join('; ') + '.');

  const held = await heldoutSets(HELDOUT_DIRS);
  const heldRows: TraceRow[] = held.flatMap((h) => h.rows);
  for (const h of held) {
    report.text('', `### Held-out set ${path.relative(ROOT, h.dir)} (recorded after the engine; scored by its own score.ts, never tuned on)`, '');
    verdictTable(report, h.rows);
    const s = h.scores;
    report.text('', `score.ts: memaudit exact ${s.memaudit!.exact}/${s.memaudit!.total}, leak / not leak ${s.memaudit!.leakVsNot}/${s.memaudit!.total}, labelled growing function in its top 3 ${s.memaudit!.growingFunctions!.found}/${s.memaudit!.growingFunctions!.labelled}; leak / not leak of ${DETECTORS.map((d) => `${d.title} ${s[d.key]!.leakVsNot}/${s[d.key]!.total}`).join(', ')}.`);
    const ht = tally(h.rows);
    report.text('', 'False leaks on page cache: ' + ['memaudit', ...DETECTORS.map((d) => d.key)].map((k) => `${k === 'memaudit' ? 'memaudit' : DETECTORS.find((d) => d.key === k)!.title} ${pct(ht.byAnalyser[k]!.falseLeakOnCache, ht.cacheTraces)}`).join('; ') + '.');
  }

  report.text('', '### Limits: what each tool would set, against what the workload needs', '');
  report.text(
    `"Needs" is physics, not policy (bench/needs.ts): the peak over the window of anon + shmem + non-reclaimable kernel memory + mapped files; page cache, dirty pages and re-read cache are left out (the kernel reclaims or writes them back; a limit below a re-read cache costs re-reads, not an OOM kill). memaudit adds 20 % headroom, keeps a re-read cache in when it sees refaults, and rounds up (16 MiB floor); KRR and VPA are bench/detectors.ts (with 8 intervals the p90 of the peaks is the largest peak, so VPA's shape gives KRR's number on traces this short: in production they differ by VPA's decay of old peaks and its 250 MiB minimum). For a leak no limit is right: memaudit sets none (or keeps the current one) and says when the leak reaches it; KRR and VPA set one the leak then grows into (minutes at its recent slope).`,
    '',
  );
  limitTable(report, [...labelled, ...heldRows]);
  const lim = { labelled: limitSummary(labelled), heldout: limitSummary(heldRows) };
  for (const [set, s] of Object.entries(lim)) {
    const line = (k: 'memaudit' | 'krr' | 'vpa') => {
      const x = s.notLeak[k];
      return x ? `${k} median ${x.medianRatio}x the need (${x.medianExcessMiB >= 0 ? '+' : ''}${x.medianExcessMiB} MiB; worst ${x.maxRatio}x), below the need on ${x.belowNeed}/${x.traces}` : `${k} -`;
    };
    report.text('', `${set}: not leaks: ${line('memaudit')}; ${line('krr')}; ${line('vpa')}. On page cache (median): memaudit ${s.cacheMedianRatio.memaudit ?? '-'}x, KRR ${s.cacheMedianRatio.krr ?? '-'}x, VPA ${s.cacheMedianRatio.vpa ?? '-'}x. Leaks: memaudit raised the limit of ${s.leaks.memauditRaised}/${s.leaks.traces}; KRR and VPA set one for all ${s.leaks.traces}, which the leak reaches in a median ${s.leaks.medianMinutesUntilLeakReachesKrr ?? '-'} min (KRR) and ${s.leaks.medianMinutesUntilLeakReachesVpa ?? '-'} min (VPA).`);
  }

  const keys = ['memaudit', ...DETECTORS.map((d) => d.key)];
  const heldTally = tally(heldRows);
  const falseLeak = Object.fromEntries(keys.map((k) => [k, lt.byAnalyser[k]!.falseLeakOnCache + heldTally.byAnalyser[k]!.falseLeakOnCache]));
  report.set('diagnosis.falseLeakOnCache', { ...falseLeak, cacheTraces: lt.cacheTraces + heldTally.cacheTraces, labelled: Object.fromEntries(keys.map((k) => [k, lt.byAnalyser[k]!.falseLeakOnCache])), heldout: Object.fromEntries(keys.map((k) => [k, heldTally.byAnalyser[k]!.falseLeakOnCache])) });
  report.set('diagnosis.labelled', lt);
  report.set('diagnosis.heldout', held.map((h) => ({ dir: path.relative(ROOT, h.dir), scores: h.scores, tally: tally(h.rows) })));
  report.set('diagnosis.limits', lim);
  report.set('diagnosis.traces', [...labelled, ...heldRows]);

  report.text('', '### Full audits on demand (the controller)', '');
  report.text('The controller runs a container\'s full audit again only when due (src/analysis/reaudit.ts). Every trace replayed a round at a time under the sparsest policy it uses (24 h at 30 s: a refresh every 30 rounds), against a full audit of the whole trace:', '');
  const reaudit = await reauditSets(ROOT, HELDOUT_DIRS);
  report.table(['set', 'traces ending on the full verdict', 'rounds with a full audit', 'final verdict later than with a full audit a round (worst trace)', 'differ'], reaudit.map((r) => [r.set, `${r.sameVerdict}/${r.traces}`, `${(r.fullShare * 100).toFixed(1)} %`, r.maxDelayRounds === undefined ? 'not measured' : `${r.maxDelayRounds} rounds`, r.differ.map((d) => `${d.trace}: ${d.rounds} (full: ${d.whole})`).join('; ') || '-']));
  report.text('', 'The labelled traces are short and mostly growing (most rounds move a component past the band); the policy was written against them, the held-out sets are reported apart.');
  report.set('diagnosis.reaudit', reaudit);
}

if (sections.has('time')) {
  report.section('2. Minutes to the right verdict');
  report.text('The engine on growing prefixes of each labelled trace (every 30 s of data, and the whole trace), as a live audit sees it: the first prefix from which the verdict equals the label and stays equal to the end ("-": not even on the whole trace). The detectors: the first prefix from which their leak / not-leak answer stays right.', '');
  const times = timesToVerdict(await loadLabelledTraces());
  report.table(
    ['trace', 'label', 'length (min)', 'memaudit exact', 'memaudit leak/not', ...DETECTORS.map((d) => d.title)],
    times.map((t) => [t.trace, t.truth, t.durationMinutes.toFixed(1), fmtMin(t.exactMinutes), fmtMin(t.leakVsNotMinutes), ...DETECTORS.map((d) => fmtMin(t.detectors[d.key] ?? null))]),
  );
  const leaks = times.filter((t) => t.truth.startsWith('Leak'));
  const leakMinutes = Object.fromEntries(leaks.map((t) => [t.trace, t.leakVsNotMinutes]));
  const known = leaks.map((t) => t.leakVsNotMinutes).filter((x): x is number => x !== null).sort((a, b) => a - b);
  const summary = { perTrace: leakMinutes, exactPerTrace: Object.fromEntries(leaks.map((t) => [t.trace, t.exactMinutes])), median: known.length ? known[Math.floor(known.length / 2)]! : null, max: known.length ? known[known.length - 1]! : null, neverReached: leaks.length - known.length };
  report.set('diagnosis.minutesToLeakVerdict', summary);
  report.set('diagnosis.minutesToVerdict', times);
  report.text('', `Leaks: a Leak verdict that stays, after a median ${summary.median ?? '-'} min (max ${summary.max ?? '-'} min; never on ${summary.neverReached} of ${leaks.length}).`);

  const h = heapLeakAt5s();
  report.set('diagnosis.heapLeak1MiBps5s', { trace: 'test/fixtures/docker-stats/heap-leak.jsonl every 5 s', samples: h.samples, minutesToLeak: h.leakMinutes, minutesToExactLabel: h.exactMinutes, withinFiveMinutes: h.leakMinutes !== null && h.leakMinutes <= 5, verdicts: h.verdicts });
  report.text('', `**A 1 MiB/s heap leak sampled every 5 s** (test/fixtures/docker-stats/heap-leak.jsonl, \`heapleak -rate 1048576\` recorded from the Docker stats stream at 1 s, one sample kept per 5 s: ${h.samples} samples over ${h.durationMinutes} min; a checkpoint at every sample): Leak from ${fmtMin(h.leakMinutes)} min on${h.leakMinutes !== null && h.leakMinutes <= 5 ? ', within 5 minutes' : ''} (the label's exact verdict, Leak/anon: ${fmtMin(h.exactMinutes)} min).`);
}

if (sections.has('heap')) {
  report.section('3. Heap profiles: decode + growing-functions diff vs go tool pprof');
  const pair = quick ? profilePair(3000, 60_000) : profilePair(20_000, 600_000);
  report.text(`Two heap profiles of one run of a generated Go program (test/fixtures/pprof/gen/make-large.sh: ${pair.functions} functions allocating along random call paths, MemProfileRate 1, ${pair.allocations} allocations; the base written after 80 % of them). Runs interleaved; wall time.`, '');
  const fig = await heapProfileBench(report, pair, quick ? 3 : 5, quick ? 2 : 3);
  if (fig) report.set('heapProfile', fig);
}

if (sections.has('cadvisor')) {
  report.section("4. Reading a kubelet's /metrics/cadvisor");
  const p = cadvisorParseBench(quick ? 2 : 10, quick ? 2 : 5);
  report.set('cadvisorParse', p);
  report.text(
    `Generated node bodies of a 100-node fleet of 20,000 containers (test/e2e/harness/generated-cadvisor.ts: every family a kubelet's cAdvisor serves, for each container, pod cgroup and pause container; ${p.containersPerNode} containers, ${mib(p.bytesPerNode)} and ${p.linesPerNode} lines per node), ${p.nodesMeasured} of them read per run; the three readers interleaved, the first run left out. The text parser is the one the scanner replaced (test/helpers/cadvisor-reference.ts), with the body's decoding to a string it needed.`,
    '',
  );
  report.table(
    ['reader', 'MB/s', 'a 100-node round'],
    [
      ['text parser (before)', formatTiming(p.textParserMBps, 'MB/s'), `${p.fleetRoundMs.textParser} ms`],
      ["byte scanner, the controller's selection (every container selected)", formatTiming(p.scannerSelectedMBps, 'MB/s'), `${p.fleetRoundMs.scannerSelected} ms`],
      ['byte scanner, no selection (every container, keys built from the text)', formatTiming(p.scannerAllMBps, 'MB/s'), ''],
    ],
  );
  report.text('', `\`cadvisorParse.speedupSelected\`: **${p.speedupSelected}x** (same samples: test/unit/sources/cadvisor.test.ts).`);
}

if (sections.has('controller')) {
  report.section('5. Controller figures (in-process)');
  const scenario = quick ? { nodes: 2, podsPerNode: 100, podsPerAudit: 50, goShare: 0.5 } : { nodes: 10, podsPerNode: 100, podsPerAudit: 50, goShare: 0.5 };
  // Enough containers that the process's fixed part (some 150 KB however many) is not counted as theirs.
  const evidence = measureEvidenceBytesApart(quick ? 20 : 200);
  const measured = await measureRounds(scenario, quick ? 12 : 30);
  const f = figuresFor20k(measured, evidence);
  report.set('controller', f);
  report.text(
    `Not from a real API server: ${f.method}. Scenario: ${scenario.nodes} nodes of ${scenario.podsPerNode} one-container pods, an audit per ${scenario.podsPerAudit} pods, ${scenario.goShare * 100} % of audits on Go services with a pprof port; interval 30 s, window 24 h, minDuration 30 m (a heap profile every 6 min), --state-sync-period and --status-sync-period 5 m (the defaults).`,
    '',
  );
  report.table(
    ['figure', 'value', 'how'],
    [
      ['controller.bytesPerContainer', `${formatBytes(f.bytesPerContainer)} (${f.bytesPerContainer} B)`, `heap and backing stores held for one container's evidence after 24 h at 30 s (${f.samplesKeptPerContainer} samples kept for the ${evidence.rounds} taken, compact-samples.ts), sampled from generated kubelet scrapes through the kubelet scanner, the window pruned every round`],
      ['  samples alone', `${formatBytes(f.ownBytesPerContainer)} (${f.ownBytesPerContainer} B)`, 'the compact samples\' own bytes (CompactSamples.heldBytes)'],
      ['  saved in the ConfigMap', `${f.persistedBytesPerContainer} B`, 'gzipped JSON of the same evidence'],
      ['controller.cpuSecondsPerRound20k', `${f.cpuSecondsPerRound20k} s`, `CPU of a round, the mean of ${measured.cycleRounds} after the warm-up (${measured.cpuSecondsSteadyRound.toFixed(3)} s for ${measured.containers} containers, ${measured.wallSecondsSteadyRound.toFixed(3)} s wall; single rounds ${formatTiming(measured.cpuSecondsSteadyRounds, 's', 3)}; the first, every container audited in full and heap profiles due: ${measured.cpuSecondsProfileRound.toFixed(2)} s) x ${(20_000 / measured.containers).toFixed(0)}`],
      ['controller.apiRequestsPerRound', String(f.apiRequestsPerRound), `API server requests for 20,000 containers, the cycle's mean; measured per round: ${requestLines(measured.requestsSteadyRound)}`],
      ['controller.podFetchesPerRound', String(f.podFetchesPerRound), 'MemStats and heap profiles of the Go targets (to the pod IP by default; through the API server with --pprof-access proxy, as measured here)'],
    ],
  );
  report.text('', `Where a round's time goes (wall seconds per reconcile step, the cycle's mean, ${measured.containers} containers): ${Object.entries(measured.stepSecondsSteadyRound).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}. A kubelet scrape here is ${mib(measured.kubeletScrapeBytesPerNode)} per node of ${scenario.podsPerNode} pods; the evidence ConfigMaps written per round total ${mib(measured.configMapBytesPerRound)}.`);
}

if (sections.has('engine')) {
  report.section('6. Engine throughput');
  throughput(report, quick ? 1000 : 10_000, quick ? 2 : 3);
}

report.section('Not in `npm run bench`');
report.text(
  '- `npm run bench:robustness`: the labelled traces decimated 3x and 6x and cut to their first 60 % and last 50 %: does the verdict hold?',
  '- `npm run bench:memory`: peak RSS of `memaudit analyze --docker-stats` on a generated 1 GiB recording (minutes to generate).',
  `- \`npm run bench:controller-real [-- --containers N --nodes M --json ${RECORDED_FIGURES}]\`: one \`memaudit controller\` process against a real kube-apiserver + etcd (test/e2e's control plane, from the cached binaries), with Node and Pod objects for the fleet (default 20,000 one-container pods over 100 nodes, a MemoryAudit per 50 pods, interval 30 s) and a stand-in kubelet per node serving generated /metrics/cadvisor (test/e2e/harness/fleet-kubelet.ts). CPU and RSS from the controller's /proc, API requests from the API server's own apiserver_request_total (an idle window's background subtracted), kubelet scrapes counted by the stand-ins; rounds are new samples per container, so a controller that falls behind shows fewer rounds. The recorded run (${RECORDED_FIGURES}):`,
);
const recorded = path.join(ROOT, RECORDED_FIGURES);
if (existsSync(recorded)) report.text('', ...controllerRealReport(JSON.parse(readFileSync(recorded, 'utf8')) as ControllerRealFigures));

/** The issue's figures first, from what the sections set (placed after the machine line). */
function summary(f: Record<string, unknown>): string[] {
  const get = (p: string): unknown => p.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], f);
  const out: string[] = ['', '**Summary**', ''];
  const heap = get('heapProfile') as { speedupVsGoToolPprofRaw: number; speedupVsGoToolPprofRawInProcess: number; speedupVsGoToolPprofDiffBase: number | null; profiles: { gzipBytes: number }[] } | undefined;
  if (heap) out.push(`- \`heapProfile.speedupVsGoToolPprofRaw\`: **${heap.speedupVsGoToolPprofRaw}x** (decode + diff of ${heap.profiles.map((p) => mib(p.gzipBytes)).join(' + ')} heap profiles, a memaudit process against a \`go tool pprof -raw\` process per profile; in-process ${heap.speedupVsGoToolPprofRawInProcess}x; against \`go tool pprof -top -diff_base\` ${heap.speedupVsGoToolPprofDiffBase ?? '-'}x)`);
  const fl = get('diagnosis.falseLeakOnCache') as Record<string, number> | undefined;
  if (fl) out.push(`- \`diagnosis.falseLeakOnCache\` (CacheGrowth traces called a leak, labelled + held-out, of ${fl.cacheTraces}): memaudit **${fl.memaudit}**, ${DETECTORS.map((d) => `${d.title} ${fl[d.key]}`).join(', ')}`);
  const ml = get('diagnosis.minutesToLeakVerdict') as { median: number | null; max: number | null; neverReached: number; perTrace: object } | undefined;
  if (ml) out.push(`- \`diagnosis.minutesToLeakVerdict\` (labelled leaks, data replayed every 30 s): median **${ml.median ?? '-'} min**, at most ${ml.max ?? '-'} min, never on ${ml.neverReached} of ${Object.keys(ml.perTrace).length}`);
  const h5 = get('diagnosis.heapLeak1MiBps5s') as { minutesToLeak: number | null } | undefined;
  if (h5) out.push(`- a 1 MiB/s heap leak sampled every 5 s: **Leak after ${h5.minutesToLeak ?? '-'} min**${h5.minutesToLeak !== null && h5.minutesToLeak <= 5 ? ' (within 5 minutes)' : ' (NOT within 5 minutes)'}`);
  const cp = get('cadvisorParse') as { scannerSelectedMBps: { median: number }; textParserMBps: { median: number }; speedupSelected: number } | undefined;
  if (cp) out.push(`- \`cadvisorParse\` (section 4): the byte scanner reads /metrics/cadvisor at **${cp.scannerSelectedMBps.median.toFixed(0)} MB/s** (the text parser it replaced: ${cp.textParserMBps.median.toFixed(0)} MB/s; ${cp.speedupSelected}x)`);
  const c = get('controller') as { bytesPerContainer: number; ownBytesPerContainer: number; cpuSecondsPerRound20k: number; apiRequestsPerRound: number } | undefined;
  if (c) out.push(`- controller, in-process (section 5): \`controller.bytesPerContainer\` **${formatBytes(c.bytesPerContainer)}** (the samples alone ${formatBytes(c.ownBytesPerContainer)}), \`controller.cpuSecondsPerRound20k\` **${c.cpuSecondsPerRound20k} s** per 30 s round, \`controller.apiRequestsPerRound\` **${c.apiRequestsPerRound}**`);
  return out.length > 3 ? out : [];
}

function fmtMin(x: number | null): string {
  return x === null ? '-' : x.toFixed(1);
}

const head = summary(report.figures);
report.lines.splice(1, 0, ...head);
for (const l of head) console.log(l);

if (jsonFile) {
  mkdirSync(path.dirname(path.resolve(jsonFile)), { recursive: true });
  writeFileSync(jsonFile, JSON.stringify(report.figures, null, 2) + '\n');
  console.log(`\nfigures: ${jsonFile}`);
}
if (outFile) {
  const existing = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
  const preface = existing.includes(MARKER) ? existing.slice(0, existing.indexOf(MARKER)) : DEFAULT_PREFACE;
  writeFileSync(outFile, `${preface}${MARKER}\n\n${report.lines.join('\n').trim()}\n`);
  console.log(`\nreport: ${path.relative(process.cwd(), outFile)}`);
}
