import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { main } from '../../../src/cli/main.ts';
import { freeLoopbackPort } from '../../helpers/prometheus.ts';

function capture() {
  let out = '';
  let err = '';
  const io = {
    stdout: new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }),
    stderr: new Writable({ write: (c, _e, cb) => ((err += String(c)), cb()) }),
  };
  return { io, out: () => out, err: () => err };
}

async function scan(...args: string[]) {
  const c = capture();
  const code = await main(['scan', ...args], c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

const URL_ = ['--prometheus-url', 'http://127.0.0.1:9'];

describe('memaudit scan: usage', () => {
  it('prints its help', async () => {
    const r = await scan('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: memaudit scan --prometheus-url URL/);
    expect(r.stdout).toContain('--fail-on VERDICTS');
  });

  it.each([
    [[], /^memaudit scan: --prometheus-url: required/],
    [['--prometheus-url', 'prom:9090'], /^memaudit scan: --prometheus-url: expected an http:\/\/ or https:\/\/ URL, got "prom:9090"; see 'memaudit scan --help'\n$/],
    [[...URL_, '--step', '90'], /^memaudit scan: --step: expected a duration such as 30s, 1m, 6h or 7d, got "90"; see 'memaudit scan --help'\n$/],
    [[...URL_, '--step', '500ms'], /^memaudit scan: --step: expected whole seconds of at least 1s, got "500ms"; see 'memaudit scan --help'\n$/],
    [[...URL_, '--step', '2h', '--history', '1h'], /^memaudit scan: --step: 2h is not shorter than --history 1h; see 'memaudit scan --help'\n$/],
    [[...URL_, '--history', 'week'], /^memaudit scan: --history: expected a duration/],
    [[...URL_, '--end', 'yesterday'], /^memaudit scan: --end: expected RFC 3339 \(2026-11-30T12:00:00Z\) or unix seconds, got "yesterday"; see 'memaudit scan --help'\n$/],
    [[...URL_, '--selector', 'a~b'], /^memaudit scan: --selector: expected =, !=, =~ or !~ after a; see 'memaudit scan --help'\n$/],
    [[...URL_, '--namespace', 'Shop'], /^memaudit scan: --namespace: "Shop" is not a namespace name; see 'memaudit scan --help'\n$/],
    [[...URL_, '-o', 'text'], /^memaudit scan: -o\/--output: expected table, json, yaml, csv, html, got "text"; see 'memaudit scan --help'\n$/],
    [[...URL_, '--header', 'nocolon'], /^memaudit scan: --header: expected 'NAME: VALUE', got "nocolon"; see 'memaudit scan --help'\n$/],
    [[...URL_, '--cert-file', '/etc/hostname'], /^memaudit scan: --cert-file: a client certificate needs both --cert-file and --key-file; see 'memaudit scan --help'\n$/],
    [[...URL_, '--bearer-token-file', '/nonexistent/token'], /^memaudit scan: --bearer-token-file: cannot read \/nonexistent\/token: ENOENT; see 'memaudit scan --help'\n$/],
    [[...URL_, '--bearer-token', 't', '--basic-auth', 'u:p'], /^memaudit scan: --bearer-token: bearer token and basic auth exclude each other; see 'memaudit scan --help'\n$/],
    [[...URL_, '--basic-auth', 'nopassword'], /^memaudit scan: --basic-auth: expected USER:PASSWORD; see 'memaudit scan --help'\n$/],
    [[...URL_, '--concurrency', '0'], /^memaudit scan: --concurrency: expected a whole number from 1 to 64/],
    [[...URL_, '--fail-on', 'Leaky'], /^memaudit scan: --fail-on: "Leaky" is not a verdict/],
  ])('%j is a usage error naming the option (exit 2)', async (args, message) => {
    const r = await scan(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stdout).toBe('');
  });

  it('says so, exit 69, when nothing answers at the URL', async () => {
    const port = await freeLoopbackPort();
    const r = await scan('--prometheus-url', `http://127.0.0.1:${port}`, '--timeout', '5s');
    expect(r.code).toBe(69);
    expect(r.stderr).toBe(`memaudit: cannot list the namespaces with container_memory_usage_bytes: http://127.0.0.1:${port}/api/v1/label/namespace/values container_memory_usage_bytes{namespace!="",container!="",container!="POD"}: ECONNREFUSED\n`);
  });
});

describe('memaudit scan: faults are reported per container (a FAKE Prometheus: a real one cannot be made to fail per query)', () => {
  let server: http.Server;
  let url: string;
  const T = 1_795_999_980;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      const send = (body: unknown, status = 200) => {
        res.statusCode = status;
        res.end(JSON.stringify(body));
      };
      if (u.pathname === '/api/v1/label/namespace/values') return send({ status: 'success', data: ['broken', 'shop'] });
      if (u.pathname === '/api/v1/series') {
        const ns = /namespace="([^"]+)"/.exec(u.searchParams.get('match[]')!)![1]!;
        return send({ status: 'success', data: [{ __name__: 'container_memory_usage_bytes', namespace: ns, pod: `${ns}-0`, container: 'app' }] });
      }
      const q = u.searchParams.get('query')!;
      if (q.includes('container_memory_usage_bytes') && q.includes('broken')) return send({ status: 'error', errorType: 'execution', error: 'query processing would load too many samples into memory' }, 422);
      if (q.includes('container_memory_cache')) return send({ status: 'success', data: { resultType: 'vector', result: [] } });
      const rss = q.includes('container_memory_rss');
      if (!q.includes('container_memory_usage_bytes') && !rss) return send({ status: 'success', data: { resultType: 'matrix', result: [] } });
      // Anonymous memory grows 1 MiB a minute (usage with it, 10 MiB above).
      const values = Array.from({ length: 61 }, (_, i) => [T - 3600 + 60 * i, String((rss ? 90 : 100) * 2 ** 20 + i * 2 ** 20)]);
      send({ status: 'success', warnings: ['store eu-west-1 timed out: partial response'], data: { resultType: 'matrix', result: [{ metric: { namespace: 'shop', pod: 'shop-0', container: 'app' }, values }] } });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('an error row for what could not be read, notes for what is missing or partial, and the others judged', async () => {
    const r = await scan('--prometheus-url', url, '--history', '1h', '--end', String(T), '--min-duration', '10m', '-o', 'json');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('memaudit: warning: 1 of 2 containers could not be read (see their error)\n');
    const doc = JSON.parse(r.stdout) as { containers: { pod: string; verdict: string | null; error?: string; notes: string[] }[] };
    const shop = doc.containers.find((c) => c.pod === 'shop-0')!;
    expect(shop.verdict).toBe('Leak');
    expect(shop.notes).toEqual([expect.stringMatching(/^container_memory_cache not read: .*result type "vector", expected "matrix"$/), 'Prometheus warned: store eu-west-1 timed out: partial response']);
    const broken = doc.containers.find((c) => c.pod === 'broken-0')!;
    expect(broken).toMatchObject({ verdict: null, error: expect.stringMatching(/container_memory_usage_bytes\{namespace="broken".*HTTP 422 execution: query processing would load too many samples into memory$/) });
  });

  it('draws a progress bar on a terminal, and clears it before the report', async () => {
    let err = '';
    const stderr = Object.assign(new Writable({ write: (c, _e, cb) => ((err += String(c)), cb()) }), { isTTY: true });
    const io = { stdout: new Writable({ write: (_c, _e, cb) => cb() }), stderr };
    await main(['scan', '--prometheus-url', url, '--history', '1h', '--end', String(T), '--namespace', 'shop'], io);
    expect(err).toMatch(/^\rmemaudit scan \[\.+\] 0\/1 batches, 0 containers, 1 queries\rmemaudit scan \[#+\] 1\/1 batches, 1 containers, 14 queries\r +\r$/);
  });
});
