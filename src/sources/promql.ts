// Which PromQL reads a cluster's memory history, and how it is cut into queries (pure: no I/O).
// Used by `memaudit scan` and by the controller's backfill (src/sampling/prometheus-history.ts).
//
// The cAdvisor and kube-state-metrics series behind a MemorySample are read with range queries
// per metric and per BATCH of containers, never per container:
//   - a batch is whole namespaces packed together (namespace=~"a|b|c") up to a series budget, or,
//     for a namespace over the budget, a group of its pods (namespace="a",pod=~"p1|p2|...");
//   - the four series that move (usage, working set, cache, rss) are read at the step, as the
//     last sample within two steps (last_over_time): a scrape that comes a little late (cAdvisor's
//     own timestamps jitter) still fills its step, and a series that ended (a restarted
//     container's old cgroup, history without staleness markers) is repeated for one step at
//     most, not for the 5 minutes of Prometheus' lookback as a plain selector would; the slow
//     ones (limit, mapped_file's peak, the counters, kube-state-metrics) at a coarse step that
//     keeps them near 200 points, as max_over_time so a peak or a counter step is not lost;
//   - a range longer than Prometheus' 11,000 points per series (e.g. 14 d at 1 m) is split in
//     time into chunks that each stay under it.
// So the number of queries grows with metrics x batches x time chunks: with namespaces, not
// containers. Every query is plain PromQL over the HTTP API, which Thanos, Mimir and
// VictoriaMetrics serve too.

/** One label matcher of a series selector: `name="value"`, `!=`, `=~`, `!~`. */
export interface LabelMatcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

/** Where a history metric's values go. Sample fields, or what the assembler derives samples from. */
export type HistoryField = 'usageBytes' | 'workingSetBytes' | 'fileBytes' | 'anonBytes' | 'mappedFileBytes' | 'limitBytes' | 'failCount' | 'majorFaultCount' | 'oomEvents' | 'ksmLimitBytes' | 'ksmRequestBytes' | 'restarts' | 'oomKilledReason';

export interface HistoryMetric {
  field: HistoryField;
  /** The series read (for messages and docs). */
  metric: string;
  /** cAdvisor series carry the cgroup `id`; kube-state-metrics series do not. */
  exporter: 'cadvisor' | 'kube-state-metrics';
  /** fine: at the step; coarse: max_over_time at the coarse step. */
  resolution: 'fine' | 'coarse';
  /** Matchers of this metric beyond the batch's. */
  matchers?: readonly LabelMatcher[];
}

/**
 * The metrics read, in the order queries are issued. The cAdvisor -> field mapping is the one of
 * src/sources/cadvisor.ts (CADVISOR_MEMORY_METRICS) plus the reclaim counters and
 * kube-state-metrics, which only a history has.
 */
export const HISTORY_METRICS: readonly HistoryMetric[] = [
  { field: 'usageBytes', metric: 'container_memory_usage_bytes', exporter: 'cadvisor', resolution: 'fine' },
  { field: 'workingSetBytes', metric: 'container_memory_working_set_bytes', exporter: 'cadvisor', resolution: 'fine' },
  { field: 'fileBytes', metric: 'container_memory_cache', exporter: 'cadvisor', resolution: 'fine' },
  { field: 'anonBytes', metric: 'container_memory_rss', exporter: 'cadvisor', resolution: 'fine' },
  { field: 'limitBytes', metric: 'container_spec_memory_limit_bytes', exporter: 'cadvisor', resolution: 'coarse' },
  { field: 'mappedFileBytes', metric: 'container_memory_mapped_file', exporter: 'cadvisor', resolution: 'coarse' },
  { field: 'failCount', metric: 'container_memory_failcnt', exporter: 'cadvisor', resolution: 'coarse' },
  {
    field: 'majorFaultCount',
    metric: 'container_memory_failures_total',
    exporter: 'cadvisor',
    resolution: 'coarse',
    matchers: [
      { name: 'failure_type', op: '=', value: 'pgmajfault' },
      { name: 'scope', op: '=', value: 'container' },
    ],
  },
  { field: 'oomEvents', metric: 'container_oom_events_total', exporter: 'cadvisor', resolution: 'coarse' },
  { field: 'ksmLimitBytes', metric: 'kube_pod_container_resource_limits', exporter: 'kube-state-metrics', resolution: 'coarse', matchers: [{ name: 'resource', op: '=', value: 'memory' }] },
  { field: 'ksmRequestBytes', metric: 'kube_pod_container_resource_requests', exporter: 'kube-state-metrics', resolution: 'coarse', matchers: [{ name: 'resource', op: '=', value: 'memory' }] },
  { field: 'restarts', metric: 'kube_pod_container_status_restarts_total', exporter: 'kube-state-metrics', resolution: 'coarse' },
  { field: 'oomKilledReason', metric: 'kube_pod_container_status_last_terminated_reason', exporter: 'kube-state-metrics', resolution: 'coarse', matchers: [{ name: 'reason', op: '=', value: 'OOMKilled' }] },
];

/** The metric that defines a sample: no usage, no sample. */
export const USAGE_METRIC = HISTORY_METRICS[0]!;

/** Prometheus refuses a range query of more than this many points per series. */
export const MAX_POINTS_PER_SERIES = 11_000;
/** The slow metrics are read at a step that gives about this many points over the range (a week: 51 min). */
const COARSE_POINTS = 200;
/** A coarse window never shorter than Prometheus' default lookback, so a sparse scrape still lands in it. */
const MIN_COARSE_WINDOW_MS = 5 * 60_000;

/** A time range on a grid: start and end are multiples of the step (ms). */
export interface HistoryRange {
  startMs: number;
  endMs: number;
  stepMs: number;
}

/** [start, end] of the last `historyMs` before `endMs`, on the step's grid. */
export function alignedRange(endMs: number, historyMs: number, stepMs: number): HistoryRange {
  const end = Math.floor(endMs / stepMs) * stepMs;
  const start = end - Math.max(stepMs, Math.floor(historyMs / stepMs) * stepMs);
  return { startMs: start, endMs: end, stepMs };
}

/** Points of a range on its grid, both ends included. */
export const pointsOf = (r: HistoryRange): number => Math.floor((r.endMs - r.startMs) / r.stepMs) + 1;

/** The coarse step of a range: a multiple of its step, at least the step, about COARSE_POINTS points. */
export function coarseRange(r: HistoryRange): HistoryRange {
  const factor = Math.max(1, Math.ceil((pointsOf(r) - 1) / COARSE_POINTS));
  const stepMs = r.stepMs * factor;
  // On the coarse grid, ending at the range's end so the newest limit and counters are read.
  const startMs = r.endMs - Math.ceil((r.endMs - r.startMs) / stepMs) * stepMs;
  return { startMs, endMs: r.endMs, stepMs };
}

/**
 * Cuts a range into consecutive pieces of at most `maxPoints` points each (Prometheus' limit per
 * series), on the same grid, without overlap. Edge cases: a range of one point -> itself.
 */
export function timeChunks(r: HistoryRange, maxPoints = MAX_POINTS_PER_SERIES): HistoryRange[] {
  const out: HistoryRange[] = [];
  const span = (maxPoints - 1) * r.stepMs;
  for (let start = r.startMs; start <= r.endMs; start += span + r.stepMs) out.push({ startMs: start, endMs: Math.min(r.endMs, start + span), stepMs: r.stepMs });
  return out;
}

/** A set of containers read by one query per metric (and time chunk). */
export interface Batch {
  namespaces: string[];
  /** Only some pods of the one namespace; null = every pod of the namespaces. */
  pods: string[] | null;
  /** Series of container_memory_usage_bytes the batch holds, as discovered (restarts count twice). */
  series: number;
}

export interface DiscoveredContainer {
  namespace: string;
  pod: string;
  container: string;
  /** How many usage series the container has in the range (one per cgroup incarnation and scrape job). */
  series: number;
}

/**
 * Packs namespaces into batches of at most `maxSeries` usage series: small namespaces share a
 * batch, a namespace over the budget is split into groups of whole pods (a pod's containers stay
 * together; a single pod over the budget is a batch of its own). Deterministic: sorted by name.
 */
export function planBatches(containers: readonly DiscoveredContainer[], maxSeries: number): Batch[] {
  const perNamespace = new Map<string, Map<string, number>>();
  for (const c of containers) {
    let pods = perNamespace.get(c.namespace);
    if (!pods) perNamespace.set(c.namespace, (pods = new Map()));
    pods.set(c.pod, (pods.get(c.pod) ?? 0) + Math.max(1, c.series));
  }
  const batches: Batch[] = [];
  let open: Batch | null = null;
  for (const ns of [...perNamespace.keys()].sort()) {
    const pods = perNamespace.get(ns)!;
    const total = [...pods.values()].reduce((a, b) => a + b, 0);
    if (total > maxSeries) {
      let group: Batch | null = null;
      for (const pod of [...pods.keys()].sort()) {
        const n = pods.get(pod)!;
        if (group && group.series + n > maxSeries) {
          batches.push(group);
          group = null;
        }
        group ??= { namespaces: [ns], pods: [], series: 0 };
        group.pods!.push(pod);
        group.series += n;
      }
      if (group) batches.push(group);
      continue;
    }
    if (open && open.series + total > maxSeries) {
      batches.push(open);
      open = null;
    }
    open ??= { namespaces: [], pods: null, series: 0 };
    open.namespaces.push(ns);
    open.series += total;
  }
  if (open) batches.push(open);
  const first = (b: Batch) => `${b.namespaces[0]}/${b.pods?.[0] ?? ''}`;
  return batches.sort((a, b) => first(a).localeCompare(first(b)));
}

/**
 * Series a batch may hold so that one response stays near `pointsBudget` points (about 25 bytes
 * each in the API's JSON): the budget divided by the points of one series in one time chunk.
 */
export function maxSeriesPerBatch(r: HistoryRange, pointsBudget: number): number {
  const perSeries = Math.min(pointsOf(r), MAX_POINTS_PER_SERIES);
  return Math.max(1, Math.floor(pointsBudget / perSeries));
}

/** A PromQL string literal (double quotes, Go escapes). */
export const promString = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/** RE2 escaping of a literal, for a =~ alternation. */
const regexLiteral = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const matcherText = (m: LabelMatcher): string => `${m.name}${m.op}${promString(m.value)}`;

/** Matchers that select a batch's containers (never the pod cgroup, container="", nor the pause container). */
export function batchMatchers(batch: Pick<Batch, 'namespaces' | 'pods'>): LabelMatcher[] {
  const oneOf = (name: string, values: readonly string[]): LabelMatcher => (values.length === 1 ? { name, op: '=', value: values[0]! } : { name, op: '=~', value: values.map(regexLiteral).join('|') });
  const out: LabelMatcher[] = [oneOf('namespace', batch.namespaces)];
  if (batch.pods) out.push(oneOf('pod', batch.pods));
  out.push({ name: 'container', op: '!=', value: '' }, { name: 'container', op: '!=', value: 'POD' });
  return out;
}

/** `metric{matchers}`. */
export const seriesSelector = (metric: string, matchers: readonly LabelMatcher[]): string => `${metric}{${matchers.map(matcherText).join(',')}}`;

/** Prometheus duration of a window: whole seconds. */
const promDuration = (ms: number): string => `${Math.max(1, Math.round(ms / 1000))}s`;
/** The window of a fine query: two steps, less a millisecond so it holds at most two scrapes at the step's own interval. */
const stepWindow = (stepMs: number): string => `${Math.max(1, 2 * stepMs - 1)}ms`;

/** One query_range request. */
export interface RangeQuery {
  metric: HistoryMetric;
  expr: string;
  range: HistoryRange;
}

/**
 * The queries that read a batch: one per metric and time chunk. `selector` is the user's extra
 * matchers (e.g. cluster="prod"), applied to every series.
 */
export function batchQueries(batch: Pick<Batch, 'namespaces' | 'pods'>, range: HistoryRange, selector: readonly LabelMatcher[] = [], metrics: readonly HistoryMetric[] = HISTORY_METRICS): RangeQuery[] {
  const base = [...batchMatchers(batch), ...selector];
  const coarse = coarseRange(range);
  const out: RangeQuery[] = [];
  for (const m of metrics) {
    const sel = seriesSelector(m.metric, [...base, ...(m.matchers ?? [])]);
    if (m.resolution === 'fine') {
      for (const chunk of timeChunks(range)) out.push({ metric: m, expr: `last_over_time(${sel}[${stepWindow(range.stepMs)}])`, range: chunk });
    } else {
      out.push({ metric: m, expr: `max_over_time(${sel}[${promDuration(Math.max(coarse.stepMs, MIN_COARSE_WINDOW_MS))}])`, range: coarse });
    }
  }
  return out;
}

/** The selector that finds the containers in scope (for /api/v1/series and label values). */
export function discoverySelector(namespaces: readonly string[], selector: readonly LabelMatcher[] = []): string {
  const ns: LabelMatcher[] = namespaces.length ? [namespaces.length === 1 ? { name: 'namespace', op: '=', value: namespaces[0]! } : { name: 'namespace', op: '=~', value: namespaces.map(regexLiteral).join('|') }] : [{ name: 'namespace', op: '!=', value: '' }];
  return seriesSelector(USAGE_METRIC.metric, [...ns, { name: 'container', op: '!=', value: '' }, { name: 'container', op: '!=', value: 'POD' }, ...selector]);
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Parses `--selector`: comma-separated label matchers as in PromQL, value quoted or bare
 * (`cluster="prod",pod=~"api-.*"` or `cluster=prod`). Returns the matchers, or an error message.
 */
export function parseLabelMatchers(text: string): LabelMatcher[] | { error: string } {
  const out: LabelMatcher[] = [];
  let i = 0;
  const s = text.trim();
  while (i < s.length) {
    while (s[i] === ' ' || s[i] === ',') i++;
    if (i >= s.length) break;
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i))?.[0];
    if (!name) return { error: `expected a label name at ${JSON.stringify(s.slice(i, i + 20))}` };
    i += name.length;
    while (s[i] === ' ') i++;
    const op = (['=~', '!~', '!=', '='] as const).find((o) => s.startsWith(o, i));
    if (!op) return { error: `expected =, !=, =~ or !~ after ${name}` };
    i += op.length;
    while (s[i] === ' ') i++;
    let value = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) return { error: `unterminated value of ${name}` };
        const ch = s[i]!;
        if (ch === '"') {
          i++;
          break;
        }
        if (ch === '\\' && i + 1 < s.length) {
          const e = s[i + 1]!;
          value += e === 'n' ? '\n' : e;
          i += 2;
          continue;
        }
        value += ch;
        i++;
      }
    } else {
      const end = s.indexOf(',', i);
      value = s.slice(i, end < 0 ? s.length : end).trim();
      i = end < 0 ? s.length : end;
    }
    if (!LABEL_NAME.test(name) || name.startsWith('__')) return { error: `${JSON.stringify(name)} is not a label name a selector may use` };
    if (op.includes('~')) {
      try {
        new RegExp(`^(?:${value})$`);
      } catch (e) {
        return { error: `${name}${op}: bad regular expression: ${(e as Error).message}` };
      }
    }
    out.push({ name, op, value });
  }
  return out;
}
