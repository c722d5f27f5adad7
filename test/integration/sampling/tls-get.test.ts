import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { pino } from 'pino';
import { isNotFound } from '../../../src/controller/runtime/kube/api-error.ts';
import { KubeletReader, type ApiServer } from '../../../src/sampling/kubelet.ts';
import { GrowableBuffer } from '../../../src/sampling/body-pool.ts';
import { tlsGet, tlsTrust } from '../../../src/sampling/tls-get.ts';
import { freePort } from '../../e2e/harness/ports.ts';
import { createPki, issue } from '../../e2e/harness/pki.ts';

// The kubelet scrape's HTTPS GET (src/sampling/tls-get.ts: tls.connect reading into one buffer,
// the response parsed by http-parser-js) against real TLS servers on loopback, with certificates
// made by openssl: the body framings a server may use, client certificates, and every way a
// scrape fails, each a retry naming the URL.

let dir: string;
let caFile: string;
/** What the kubelet stand-in answers /metrics/cadvisor with: a status, and the body for a time. */
let kubeletStatus = 200;
const cadvisor = (t: number) =>
  ['a', 'b'].map((pod) => `container_memory_usage_bytes{container="app",id="/kubepods/pod-${pod}/c",namespace="ns",pod="${pod}"} ${(pod === 'a' ? 3 : 5) * 1048576} ${t}\n`).join('');
/** The client's trust and credentials; a test changes them in `get`'s `o`. */
type Options = { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean; headers: Record<string, string> };
let options: Options;
let trust: ReturnType<typeof tlsTrust>;
let server: https.Server;
let raw: tls.Server;
let base: string;
let rawBase: string;
const resumed: boolean[] = [];
/** A body as a kubelet's: lines of text, megabytes. */
const BODY = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `container_memory_usage_bytes{container="app",pod="p${i}"} ${i * 4096} 1764504000000\n`).join(''));

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'memaudit-tls-get-'));
  const pki = await createPki(dir);
  caFile = pki.caCertFile;
  const kubelet = await issue(pki, 'kubelet', '/CN=kubelet', 'serverAuth', ['IP:127.0.0.1']);
  const client = await issue(pki, 'client', '/CN=memaudit', 'clientAuth');
  const [ca, cert, key] = await Promise.all([readFile(pki.caCertFile), readFile(kubelet.certFile), readFile(kubelet.keyFile)]);
  options = { ca, cert: await readFile(client.certFile), key: await readFile(client.keyFile), rejectUnauthorized: true, headers: { Authorization: 'Bearer t0ken' } };
  trust = tlsTrust(options);
  // Client certificates required, as a kubelet requires them (or a token).
  server = https.createServer({ ca, cert, key, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    resumed.push((req.socket as tls.TLSSocket).isSessionReused());
    if (req.headers.authorization !== 'Bearer t0ken') return void res.writeHead(401).end('Unauthorized');
    if (req.url === '/chunked') {
      // Go's promhttp: no Content-Length, the body written in pieces (chunked transfer coding).
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < BODY.length; i += 32_768) res.write(BODY.subarray(i, i + 32_768));
      return void res.end();
    }
    if (req.url === '/metrics/cadvisor') return void res.writeHead(kubeletStatus).end(kubeletStatus === 200 ? cadvisor(1_764_504_000_000) : 'internal error');
    if (req.url === '/sized') return void res.writeHead(200, { 'content-length': BODY.length }).end(BODY);
    if (req.url === '/forbidden') return void res.writeHead(403).end('Forbidden (user=memaudit, verb=get, resource=nodes, subresource=proxy)');
    if (req.url === '/silent') return; // never answers
    if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': BODY.length });
      res.write(BODY.subarray(0, 1000));
      return void setTimeout(() => req.socket.destroy(), 50);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A server that sends its body to the close (HTTP/1.0 framing) or garbage.
  raw = tls.createServer({ cert, key }, (s) => {
    s.once('data', (req: Buffer) => {
      if (req.toString().startsWith('GET /garbage ')) s.end('this is not HTTP\r\n\r\n');
      else s.end(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\n'), BODY]));
    });
  });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  rawBase = `https://127.0.0.1:${(raw.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await new Promise((r) => raw?.close(r));
  await rm(dir, { recursive: true, force: true });
});

/** With `o`, other options: a trust of their own (sessions are resumed only within one trust). */
const get = (url: string, o?: Partial<Options>, timeoutMs = 10_000, maxBytes = 64 << 20) => {
  const opts = { ...options, ...o };
  return tlsGet(new URL(url), o ? tlsTrust(opts) : trust, opts.headers, timeoutMs, maxBytes, new GrowableBuffer());
};

describe('tlsGet', () => {
  it('reads a chunked body, a sized one and one sent to the close, byte for byte', async () => {
    for (const url of [`${base}/chunked`, `${base}/sized`, `${rawBase}/metrics/cadvisor`]) {
      const r = await get(url);
      expect([url, r.kind]).toEqual([url, 'data']);
      expect(r.kind === 'data' && r.value.equals(BODY)).toBe(true);
    }
  });

  it("offers the host's last TLS session again: the next connection resumes it", async () => {
    resumed.length = 0;
    await get(`${base}/sized`);
    await get(`${base}/sized`);
    expect(resumed.at(-1)).toBe(true);
  });

  it('says retry, naming the URL, for an HTTP error with what the server said', async () => {
    expect(await get(`${base}/forbidden`)).toEqual({ kind: 'retry', reason: `${base}/forbidden: HTTP 403 Forbidden (user=memaudit, verb=get, resource=nodes, subresource=proxy)` });
    expect(await get(`${base}/sized`, { headers: {} })).toEqual({ kind: 'retry', reason: `${base}/sized: HTTP 401 Unauthorized` });
  });

  it('says retry for a server it cannot trust, no client certificate, a body over the cap, no answer, a cut body, garbage, a closed port', async () => {
    const reason = async (url: string, o?: Partial<Options>, timeoutMs = 10_000, maxBytes = 64 << 20) => {
      const r = await get(url, o, timeoutMs, maxBytes);
      return r.kind === 'data' ? 'data' : r.reason;
    };
    expect(await reason(`${base}/sized`, { ca: undefined })).toMatch(/: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);
    expect(await reason(`${base}/sized`, { ca: undefined, rejectUnauthorized: false })).toBe('data');
    expect(await reason(`${base}/sized`, { cert: undefined, key: undefined })).toMatch(new RegExp(`^${base}/sized: `));
    expect(await reason(`${base}/chunked`, undefined, 10_000, 100_000)).toBe(`${base}/chunked: response larger than 100000 bytes`);
    expect(await reason(`${base}/silent`, undefined, 300)).toBe(`${base}/silent: no answer in 300 ms`);
    expect(await reason(`${base}/cut`)).toBe(`${base}/cut: connection closed before the response ended`);
    expect(await reason(`${rawBase}/garbage`, { ca: undefined, rejectUnauthorized: false })).toMatch(new RegExp(`^${rawBase}/garbage: bad HTTP response: `));
    const closed = `https://127.0.0.1:${await freePort()}/metrics/cadvisor`;
    expect(await reason(closed)).toBe(`${closed}: ECONNREFUSED`);
  });
});

describe('KubeletReader, --kubelet-access direct, against a TLS kubelet stand-in', () => {
  it("reads the node's address once, scrapes at it with the client's certificate, and reads the address again after a failed scrape", async () => {
    const port = Number(new URL(base).port);
    const gets: string[] = [];
    const api: ApiServer = {
      request: () => Promise.reject(new Error('not through the API server')),
      get: <T>(p: string) => {
        gets.push(p);
        return Promise.resolve({ status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } } } as T);
      },
      // The API server's client credentials, as client-node gives them: the certificate and a token.
      kubeConfig: {
        applyToHTTPSOptions: async (o) => {
          Object.assign(o, { cert: options.cert, key: options.key, headers: { Authorization: 'Bearer t0ken' } });
        },
      },
    };
    let now = 1_000_000;
    const reader = new KubeletReader({ api, isNotFound, config: { kubeletAccess: 'direct', kubeletCaFile: caFile, kubeletInsecureSkipTlsVerify: false, kubeletTimeoutMs: 5000 }, observe: () => undefined, log: pino({ level: 'silent' }), now: () => now });
    const key = (pod: string) => ({ namespace: 'ns', pod, container: 'app' });
    const a = await reader.container('n1', key('a'), 0);
    expect(a.kind === 'data' && [a.value.usageBytes, a.value.timestampMs]).toEqual([3 * 1048576, 1_764_504_000_000]);
    now += 30_000;
    const b = await reader.container('n1', key('b'), 0);
    expect(b.kind === 'data' && b.value.usageBytes).toBe(5 * 1048576);
    expect(gets).toEqual(['/api/v1/nodes/n1']);
    kubeletStatus = 500;
    now += 30_000;
    expect(await reader.container('n1', key('a'), 0)).toEqual({ kind: 'retry', reason: `kubelet on node n1: https://127.0.0.1:${port}/metrics/cadvisor: HTTP 500 internal error` });
    kubeletStatus = 200;
    now += 30_000;
    expect((await reader.container('n1', key('a'), 0)).kind).toBe('data');
    expect(gets).toEqual(['/api/v1/nodes/n1', '/api/v1/nodes/n1']);
  });
});
