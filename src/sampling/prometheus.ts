// A client of the Prometheus HTTP API (query_range, series, label values), as Prometheus, Thanos,
// Mimir and VictoriaMetrics serve it: bearer token or basic auth, TLS (CA, client certificate,
// or no verification), extra headers (a tenant's X-Scope-OrgID), a timeout per request, and at most
// `concurrency` requests in flight however many callers ask. Every answer follows the reading
// convention of reader.ts: data, or retry with a reason naming the request (a refused
// connection, no answer in time, an HTTP or API error, a body over the size cap, an unexpected
// result type) - never an exception. Transient failures (network, timeout, 429, 5xx) are retried
// a few times with backoff before they are returned.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isInputError } from '../errors.ts';
import { MatrixStream, parseErrorResponse, parseLabelValuesResponse, parseSeriesResponse, type ApiResponse, type Matrix, type MatrixSeries } from '../sources/prometheus-json.ts';
import { data, retry, type Read } from './reader.ts';

export interface PrometheusClientOptions {
  /** Base URL of the API, with any path prefix (http://prometheus:9090, https://mimir/prometheus). */
  url: string;
  bearerToken?: string | undefined;
  /** A file holding the bearer token, read again every minute (a projected service-account token rotates). */
  bearerTokenFile?: string | undefined;
  basicAuth?: { username: string; password: string } | undefined;
  /** Extra request headers, e.g. X-Scope-OrgID for a Mimir or Cortex tenant. */
  headers?: Readonly<Record<string, string>> | undefined;
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  insecureSkipTlsVerify?: boolean | undefined;
  /** Per request, including the body. */
  timeoutMs: number;
  /** Requests in flight at most. */
  concurrency: number;
  /** A larger body is refused (and the request reported), never buffered. */
  maxResponseBytes?: number | undefined;
  /** Attempts after the first for transient failures. Default 2. */
  retries?: number | undefined;
  /** Wait before the first retry, doubled each time. Default 500 ms. */
  retryDelayMs?: number | undefined;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 512 * 2 ** 20;
const TOKEN_TTL_MS = 60_000;

/** What a query read: its series and the server's warnings (partial data, a store that did not answer). */
export interface QueryResult {
  series: MatrixSeries[];
  warnings: string[];
}

/** Reads a body as it arrives: a stream parser, or a buffer parsed at the end. Throws InputError on bytes it cannot read. */
interface BodyReader<T> {
  push(chunk: Buffer): void;
  end(): ApiResponse<T>;
}

/** The answer of one request: the API's (parsed), a body that is not the API's (its start, for the message), or a failure. */
type Answer<T> = { status: number; parsed: ApiResponse<T> } | { status: number; unreadable: string; start: string } | { failure: string; transient: boolean };

function buffered<T>(parse: (body: Uint8Array, source: string) => ApiResponse<T>, source: string): BodyReader<T> {
  const chunks: Buffer[] = [];
  return { push: (c) => void chunks.push(c), end: () => parse(Buffer.concat(chunks), source) };
}

export class PrometheusClient {
  readonly #o: PrometheusClientOptions;
  readonly #base: string;
  readonly #agent: http.Agent;
  readonly #headers: Record<string, string>;
  #token: { value: string; readAtMs: number } | null = null;
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  /** HTTP requests sent, retries included. */
  requests = 0;
  /** Bytes of response bodies received. */
  bytes = 0;

  constructor(options: PrometheusClientOptions) {
    this.#o = options;
    const url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`not an http(s) URL: ${options.url}`);
    this.#base = url.href.replace(/\/+$/, '');
    const tls = url.protocol === 'https:';
    this.#agent = tls
      ? new https.Agent({
          keepAlive: true,
          maxSockets: options.concurrency,
          ca: options.caFile ? readFileSync(options.caFile) : undefined,
          cert: options.certFile ? readFileSync(options.certFile) : undefined,
          key: options.keyFile ? readFileSync(options.keyFile) : undefined,
          rejectUnauthorized: !options.insecureSkipTlsVerify,
        })
      : new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
    this.#headers = { accept: 'application/json', ...options.headers };
    if (options.bearerToken) this.#headers.authorization = `Bearer ${options.bearerToken}`;
    else if (options.basicAuth) this.#headers.authorization = `Basic ${Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString('base64')}`;
  }

  /** The URL without credentials, for messages. */
  get url(): string {
    const u = new URL(this.#base);
    u.username = '';
    u.password = '';
    return u.href.replace(/\/+$/, '');
  }

  close(): void {
    this.#agent.destroy();
  }

  /** GET /api/v1/query_range; only a matrix is an answer. */
  async queryRange(expr: string, startMs: number, endMs: number, stepMs: number): Promise<Read<QueryResult>> {
    const params = { query: expr, start: seconds(startMs), end: seconds(endMs), step: seconds(stepMs), timeout: `${Math.max(1, Math.floor(this.#o.timeoutMs / 1000))}s` };
    // Read as it arrives: a batch's week at 1 m is tens of megabytes of JSON (src/sources/prometheus-json.ts).
    const points = Math.floor((endMs - startMs) / stepMs) + 1;
    const read = await this.#call('/api/v1/query_range', params, (source) => new MatrixStream(source, points));
    if (read.kind !== 'data') return read;
    const m: Matrix = read.value.data;
    if (m.resultType !== 'matrix') return retry(`query_range ${expr}: result type ${JSON.stringify(m.resultType)}, expected "matrix"`);
    return data({ series: m.series, warnings: read.value.warnings });
  }

  /** GET /api/v1/series: the label sets of the series matching `match` in the range. */
  async series(match: string, startMs: number, endMs: number): Promise<Read<{ series: Record<string, string>[]; warnings: string[] }>> {
    const read = await this.#call('/api/v1/series', { 'match[]': match, start: seconds(startMs), end: seconds(endMs) }, (source) => buffered(parseSeriesResponse, source));
    return read.kind === 'data' ? data({ series: read.value.data, warnings: read.value.warnings }) : read;
  }

  /** GET /api/v1/label/NAME/values for the series matching `match` in the range. */
  async labelValues(label: string, match: string, startMs: number, endMs: number): Promise<Read<{ values: string[]; warnings: string[] }>> {
    const read = await this.#call(`/api/v1/label/${encodeURIComponent(label)}/values`, { 'match[]': match, start: seconds(startMs), end: seconds(endMs) }, (source) => buffered(parseLabelValuesResponse, source));
    return read.kind === 'data' ? data({ values: read.value.data, warnings: read.value.warnings }) : read;
  }

  async #call<T>(path: string, params: Record<string, string>, open: (source: string) => BodyReader<T>): Promise<Read<{ data: T; warnings: string[] }>> {
    const what = `${this.url}${path}${params.query ? ` ${params.query}` : params['match[]'] ? ` ${params['match[]']}` : ''}`;
    const retries = this.#o.retries ?? 2;
    let delay = this.#o.retryDelayMs ?? 500;
    for (let attempt = 0; ; attempt++) {
      const answer = await this.#limited(() => this.#request(path, params, () => open(what)));
      let failure: string;
      let transient: boolean;
      if ('failure' in answer) ({ failure, transient } = answer);
      else if ('unreadable' in answer) {
        failure = answer.status >= 200 && answer.status < 300 ? answer.unreadable : `HTTP ${answer.status} ${answer.start}`;
        transient = answer.status === 429 || answer.status >= 500;
      } else {
        const parsed = answer.parsed;
        if (parsed.status === 'error') {
          failure = `HTTP ${answer.status} ${parsed.errorType}: ${parsed.error}`;
          // Timeouts and an overloaded server are worth another try; a bad query is not.
          transient = answer.status === 429 || answer.status === 503 || parsed.errorType === 'timeout' || parsed.errorType === 'unavailable';
        } else if (answer.status >= 200 && answer.status < 300) return data({ data: parsed.data, warnings: parsed.warnings });
        else {
          failure = `HTTP ${answer.status}`;
          transient = answer.status >= 500;
        }
      }
      if (!transient || attempt >= retries) return retry(`${what}: ${failure}`);
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }

  /** The token file's content, read again when a minute old; null without a file. A failed read keeps the last token. */
  #tokenFromFile(): string | null {
    const file = this.#o.bearerTokenFile;
    if (!file) return null;
    const now = Date.now();
    if (!this.#token || now - this.#token.readAtMs >= TOKEN_TTL_MS) {
      try {
        this.#token = { value: readFileSync(file, 'utf8').trim(), readAtMs: now };
      } catch {
        if (this.#token) this.#token.readAtMs = now;
        else return '';
      }
    }
    return this.#token.value;
  }

  async #limited<T>(run: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#o.concurrency) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#active++;
    try {
      return await run();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }

  /** One request: GET, or a form POST when the query string would be long (a batch's pod list). */
  #request<T>(path: string, params: Record<string, string>, open: () => BodyReader<T>): Promise<Answer<T>> {
    this.requests++;
    const query = new URLSearchParams(params).toString();
    const post = query.length > 4000;
    const url = new URL(this.#base + path + (post ? '' : `?${query}`));
    const mod = url.protocol === 'https:' ? https : http;
    const max = this.#o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const timeoutMs = this.#o.timeoutMs;
    return new Promise((resolve) => {
      let settled = false;
      const done = (a: Answer<T>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(a);
      };
      const headers: Record<string, string> = { ...this.#headers };
      if (post) headers['content-type'] = 'application/x-www-form-urlencoded';
      const token = this.#tokenFromFile();
      if (token !== null) headers.authorization = `Bearer ${token}`;
      const req = mod.request(url, { method: post ? 'POST' : 'GET', agent: this.#agent, headers }, (res) => {
        const status = res.statusCode ?? 0;
        // An error's body (JSON or a proxy's HTML) is read whole; a 2xx as it arrives.
        const reader: BodyReader<T> = status >= 200 && status < 300 ? open() : (buffered(parseErrorResponse, '') as BodyReader<T>);
        let start = '';
        let size = 0;
        const unreadable = (e: unknown) => {
          req.destroy();
          done({ status, unreadable: isInputError(e) ? e.reason : `cannot read the response: ${e instanceof Error ? e.message : String(e)}`, start });
        };
        res.on('data', (c: Buffer) => {
          if (settled) return;
          size += c.length;
          if (start.length < 200) start = (start + c.subarray(0, 200).toString('utf8')).slice(0, 200).trim();
          if (size > max) {
            req.destroy();
            done({ failure: `response larger than ${max} bytes: narrow the scope (fewer namespaces, a shorter history, a longer step)`, transient: false });
            return;
          }
          try {
            reader.push(c);
          } catch (e) {
            unreadable(e);
          }
        });
        res.on('end', () => {
          if (settled) return;
          this.bytes += size;
          try {
            done({ status, parsed: reader.end() });
          } catch (e) {
            unreadable(e);
          }
        });
        res.on('error', (e) => done({ failure: e.message, transient: true }));
      });
      // The whole exchange, body included: a server that trickles is as stuck as one that is silent.
      const timer = setTimeout(() => {
        req.destroy();
        done({ failure: `no complete answer in ${timeoutMs} ms`, transient: true });
      }, timeoutMs);
      req.on('error', (e) => done({ failure: (e as NodeJS.ErrnoException).code ?? e.message, transient: true }));
      req.end(post ? query : undefined);
    });
  }
}

const seconds = (ms: number): string => String(ms / 1000);


