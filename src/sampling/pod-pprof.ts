// A Go pod's runtime.MemStats (the tail of heap?debug=1) and heap profile, from the pprof port and
// path its MemoryAudit declares, at the pod IP or through the API server's pods/proxy. The address
// is built from the Pod object and that port and path (schema-validated, re-checked here), never
// taken as a URL from the CR. A body that does not parse is the endpoint failing: a retry.
import net from 'node:net';
import { InputError } from '../errors.ts';
import type { GoRuntimeSample, HeapProfile } from '../model/sample.ts';
import { goSampleFromMemStats, parseMemStatsText } from '../sources/memstats.ts';
import { decodeHeapProfile } from '../sources/pprof.ts';
import { hostPort, httpGet } from './http-get.ts';
import type { ApiServer } from './kubelet.ts';
import { data, retry, type Read } from './reader.ts';

/** A pprof endpoint path on the target's own port; never a URL, never a traversal. The CRD's schema uses it. */
export const PPROF_PATH_PATTERN = '^/debug/pprof/[A-Za-z0-9_-]+$';
const PPROF_PATH_RE = new RegExp(PPROF_PATH_PATTERN);
/** runtime.MemStats is the last few KiB of heap?debug=1, after stacks that can be megabytes. */
const MEMSTATS_TAIL_BYTES = 256 * 1024;
const MAX_BODY_BYTES = 32 << 20;

/** The fields of a Pod its address is built from. */
export type PprofPod = { metadata: { name: string; namespace?: string }; status?: { podIP?: string } };

export interface PodPprofOptions {
  api: Pick<ApiServer, 'request'>;
  /** At the pod IP, or through the API server's pods/proxy; the controller's flags. */
  config: { pprofAccess: 'proxy' | 'direct'; pprofTimeoutMs: number };
  /** Told of every MemStats read (the controller's sampling metrics). */
  observe: (ok: boolean, seconds: number) => void;
}

export class PodPprofReader {
  readonly #o: PodPprofOptions;

  constructor(options: PodPprofOptions) {
    this.#o = options;
  }

  async memStats(pod: PprofPod, port: number, path: string): Promise<Read<GoRuntimeSample>> {
    const t0 = performance.now();
    const body = await this.#get(pod, port, path, 'debug=1');
    const source = `${pod.metadata.namespace}/${pod.metadata.name}:${port}${path}?debug=1`;
    const read = parsed(body, (b) => goSampleFromMemStats(parseMemStatsText(b.subarray(Math.max(0, b.length - MEMSTATS_TAIL_BYTES)).toString('utf8'), source), source));
    this.#o.observe(read.kind === 'data', (performance.now() - t0) / 1000);
    return read;
  }

  async heapProfile(pod: PprofPod, port: number, path: string): Promise<Read<HeapProfile>> {
    const body = await this.#get(pod, port, path, '');
    return parsed(body, (b) => decodeHeapProfile(new Uint8Array(b), { source: `${pod.metadata.namespace}/${pod.metadata.name}:${port}${path}` }));
  }

  async #get(pod: PprofPod, port: number, path: string, query: string): Promise<Read<Buffer>> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InputError('spec.pprof', `port ${port} is not a port`);
    if (!PPROF_PATH_RE.test(path)) throw new InputError('spec.pprof', `path ${JSON.stringify(path)} is not under /debug/pprof/`);
    const ns = pod.metadata.namespace!;
    const suffix = query ? `?${query}` : '';
    if (this.#o.config.pprofAccess === 'proxy') {
      const p = `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod.metadata.name)}:${port}/proxy${path}${suffix}`;
      try {
        return data(await this.#o.api.request('GET', p, { timeoutMs: this.#o.config.pprofTimeoutMs, maxBytes: MAX_BODY_BYTES }));
      } catch (e) {
        return retry(e instanceof Error ? e.message : String(e));
      }
    }
    const ip = pod.status?.podIP;
    if (!ip || net.isIP(ip) === 0) return retry(`pod ${ns}/${pod.metadata.name} has no IP yet`);
    return httpGet(new URL(`http://${hostPort(ip, port)}${path}${suffix}`), {}, this.#o.config.pprofTimeoutMs, MAX_BODY_BYTES);
  }
}

function parsed<T>(body: Read<Buffer>, parse: (bytes: Buffer) => T): Read<T> {
  if (body.kind !== 'data') return body;
  try {
    return data(parse(body.value));
  } catch (e) {
    return retry(e instanceof Error ? e.message : String(e));
  }
}
