import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchBatchHistory } from '../../../src/sampling/prometheus-history.ts';
import { PrometheusClient } from '../../../src/sampling/prometheus.ts';

// The client against a FAKE Prometheus: only for the faults a real one cannot be made to show on
// demand (an HTTP 500 then recovery, a hang, a body over the cap, a proxy answering a vector or
// HTML, a slow server to count requests in flight). The real server's answers are tested in
// test/integration/prometheus/.

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

async function fake(handler: Handler): Promise<{ url: string; requests: { method: string; url: string; body: string; headers: http.IncomingHttpHeaders }[]; close: () => Promise<void> }> {
  const requests: { method: string; url: string; body: string; headers: http.IncomingHttpHeaders }[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, body, headers: req.headers });
      hanging.push(res);
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const matrix = (result: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ status: 'success', data: { resultType: 'matrix', result }, ...extra });
const T = 1_795_999_980; // seconds, a multiple of 60

describe('PrometheusClient (fake server, for faults)', () => {
  let server: Awaited<ReturnType<typeof fake>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('sends the query with auth and extra headers, and reads the matrix', async () => {
    server = await fake((_req, _body, res) => res.end(matrix([{ metric: { pod: 'p' }, values: [[T, '5']] }], { warnings: ['partial'] })));
    const c = new PrometheusClient({ url: `${server.url}/prefix/`, bearerToken: 's3cret', headers: { 'x-scope-orgid': 'team-a' }, timeoutMs: 5000, concurrency: 2 });
    const r = await c.queryRange('up{a="b"}', T * 1000 - 60_000, T * 1000, 60_000);
    expect(r).toEqual({ kind: 'data', value: { series: [{ labels: { pod: 'p' }, timestampsMs: Float64Array.from([T * 1000]), values: Float64Array.from([5]) }], warnings: ['partial'] } });
    const req = server.requests[0]!;
    expect(req.method).toBe('GET');
    const u = new URL(req.url, 'http://x');
    expect(u.pathname).toBe('/prefix/api/v1/query_range');
    expect(Object.fromEntries(u.searchParams)).toEqual({ query: 'up{a="b"}', start: String(T - 60), end: String(T), step: '60', timeout: '5s' });
    expect(req.headers.authorization).toBe('Bearer s3cret');
    expect(req.headers['x-scope-orgid']).toBe('team-a');
    const basic = new PrometheusClient({ url: server.url, basicAuth: { username: 'u', password: 'p:w' }, timeoutMs: 5000, concurrency: 1 });
    await basic.queryRange('up', 0, 60_000, 60_000);
    expect(server.requests[1]!.headers.authorization).toBe(`Basic ${Buffer.from('u:p:w').toString('base64')}`);
    c.close();
    basic.close();
  });

  it('POSTs a query too long for a URL (a batch listing many pods)', async () => {
    server = await fake((_req, _body, res) => res.end(matrix([])));
    const c = new PrometheusClient({ url: server.url, timeoutMs: 5000, concurrency: 1 });
    const expr = `x{pod=~"${Array.from({ length: 1000 }, (_, i) => `pod-${i}`).join('|')}"}`;
    expect((await c.queryRange(expr, 0, 60_000, 60_000)).kind).toBe('data');
    const req = server.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(new URLSearchParams(req.body).get('query')).toBe(expr);
    c.close();
  });

  it('retries an HTTP 500 and a 503 with backoff, then answers', async () => {
    let n = 0;
    server = await fake((_req, _body, res) => {
      n++;
      if (n === 1) {
        res.statusCode = 500;
        return void res.end('internal error');
      }
      if (n === 2) {
        res.statusCode = 503;
        return void res.end(JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'too many queries' }));
      }
      res.end(matrix([]));
    });
    const c = new PrometheusClient({ url: server.url, timeoutMs: 5000, concurrency: 1, retries: 2, retryDelayMs: 10 });
    expect((await c.queryRange('up', 0, 60_000, 60_000)).kind).toBe('data');
    expect(c.requests).toBe(3);
    c.close();
  });

  it('gives up with a reason naming the request: a hang, a bad query, a vector, HTML, a body over the cap', async () => {
    server = await fake((req, _body, res) => {
      const q = new URL(req.url!, 'http://x').searchParams.get('query');
      if (q === 'hang') return; // never answers
      if (q === 'bad') {
        res.statusCode = 400;
        return void res.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: '1:5: parse error: unexpected }' }));
      }
      if (q === 'vector') return void res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
      if (q === 'html') {
        res.statusCode = 502;
        return void res.end('<html>502 Bad Gateway</html>');
      }
      res.end(matrix([{ metric: {}, values: Array.from({ length: 1000 }, (_, i) => [i, '1']) }]));
    });
    const c = new PrometheusClient({ url: server.url, timeoutMs: 2000, concurrency: 4, retries: 1, retryDelayMs: 10, maxResponseBytes: 4096 });
    const reason = async (q: string) => {
      const r = await c.queryRange(q, 0, 60_000, 60_000);
      return r.kind === 'retry' ? r.reason : `unexpected ${r.kind}`;
    };
    expect(await reason('hang')).toBe(`${server.url}/api/v1/query_range hang: no complete answer in 2000 ms`);
    expect(await reason('bad')).toBe(`${server.url}/api/v1/query_range bad: HTTP 400 bad_data: 1:5: parse error: unexpected }`);
    expect(await reason('vector')).toBe('query_range vector: result type "vector", expected "matrix"');
    expect(await reason('html')).toBe(`${server.url}/api/v1/query_range html: HTTP 502 <html>502 Bad Gateway</html>`);
    expect(await reason('big')).toMatch(/big: response larger than 4096 bytes: narrow the scope/);
    // The hang and the 502 were tried twice; the bad query, the vector and the big body once.
    expect(server.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('query'))).toEqual(['hang', 'hang', 'bad', 'vector', 'html', 'html', 'big']);
    c.close();
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    let inFlight = 0;
    let most = 0;
    server = await fake((_req, _body, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight--;
        res.end(matrix([]));
      }, 20);
    });
    const c = new PrometheusClient({ url: server.url, timeoutMs: 5000, concurrency: 3 });
    await Promise.all(Array.from({ length: 12 }, () => c.queryRange('up', 0, 60_000, 60_000)));
    expect(most).toBe(3);
    expect(c.requests).toBe(12);
    c.close();
  });

  it('a batch whose usage query fails is a retry; another failed metric is named and left out', async () => {
    server = await fake((req, body, res) => {
      const q = new URL(req.url!, 'http://x').searchParams.get('query') ?? new URLSearchParams(body).get('query')!;
      if (q.includes('pod="broken"') || (q.includes('container_memory_rss') && !q.includes('pod='))) {
        res.statusCode = 500;
        return void res.end('boom');
      }
      if (!q.includes('container_memory_usage_bytes')) return void res.end(matrix([]));
      res.end(matrix([{ metric: { namespace: 'shop', pod: 'web-0', container: 'app' }, values: Array.from({ length: 61 }, (_, i) => [T - 3600 + 60 * i, String(1000 + i)]) }], { warnings: ['store eu-1 unavailable'] }));
    });
    const c = new PrometheusClient({ url: server.url, timeoutMs: 5000, concurrency: 4, retries: 0 });
    const range = { startMs: (T - 3600) * 1000, endMs: T * 1000, stepMs: 60_000 };
    const ok = await fetchBatchHistory(c, { batch: { namespaces: ['shop'], pods: null }, range });
    if (ok.kind !== 'data') throw new Error(ok.reason);
    expect(ok.value.containers.map((h) => [h.key.pod, h.samples.length, h.samples[0]!.anonBytes])).toEqual([['web-0', 61, undefined]]);
    expect(ok.value.failed).toEqual([{ metric: 'container_memory_rss', reason: expect.stringMatching(/container_memory_rss.*HTTP 500 boom$/) }]);
    expect(ok.value.warnings).toEqual(['store eu-1 unavailable']);
    expect(ok.value.absent).toContain('kube_pod_container_resource_limits');
    const bad = await fetchBatchHistory(c, { batch: { namespaces: ['shop'], pods: ['broken'] }, range });
    expect(bad).toEqual({ kind: 'retry', reason: expect.stringMatching(/container_memory_usage_bytes\{namespace="shop",pod="broken".*HTTP 500 boom$/) });
    c.close();
  });
});
