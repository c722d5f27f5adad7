import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { InputError } from '../../../src/errors.ts';
import { PodPprofReader } from '../../../src/sampling/pod-pprof.ts';
import type { PodPprofOptions } from '../../../src/sampling/pod-pprof.ts';

// A pod's pprof endpoint read directly (a local HTTP server serving the captured heap profile of
// test/apps/heapleak, at the "pod IP" 127.0.0.1) and through the API server's pods/proxy (a
// recording stand-in). Every failure of the endpoint is a retry that says what failed.
const FIXTURES = path.join(import.meta.dirname, '../../fixtures/pprof');
const DEBUG1 = readFileSync(path.join(FIXTURES, 'heapleak-debug1.txt'));
const PROFILE = readFileSync(path.join(FIXTURES, 'heapleak-1.pb.gz'));

const pod = (podIP?: string) => ({ metadata: { name: 'heapleak-0', namespace: 'shop' }, status: podIP ? { podIP } : {} });

let server: http.Server;
let port: number;
const served: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    served.push(req.url ?? '');
    if (req.url === '/debug/pprof/heap?debug=1') res.end(DEBUG1);
    else if (req.url === '/debug/pprof/heap') res.end(PROFILE);
    else if (req.url === '/debug/pprof/allocs?debug=1') res.end('not memstats');
    else res.writeHead(404).end('404 page not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

function reader(options: Partial<PodPprofOptions> = {}) {
  const observed: boolean[] = [];
  const r = new PodPprofReader({ api: { request: () => Promise.reject(new Error('unused')) }, config: { pprofAccess: 'direct', pprofTimeoutMs: 5000 }, observe: (ok) => observed.push(ok), ...options });
  return { r, observed };
}

describe('PodPprofReader', () => {
  it('direct: reads runtime.MemStats and the heap profile at the pod IP and the declared port and path', async () => {
    const { r, observed } = reader();
    const stats = await r.memStats(pod('127.0.0.1'), port, '/debug/pprof/heap');
    expect(stats).toMatchObject({ kind: 'data', value: { heapInuseBytes: expect.any(Number) } });
    const profile = await r.heapProfile(pod('127.0.0.1'), port, '/debug/pprof/heap');
    expect(profile.kind === 'data' && profile.value.totalInuseBytes).toBe(2130090);
    // Only the MemStats read counts as a sampling fetch (one per pod per round).
    expect(observed).toEqual([true]);
  });

  it('says retry for an endpoint that fails, a body that is not MemStats, or a pod without an IP', async () => {
    const { r, observed } = reader();
    expect(await r.memStats(pod('127.0.0.1'), port, '/debug/pprof/missing')).toEqual({ kind: 'retry', reason: `http://127.0.0.1:${port}/debug/pprof/missing?debug=1: HTTP 404 404 page not found` });
    expect((await r.memStats(pod('127.0.0.1'), port, '/debug/pprof/allocs')).kind).toBe('retry');
    expect(await r.memStats(pod(), port, '/debug/pprof/heap')).toEqual({ kind: 'retry', reason: 'pod shop/heapleak-0 has no IP yet' });
    expect(observed).toEqual([false, false, false]);
  });

  it('proxy: goes through pods/proxy, built from the Pod object, the port and the path', async () => {
    const paths: string[] = [];
    const { r } = reader({
      config: { pprofAccess: 'proxy', pprofTimeoutMs: 5000 },
      api: {
        request: async (_m, p) => {
          paths.push(p);
          if (p.includes('?debug=1')) return DEBUG1;
          throw new Error(`GET ${p}: HTTP 503 ServiceUnavailable: no endpoints`);
        },
      },
    });
    expect((await r.memStats(pod(), 6060, '/debug/pprof/heap')).kind).toBe('data');
    expect(await r.heapProfile(pod(), 6060, '/debug/pprof/heap')).toEqual({ kind: 'retry', reason: 'GET /api/v1/namespaces/shop/pods/heapleak-0:6060/proxy/debug/pprof/heap: HTTP 503 ServiceUnavailable: no endpoints' });
    expect(paths).toEqual(['/api/v1/namespaces/shop/pods/heapleak-0:6060/proxy/debug/pprof/heap?debug=1', '/api/v1/namespaces/shop/pods/heapleak-0:6060/proxy/debug/pprof/heap']);
  });

  it('refuses a port or a path outside /debug/pprof/ even if the schema were bypassed', async () => {
    const { r } = reader({ config: { pprofAccess: 'proxy', pprofTimeoutMs: 5000 } });
    await expect(r.memStats(pod(), 6060, '/debug/pprof/../../api/v1/secrets')).rejects.toThrow(InputError);
    await expect(r.memStats(pod(), 6060, '/debug/pprof/../../api/v1/secrets')).rejects.toThrow(/is not under \/debug\/pprof\//);
    await expect(r.heapProfile(pod(), 0, '/debug/pprof/heap')).rejects.toThrow(/port 0 is not a port/);
    expect(served).not.toContain('/api/v1/secrets');
  });
});
