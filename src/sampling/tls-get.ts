// One GET over HTTPS whose body is read into reused memory: the kubelet scrapes (/metrics/cadvisor,
// megabytes a node, every node every round).
//
// Why not node:https. Its client hands each decrypted read (16 KB) over as a new Buffer with a
// backing store of its own. A round over 100 nodes is some 40,000 of them, 640 MB, and V8 answers
// that much external memory with full mark-compact collections, whatever dies young: with a
// 530 MB heap, 100 downloads of 6.4 MB cost 11 s of CPU through node:https and 0.3 s read into
// one buffer (measured side by side, the same server and heap). tls.connect's `onread` reads every
// chunk into one buffer; Node's own HTTP parser cannot be fed from it, so the response is parsed by
// http-parser-js (chunked, sized, or read to the close), which hands the body over as views of
// that buffer, copied at once into the caller's pooled buffer (body-pool.ts).
//
// One connection a request (`Connection: close`), with the TLS session of the host's last one
// offered again (a resumption costs a fraction of a full handshake; TlsTrust.sessions). Failures are a retry naming
// the URL, never an exception, as httpGet's.
import net from 'node:net';
import tls from 'node:tls';
import { HTTPParser } from 'http-parser-js';
import type { GrowableBuffer } from './body-pool.ts';
import { data, retry, type Read } from './reader.ts';

/** One trust configuration (CA, client certificate, verification), made once with tlsTrust. */
export interface TlsTrust {
  /** Made once: a context per connection parsed the CA again every time. */
  secureContext: tls.SecureContext;
  rejectUnauthorized: boolean;
  /**
   * The last TLS session of each host:port, offered to its next connection. A resumed session is
   * not verified again, so these serve only connections of this trust.
   */
  sessions: Map<string, Buffer>;
}

export function tlsTrust(o: { ca?: Buffer | string | undefined; cert?: Buffer | string | undefined; key?: Buffer | string | undefined; rejectUnauthorized: boolean }): TlsTrust {
  return { secureContext: tls.createSecureContext({ ca: o.ca, cert: o.cert, key: o.key }), rejectUnauthorized: o.rejectUnauthorized, sessions: new Map() };
}

/**
 * Every socket's decrypted bytes land here. One buffer serves them all: a read is handed to its
 * callback before the next read of any socket, and the callback copies what it keeps.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export function tlsGet(url: URL, trust: TlsTrust, headers: Record<string, string>, timeoutMs: number, maxBytes: number, into: GrowableBuffer): Promise<Read<Buffer>> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || 443);
  const hostPort = `${host}:${port}`;
  const sessions = trust.sessions;
  return new Promise((resolve) => {
    let settled = false;
    let status = 0;
    let size = 0;
    const settle = (r: Read<Buffer>) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(r);
    };
    const failed = (why: string) => settle(retry(`${url.href}: ${why}`));
    const done = () => {
      const body = into.bytes();
      if (status >= 200 && status < 300) settle(data(body));
      else failed(`HTTP ${status} ${body.toString('utf8', 0, Math.min(body.length, 200)).trim()}`);
    };

    const parser = new HTTPParser(HTTPParser.RESPONSE);
    parser[HTTPParser.kOnHeadersComplete] = (info) => {
      status = info.statusCode;
    };
    parser[HTTPParser.kOnBody] = (chunk, offset, length) => {
      if (settled) return;
      size += length;
      if (size > maxBytes) failed(`response larger than ${maxBytes} bytes`);
      else into.append(chunk.subarray(offset, offset + length));
    };
    parser[HTTPParser.kOnMessageComplete] = done;

    // `onread` is a tls.connect option too (nodejs/node#35753); @types/node lists it for net only.
    const connectOptions: tls.ConnectionOptions & { onread: net.OnReadOpts } = {
      host,
      port,
      servername: net.isIP(host) === 0 ? host : undefined,
      secureContext: trust.secureContext,
      rejectUnauthorized: trust.rejectUnauthorized,
      session: sessions.get(hostPort),
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array) => {
          if (settled) return false;
          const r = parser.execute(buf as Buffer, 0, n);
          if (r instanceof Error) failed(`bad HTTP response: ${r.message}`);
          return !settled;
        },
      },
    };
    const socket = tls.connect(connectOptions);
    socket.on('session', (s: Buffer) => sessions.set(hostPort, s));
    socket.once('secureConnect', () => {
      const head = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${head}Connection: close\r\n\r\n`);
    });
    socket.setTimeout(timeoutMs, () => failed(`no answer in ${timeoutMs} ms`));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // A session the server no longer takes is not offered again.
      sessions.delete(hostPort);
      failed(e.code ?? e.message);
    });
    socket.on('end', () => {
      // A body sent to the close ends here; any other ends with its last chunk or its length.
      const r = parser.finish();
      if (!settled) failed(r instanceof Error || status !== 0 ? 'connection closed before the response ended' : 'connection closed before a response');
    });
    socket.on('close', () => failed('connection closed before the response ended'));
  });
}
