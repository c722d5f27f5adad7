import https from 'node:https';
import http from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { TransientError } from '../../../errors.ts';
import { KubeApiError } from './api-error.ts';

export interface RequestOptions {
  body?: unknown;
  /** Default application/json; merge patches use application/merge-patch+json. */
  contentType?: string;
  accept?: string;
  timeoutMs?: number;
  /** Response bodies larger than this are cut off with an error (kubelet scrapes can be big). */
  maxBytes?: number;
}

export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';

/**
 * A thin REST client over node:https with the kubeconfig's credentials (client-node resolves
 * them: certificates, tokens, exec plugins). Typed JSON for API objects and raw bytes for the
 * node and pod proxies. Errors: KubeApiError for an API Status, TransientError when the server
 * cannot be reached or does not answer in time.
 */
export class KubeClient {
  readonly kubeConfig: KubeConfig;
  readonly server: URL;
  private readonly agent: https.Agent | http.Agent;
  private readonly defaultTimeoutMs: number;

  private constructor(kubeConfig: KubeConfig, agent: https.Agent | http.Agent, defaultTimeoutMs: number) {
    this.kubeConfig = kubeConfig;
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new KubeApiError(0, 'NoCluster', 'the kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
    this.agent = agent;
    this.defaultTimeoutMs = defaultTimeoutMs;
  }

  static async create(kubeConfig: KubeConfig, defaultTimeoutMs = 30_000): Promise<KubeClient> {
    const opts: https.RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(opts);
    const server = new URL(kubeConfig.getCurrentCluster()?.server ?? 'https://invalid');
    const agent =
      server.protocol === 'http:'
        ? new http.Agent({ keepAlive: true, maxSockets: 32 })
        : new https.Agent({ keepAlive: true, maxSockets: 32, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized ?? true, servername: opts.servername });
    return new KubeClient(kubeConfig, agent, defaultTimeoutMs);
  }

  close(): void {
    this.agent.destroy();
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const body = await this.request(method, path, { accept: 'application/json', ...options });
    return JSON.parse(body.toString('utf8')) as T;
  }

  async get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.json<T>('GET', path, options);
  }

  /** Raw bytes, e.g. `/api/v1/nodes/N/proxy/metrics/cadvisor`. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Buffer> {
    const headerOpts: https.RequestOptions = { headers: {} };
    await this.kubeConfig.applyToHTTPSOptions(headerOpts);
    const headers: Record<string, string> = { ...(headerOpts.headers as Record<string, string>) };
    if (options.accept) headers.accept = options.accept;
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const url = new URL(path, this.server);
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const maxBytes = options.maxBytes ?? 64 << 20;
    const mod = url.protocol === 'http:' ? http : https;
    const what = `${method} ${url.pathname}`;
    return new Promise<Buffer>((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent: this.agent, auth: headerOpts.auth }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            req.destroy(new TransientError(`${what}: response larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(buf);
          reject(apiError(status, buf, what));
        });
        res.on('error', (e) => reject(new TransientError(`${what}: ${e.message}`, { cause: e })));
      });
      req.setTimeout(timeoutMs, () => req.destroy(new TransientError(`${what}: no answer in ${timeoutMs} ms`)));
      req.on('error', (e) => reject(e instanceof TransientError ? e : new TransientError(`${what}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e })));
      req.end(payload);
    });
  }
}

function apiError(status: number, body: Buffer, what: string): Error {
  let reason = String(status);
  let message = body.toString('utf8').slice(0, 500).trim();
  try {
    const s = JSON.parse(body.toString('utf8')) as { kind?: string; reason?: string; message?: string };
    if (s.kind === 'Status') {
      reason = s.reason ?? reason;
      message = s.message ?? message;
    }
  } catch {
    // not a Status object: a proxied endpoint's own error page
  }
  const err = new KubeApiError(status, reason, `${what}: HTTP ${status} ${reason}: ${message}`);
  return status >= 500 || status === 429 ? new TransientError(err.message, { cause: err }) : err;
}

export function loadKubeConfig(path: string | null): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}
