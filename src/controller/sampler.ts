import https from 'node:https';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from 'pino';
import { TransientError, isMemauditError } from '../errors.ts';
import type { GoRuntimeSample, HeapProfile } from '../model/sample.ts';
import { parseCadvisorMetrics } from '../sources/cadvisor.ts';
import type { ContainerSample } from '../sources/cadvisor.ts';
import { goSampleFromMemStats, parseMemStatsText } from '../sources/memstats.ts';
import { PPROF_PATH_PATTERN } from './api/v1alpha1.ts';
import type { ControllerConfig } from './runtime/flags.ts';
import type { KubeClient } from './runtime/kube/client.ts';
import type { Node, Pod } from './runtime/kube/types.ts';
import type { ControllerMetrics } from './runtime/metrics.ts';

/**
 * Fetches what audits need from the cluster:
 *  - kubelet `/metrics/cadvisor`, ONE fetch per node per round however many audits have targets
 *    there (a fetch in flight or younger than the caller's max age is shared);
 *  - Go runtime stats and heap profiles from a pod's declared pprof port, at the pod IP or through
 *    the API server's pods/proxy. The address is built from the Pod object and the CR's port and
 *    path (both schema-validated, re-checked here); never a URL taken from the CR.
 */
export type NodeScrape = { ok: true; containers: ContainerSample[]; fetchedAtMs: number } | { ok: false; error: string; fetchedAtMs: number };

export type HeapProfileDecoder = (bytes: Uint8Array, source: string) => HeapProfile;

const PPROF_PATH_RE = new RegExp(PPROF_PATH_PATTERN);
const MEMSTATS_TAIL_BYTES = 256 * 1024;

export interface SamplerDeps {
  client: KubeClient;
  config: Pick<ControllerConfig, 'kubeletAccess' | 'kubeletCaFile' | 'kubeletInsecureSkipTlsVerify' | 'kubeletTimeoutMs' | 'pprofAccess' | 'pprofTimeoutMs'>;
  metrics: ControllerMetrics;
  log: Logger;
  decodeHeapProfile: HeapProfileDecoder;
  now?: () => number;
}

export class Sampler {
  private readonly deps: SamplerDeps;
  private readonly inFlight = new Map<string, Promise<NodeScrape>>();
  private readonly lastScrape = new Map<string, NodeScrape>();
  private readonly nodeCache = new Map<string, { node: Node; fetchedAtMs: number }>();
  private kubeletAgent: https.Agent | undefined;
  /** Scrapes actually sent, per node (tests check the sharing). */
  readonly scrapesByNode = new Map<string, number>();

  constructor(deps: SamplerDeps) {
    this.deps = deps;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  close(): void {
    this.kubeletAgent?.destroy();
  }

  /** The node's cAdvisor metrics, shared with every caller within maxAgeMs. */
  scrapeNode(nodeName: string, maxAgeMs: number): Promise<NodeScrape> {
    const last = this.lastScrape.get(nodeName);
    if (last && this.now() - last.fetchedAtMs < maxAgeMs) return Promise.resolve(last);
    const pending = this.inFlight.get(nodeName);
    if (pending) return pending;
    const p = this.fetchNode(nodeName).finally(() => this.inFlight.delete(nodeName));
    this.inFlight.set(nodeName, p);
    return p;
  }

  /** Forgets nodes no audit uses any more. */
  retainNodes(names: ReadonlySet<string>): void {
    for (const n of [...this.lastScrape.keys()]) if (!names.has(n)) this.lastScrape.delete(n);
    for (const n of [...this.nodeCache.keys()]) if (!names.has(n)) this.nodeCache.delete(n);
  }

  private async fetchNode(nodeName: string): Promise<NodeScrape> {
    const started = this.now();
    this.scrapesByNode.set(nodeName, (this.scrapesByNode.get(nodeName) ?? 0) + 1);
    let result: NodeScrape;
    try {
      const { text, source } = this.deps.config.kubeletAccess === 'proxy' ? await this.viaNodeProxy(nodeName) : await this.direct(nodeName);
      const scrape = parseCadvisorMetrics(text, { source, scrapeTimeMs: started });
      result = { ok: true, containers: scrape.containers, fetchedAtMs: started };
      this.deps.metrics.samplingTotal.inc({ source: 'kubelet', result: 'ok' });
    } catch (e) {
      result = { ok: false, error: `kubelet on node ${nodeName}: ${message(e)}`, fetchedAtMs: started };
      this.deps.metrics.samplingTotal.inc({ source: 'kubelet', result: 'error' });
      this.deps.log.warn({ node: nodeName, err: message(e) }, 'Kubelet scrape failed');
    }
    this.deps.metrics.samplingDuration.observe({ source: 'kubelet' }, (this.now() - started) / 1000);
    this.lastScrape.set(nodeName, result);
    return result;
  }

  private async viaNodeProxy(nodeName: string): Promise<{ text: string; source: string }> {
    const path = `/api/v1/nodes/${encodeURIComponent(nodeName)}/proxy/metrics/cadvisor`;
    const body = await this.deps.client.request('GET', path, { accept: 'text/plain', timeoutMs: this.deps.config.kubeletTimeoutMs });
    return { text: body.toString('utf8'), source: path };
  }

  private async node(nodeName: string): Promise<Node> {
    const cached = this.nodeCache.get(nodeName);
    if (cached && this.now() - cached.fetchedAtMs < 60_000) return cached.node;
    const node = await this.deps.client.get<Node>(`/api/v1/nodes/${encodeURIComponent(nodeName)}`, { timeoutMs: this.deps.config.kubeletTimeoutMs });
    this.nodeCache.set(nodeName, { node, fetchedAtMs: this.now() });
    return node;
  }

  /** https://InternalIP:kubeletPort/metrics/cadvisor with the controller's own credentials. */
  private async direct(nodeName: string): Promise<{ text: string; source: string }> {
    const node = await this.node(nodeName);
    const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250;
    if (!ip || net.isIP(ip) === 0) throw new TransientError(`node ${nodeName} has no InternalIP address`);
    const url = new URL(`https://${net.isIPv6(ip) ? `[${ip}]` : ip}:${port}/metrics/cadvisor`);
    const opts: https.RequestOptions = { headers: {} };
    await this.deps.client.kubeConfig.applyToHTTPSOptions(opts);
    this.kubeletAgent ??= new https.Agent({
      keepAlive: true,
      ca: this.deps.config.kubeletCaFile ? readFileSync(this.deps.config.kubeletCaFile) : undefined,
      cert: opts.cert,
      key: opts.key,
      rejectUnauthorized: !this.deps.config.kubeletInsecureSkipTlsVerify,
    });
    const body = await get(url, { agent: this.kubeletAgent, headers: opts.headers as Record<string, string> }, this.deps.config.kubeletTimeoutMs, 64 << 20);
    return { text: body.toString('utf8'), source: url.href };
  }

  /** runtime.MemStats from the tail of heap?debug=1. */
  async goRuntime(pod: Pod, port: number, path: string): Promise<GoRuntimeSample> {
    const started = this.now();
    try {
      const body = await this.pprofGet(pod, port, path, 'debug=1');
      const text = body.subarray(Math.max(0, body.length - MEMSTATS_TAIL_BYTES)).toString('utf8');
      const src = `${pod.metadata.namespace}/${pod.metadata.name}:${port}${path}?debug=1`;
      const g = goSampleFromMemStats(parseMemStatsText(text, src), src);
      this.deps.metrics.samplingTotal.inc({ source: 'pprof', result: 'ok' });
      return g;
    } catch (e) {
      this.deps.metrics.samplingTotal.inc({ source: 'pprof', result: 'error' });
      throw e;
    } finally {
      this.deps.metrics.samplingDuration.observe({ source: 'pprof' }, (this.now() - started) / 1000);
    }
  }

  async heapProfile(pod: Pod, port: number, path: string): Promise<HeapProfile> {
    const body = await this.pprofGet(pod, port, path, '');
    return this.deps.decodeHeapProfile(new Uint8Array(body), `${pod.metadata.namespace}/${pod.metadata.name}:${port}${path}`);
  }

  private async pprofGet(pod: Pod, port: number, path: string, query: string): Promise<Buffer> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TransientError(`pprof port ${port} is not a port`);
    if (!PPROF_PATH_RE.test(path)) throw new TransientError(`pprof path ${JSON.stringify(path)} is not under /debug/pprof/`);
    const ns = pod.metadata.namespace!;
    const suffix = query ? `?${query}` : '';
    if (this.deps.config.pprofAccess === 'proxy') {
      const p = `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod.metadata.name)}:${port}/proxy${path}${suffix}`;
      return this.deps.client.request('GET', p, { timeoutMs: this.deps.config.pprofTimeoutMs, maxBytes: 32 << 20 });
    }
    const ip = pod.status?.podIP;
    if (!ip || net.isIP(ip) === 0) throw new TransientError(`pod ${ns}/${pod.metadata.name} has no IP yet`);
    const url = new URL(`http://${net.isIPv6(ip) ? `[${ip}]` : ip}:${port}${path}${suffix}`);
    return get(url, {}, this.deps.config.pprofTimeoutMs, 32 << 20);
  }
}

function get(url: URL, options: https.RequestOptions, timeoutMs: number, maxBytes: number): Promise<Buffer> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise<Buffer>((resolve, reject) => {
    const req = mod.get(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) req.destroy(new TransientError(`${url.href}: response larger than ${maxBytes} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(Buffer.concat(chunks));
        else reject(new TransientError(`${url.href}: HTTP ${status} ${Buffer.concat(chunks).toString('utf8').slice(0, 200).trim()}`));
      });
      res.on('error', (e) => reject(new TransientError(`${url.href}: ${e.message}`, { cause: e })));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new TransientError(`${url.href}: no answer in ${timeoutMs} ms`)));
    req.on('error', (e) => reject(e instanceof TransientError ? e : new TransientError(`${url.href}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e })));
  });
}

export function message(e: unknown): string {
  if (isMemauditError(e)) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
