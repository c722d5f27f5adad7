// The kubelet's /metrics/cadvisor: the memory of every container on a node, fetched ONCE per node
// per round however many audits sample there (a fetch in flight, or one younger than the caller's
// max age, is shared). Reached through the API server's node proxy, or at the node's InternalIP
// with the API server's client credentials. What is kept per node goes when no audit samples the
// node any more (retainNodes) or when the API server no longer knows the node.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import type { Logger } from 'pino';
import { isNoData } from '../model/no-data.ts';
import type { MemorySample } from '../model/sample.ts';
import { findContainerSample, scanCadvisorMetrics, type ContainerKey, type ContainerSample } from '../sources/cadvisor.ts';
import { BodyPool, type GrowableBuffer } from './body-pool.ts';
import { hostPort } from './http-get.ts';
import { tlsGet, tlsTrust, type TlsTrust } from './tls-get.ts';
import { data, gone, retry, type Read, type Retry } from './reader.ts';

/** The API server as the readers use it; the controller's KubeClient is one. */
export interface ApiServer {
  request(method: 'GET', path: string, options: { accept?: string; timeoutMs?: number; maxBytes?: number }): Promise<Buffer>;
  get<T>(path: string, options: { timeoutMs?: number }): Promise<T>;
  /** The API server's client credentials, which kubelets accept as well. */
  readonly kubeConfig: { applyToHTTPSOptions(options: https.RequestOptions): Promise<void> };
}

export interface KubeletReaderOptions {
  api: ApiServer;
  /** True for the API server's NotFound: the node was deleted. */
  isNotFound: (e: unknown) => boolean;
  /** Through the API server's node proxy, or directly (CA file, skip TLS verification); the controller's flags. */
  config: { kubeletAccess: 'proxy' | 'direct'; kubeletCaFile: string | null; kubeletInsecureSkipTlsVerify: boolean; kubeletTimeoutMs: number };
  /** Told of every fetch (the controller's sampling metrics). */
  observe: (ok: boolean, seconds: number) => void;
  log: Logger;
  now?: () => number;
}

export type NotInMetrics = Retry & { notInMetrics: true };

type NodeAddresses = { status?: { addresses?: { type: string; address: string }[]; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } };

/**
 * Nodes read at once (direct access): the pooled receive buffers (body-pool.ts), each as large as
 * the largest node's metrics. At 5 MB a node and 50 ms a read, 100 nodes take about 0.6 s.
 */
const KUBELET_READS_AT_ONCE = 8;

/**
 * A node's addresses are read again after this long, or at once after a failed scrape (an address
 * that changed shows as a failure): node addresses change rarely, and at 100 nodes a 60 s TTL cost
 * 50 GETs of Node objects per 30 s round.
 */
const NODE_TTL_MS = 10 * 60_000;

export class KubeletReader {
  readonly #o: KubeletReaderOptions;
  readonly #inFlight = new Map<string, Promise<Read<ContainerSample[]>>>();
  readonly #lastScrape = new Map<string, { read: Read<ContainerSample[]>; fetchedAtMs: number }>();
  readonly #nodes = new Map<string, { node: NodeAddresses; fetchedAtMs: number }>();
  /** Receive buffers for direct scrapes, reused round after round: at most this many nodes read at once. */
  readonly #bodies = new BodyPool(KUBELET_READS_AT_ONCE);
  #tls: TlsTrust | undefined;

  constructor(options: KubeletReaderOptions) {
    this.#o = options;
  }

  /**
   * One container's memory, from its node's metrics no older than maxAgeMs. A retry marked
   * `notInMetrics` says the node answered without the container's series (not started, waiting
   * to restart, just died) rather than that the node could not be read.
   */
  async container(nodeName: string, key: ContainerKey, maxAgeMs: number): Promise<Read<MemorySample> | NotInMetrics> {
    const scrape = await this.#scrape(nodeName, maxAgeMs);
    if (scrape.kind !== 'data') return scrape;
    const found = findContainerSample(scrape.value, key);
    if (isNoData(found)) return { ...retry(`kubelet on node ${nodeName} has no memory metrics for container ${key.container} of pod ${key.pod} (not started yet?)`), notInMetrics: true };
    return data({ ...found });
  }

  /** Forgets every node not in `names`: no audit samples there any more. */
  retainNodes(names: ReadonlySet<string>): void {
    for (const n of new Set([...this.#lastScrape.keys(), ...this.#nodes.keys()])) if (!names.has(n)) this.#forget(n);
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  #forget(nodeName: string): void {
    this.#lastScrape.delete(nodeName);
    this.#nodes.delete(nodeName);
  }

  #scrape(nodeName: string, maxAgeMs: number): Promise<Read<ContainerSample[]>> {
    const last = this.#lastScrape.get(nodeName);
    if (last && this.#now() - last.fetchedAtMs < maxAgeMs) return Promise.resolve(last.read);
    let pending = this.#inFlight.get(nodeName);
    if (!pending) {
      pending = this.#fetch(nodeName).finally(() => this.#inFlight.delete(nodeName));
      this.#inFlight.set(nodeName, pending);
    }
    return pending;
  }

  async #fetch(nodeName: string): Promise<Read<ContainerSample[]>> {
    const started = this.#now();
    const t0 = performance.now();
    let read: Read<ContainerSample[]>;
    const scanned = ([body, source]: [Read<Buffer>, string]): Read<ContainerSample[]> => (body.kind === 'data' ? data(scanCadvisorMetrics(body.value, { source, scrapeTimeMs: started }).containers) : body);
    try {
      // Direct: the body lands in a pooled buffer and is scanned before the buffer goes back.
      read = this.#o.config.kubeletAccess === 'proxy' ? scanned(await this.#viaProxy(nodeName)) : await this.#bodies.use(async (into) => scanned(await this.#direct(nodeName, into)));
    } catch (e) {
      // From the API server (node proxy, Node object) or the parser.
      const why = e instanceof Error ? e.message : String(e);
      read = this.#o.isNotFound(e) ? gone(why) : retry(why);
    }
    this.#o.observe(read.kind === 'data', (performance.now() - t0) / 1000);
    if (read.kind !== 'data') {
      this.#o.log.warn({ node: nodeName, err: read.reason }, 'Kubelet scrape failed');
      read = { ...read, reason: `kubelet on node ${nodeName}: ${read.reason}` };
    }
    if (read.kind === 'gone') this.#forget(nodeName);
    else this.#lastScrape.set(nodeName, { read, fetchedAtMs: started });
    if (read.kind === 'retry') this.#nodes.delete(nodeName);
    return read;
  }

  /** The metrics and where they came from. */
  async #viaProxy(nodeName: string): Promise<[Read<Buffer>, string]> {
    const path = `/api/v1/nodes/${encodeURIComponent(nodeName)}/proxy/metrics/cadvisor`;
    return [data(await this.#o.api.request('GET', path, { accept: 'text/plain', timeoutMs: this.#o.config.kubeletTimeoutMs })), path];
  }

  /** https://InternalIP:kubeletPort/metrics/cadvisor */
  async #direct(nodeName: string, into: GrowableBuffer): Promise<[Read<Buffer>, string]> {
    const node = await this.#node(nodeName);
    const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    if (!ip || net.isIP(ip) === 0) return [retry(`node ${nodeName} has no InternalIP address`), ''];
    const url = new URL(`https://${hostPort(ip, node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250)}/metrics/cadvisor`);
    const opts: https.RequestOptions = { headers: {} };
    await this.#o.api.kubeConfig.applyToHTTPSOptions(opts);
    this.#tls ??= tlsTrust({
      ca: this.#o.config.kubeletCaFile ? readFileSync(this.#o.config.kubeletCaFile) : undefined,
      cert: opts.cert as Buffer | string | undefined,
      key: opts.key as Buffer | string | undefined,
      rejectUnauthorized: !this.#o.config.kubeletInsecureSkipTlsVerify,
    });
    return [await tlsGet(url, this.#tls, opts.headers as Record<string, string>, this.#o.config.kubeletTimeoutMs, 64 << 20, into), url.href];
  }

  async #node(nodeName: string): Promise<NodeAddresses> {
    const cached = this.#nodes.get(nodeName);
    if (cached && this.#now() - cached.fetchedAtMs < NODE_TTL_MS) return cached.node;
    const node = await this.#o.api.get<NodeAddresses>(`/api/v1/nodes/${encodeURIComponent(nodeName)}`, { timeoutMs: this.#o.config.kubeletTimeoutMs });
    this.#nodes.set(nodeName, { node, fetchedAtMs: this.#now() });
    return node;
  }
}
