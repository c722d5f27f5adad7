// One `memaudit scan` in a process of its own, so its peak RSS is the scan's alone (bench/scan.ts
// runs it): prints one JSON line with the wall time, process.resourceUsage().maxRSS, the queries
// (from the table's summary line) and how each synthetic kind was judged.
//
//   node bench/scan-run.ts PROMETHEUS_URL END_SECONDS HISTORY STEP CONTAINERS
import { Writable } from 'node:stream';
import { main } from '../src/cli/main.ts';
import { cluster, EXPECTED } from './scan-model.ts';

const [url, end, history, step, containersArg] = process.argv.slice(2);
if (!url || !end || !history || !step || !containersArg) throw new Error('usage: node bench/scan-run.ts URL END_SECONDS HISTORY STEP CONTAINERS');
let out = '';
let err = '';
const io = { stdout: new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }), stderr: new Writable({ write: (c, _e, cb) => ((err += String(c)), cb()) }) };
const t0 = performance.now();
const code = await main(['scan', '--prometheus-url', url, '--history', history, '--step', step, '--end', end], io);
const wallSeconds = (performance.now() - t0) / 1000;
const usage = process.resourceUsage();
const maxRssKiB = usage.maxRSS;
const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;

const lines = out.trimEnd().split('\n');
const queries = Number(/\((\d+) queries\)/.exec(lines[0] ?? '')?.[1]);
const header = lines.findIndex((l) => l.startsWith('VERDICT'));
const kinds = new Map(cluster(Number(containersArg)).map((c) => [`${c.namespace}/${c.pod}/${c.container}`, c.kind]));
const judged: Record<string, Record<string, number>> = {};
let agree = 0;
let rows = 0;
for (const line of lines.slice(header + 1)) {
  const [verdict, , name] = line.split(/\s{2,}/);
  const kind = kinds.get(name ?? '');
  if (!kind || !verdict) continue;
  rows++;
  const v = verdict.split('/')[0]!;
  (judged[kind] ??= {})[v] = (judged[kind][v] ?? 0) + 1;
  if (v === EXPECTED[kind]) agree++;
}
process.stdout.write(JSON.stringify({ code, wallSeconds: Math.round(wallSeconds * 10) / 10, cpuSeconds: Math.round(cpuSeconds), maxRssMiB: Math.round(maxRssKiB / 1024), queries, containers: rows, agree, judged, stderr: err.slice(0, 2000) }) + '\n');
