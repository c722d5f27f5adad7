// Robustness of the verdicts on the labelled real traces: the same trace decimated (every 3rd and
// 6th sample) and cut (first 60 %, last 50 % of the window) should keep its verdict. Prints one
// row per trace; not a test, because a cut can honestly change what the data shows (a warm-up cut
// before its plateau is growth). Run: node bench/robustness.ts
import { audit } from '../src/analysis/audit.ts';
import type { MemorySample } from '../src/model/sample.ts';
import { loadLabelledTraces } from './labelled.ts';

const variants: [string, (s: MemorySample[]) => MemorySample[]][] = [
  ['full', (s) => s],
  ['1/3', (s) => s.filter((_, i) => i % 3 === 0)],
  ['1/6', (s) => s.filter((_, i) => i % 6 === 0)],
  ['first60%', (s) => s.slice(0, Math.round(s.length * 0.6))],
  ['last50%', (s) => s.slice(Math.round(s.length * 0.5))],
];
const rows = await loadLabelledTraces();
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
