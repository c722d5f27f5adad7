import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import path from 'node:path';
import { PprofHttpClient, goRuntimeReader, heapUrlFromBase } from '../../../src/sampling/pprof.ts';
import { InputError } from '../../../src/errors.ts';
import { buildApps, freePort, waitUntil } from '../local/helpers.ts';

// The --pprof source against a real Go program (test/apps/heapleak with net/http/pprof) and
// against small local HTTP servers for the failure shapes: a vanished target, a 404, a stall,
// and a huge debug=1 profile of which only the tail is kept.

describe('heapUrlFromBase', () => {
  test.each([
    ['http://127.0.0.1:6060', 'http://127.0.0.1:6060/debug/pprof/heap'],
    ['127.0.0.1:6060', 'http://127.0.0.1:6060/debug/pprof/heap'],
    ['http://127.0.0.1:6060/', 'http://127.0.0.1:6060/debug/pprof/heap'],
    ['http://127.0.0.1:6060/debug/pprof', 'http://127.0.0.1:6060/debug/pprof/heap'],
    ['http://127.0.0.1:6060/debug/pprof/heap?debug=1', 'http://127.0.0.1:6060/debug/pprof/heap'],
    ['https://svc.local/app/debug/pprof/', 'https://svc.local/app/debug/pprof/heap'],
    ['http://[::1]:6060', 'http://[::1]:6060/debug/pprof/heap'],
  ])('%s', (base, url) => {
    expect(heapUrlFromBase(base).href).toBe(url);
  });

  test('refuses what is not http(s)', () => {
    expect(() => heapUrlFromBase('ftp://x/')).toThrow(InputError);
    expect(() => heapUrlFromBase('http://')).toThrow(InputError);
  });
});

describe('a real Go program', () => {
  let app: ChildProcess;
  let base: string;
  beforeAll(async () => {
    const bin = await buildApps();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = spawn(path.join(bin, 'heapleak'), ['-rate', String(4 << 20), '-pprof', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    app.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    await waitUntil(() => out.includes('ready'), 15_000, 'heapleak to be ready');
  }, 300_000);
  afterAll(() => {
    app?.kill('SIGKILL');
  });

  test('runtime.MemStats from heap?debug=1, growing as it leaks', async () => {
    const client = new PprofHttpClient(base);
    const a = await client.memStats();
    await new Promise((r) => setTimeout(r, 1_500));
    const b = await client.memStats();
    if (a.kind !== 'data' || b.kind !== 'data') throw new Error(`no data: ${JSON.stringify([a, b])}`);
    expect(a.value.heapInuseBytes).toBeGreaterThan(0);
    expect(a.value.sysBytes).toBeGreaterThan(a.value.heapInuseBytes);
    expect(b.value.heapInuseBytes).toBeGreaterThan(a.value.heapInuseBytes + (2 << 20));
    expect(b.value.numGc).toBeGreaterThanOrEqual(a.value.numGc!);
  });

  test('heap profiles decoded, naming the leaking function', async () => {
    // A heap profile shows the heap as of a completed GC cycle: the leak shows up after a few.
    let functions: string[] = [];
    for (let i = 0; i < 20 && !functions.includes('main.retainRequest'); i++) {
      const p = await goRuntimeReader(base).heapProfile(5_000);
      if (p.kind !== 'data') throw new Error(p.reason);
      expect(p.value.totalInuseBytes).toBeGreaterThan(0);
      functions = [...p.value.cumInuseBytes.keys()];
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(functions).toContain('main.retainRequest');
  });

  test('a target that goes away is "no data", not an error', async () => {
    app.kill('SIGKILL');
    await new Promise((r) => app.once('exit', r));
    const m = await new PprofHttpClient(base).memStats();
    expect(m).toEqual({ kind: 'retry', reason: expect.stringMatching(/is not answering \(ECONNREFUSED\)/) });
    const p = await goRuntimeReader(base).heapProfile(1_000);
    expect(p.kind).toBe('retry');
  });
});

describe('failure shapes', () => {
  let server: Server;
  let base: string;
  const memstatsTail = '\n# runtime.MemStats\n# Alloc = 1264512\n# Sys = 8106000\n# HeapInuse = 2154496\n# NumGC = 3\n';
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url!.startsWith('/missing')) {
        res.writeHead(404).end('404 page not found\n');
      } else if (req.url!.startsWith('/stall')) {
        // Never answers; the client's timeout must.
      } else if (req.url!.includes('debug=1')) {
        // 8 MiB of stacks before the MemStats block, in chunks.
        res.writeHead(200, { 'content-type': 'text/plain' });
        const line = '1: 16384 [1: 16384] @ 0x4a1b2c 0x4a1d3e 0x46f0a1\n#\t0x4a1b2b\tmain.retainRequest+0x2b\t/src/main.go:27\n'.repeat(200);
        let sent = 0;
        const pump = () => {
          while (sent < 8 << 20) {
            sent += line.length;
            if (!res.write(line)) return void res.once('drain', pump);
          }
          res.end(memstatsTail);
        };
        pump();
      } else res.writeHead(500).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('a huge debug=1 profile: only the tail is kept, MemStats parsed', async () => {
    const m = await new PprofHttpClient(base, { tailBytes: 64 * 1024 }).memStats();
    expect(m).toEqual({ kind: 'data', value: expect.objectContaining({ heapInuseBytes: 2154496, sysBytes: 8106000, numGc: 3 }) });
  });

  test('HTTP 404: no data, with a hint', async () => {
    const m = await new PprofHttpClient(`${base}/missing`).memStats();
    expect(m).toEqual({ kind: 'retry', reason: expect.stringMatching(/answered HTTP 404: is net\/http\/pprof registered/) });
  });

  test('a stalled target: no data after the timeout', async () => {
    // The server never answers: only the client's own 300 ms timeout can end this call.
    const m = await new PprofHttpClient(`${base}/stall`).memStats(300);
    expect(m).toEqual({ kind: 'retry', reason: expect.stringMatching(/timed out/) });
  });
});
