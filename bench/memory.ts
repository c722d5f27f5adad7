/**
 * `npm run bench:memory [-- --size-mb 1024] [--keep FILE]`: peak RSS of `memaudit analyze
 * --docker-stats` on a large recording of one container (the goal: at most 300 MiB for 1 GiB).
 *
 * The recording is made from a real stats object (test/fixtures/docker-stats/heap-leak.jsonl,
 * cgroup v1), one line a second: `read`/`preread` advance, and the memory values move the way a
 * Go service's do: anon is a GC sawtooth (0-8 MiB over each minute) on a floor leaking 1 MiB/h,
 * the page cache fills with a log file and is trimmed back at 256 MiB, usage is their sum plus
 * kernel memory. Everything else in the object is kept as captured.
 *
 * The analysis runs in a child process (bench/analyze-maxrss.ts, the CLI's own main()) that reports
 * its own peak RSS (getrusage ru_maxrss) and wall time. Prints a report; never fails on numbers.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';

const ROOT = path.resolve(import.meta.dirname, '..');
const MiB = 2 ** 20;
const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const sizeMb = Number(opt('--size-mb') ?? 1024);
const keep = opt('--keep');

/** The parts of a stats object the generator changes. */
interface StatsObject {
  read: string;
  preread: string;
  memory_stats: { usage: number; max_usage: number; stats: Record<string, number> };
}

async function generate(file: string, bytes: number): Promise<number> {
  const first = readFileSync(path.join(ROOT, 'test/fixtures/docker-stats/heap-leak.jsonl'), 'utf8').split('\n')[0]!;
  const base = JSON.parse(first) as StatsObject;
  const t0 = Date.parse('2026-11-01T00:00:00Z');
  const out = createWriteStream(file);
  let written = 0;
  let lines = 0;
  while (written < bytes) {
    const t = t0 + lines * 1000;
    const o = structuredClone(base);
    o.read = new Date(t).toISOString();
    o.preread = new Date(t - 1000).toISOString();
    const hours = lines / 3600;
    const anon = Math.round((40 * MiB + hours * MiB + ((lines % 60) / 60) * 8 * MiB) / 4096) * 4096;
    const cache = Math.round(((lines * 64 * 1024) % (256 * MiB)) / 4096) * 4096;
    const kmem = 3 * MiB;
    const st = o.memory_stats.stats;
    for (const k of ['rss', 'total_rss']) st[k] = anon;
    for (const k of ['inactive_anon', 'total_inactive_anon']) st[k] = anon - 4096;
    for (const k of ['cache', 'total_cache']) st[k] = cache;
    for (const k of ['inactive_file', 'total_inactive_file']) st[k] = Math.max(0, cache - 8192);
    for (const k of ['active_file', 'total_active_file']) st[k] = Math.min(cache, 8192);
    for (const k of ['pgfault', 'total_pgfault']) st[k] = 1725 + lines * 37;
    o.memory_stats.usage = anon + cache + kmem;
    o.memory_stats.max_usage = Math.max(o.memory_stats.max_usage, o.memory_stats.usage);
    const line = JSON.stringify(o) + '\n';
    written += Buffer.byteLength(line);
    lines++;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return lines;
}

interface Measured {
  code: number | null;
  maxRssMiB: number;
  seconds: number;
  verdict?: string;
  samples?: number;
  stderr: string;
}

function measure(file: string): Measured {
  const node = path.join(ROOT, 'node_modules/.bin/node');
  const r = spawnSync(node, ['--disable-warning=ExperimentalWarning', path.join(ROOT, 'bench/analyze-maxrss.ts'), 'analyze', '--docker-stats', file, '-o', 'json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * MiB });
  const report = /^maxrss-report (.*)$/m.exec(r.stderr);
  const m = report ? (JSON.parse(report[1]!) as { maxRssKiB: number; seconds: number }) : { maxRssKiB: NaN, seconds: NaN };
  const out: Measured = { code: r.status, maxRssMiB: m.maxRssKiB / 1024, seconds: m.seconds, stderr: r.stderr.replace(/^maxrss-report .*$/m, '').trim() };
  try {
    const j = JSON.parse(r.stdout) as { verdict: string; leakSource: string | null; window: { samples: number } };
    out.verdict = j.leakSource ? `${j.verdict}/${j.leakSource}` : j.verdict;
    out.samples = j.window.samples;
  } catch {
    // no result: the error is in stderr
  }
  return out;
}

const file = keep ?? path.join(tmpdir(), `memaudit-bench-${process.pid}.jsonl`);
console.log(`## Peak memory of analyze --docker-stats on a ${sizeMb} MiB recording of one container\n`);
const lines = await generate(file, sizeMb * MiB);
const size = statSync(file).size;
console.log(`recording: ${(size / MiB).toFixed(0)} MiB, ${lines} stats objects (${(lines / 86400).toFixed(1)} days at 1 Hz), ${file}`);
const m = measure(file);
console.log(`| input | exit | peak RSS | wall time | samples analysed | verdict |`);
console.log(`|---|---|---|---|---|---|`);
console.log(`| ${(size / MiB).toFixed(0)} MiB | ${m.code} | ${m.maxRssMiB.toFixed(0)} MiB | ${m.seconds.toFixed(1)} s | ${m.samples ?? '-'} | ${m.verdict ?? '-'} |`);
console.log(`\ngoal: peak RSS <= 300 MiB: ${m.maxRssMiB <= 300 ? 'met' : 'NOT met'}`);
if (m.stderr) console.log(`\nstderr: ${m.stderr.slice(0, 500)}`);
if (!keep) rmSync(file, { force: true });
