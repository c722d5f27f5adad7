import { decodeHeapProfile } from '../sources/pprof.ts';
import { PprofHttpClient } from '../sources/pprof-http.ts';
import type { Fetched } from '../sources/pprof-http.ts';
import type { GoRuntimeSample, HeapProfile } from '../model/sample.ts';
import type { GoRuntimeReader } from './sampler.ts';

/** runtime.MemStats and heap profiles of the Go program at a user-given pprof base URL. */
export function goRuntimeReader(baseUrl: string): GoRuntimeReader & { heapUrl: string } {
  const client = new PprofHttpClient(baseUrl);
  return {
    heapUrl: client.heapUrl.href,
    memStats: (timeoutMs: number): Promise<Fetched<GoRuntimeSample>> => client.memStats(timeoutMs),
    async heapProfile(timeoutMs: number): Promise<Fetched<HeapProfile>> {
      const bytes = await client.heapProfileBytes(timeoutMs);
      if (bytes.kind === 'noData') return bytes;
      try {
        return { kind: 'data', value: decodeHeapProfile(bytes.value, { source: client.heapUrl.href }) };
      } catch (e) {
        return { kind: 'noData', reason: `heap profile from ${client.heapUrl.href} not decoded: ${e instanceof Error ? e.message : String(e)}` };
      }
    },
  };
}
