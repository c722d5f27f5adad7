// Robustness of the verdicts on the labelled real traces: the same trace decimated (every 3rd and
// 6th sample) and cut (first 60 %, last 50 % of the window) should keep its verdict. Prints one
// row per trace; not a test, because a cut can honestly change what the data shows (a warm-up cut
// before its plateau is growth). Run: node bench/robustness.ts
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { audit } from '../src/analysis/audit.ts';
import type { MemorySample } from '../src/model/sample.ts';
import { parseCgroupRecording } from '../src/sources/cgroup-recording.ts';
import { parseDockerStatsLines } from '../src/sources/docker-stats.ts';
import { readHeapProfileFile } from '../src/sources/pprof.ts';

const FIX = path.resolve(import.meta.dirname, '../test/fixtures');
const variants: [string, (s: MemorySample[]) => MemorySample[]][] = [
  ['full', (s) => s],
  ['1/3', (s) => s.filter((_, i) => i % 3 === 0)],
  ['1/6', (s) => s.filter((_, i) => i % 6 === 0)],
  ['first60%', (s) => s.slice(0, Math.round(s.length * 0.6))],
  ['last50%', (s) => s.slice(Math.round(s.length * 0.5))],
];
const rows: { name: string; truth: string; samples: MemorySample[]; profiles: Awaited<ReturnType<typeof readHeapProfileFile>>[] }[] = [];
for (const l of JSON.parse(readFileSync(path.join(FIX, 'traces/labels.json'), 'utf8')) as { name: string; verdict: string; leakSource: string | null }[]) {
  const d = path.join(FIX, 'traces', l.name);
  const f = path.join(d, 'trace.jsonl');
  const profiles = await Promise.all(readdirSync(d).filter((x) => x.endsWith('.pb.gz')).map((x) => readHeapProfileFile(path.join(d, x))));
  rows.push({ name: `cgroup/${l.name}`, truth: `${l.verdict}${l.leakSource ? `/${l.leakSource}` : ''}`, samples: parseCgroupRecording(readFileSync(f, 'utf8'), f).samples, profiles });
}
for (const l of JSON.parse(readFileSync(path.join(FIX, 'docker-stats/labels.json'), 'utf8')) as { file: string; verdict: string; leakSource: string | null }[]) {
  const f = path.join(FIX, 'docker-stats', l.file);
  rows.push({ name: `docker/${l.file.replace(/\.jsonl$/, '')}`, truth: `${l.verdict}${l.leakSource ? `/${l.leakSource}` : ''}`, samples: parseDockerStatsLines(readFileSync(f, 'utf8'), f).samples, profiles: [] });
}
let same = 0;
let total = 0;
console.log(`| trace | truth | ${variants.map((v) => v[0]).join(' | ')} |`);
console.log(`|---|---|${variants.map(() => '---').join('|')}|`);
for (const r of rows) {
  const cells = variants.map(([, f]) => {
    const s = f(r.samples);
    const a = audit(s, r.profiles.filter((p) => p.timestampMs >= s[0]!.timestampMs - 5000 && p.timestampMs <= s[s.length - 1]!.timestampMs + 5000));
    const v = `${a.verdict}${a.leakSource ? `/${a.leakSource}` : ''}`;
    total++;
    if (v === r.truth) same++;
    return v === r.truth ? v : `${v} ✗`;
  });
  console.log(`| ${r.name} | ${r.truth} | ${cells.join(' | ')} |`);
}
console.log(`\nsame verdict as the label: ${same}/${total}`);
