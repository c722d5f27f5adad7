// A real Prometheus for tests and benchmarks (Debian's `prometheus` package; hack/install-deps.sh
// installs it without letting the package start its service): started on loopback at a free
// port with a TSDB in a directory of the caller's, stopped by its own pid. History is written into
// the TSDB with `promtool tsdb create-blocks-from openmetrics` before the server starts; live
// series come from scrape jobs in the config.
//
// Also the writers of what cAdvisor and kube-state-metrics would have exported for a container:
// OpenMetrics text for promtool (cadvisorOpenMetrics) and the kubelet's /metrics/cadvisor text
// for a live scrape (cadvisorExposition), both from MemorySamples projected onto the fields
// cAdvisor has (cadvisorFields).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { MemorySample } from '../../src/model/sample.ts';

export const PROMETHEUS_BIN = 'prometheus';
export const PROMTOOL_BIN = 'promtool';

export interface RunningPrometheus {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface PrometheusOptions {
  /** The TSDB directory (blocks written there by promtool are served). */
  dataDir: string;
  /** Where the config and the log go. */
  workDir: string;
  /** scrape_configs entries, as YAML text (indented as list items under scrape_configs). */
  scrapeConfigs?: string;
  extraArgs?: string[];
  /** The server serves TLS (and basic auth) per a --web.config.file in extraArgs: how to ask it whether it is ready. */
  tls?: { ca: Buffer; cert: Buffer; key: Buffer; basicAuth: string };
}

/** GET url: did it answer 2xx? (With the client credentials of a TLS server.) */
function ready(url: string, tls: PrometheusOptions['tls']): Promise<boolean> {
  return new Promise((resolve) => {
    const mod = tls ? https : http;
    const req = mod.get(url, tls ? { ca: tls.ca, cert: tls.cert, key: tls.key, auth: tls.basicAuth } : {}, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300);
    });
    req.setTimeout(5000, () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Starts Prometheus and waits until /-/ready answers. */
export async function startPrometheus(o: PrometheusOptions): Promise<RunningPrometheus> {
  await mkdir(o.workDir, { recursive: true });
  await mkdir(o.dataDir, { recursive: true });
  const config = path.join(o.workDir, 'prometheus.yml');
  await writeFile(config, `global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\nscrape_configs:\n${o.scrapeConfigs ?? '  []'}\n`);
  const port = await freeLoopbackPort();
  const log = createWriteStream(path.join(o.workDir, 'prometheus.log'), { flags: 'a' });
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${o.dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Backfilled history is older than any retention a test would pick by default.
      '--storage.tsdb.retention.time=100y',
      '--log.level=warn',
      ...(o.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `${o.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
    log.end();
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}; see ${path.join(o.workDir, 'prometheus.log')}`);
    if (await ready(`${url}/-/ready`, o.tls)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready in 120 s; see ${path.join(o.workDir, 'prometheus.log')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, port, pid: child.pid!, stop };
}

/** `promtool tsdb create-blocks-from openmetrics FILE DIR`, blocks of at most `maxBlockDuration`. */
export function promtoolBackfill(file: string, dataDir: string, maxBlockDuration = '2h'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL_BIN, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', `--max-block-duration=${maxBlockDuration}`, file, dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()).length > 8000 && (err = err.slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`promtool exited ${code}: ${err.trim()}`))));
  });
}

/** The identity of a container in the series' labels. */
export interface ContainerLabels {
  namespace: string;
  pod: string;
  container: string;
  /** The cgroup path; a restarted container gets a new one. */
  id?: string;
}

/** A sample as cAdvisor sees it: the fields it exports (usage, working set, cache, rss, mapped_file, limit, failcnt). */
export interface CadvisorPoint {
  timestampMs: number;
  usage: number;
  workingSet: number;
  cache?: number | undefined;
  rss?: number | undefined;
  mappedFile?: number | undefined;
  /** 0 = no limit, as cAdvisor reports it. */
  limit: number;
  failcnt?: number | undefined;
}

/**
 * The projection of test/unit/analysis/labelled-traces.test.ts: working set = usage -
 * inactive_file, cache, rss, mapped_file, limit; no shmem, no active/inactive split, no Go runtime.
 */
export function cadvisorFields(s: MemorySample): CadvisorPoint {
  return {
    timestampMs: s.timestampMs,
    usage: s.usageBytes,
    workingSet: Math.max(0, s.usageBytes - (s.inactiveFileBytes ?? 0)),
    cache: s.fileBytes,
    rss: s.anonBytes,
    mappedFile: s.mappedFileBytes,
    limit: s.limitBytes ?? 0,
    failcnt: s.failCount,
  };
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** cAdvisor's labels for a container's series (kubelet's /metrics/cadvisor, as Prometheus stores them). */
export function cadvisorLabels(c: ContainerLabels): string {
  const id = c.id ?? `/kubepods/burstable/pod-${c.namespace}-${c.pod}/${c.container}`;
  return `container="${esc(c.container)}",id="${esc(id)}",image="memaudit.local/${esc(c.container)}:test",name="k8s_${esc(c.container)}_${esc(c.pod)}",namespace="${esc(c.namespace)}",pod="${esc(c.pod)}"`;
}

const CADVISOR_SERIES: [name: string, get: (p: CadvisorPoint) => number | undefined][] = [
  ['container_memory_usage_bytes', (p) => p.usage],
  ['container_memory_working_set_bytes', (p) => p.workingSet],
  ['container_memory_cache', (p) => p.cache],
  ['container_memory_rss', (p) => p.rss],
  ['container_memory_mapped_file', (p) => p.mappedFile],
  ['container_spec_memory_limit_bytes', (p) => p.limit],
  ['container_memory_failcnt', (p) => p.failcnt],
];

export interface TracedContainer {
  labels: ContainerLabels;
  points: readonly CadvisorPoint[];
  /** kube-state-metrics series too (limits, requests, restarts): the container's spec. */
  ksm?: { limitBytes?: number; requestBytes?: number; restarts?: number };
}

/**
 * OpenMetrics text for promtool: one family after the other (OpenMetrics forbids interleaving),
 * each container's points in time order, `# EOF` at the end. Times in seconds.
 */
export function cadvisorOpenMetrics(containers: readonly TracedContainer[]): string {
  const out: string[] = [];
  const ts = (ms: number) => (ms / 1000).toFixed(3);
  for (const [name, get] of CADVISOR_SERIES) {
    out.push(`# TYPE ${name} gauge`);
    for (const c of containers) {
      const labels = cadvisorLabels(c.labels);
      for (const p of c.points) {
        const v = get(p);
        if (v !== undefined) out.push(`${name}{${labels}} ${v} ${ts(p.timestampMs)}`);
      }
    }
  }
  const ksm: [name: string, extra: string, get: (k: NonNullable<TracedContainer['ksm']>) => number | undefined][] = [
    ['kube_pod_container_resource_limits', ',resource="memory",unit="byte"', (k) => k.limitBytes],
    ['kube_pod_container_resource_requests', ',resource="memory",unit="byte"', (k) => k.requestBytes],
    ['kube_pod_container_status_restarts_total', '', (k) => k.restarts],
  ];
  for (const [name, extra, get] of ksm) {
    out.push(`# TYPE ${name} gauge`);
    for (const c of containers) {
      const v = c.ksm ? get(c.ksm) : undefined;
      if (v === undefined) continue;
      const labels = `container="${esc(c.labels.container)}",job="kube-state-metrics",namespace="${esc(c.labels.namespace)}",pod="${esc(c.labels.pod)}"${extra}`;
      // kube-state-metrics is scraped as often as cAdvisor: one point per cAdvisor point.
      for (const p of c.points) out.push(`${name}{${labels}} ${v} ${ts(p.timestampMs)}`);
    }
  }
  out.push('# EOF');
  return out.join('\n') + '\n';
}

/** Go's strconv.FormatFloat(v, 'g', -1, 64), as client_golang prints values. */
const goFloat = (v: number) => (!Number.isFinite(v) || Math.abs(v) < 1e6 ? String(v) : v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2'));

/** One scrape of kubelet's /metrics/cadvisor for these containers: HELP/TYPE, the pod cgroup too, timestamps in ms. */
export function cadvisorExposition(containers: readonly { labels: ContainerLabels; point: CadvisorPoint }[]): string {
  const out: string[] = [];
  for (const [name, get] of CADVISOR_SERIES) {
    out.push(`# HELP ${name} ${name}`, `# TYPE ${name} ${name.endsWith('failcnt') ? 'counter' : 'gauge'}`);
    for (const c of containers) {
      const v = get(c.point);
      if (v === undefined) continue;
      // The pod-level cgroup (container="") is in every real scrape; consumers must skip it.
      out.push(`${name}{container="",id="/kubepods/burstable/pod-${esc(c.labels.namespace)}-${esc(c.labels.pod)}",image="",name="",namespace="${esc(c.labels.namespace)}",pod="${esc(c.labels.pod)}"} ${goFloat(v * 1.1)} ${Math.round(c.point.timestampMs)}`);
      out.push(`${name}{${cadvisorLabels(c.labels)}} ${goFloat(v)} ${Math.round(c.point.timestampMs)}`);
    }
  }
  return out.join('\n') + '\n';
}
