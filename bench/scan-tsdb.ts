// Writes the scan benchmark's TSDB: the synthetic cluster of scan-model.ts (N containers x D days
// at 1-minute scrapes: 8 cAdvisor and 3 kube-state-metrics series each) through promtool, as a
// real Prometheus' history would be backfilled. A week of 5,000 containers is ~550 M samples, tens
// of GB of OpenMetrics text, so it is written in 6-hour slices, one file and one block each
// (promtool re-reads its whole input once per block it writes, and its blocks are 2 h x 3^k: 6 h
// is one), the next slice generated while promtool reads the last, each deleted when done. Run
// by bench/scan.ts when its cache is missing:
//
//   node bench/scan-tsdb.ts DIR CONTAINERS DAYS END_MS
//
// DIR/data is the TSDB; DIR/meta.json, written last, says it is complete.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promtoolBackfill } from '../test/helpers/prometheus.ts';
import { cluster, MODEL_VERSION, pointAt, type Container, type Point } from './scan-model.ts';

const MIN = 60_000;
const SLICE = 6 * 60 * MIN;

const [dir, containersArg, daysArg, endArg] = process.argv.slice(2);
if (!dir || !containersArg || !daysArg || !endArg) throw new Error('usage: node bench/scan-tsdb.ts DIR CONTAINERS DAYS END_MS');
const n = Number(containersArg);
const days = Number(daysArg);
const endMs = Number(endArg);
const startMs = endMs - days * 24 * 60 * MIN;
const containers = cluster(n);

type Family = { name: string; extra: string; ksm: boolean; value: (c: Container, p: Point) => number | undefined };
const FAMILIES: Family[] = [
  { name: 'container_memory_usage_bytes', extra: '', ksm: false, value: (_c, p) => p.usage },
  { name: 'container_memory_working_set_bytes', extra: '', ksm: false, value: (_c, p) => p.workingSet },
  { name: 'container_memory_cache', extra: '', ksm: false, value: (_c, p) => p.cache },
  { name: 'container_memory_rss', extra: '', ksm: false, value: (_c, p) => p.rss },
  { name: 'container_memory_mapped_file', extra: '', ksm: false, value: (_c, p) => p.mappedFile },
  { name: 'container_memory_failcnt', extra: '', ksm: false, value: (_c, p) => p.failcnt },
  { name: 'container_spec_memory_limit_bytes', extra: '', ksm: false, value: (_c, p) => p.limit },
  { name: 'container_memory_failures_total', extra: ',failure_type="pgmajfault",scope="container"', ksm: false, value: (_c, p) => p.majorFaults },
  { name: 'kube_pod_container_resource_limits', extra: ',resource="memory",unit="byte"', ksm: true, value: (c) => (c.limitBytes > 0 ? c.limitBytes : undefined) },
  { name: 'kube_pod_container_resource_requests', extra: ',resource="memory",unit="byte"', ksm: true, value: (c) => c.requestBytes },
  { name: 'kube_pod_container_status_restarts_total', extra: '', ksm: true, value: (_c, p) => p.incarnation },
];

async function writeSlice(file: string, from: number, to: number): Promise<number> {
  const ws = createWriteStream(file);
  let buf: string[] = [];
  let lines = 0;
  const flush = async () => {
    if (!ws.write(buf.join(''))) await once(ws, 'drain');
    buf = [];
  };
  for (const f of FAMILIES) {
    buf.push(`# TYPE ${f.name} gauge\n`);
    for (const c of containers) {
      const base = `container="${c.container}",namespace="${c.namespace}",node="${c.node}",pod="${c.pod}"${f.extra}`;
      // The minutes of this slice at this container's scrape offset, inside the history.
      const first = Math.max(0, Math.ceil((from - startMs - c.offsetMs) / MIN));
      for (let i = first; ; i++) {
        const t = startMs + i * MIN + c.offsetMs;
        if (t >= to || t > endMs) break;
        const p = pointAt(c, startMs, t, i);
        const v = f.value(c, p);
        if (v === undefined) continue;
        const labels = f.ksm ? `${base},job="kube-state-metrics"` : `${base},id="/kubepods/burstable/pod${c.uid}/${c.container}-${p.incarnation}"`;
        buf.push(`${f.name}{${labels}} ${v} ${(t / 1000).toFixed(3)}\n`);
        lines++;
        if (buf.length >= 20_000) await flush();
      }
    }
  }
  buf.push('# EOF\n');
  await flush();
  ws.end();
  await once(ws, 'close');
  return lines;
}

const data = path.join(dir, 'data');
const tmp = path.join(dir, 'tmp');
await rm(dir, { recursive: true, force: true });
await mkdir(data, { recursive: true });
await mkdir(tmp, { recursive: true });
const t0 = performance.now();
let pending: Promise<void> = Promise.resolve();
let total = 0;
for (let from = Math.floor(startMs / SLICE) * SLICE; from <= endMs; from += SLICE) {
  const file = path.join(tmp, `${from}.om`);
  const lines = await writeSlice(file, Math.max(from, startMs), from + SLICE);
  total += lines;
  await pending; // at most two slices on disk: the one promtool reads, the one just written
  process.stderr.write(`scan-tsdb: slice ${new Date(from).toISOString()} written (${(lines / 1e6).toFixed(1)} M samples), ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  pending = promtoolBackfill(file, data, '6h').then(() => rm(file));
}
await pending;
await rm(tmp, { recursive: true, force: true });
await writeFile(path.join(dir, 'meta.json'), JSON.stringify({ modelVersion: MODEL_VERSION, containers: n, days, startMs, endMs, samples: total, generationSeconds: Math.round((performance.now() - t0) / 1000) }, null, 2) + '\n');
process.stderr.write(`scan-tsdb: ${(total / 1e6).toFixed(0)} M samples in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
