import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { NodeScrape } from './generated-cadvisor.ts';
import type { GeneratedPod } from './generated-cadvisor.ts';

/**
 * Stand-in kubelets for a fleet of nodes: one HTTPS listener per node on loopback (a node is told
 * apart by its port, the Node's status.daemonEndpoints.kubeletEndpoint.Port), each serving
 * /metrics/cadvisor generated for that node's pods (generated-cadvisor.ts: every family a kubelet
 * serves, memory that obeys the cgroup arithmetic). The bodies are generated, not read from
 * cgroups: this is for load, where FakeKubelet is for verdicts on real memory.
 */
export class FleetKubelet {
  /** Scrapes served, per node. */
  readonly scrapes = new Map<string, number>();
  readonly #servers = new Map<string, https.Server>();
  readonly #tls: { cert: Buffer; key: Buffer };

  constructor(tls: { cert: Buffer; key: Buffer }) {
    this.#tls = tls;
  }

  get totalScrapes(): number {
    let n = 0;
    for (const v of this.scrapes.values()) n += v;
    return n;
  }

  /** Starts the node's listener on 127.0.0.1 and returns its port. */
  async addNode(node: string, pods: readonly GeneratedPod[]): Promise<number> {
    const scrape = new NodeScrape(pods);
    this.scrapes.set(node, 0);
    const server = https.createServer(this.#tls, (req, res) => {
      if (new URL(req.url ?? '/', 'https://x').pathname !== '/metrics/cadvisor') {
        res.statusCode = 404;
        return void res.end('not found');
      }
      this.scrapes.set(node, (this.scrapes.get(node) ?? 0) + 1);
      res.setHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8');
      res.end(scrape.body(Date.now()));
    });
    this.#servers.set(node, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.#servers.values()].map((s) => {
        s.closeAllConnections();
        return new Promise<void>((resolve) => s.close(() => resolve()));
      }),
    );
    this.#servers.clear();
  }
}
