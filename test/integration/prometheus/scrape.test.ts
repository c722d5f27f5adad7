import { jest } from '@jest/globals';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../../src/cli/main.ts';
import { labelledCases } from '../../helpers/labelled.ts';
import { cadvisorExposition, cadvisorFields, startPrometheus, type CadvisorPoint, type RunningPrometheus } from '../../helpers/prometheus.ts';

// The scrape path: a real Prometheus scraping a live endpoint in the kubelet's /metrics/cadvisor
// format (HELP/TYPE, the pod cgroup beside the container, timestamps in milliseconds as kubelet
// writes them), fed from labelled traces one point per scrape, then `memaudit scan` of what it
// stored. The traces' own spacing (2 s) is kept in the timestamps while Prometheus scrapes every
// second, so 45 points take ~45 s.
jest.setTimeout(300_000);

const POINTS = 45;
const TRACES: [name: string, verdict: string, leakSource: string | null][] = [
  ['cgroup/heap-leak', 'Leak', 'anon'],
  ['cgroup/tmpfs-growth', 'Leak', 'shmem'],
  ['cgroup/pagecache-nolimit', 'CacheGrowth', null],
  ['cgroup/idle', 'Stable', null],
];

let dir: string;
let prom: RunningPrometheus;
let server: http.Server;
let scrapes = 0;
const fed: { pod: string; points: CadvisorPoint[] }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'memaudit-scrape-'));
  const cases = labelledCases();
  // Timestamps run ahead of the scrapes at most to "now": 2 s of trace per 1 s scrape, from a base in the past.
  const base = Date.now() - 60_000;
  for (const [name] of TRACES) {
    const { samples } = await cases.find((c) => c.name === name)!.load();
    const t0 = samples[0]!.timestampMs;
    fed.push({ pod: name.split('/')[1]!, points: samples.slice(0, POINTS).map((s) => cadvisorFields({ ...s, timestampMs: base + (s.timestampMs - t0) })) });
  }
  server = http.createServer((req, res) => {
    if (req.url !== '/metrics/cadvisor') {
      res.statusCode = 404;
      return void res.end();
    }
    const k = Math.min(scrapes++, POINTS - 1);
    const now = Date.now();
    res.setHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    res.end(cadvisorExposition(fed.map((f) => ({ labels: { namespace: 'live', pod: f.pod, container: 'app' }, point: { ...f.points[k]!, timestampMs: Math.min(now, f.points[k]!.timestampMs) } }))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  prom = await startPrometheus({
    dataDir: path.join(dir, 'data'),
    workDir: dir,
    scrapeConfigs: `  - job_name: kubelet-cadvisor\n    scrape_interval: 1s\n    scrape_timeout: 900ms\n    metrics_path: /metrics/cadvisor\n    honor_timestamps: true\n    static_configs:\n      - targets: ['${target}']\n`,
  });
});

afterAll(async () => {
  await prom?.stop();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** How many points of a pod's usage Prometheus holds. */
async function stored(pod: string): Promise<number> {
  const q = encodeURIComponent(`count_over_time(container_memory_usage_bytes{namespace="live",pod="${pod}",container="app"}[15m])`);
  const r = (await (await fetch(`${prom.url}/api/v1/query?query=${q}`)).json()) as { data: { result: { value: [number, string] }[] } };
  return Number(r.data.result[0]?.value[1] ?? 0);
}

it('scrapes a live cAdvisor-format endpoint, and the scan of what Prometheus stored gives the traces their verdicts', async () => {
  // Until every point is in the TSDB (a scrape may fail on a loaded machine: the next serves the next point).
  const deadline = Date.now() + 240_000;
  while ((await Promise.all(fed.map((f) => stored(f.pod)))).some((n) => n < POINTS - 3) && scrapes < 4 * POINTS) {
    if (Date.now() > deadline) throw new Error(`Prometheus stored ${await Promise.all(fed.map((f) => stored(f.pod)))} points after ${scrapes} scrapes`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  // The pod cgroup (container="") was stored too: the scan must not count it as a container.
  const end = Math.ceil(Math.max(...fed.map((f) => f.points.at(-1)!.timestampMs)) / 1000);
  let out = '';
  let err = '';
  const io = { stdout: new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }), stderr: new Writable({ write: (c, _e, cb) => ((err += String(c)), cb()) }) };
  const code = await main(['scan', '--prometheus-url', prom.url, '--history', '3m', '--step', '2s', '--end', String(end), '--min-duration', '30s', '-o', 'json'], io);
  expect(err).toBe('');
  expect(code).toBe(0);
  const doc = JSON.parse(out) as { containers: { pod: string; container: string; verdict: string; leakSource: string | null; window: { samples: number } }[] };
  expect(doc.containers.map((c) => [c.pod, c.container, c.verdict, c.leakSource]).sort()).toEqual(TRACES.map(([name, v, s]) => [name.split('/')[1], 'app', v, s]).sort());
  for (const c of doc.containers) expect(c.window.samples).toBeGreaterThanOrEqual(POINTS - 3);
});
