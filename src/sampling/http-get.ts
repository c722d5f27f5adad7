// One GET of an endpoint a reader samples directly (a kubelet at its node address, a pod's pprof
// port at its IP), as a Read: the endpoint failing (refused, no answer in time, an HTTP error, a
// body over the size cap) is a retry naming the URL, never an exception.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { GrowableBuffer } from './body-pool.ts';
import { data, retry, type Read } from './reader.ts';

/** `ip:port`, with an IPv6 address in brackets as a URL needs it. */
export const hostPort = (ip: string, port: number): string => `${net.isIPv6(ip) ? `[${ip}]` : ip}:${port}`;

/**
 * `into`: the body goes there (a pooled buffer, body-pool.ts) and the result is a view of it, valid
 * until the buffer is used again; without it, a Buffer of its own.
 */
export function httpGet(url: URL, options: https.RequestOptions, timeoutMs: number, maxBytes: number, into?: GrowableBuffer): Promise<Read<Buffer>> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const failed = (why: string) => resolve(retry(`${url.href}: ${why}`));
    const req = mod.get(url, options, (res) => {
      // Into the pooled buffer, or as chunks joined once at the end (one copy, sized to the body).
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) req.destroy(new Error(`response larger than ${maxBytes} bytes`));
        else if (into) into.append(c);
        else chunks.push(c);
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const body = into ? into.bytes() : Buffer.concat(chunks);
        if (status >= 200 && status < 300) resolve(data(body));
        else failed(`HTTP ${status} ${body.toString('utf8').slice(0, 200).trim()}`);
      });
      res.on('error', (e) => failed(e.message));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (e) => failed((e as NodeJS.ErrnoException).code ?? e.message));
  });
}
