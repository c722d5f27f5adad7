import http from 'node:http';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

/**
 * A kubelet stand-in that serves `/metrics/cadvisor` the way kubelet's embedded cAdvisor does,
 * computed from REAL cgroups: the numbers are the kernel's accounting of the fixture processes.
 * It can be told to fail (HTTP 500) or hang, to test what the controller does then: the faults a
 * real kubelet cannot be made to show. What a real kubelet serves, and the verdicts from it, are
 * tested on a real node in test/cluster/ (which found what this stand-in hides: a new cgroup id
 * at every restart, 10-15 s between cAdvisor's refreshes, the pause container's own series).
 */
export interface KubeletContainer {
  namespace: string;
  pod: string;
  podUid: string;
  container: string;
  cgroupDir: string;
  cgroupVersion: 1 | 2;
}

export type KubeletMode = 'ok' | 'fail' | 'hang';

export interface FakeKubeletOptions {
  host: string;
  port?: number;
  /** PEM serving cert and key; plain HTTP without. With `ca`, metrics need a client cert it signed (as the API server presents). */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer };
  containers: () => KubeletContainer[];
}

export class FakeKubelet {
  mode: KubeletMode = 'ok';
  scrapes = 0;
  readonly server: http.Server;
  private readonly options: FakeKubeletOptions;
  private readonly hanging = new Set<http.ServerResponse>();

  constructor(options: FakeKubeletOptions) {
    this.options = options;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    this.server = options.tls
      ? https.createServer({ cert: options.tls.cert, key: options.tls.key, ...(options.tls.ca ? { ca: options.tls.ca, requestCert: true, rejectUnauthorized: false } : {}) }, handler)
      : http.createServer(handler);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host, () => resolve());
    });
    return this;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/healthz') return void res.end('ok');
    if (url.pathname !== '/metrics/cadvisor') {
      res.statusCode = 404;
      return void res.end('not found');
    }
    if (this.options.tls?.ca && !(req.socket as import('node:tls').TLSSocket).authorized) {
      res.statusCode = 401;
      return void res.end('Unauthorized: client certificate required');
    }
    this.scrapes++;
    if (this.mode === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if (this.mode === 'fail') {
      res.statusCode = 500;
      return void res.end('Internal Server Error: failed to get cadvisor stats');
    }
    try {
      const body = await cadvisorText(this.options.containers(), Date.now());
      res.setHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8');
      res.end(body);
    } catch (e) {
      res.statusCode = 500;
      res.end(String(e));
    }
  }
}

const METRICS: [name: string, help: string][] = [
  ['container_memory_cache', 'Number of bytes of page cache memory.'],
  ['container_memory_failcnt', 'Number of memory usage hits limits'],
  ['container_memory_kernel_usage', 'Size of kernel memory allocated in bytes.'],
  ['container_memory_mapped_file', 'Size of memory mapped files in bytes.'],
  ['container_memory_max_usage_bytes', 'Maximum memory usage recorded in bytes'],
  ['container_memory_rss', 'Size of RSS in bytes.'],
  ['container_memory_swap', 'Container swap usage in bytes.'],
  ['container_memory_total_active_file_bytes', 'Current total active file in bytes.'],
  ['container_memory_total_inactive_file_bytes', 'Current total inactive file in bytes.'],
  ['container_memory_usage_bytes', 'Current memory usage in bytes, including all memory regardless of when it was accessed'],
  ['container_memory_working_set_bytes', 'Current working set in bytes.'],
  ['container_spec_memory_limit_bytes', 'Memory limit for the container.'],
];

async function readNumber(file: string): Promise<number | undefined> {
  const t = (await readFile(file, 'utf8').catch(() => undefined))?.trim();
  if (t === undefined) return undefined;
  if (t === 'max') return 0;
  return Number(t);
}

/** cAdvisor's numbers for one cgroup (container/libcontainer/handler.go's arithmetic). */
export async function cadvisorValues(c: Pick<KubeletContainer, 'cgroupDir' | 'cgroupVersion'>): Promise<Record<string, number>> {
  const statText = await readFile(path.join(c.cgroupDir, 'memory.stat'), 'utf8');
  const stat: Record<string, number> = {};
  for (const line of statText.split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v) stat[k] = Number(v);
  }
  if (c.cgroupVersion === 1) {
    const usage = (await readNumber(path.join(c.cgroupDir, 'memory.usage_in_bytes'))) ?? 0;
    const limit = (await readNumber(path.join(c.cgroupDir, 'memory.limit_in_bytes'))) ?? 0;
    const inactive = stat.total_inactive_file ?? 0;
    return {
      container_memory_cache: stat.total_cache ?? 0,
      container_memory_failcnt: (await readNumber(path.join(c.cgroupDir, 'memory.failcnt'))) ?? 0,
      container_memory_kernel_usage: (await readNumber(path.join(c.cgroupDir, 'memory.kmem.usage_in_bytes'))) ?? 0,
      container_memory_mapped_file: stat.total_mapped_file ?? 0,
      container_memory_max_usage_bytes: (await readNumber(path.join(c.cgroupDir, 'memory.max_usage_in_bytes'))) ?? 0,
      container_memory_rss: stat.total_rss ?? 0,
      container_memory_swap: stat.total_swap ?? 0,
      container_memory_total_active_file_bytes: stat.total_active_file ?? 0,
      container_memory_total_inactive_file_bytes: inactive,
      container_memory_usage_bytes: usage,
      container_memory_working_set_bytes: Math.max(0, usage - inactive),
      // cgroup v1 reports "unlimited" as a page-aligned 2^63; cAdvisor passes it through.
      container_spec_memory_limit_bytes: limit,
    };
  }
  const usage = (await readNumber(path.join(c.cgroupDir, 'memory.current'))) ?? 0;
  const inactive = stat.inactive_file ?? 0;
  return {
    container_memory_cache: stat.file ?? 0,
    container_memory_failcnt: 0,
    container_memory_kernel_usage: stat.kernel ?? 0,
    container_memory_mapped_file: stat.file_mapped ?? 0,
    container_memory_max_usage_bytes: (await readNumber(path.join(c.cgroupDir, 'memory.peak'))) ?? 0,
    container_memory_rss: stat.anon ?? 0,
    container_memory_swap: 0,
    container_memory_total_active_file_bytes: stat.active_file ?? 0,
    container_memory_total_inactive_file_bytes: inactive,
    container_memory_usage_bytes: usage,
    container_memory_working_set_bytes: Math.max(0, usage - inactive),
    container_spec_memory_limit_bytes: (await readNumber(path.join(c.cgroupDir, 'memory.max'))) ?? 0,
  };
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The exposition text: HELP/TYPE per metric, one series per container plus the pod cgroup (container=""). */
export async function cadvisorText(containers: KubeletContainer[], nowMs: number): Promise<string> {
  const rows = await Promise.all(
    containers.map(async (c) => {
      const values = await cadvisorValues(c).catch(() => undefined);
      const id = `/kubepods/burstable/pod${c.podUid}/${c.container}-0123456789ab`;
      const labels = `container="${esc(c.container)}",id="${esc(id)}",image="memaudit.local/${esc(c.container)}:e2e",name="k8s_${esc(c.container)}_${esc(c.pod)}",namespace="${esc(c.namespace)}",pod="${esc(c.pod)}"`;
      const podLabels = `container="",id="/kubepods/burstable/pod${c.podUid}",image="",name="",namespace="${esc(c.namespace)}",pod="${esc(c.pod)}"`;
      return { values, labels, podLabels };
    }),
  );
  const out: string[] = [];
  for (const [name, help] of METRICS) {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${name.endsWith('failcnt') ? 'counter' : 'gauge'}`);
    for (const r of rows) {
      if (!r.values) continue;
      const v = r.values[name] ?? 0;
      // The pod-level cgroup (container="") is in every real scrape; consumers must skip it.
      out.push(`${name}{${r.podLabels}} ${formatValue(v)} ${nowMs}`);
      out.push(`${name}{${r.labels}} ${formatValue(v)} ${nowMs}`);
    }
  }
  return out.join('\n') + '\n';
}

/** Go's strconv.FormatFloat(v, 'g', -1, 64), as client_golang prints values: 1.2345678e+07. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v) || Math.abs(v) < 1e6) return String(v);
  return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
}
