// Reads a Go program's net/http/pprof endpoint, at a base URL the user gives on the command line
// (`--pprof http://127.0.0.1:6060`):
//   - `/debug/pprof/heap?debug=1`: the text profile, whose tail is runtime.MemStats;
//   - `/debug/pprof/heap`: the binary (gzipped protobuf) heap profile.
//
// A target that is not (or no longer) answering is "retry", not an error: programs start their
// listener a moment after they start, and stop it when they exit (the memory reader says gone).
import { InputError } from '../errors.ts';
import type { GoRuntimeSample, HeapProfile } from '../model/sample.ts';
import { goSampleFromMemStats, parseMemStatsText } from '../sources/memstats.ts';
import { decodeHeapProfile } from '../sources/pprof.ts';
import { data, retry } from './reader.ts';
import type { GoRuntimeReader, Read } from './reader.ts';

export interface PprofHttpOptions {
  /** Per request; default 5 s. */
  timeoutMs?: number;
  /**
   * How much of the debug=1 text to keep: the MemStats block sits at the end and is a few KiB,
   * while the stacks before it can be megabytes, so only the tail is kept while streaming.
   */
  tailBytes?: number;
  fetch?: typeof fetch;
}

const HEAP_PATH = '/debug/pprof/heap';

/**
 * Accepts "http://host:port", "host:port", ".../debug/pprof" or ".../debug/pprof/heap" and returns
 * the heap profile URL. Throws InputError (naming the URL) for anything that is not http(s).
 */
export function heapUrlFromBase(base: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(base) ? base : `http://${base}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InputError(base, 'expected a URL like http://127.0.0.1:6060');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(base, 'only http and https URLs');
  let p = url.pathname.replace(/\/+$/, '');
  if (p.endsWith(HEAP_PATH)) p = p.slice(0, -HEAP_PATH.length);
  else if (p.endsWith('/debug/pprof')) p = p.slice(0, -'/debug/pprof'.length);
  url.pathname = p + HEAP_PATH;
  url.search = '';
  url.hash = '';
  return url;
}

export class PprofHttpClient {
  readonly heapUrl: URL;
  readonly #timeoutMs: number;
  readonly #tailBytes: number;
  readonly #fetch: typeof fetch;

  constructor(base: string, options: PprofHttpOptions = {}) {
    this.heapUrl = heapUrlFromBase(base);
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#tailBytes = options.tailBytes ?? 256 * 1024;
    this.#fetch = options.fetch ?? fetch;
  }

  /** runtime.MemStats from the tail of `heap?debug=1`. */
  async memStats(timeoutMs = this.#timeoutMs): Promise<Read<GoRuntimeSample>> {
    const url = new URL(this.heapUrl);
    url.searchParams.set('debug', '1');
    const res = await this.#get(url, timeoutMs);
    if (res.kind !== 'data') return res;
    try {
      const tail = await readTail(res.value, this.#tailBytes);
      return data(goSampleFromMemStats(parseMemStatsText(tail, url.href), url.href));
    } catch (e) {
      return retry(`${url.href}: ${describe(e)}`);
    }
  }

  /** The binary heap profile, exactly as served (gzipped protobuf). */
  async heapProfileBytes(timeoutMs = this.#timeoutMs): Promise<Read<Uint8Array>> {
    const res = await this.#get(this.heapUrl, timeoutMs);
    if (res.kind !== 'data') return res;
    try {
      return data(new Uint8Array(await res.value.arrayBuffer()));
    } catch (e) {
      return retry(`${this.heapUrl.href}: ${describe(e)}`);
    }
  }

  async #get(url: URL, timeoutMs: number): Promise<Read<Response>> {
    let res: Response;
    try {
      res = await this.#fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    } catch (e) {
      return retry(`${url.origin} is not answering (${describe(e)})`);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      const hint = res.status === 404 ? ': is net/http/pprof registered on this address?' : '';
      return retry(`${url.href} answered HTTP ${res.status}${hint}`);
    }
    return data(res);
  }
}

/** runtime.MemStats and decoded heap profiles of the Go program at a user-given pprof base URL. */
export function goRuntimeReader(baseUrl: string): GoRuntimeReader {
  const client = new PprofHttpClient(baseUrl);
  return {
    memStats: (timeoutMs) => client.memStats(timeoutMs),
    async heapProfile(timeoutMs): Promise<Read<HeapProfile>> {
      const bytes = await client.heapProfileBytes(timeoutMs);
      if (bytes.kind !== 'data') return bytes;
      try {
        return data(decodeHeapProfile(bytes.value, { source: client.heapUrl.href }));
      } catch (e) {
        return retry(`heap profile from ${client.heapUrl.href} not decoded: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  };
}

/** Reads a response body keeping only its last `max` bytes, decoded as UTF-8. */
async function readTail(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let kept = 0;
  for await (const chunk of res.body) {
    chunks.push(chunk);
    kept += chunk.byteLength;
    while (chunks.length > 1 && kept - chunks[0]!.byteLength >= max) kept -= chunks.shift()!.byteLength;
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(e: unknown): string {
  // Duck-typed: errors from fetch may come from another realm (a VM context), where instanceof fails.
  if (typeof e === 'object' && e !== null) {
    const err = e as { name?: unknown; message?: unknown; cause?: unknown };
    if (err.name === 'TimeoutError') return 'timed out';
    const cause = err.cause as { code?: unknown } | undefined;
    if (cause && typeof cause === 'object' && typeof cause.code === 'string') return cause.code;
    if (typeof err.message === 'string') return err.message;
  }
  return String(e);
}
