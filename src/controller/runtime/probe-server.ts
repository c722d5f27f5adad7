// /metrics (Prometheus), /healthz (the process serves), /readyz (the controller can do its job).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Probes {
  /** The text /metrics serves (ControllerMetrics.exposition), and its content type. */
  metrics: { exposition(): Promise<string>; readonly registry: { readonly contentType: string } };
  /** null = ready; otherwise why not. */
  notReady: () => string | null;
}

export class ProbeServer {
  private readonly server: http.Server;

  constructor(probes: Probes) {
    this.server = http.createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (path === '/readyz') {
        const why = probes.notReady();
        res.writeHead(why === null ? 200 : 503, { 'content-type': 'text/plain' }).end(why === null ? 'ok\n' : `${why}\n`);
      } else if (path === '/metrics') {
        probes.metrics.exposition().then(
          (text) => res.writeHead(200, { 'content-type': probes.metrics.registry.contentType }).end(text),
          (e: unknown) => res.writeHead(500).end(String(e)),
        );
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    });
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
