import { readFileSync } from 'node:fs';
import { audit } from '../analysis/audit.ts';
import { componentsOf } from '../analysis/components.ts';
import { EnvironmentError, UsageError } from '../errors.ts';
import type { MemorySample } from '../model/sample.ts';
import { VERDICTS } from '../model/verdict.ts';
import { secondsFromDuration } from '../model/units.ts';
import { progressLine, type FleetChart, type FleetRow } from '../report/fleet.ts';
import { fetchBatchHistory } from '../sampling/prometheus-history.ts';
import { PrometheusClient, type PrometheusClientOptions } from '../sampling/prometheus.ts';
import type { ContainerHistory } from '../sources/prometheus-history.ts';
import { alignedRange, discoverySelector, maxSeriesPerBatch, parseLabelMatchers, planBatches, USAGE_METRIC, type Batch, type DiscoveredContainer, type HistoryRange, type LabelMatcher } from '../sources/promql.ts';
import type { CommandIo } from './command.ts';
import { defineCommand } from './command.ts';
import { ExitCode } from './exit-codes.ts';
import { FLEET_FORMATS, writeFleet, type FleetFormat } from './fleet-output.ts';
import { durationOption, percentOption, verdictListOption } from './options.ts';

const HELP = `Usage: memaudit scan --prometheus-url URL [--namespace NS...] [--selector LABELS] [--history 7d] [--step 1m] [options]

Audits every container in scope from the cAdvisor (and kube-state-metrics) history a Prometheus
holds - or Thanos, Mimir, VictoriaMetrics: the same HTTP API - and prints one table, most urgent
first: leaks with their time to OOM, then limits far from the recommendation. docs/scan.md.

Scope and time:
  --prometheus-url URL    the API's base URL (http://prometheus:9090, https://mimir.example/prometheus)
  --namespace NS          only these namespaces; repeatable or comma separated (default: all)
  --selector LABELS       more label matchers for every series, as in PromQL:
                          'cluster="prod",pod=~"api-.*"' (bare values work: cluster=prod)
  --history DURATION      how far back (default 7d)
  --step DURATION         resolution of the queries (default 1m); a range over Prometheus'
                          11,000 points per series is split in time
  --end TIME              end of the history: RFC 3339 or unix seconds (default now)

Connection (like KRR's):
  --bearer-token TOKEN, --bearer-token-file FILE
  --basic-auth USER:PASSWORD, --basic-auth-file FILE (holding USER:PASSWORD)
  --header 'NAME: VALUE'  an extra request header, repeatable (e.g. 'X-Scope-OrgID: team-a')
  --ca-file FILE          CA bundle of the server's certificate
  --cert-file FILE, --key-file FILE   client certificate (mutual TLS)
  --insecure-skip-tls-verify
  --timeout DURATION      per request (default 2m); --concurrency N requests at once (default 4)

Verdicts and output:
  --headroom PERCENT      headroom above the non-reclaimable peak for the limit (default 20)
  --min-duration DUR      no verdict on less history than this (default 30m)
  --fail-on VERDICTS      exit 1 when any container's verdict is one of these (e.g. Leak)
  -o, --output FORMAT     table (default), json, yaml, csv, or html (one page, a chart per container)
  --no-progress           no progress bar (it is drawn on stderr when stderr is a terminal)`;

/** Buckets of each container's history the engine sees (two samples each, at most). */
const MAX_BUCKETS = 150;
/** Points one response may hold (~25 bytes each in the API's JSON): bounds the memory of a batch. */
const POINTS_PER_QUERY = 1_500_000;
/** Batches read at once: their queries share the client's --concurrency. */
const BATCH_CONCURRENCY = 2;
/** Points kept per container for the HTML chart. */
const CHART_POINTS = 240;

const OPTIONS = {
  'prometheus-url': { type: 'string' },
  namespace: { type: 'string', multiple: true },
  selector: { type: 'string' },
  history: { type: 'string' },
  step: { type: 'string' },
  end: { type: 'string' },
  'bearer-token': { type: 'string' },
  'bearer-token-file': { type: 'string' },
  'basic-auth': { type: 'string' },
  'basic-auth-file': { type: 'string' },
  header: { type: 'string', multiple: true },
  'ca-file': { type: 'string' },
  'cert-file': { type: 'string' },
  'key-file': { type: 'string' },
  'insecure-skip-tls-verify': { type: 'boolean' },
  timeout: { type: 'string' },
  concurrency: { type: 'string' },
  headroom: { type: 'string' },
  'min-duration': { type: 'string' },
  'fail-on': { type: 'string' },
  output: { type: 'string', short: 'o' },
  'no-progress': { type: 'boolean' },
} as const;

export const scanCommand = defineCommand({
  help: HELP,
  options: OPTIONS,
  operands: 'none',
  optionValues: { 'bearer-token-file': 'file', 'basic-auth-file': 'file', 'ca-file': 'file', 'cert-file': 'file', 'key-file': 'file', 'fail-on': { commaList: VERDICTS }, output: FLEET_FORMATS },
  async run(parsed, io) {
    const v = parsed.values;
    const o = scanOptions(v);
    const client = new PrometheusClient(o.client);
    try {
      return await scan(io, client, o, { progress: !v['no-progress'] && (io.stderr as NodeJS.WriteStream).isTTY === true });
    } finally {
      client.close();
    }
  },
});

interface ScanOptions {
  client: PrometheusClientOptions;
  namespaces: string[];
  selector: LabelMatcher[];
  range: HistoryRange;
  headroomPercent: number | undefined;
  minDurationSeconds: number;
  failOn: ReturnType<typeof verdictListOption>;
  format: FleetFormat;
}

type Values = Record<string, string | string[] | boolean | undefined>;

function scanOptions(v: Values): ScanOptions {
  const str = (k: string) => v[k] as string | undefined;
  const url = str('prometheus-url');
  if (!url) throw new UsageError(`--prometheus-url: required (the Prometheus, Thanos, Mimir or VictoriaMetrics HTTP API)`);
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`--prometheus-url: expected an http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
  const historySeconds = positiveDuration('history', str('history') ?? '7d');
  const stepSeconds = positiveDuration('step', str('step') ?? '1m');
  if (stepSeconds < 1 || !Number.isInteger(stepSeconds)) throw new UsageError(`--step: expected whole seconds of at least 1s, got ${JSON.stringify(str('step'))}`);
  if (stepSeconds >= historySeconds) throw new UsageError(`--step: ${str('step')} is not shorter than --history ${str('history') ?? '7d'}`);
  const endMs = str('end') === undefined ? Date.now() : timeOption('end', str('end')!);
  const selector = str('selector') === undefined ? [] : parseLabelMatchers(str('selector')!);
  if ('error' in selector) throw new UsageError(`--selector: ${selector.error}`);
  const namespaces = [...new Set(((v.namespace as string[] | undefined) ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean))];
  for (const ns of namespaces) if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) throw new UsageError(`--namespace: ${JSON.stringify(ns)} is not a namespace name`);
  const format = (str('output') ?? 'table') as FleetFormat;
  if (!FLEET_FORMATS.includes(format)) throw new UsageError(`-o/--output: expected ${FLEET_FORMATS.join(', ')}, got ${JSON.stringify(str('output'))}`);
  const concurrency = Number(str('concurrency') ?? '4');
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError(`--concurrency: expected a whole number from 1 to 64, got ${JSON.stringify(str('concurrency'))}`);
  const readSecret = (flag: string, file: string) => {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new UsageError(`--${flag}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  if (str('bearer-token') !== undefined && str('bearer-token-file') !== undefined) throw new UsageError('--bearer-token: give it or --bearer-token-file, not both');
  if (str('basic-auth') !== undefined && str('basic-auth-file') !== undefined) throw new UsageError('--basic-auth: give it or --basic-auth-file, not both');
  const bearerToken = str('bearer-token') ?? (str('bearer-token-file') !== undefined ? readSecret('bearer-token-file', str('bearer-token-file')!) : undefined);
  const basic = str('basic-auth') ?? (str('basic-auth-file') !== undefined ? readSecret('basic-auth-file', str('basic-auth-file')!) : undefined);
  if (bearerToken !== undefined && basic !== undefined) throw new UsageError('--bearer-token: bearer token and basic auth exclude each other');
  let basicAuth: { username: string; password: string } | undefined;
  if (basic !== undefined) {
    const i = basic.indexOf(':');
    if (i < 1) throw new UsageError('--basic-auth: expected USER:PASSWORD');
    basicAuth = { username: basic.slice(0, i), password: basic.slice(i + 1) };
  }
  const headers: Record<string, string> = {};
  for (const h of (v.header as string[] | undefined) ?? []) {
    const m = /^([A-Za-z0-9-]+)\s*:\s*(.*)$/.exec(h);
    if (!m) throw new UsageError(`--header: expected 'NAME: VALUE', got ${JSON.stringify(h)}`);
    headers[m[1]!.toLowerCase()] = m[2]!;
  }
  if ((str('cert-file') === undefined) !== (str('key-file') === undefined)) throw new UsageError('--cert-file: a client certificate needs both --cert-file and --key-file');
  for (const f of ['ca-file', 'cert-file', 'key-file']) if (str(f) !== undefined) readSecret(f, str(f)!);
  return {
    client: {
      url,
      bearerToken,
      basicAuth,
      headers,
      caFile: str('ca-file'),
      certFile: str('cert-file'),
      keyFile: str('key-file'),
      insecureSkipTlsVerify: v['insecure-skip-tls-verify'] === true,
      timeoutMs: positiveDuration('timeout', str('timeout') ?? '2m') * 1000,
      concurrency,
    },
    namespaces,
    selector,
    range: alignedRange(endMs, historySeconds * 1000, stepSeconds * 1000),
    headroomPercent: percentOption('headroom', str('headroom')),
    minDurationSeconds: durationOption('min-duration', str('min-duration')) ?? 30 * 60,
    failOn: verdictListOption('fail-on', str('fail-on')),
    format,
  };
}

function positiveDuration(flag: string, value: string): number {
  const s = secondsFromDuration(value);
  if (s === null || s <= 0) throw new UsageError(`--${flag}: expected a duration such as 30s, 1m, 6h or 7d, got ${JSON.stringify(value)}`);
  return s;
}

function timeOption(flag: string, value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const ms = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\dT/.test(value) || Number.isNaN(ms)) throw new UsageError(`--${flag}: expected RFC 3339 (2026-11-30T12:00:00Z) or unix seconds, got ${JSON.stringify(value)}`);
  return ms;
}

async function scan(io: CommandIo, client: PrometheusClient, o: ScanOptions, ui: { progress: boolean }): Promise<number> {
  const { range, selector } = o;
  const warnings: string[] = [];
  const rows: FleetRow[] = [];
  const unread = (c: { namespace: string; pod: string; container: string }, error: string): FleetRow => ({ ...c, result: null, error, notes: [], limitBytes: null, requestBytes: null, restarts: 0 });

  // 1. The namespaces, then the containers in each (the index only: /api/v1/series).
  let namespaces = o.namespaces;
  if (namespaces.length === 0) {
    const read = await client.labelValues('namespace', discoverySelector([], selector), range.startMs, range.endMs);
    if (read.kind !== 'data') throw new EnvironmentError(`cannot list the namespaces with ${USAGE_METRIC.metric}: ${read.reason}`);
    namespaces = read.value.values.filter((ns) => ns !== '').sort();
  }
  const discovered: DiscoveredContainer[] = [];
  await Promise.all(
    namespaces.map(async (ns) => {
      const read = await client.series(discoverySelector([ns], selector), range.startMs, range.endMs);
      if (read.kind !== 'data') {
        rows.push(unread({ namespace: ns, pod: '*', container: '*' }, `cannot list the containers of namespace ${ns}: ${read.reason}`));
        return;
      }
      const count = new Map<string, DiscoveredContainer>();
      for (const labels of read.value.series) {
        if (!labels.pod || !labels.container) continue;
        const k = `${labels.pod}/${labels.container}`;
        const c = count.get(k);
        if (c) c.series++;
        else count.set(k, { namespace: ns, pod: labels.pod, container: labels.container, series: 1 });
      }
      discovered.push(...count.values());
    }),
  );
  if (namespaces.length > 0 && rows.length === namespaces.length) throw new EnvironmentError(`cannot read ${client.url}: ${rows[0]!.error}`);
  const batches = planBatches(discovered, maxSeriesPerBatch(range, POINTS_PER_QUERY));
  const inBatch = (b: Batch, c: DiscoveredContainer) => b.namespaces.includes(c.namespace) && (b.pods === null || b.pods.includes(c.pod));

  // 2. Each batch: its history (one query per metric and time chunk), then the engine per container.
  // A batch that cannot be read is halved and each half read again (a namespace that fails, a
  // server refusing a query of too many samples), down to one pod: its containers are the errors.
  const absent = new Map<string, number>();
  let done = 0;
  const queue = [...batches];
  let total = queue.length;
  const draw = () => {
    if (ui.progress) io.stderr.write(`\r${progressLine(done, total, rows.length, client.requests)}`);
  };
  draw();
  let busy = 0;
  let readBatches = 0;
  await Promise.all(
    Array.from({ length: BATCH_CONCURRENCY }, async () => {
      for (;;) {
        const batch = queue.shift();
        if (!batch) {
          // Another worker may still halve its batch: wait for it, or stop when none is busy.
          if (busy === 0) return;
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        busy++;
        const expected = discovered.filter((c) => inBatch(batch, c));
        const read = await fetchBatchHistory(client, { batch, range, selector, maxBuckets: MAX_BUCKETS });
        const halves = read.kind !== 'data' ? halve(batch, expected) : null;
        if (halves) {
          queue.unshift(...halves);
          total += 2;
        } else if (read.kind !== 'data') {
          for (const c of expected) rows.push(unread(c, read.reason));
        } else {
          readBatches++;
          for (const m of read.value.absent) absent.set(m, (absent.get(m) ?? 0) + 1);
          const batchNotes = [...read.value.failed.map((f) => `${f.metric} not read: ${f.reason}`), ...read.value.warnings.map((w) => `Prometheus warned: ${w}`)];
          const seen = new Set<string>();
          for (const h of read.value.containers) {
            seen.add(`${h.key.namespace}/${h.key.pod}/${h.key.container}`);
            rows.push(auditRow(h, batchNotes, o));
          }
          // Listed by the index but no usage on the grid (gone before the first step, or a NaN series).
          for (const c of expected) if (!seen.has(`${c.namespace}/${c.pod}/${c.container}`)) rows.push(auditRow({ key: c, samples: [], points: 0, limitBytes: null, requestBytes: null, restarts: 0, missing: [] }, batchNotes, o));
        }
        done++;
        busy--;
        draw();
      }
    }),
  );
  if (ui.progress) io.stderr.write(`\r${' '.repeat(progressLine(done, total, rows.length, client.requests).length)}\r`);
  for (const [m, n] of absent) warnings.push(`no series of ${m} in ${n >= readBatches ? 'any batch' : `${n} of ${readBatches} batches`}${m.startsWith('kube_') ? ' (is kube-state-metrics scraped?)' : ''}`);
  const code = writeFleet(io, rows, { format: o.format, failOn: o.failOn, summary: { source: client.url, startMs: range.startMs, endMs: range.endMs, stepSeconds: range.stepMs / 1000, queries: client.requests, warnings } });
  // Nothing could be read: the report says why, the exit code says the service was unavailable.
  return rows.length > 0 && rows.every((r) => r.result === null) ? ExitCode.Unavailable : code;
}

/** Two halves of a batch: its namespaces, else its pods; null for one pod (nothing left to split). */
function halve(b: Batch, containers: readonly DiscoveredContainer[]): [Batch, Batch] | null {
  const split = <T>(xs: readonly T[]): [T[], T[]] => [xs.slice(0, Math.ceil(xs.length / 2)), xs.slice(Math.ceil(xs.length / 2))];
  const series = (pred: (c: DiscoveredContainer) => boolean) => containers.filter(pred).reduce((n, c) => n + Math.max(1, c.series), 0);
  if (b.namespaces.length > 1) {
    return split(b.namespaces).map((namespaces) => ({ namespaces, pods: null, series: series((c) => namespaces.includes(c.namespace)) })) as [Batch, Batch];
  }
  const pods = b.pods ?? [...new Set(containers.map((c) => c.pod))].sort();
  if (pods.length < 2) return null;
  return split(pods).map((p) => ({ namespaces: b.namespaces, pods: p, series: series((c) => p.includes(c.pod)) })) as [Batch, Batch];
}

function auditRow(h: ContainerHistory, batchNotes: readonly string[], o: ScanOptions): FleetRow {
  const { namespace, pod, container } = h.key;
  const result = audit(h.samples, [], {
    minDurationSeconds: o.minDurationSeconds,
    containerName: container,
    recommend: o.headroomPercent !== undefined ? { headroomPercent: o.headroomPercent } : {},
  });
  const notes = [...(h.missing.length ? [`no ${h.missing.join(', ')}`] : []), ...batchNotes];
  const row: FleetRow = { namespace, pod, container, result, error: null, notes, limitBytes: h.limitBytes, requestBytes: h.requestBytes, restarts: h.restarts };
  if (o.format === 'html') row.chart = chartOf(h.samples);
  return row;
}

/** At most CHART_POINTS samples, by even stride, with the non-reclaimable memory the engine sees. */
function chartOf(samples: readonly MemorySample[]): FleetChart {
  const stride = Math.max(1, Math.ceil(samples.length / CHART_POINTS));
  const picked = samples.filter((_, i) => i % stride === 0 || i === samples.length - 1);
  const chart: FleetChart = { timestampsMs: new Float64Array(picked.length), usageBytes: new Float64Array(picked.length), nonReclaimableBytes: new Float64Array(picked.length) };
  picked.forEach((s, i) => {
    chart.timestampsMs[i] = s.timestampMs;
    chart.usageBytes[i] = s.usageBytes;
    chart.nonReclaimableBytes[i] = componentsOf(s).nonReclaimable ?? NaN;
  });
  return chart;
}
